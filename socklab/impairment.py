"""The impairment values socklab reads (lab file, ``link set``, experiments): the shared schema's names.

One schema serves the model and the link daemon (``services/impair/schema.py``,
installed as the package ``impair``): the same parser, the same units, the
same checks, so a value means the same on netem and on the userspace backend.
"""

from __future__ import annotations

from typing import Any, Mapping

from impair.schema import LAB_KEYS as IMPAIRMENT_KEYS
from impair.schema import UnknownParameter, lab_changes, parse_ms, parse_percent, rate_text

from .errors import UnknownKey

__all__ = ["IMPAIRMENT_KEYS", "impairment_changes", "parse_ms", "parse_percent", "rate_text"]


def impairment_changes(values: Mapping[str, Any]) -> dict[str, Any]:
    """Turn ``{'loss': '10%', 'delay': '50ms'}`` into Impairment field changes (the schema's :func:`lab_changes`).

    The schema runs in containers too and knows nothing of socklab's errors:
    its unknown name becomes an UnknownKey here, for the reader that knows
    where it stands; a bad value stays a ValueError for the caller to locate.
    """
    try:
        return lab_changes(dict(values))
    except UnknownParameter as err:
        raise UnknownKey(err.name, err.known) from None
