"""The impairment values socklab reads (lab file, ``link set``, experiments): the shared schema's names.

One schema serves the model and the link daemon (``services/impair/schema.py``,
installed as the package ``impair``): the same parser, the same units, the
same checks, so a value means the same on netem and on the userspace backend.
"""

from __future__ import annotations

from typing import Any, Mapping, Optional, Union

from impair.schema import LAB_KEYS as IMPAIRMENT_KEYS
from impair.schema import UnknownParameter, lab_changes, parse_ms, parse_percent, rate_text

from .errors import BadInput, UnknownKey

__all__ = [
    "IMPAIRMENT_KEYS",
    "impairment_changes",
    "link_set_request",
    "parse_ms",
    "parse_percent",
    "parse_seed",
    "rate_text",
]

Value = Union[str, int, float]


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


def parse_seed(value: Value) -> int:
    """A seed as the link daemon takes it: a whole number in 0..2**64-1."""
    try:
        seed = int(str(value).strip())
    except ValueError:
        seed = -1
    if not 0 <= seed < 2**64:
        raise ValueError(f"seed must be a whole number in 0..2**64-1, not {value!r}")
    return seed


def link_set_request(values: Mapping[str, Any], seed: Optional[Value]) -> tuple[dict[str, Any], Optional[int]]:
    """What ``socklab link set`` and the web view check before changing a link:
    the same rules and the same words for both. BadInput when they fail."""
    try:
        changes = impairment_changes(values)
        checked_seed = None if seed is None else parse_seed(seed)
    except ValueError as err:
        raise BadInput(str(err)) from None
    if not changes and checked_seed is None:
        raise BadInput("nothing to change: give --loss, --delay, ... or --seed")
    return changes, checked_seed
