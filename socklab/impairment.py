"""The impairment values socklab reads (lab file, ``link set``, experiments): the shared schema's names.

One schema serves the model and the link daemon (``services/impair/schema.py``,
installed as the package ``impair``): the same parser, the same units, the
same checks, so a value means the same on netem and on the userspace backend.
"""

from __future__ import annotations

from impair.schema import LAB_KEYS as IMPAIRMENT_KEYS
from impair.schema import lab_changes as impairment_changes
from impair.schema import parse_ms, parse_percent, rate_text

__all__ = ["IMPAIRMENT_KEYS", "impairment_changes", "parse_ms", "parse_percent", "rate_text"]
