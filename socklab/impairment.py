"""Parsing of impairment values as people write them: ``10%``, ``50ms``, ``1mbit``.

Shared by the lab-file reader and ``socklab link set`` so that both accept
exactly the same spellings.
"""

from __future__ import annotations

import re
from typing import Optional, Union

from .errors import BadInput
from .model import Impairment, LOSS_MODELS

Value = Union[str, int, float]

_RATE = re.compile(r"^\d+(\.\d+)?(bit|kbit|mbit|gbit|bps|kbps|mbps|gbps)$")
_TIME = re.compile(r"^(\d+(?:\.\d+)?)\s*(us|ms|s)?$")


def parse_percent(value: Value) -> float:
    """``10%``, ``10`` and ``10.0`` all mean ten percent."""
    text = str(value).strip()
    number = text[:-1] if text.endswith("%") else text
    try:
        result = float(number)
    except ValueError:
        raise ValueError(f"{value!r} is not a percentage (write it like 10%)") from None
    if not 0.0 <= result <= 100.0:
        raise ValueError(f"{value!r} is outside 0%..100%")
    return result


def parse_ms(value: Value) -> float:
    """``50ms``, ``0.05s``, ``500us`` or a bare number of milliseconds."""
    match = _TIME.match(str(value).strip())
    if not match:
        raise ValueError(f"{value!r} is not a duration (write it like 50ms)")
    number, unit = float(match.group(1)), match.group(2) or "ms"
    return number * {"us": 0.001, "ms": 1.0, "s": 1000.0}[unit]


def parse_rate(value: Value) -> str:
    """A rate as tc writes it (``1mbit``, ``500kbit``, ``2mbps``)."""
    text = str(value).strip().lower()
    if not _RATE.match(text):
        raise ValueError(f"{value!r} is not a rate (write it like 1mbit, 500kbit or 2mbps)")
    return text


def impairment_changes(values: dict[str, Value | dict]) -> dict[str, object]:
    """Turn ``{'loss': '10%', 'delay': '50ms'}`` into Impairment field changes.

    ``loss`` may also be a mapping for Gilbert-Elliott bursts:
    ``{model: gilbert-elliott, p: 1%, r: 25%, h: 100%, k: 0%}``.
    Raises KeyError for an unknown name and ValueError for a bad value.
    """
    changes: dict[str, object] = {}
    for key, value in values.items():
        if key == "loss" and isinstance(value, dict):
            changes.update(_loss_model(value))
        elif key == "loss":
            changes.update(loss=parse_percent(value), loss_model="bernoulli")
        elif key in ("duplicate", "reorder", "corrupt"):
            changes[key] = parse_percent(value)
        elif key in ("delay", "jitter"):
            changes[f"{key}_ms"] = parse_ms(value)
        elif key == "rate":
            changes["rate"] = None if value in (None, "", "none") else parse_rate(value)
        else:
            raise KeyError(key)
    return changes


def _loss_model(spec: dict) -> dict[str, object]:
    model = str(spec.get("model", "bernoulli"))
    if model not in LOSS_MODELS:
        raise ValueError(f"loss model {model!r} is not one of {', '.join(LOSS_MODELS)}")
    if model == "bernoulli":
        unknown = set(spec) - {"model", "p"}
        if unknown:
            raise KeyError(sorted(unknown)[0])
        return {"loss_model": model, "loss": parse_percent(spec.get("p", 0))}
    unknown = set(spec) - {"model", "p", "r", "h", "k"}
    if unknown:
        raise KeyError(sorted(unknown)[0])
    defaults = Impairment()
    return {
        "loss_model": model,
        "loss": 0.0,
        "ge_p": parse_percent(spec.get("p", defaults.ge_p)),
        "ge_r": parse_percent(spec.get("r", defaults.ge_r)),
        "ge_h": parse_percent(spec.get("h", defaults.ge_h)),
        "ge_k": parse_percent(spec.get("k", defaults.ge_k)),
    }


IMPAIRMENT_KEYS = ("loss", "delay", "jitter", "duplicate", "reorder", "corrupt", "rate")


def parse_seed(value: Value) -> int:
    """A seed as the link daemon takes it: a whole number in 0..2**64-1."""
    try:
        seed = int(str(value).strip())
    except ValueError:
        seed = -1
    if not 0 <= seed < 2**64:
        raise ValueError(f"seed must be a whole number in 0..2**64-1, not {value!r}")
    return seed


def link_set_request(values: dict[str, Value | dict], seed: Optional[Value]) -> tuple[dict[str, object], Optional[int]]:
    """What ``socklab link set`` and the web view check before changing a link:
    the same rules and the same words for both. BadInput when they fail."""
    try:
        changes = impairment_changes(values)
        checked_seed = None if seed is None else parse_seed(seed)
    except (ValueError, KeyError) as err:
        raise BadInput(str(err) if isinstance(err, ValueError) else f"unknown parameter {err.args[0]!r}") from None
    if not changes and checked_seed is None:
        raise BadInput("nothing to change: give --loss, --delay, ... or --seed")
    return changes, checked_seed
