"""Parsing of impairment values as people write them: ``10%``, ``50ms``, ``1mbit``.

Shared by the lab-file reader and ``socklab link set`` so that both accept
exactly the same spellings.
"""

from __future__ import annotations

import re
from typing import Any, Mapping, Union

from .errors import UnknownKey
from .model import LOSS_MODELS, Impairment

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


def impairment_changes(values: Mapping[str, Any]) -> dict[str, Any]:
    """Turn ``{'loss': '10%', 'delay': '50ms'}`` into Impairment field changes.

    ``loss`` may also be a mapping for Gilbert-Elliott bursts:
    ``{model: gilbert-elliott, p: 1%, r: 25%, h: 100%, k: 0%}``.
    Raises UnknownKey for an unknown name and ValueError for a bad value.
    """
    changes: dict[str, Any] = {}
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
            raise UnknownKey(key, IMPAIRMENT_KEYS)
    return changes


def _loss_model(spec: dict) -> dict[str, object]:
    model = str(spec.get("model", "bernoulli"))
    if model not in LOSS_MODELS:
        raise ValueError(f"loss model {model!r} is not one of {', '.join(LOSS_MODELS)}")
    if model == "bernoulli":
        unknown = set(spec) - {"model", "p"}
        if unknown:
            raise UnknownKey(sorted(unknown)[0], {"model", "p"})
        return {"loss_model": model, "loss": parse_percent(spec.get("p", 0))}
    unknown = set(spec) - {"model", "p", "r", "h", "k"}
    if unknown:
        raise UnknownKey(sorted(unknown)[0], {"model", "p", "r", "h", "k"})
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
