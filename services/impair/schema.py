"""One impairment schema for the whole of socklab: the lab model, ``link set``, experiments, netem and the daemon.

A link direction's parameters, their units and their checks live here and
nowhere else, so a parameter means the same on every path: percentages are
0..100, times are milliseconds, a rate is written as tc writes it (``kbit``,
``mbit``... are bits per second, ``kbps``, ``mbps``... bytes per second, as in
tc) and means the same bits per second to netem and to the daemon. The lab
file's spellings (``10%``, ``50ms``, a Gilbert-Elliott mapping) are read by
:func:`lab_changes`; what reaches the daemon is :meth:`Impairment.to_dict`,
read back by :meth:`Impairment.from_dict`.

Standard library only: this module runs inside the node image (the daemon)
as well as on the host (socklab installs it as the package ``impair``).
"""

from __future__ import annotations

import math
import re
from dataclasses import asdict, dataclass, fields
from typing import Optional, Union

LOSS_MODELS = ("bernoulli", "gilbert-elliott")
JITTER_DISTS = ("uniform", "normal")
PERCENT_FIELDS = ("loss", "duplicate", "reorder", "corrupt", "ge_p", "ge_r", "ge_h", "ge_k")
LAB_KEYS = ("loss", "delay", "jitter", "duplicate", "reorder", "corrupt", "rate")
"""What a lab file, ``socklab link set`` and an experiment accept, each as people write it."""

Value = Union[str, int, float]

_RATE = re.compile(r"^\s*(\d+(?:\.\d*)?|\.\d+)\s*([a-z]*)\s*$")
_RATE_UNITS = {
    "": 1,
    "bit": 1,
    "bps": 8,
    "kbit": 10**3,
    "mbit": 10**6,
    "gbit": 10**9,
    "tbit": 10**12,
    "kibit": 2**10,
    "mibit": 2**20,
    "gibit": 2**30,
    "tibit": 2**40,
    "kbps": 8 * 10**3,
    "mbps": 8 * 10**6,
    "gbps": 8 * 10**9,
    "tbps": 8 * 10**12,
    "kibps": 8 * 2**10,
    "mibps": 8 * 2**20,
    "gibps": 8 * 2**30,
    "tibps": 8 * 2**40,
}
_TIME = re.compile(r"^(\d+(?:\.\d+)?)\s*(us|ms|s)?$")


class UnknownParameter(ValueError):
    """A parameter name the schema does not have (bad input, not a bug: a ValueError)."""

    def __init__(self, name: str, known: tuple[str, ...]) -> None:
        super().__init__(f"unknown impairment parameter {name!r} (known: {', '.join(known)})")
        self.name = name
        self.known = known


def parse_rate(text: Value) -> float:
    """Bits per second from a rate written as tc writes it.

    ``bit``/``kbit``/``mbit``/``gbit`` are bits, ``bps``/``kbps``/``mbps`` are
    bytes (as in tc, not bits), ``ki``/``mi``/``gi`` prefixes are powers of
    1024, and a bare number is bits per second.
    """
    match = _RATE.match(str(text).lower())
    if not match or match.group(2) not in _RATE_UNITS:
        raise ValueError(f"rate {text!r} is not a rate (write it like 1mbit, 500kbit or 10mbps)")
    bits = float(match.group(1)) * _RATE_UNITS[match.group(2)]
    if bits <= 0:
        raise ValueError(f"rate {text!r} must be more than zero")
    return bits


def rate_text(value: Value) -> str:
    """A rate as it is kept and shown: checked by :func:`parse_rate`, spaces removed, lower case."""
    parse_rate(value)
    return re.sub(r"\s+", "", str(value).lower())


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


@dataclass(frozen=True)
class Impairment:
    """One direction's impairment: percentages 0..100, times in milliseconds.

    ``loss`` is the Bernoulli loss; the Gilbert-Elliott model uses ``ge_p``
    (% chance good -> bad per packet), ``ge_r`` (bad -> good), ``ge_h`` (%
    loss in the bad state) and ``ge_k`` (% loss in the good state) instead.
    ``jitter`` spreads each delay over ``delay ± jitter``, uniformly (or, with
    ``jitter_dist: normal``, sigma = jitter/2 cut at ±2 sigma). ``reorder``
    sends that share of the packets at once, ahead of the delayed ones, so it
    needs a delay. ``limit`` is the most packets held back at once (netem's
    limit): beyond it packets are dropped.
    """

    loss: float = 0.0
    delay_ms: float = 0.0
    jitter_ms: float = 0.0
    jitter_dist: str = "uniform"
    duplicate: float = 0.0
    reorder: float = 0.0
    corrupt: float = 0.0
    rate: Optional[str] = None
    limit: int = 1000
    loss_model: str = "bernoulli"
    ge_p: float = 0.0
    ge_r: float = 100.0
    ge_h: float = 100.0
    ge_k: float = 0.0

    @classmethod
    def from_dict(cls, d: dict) -> Impairment:
        """Build and check parameters as they come from JSON; ValueError says what is wrong."""
        if not isinstance(d, dict):
            raise ValueError(f"impairment must be an object, not {type(d).__name__}")
        known = tuple(f.name for f in fields(cls))
        unknown = sorted(set(d) - set(known))
        if unknown:
            raise UnknownParameter(unknown[0], known)
        values = {name: d[name] for name in known if name in d}
        for name in PERCENT_FIELDS + ("delay_ms", "jitter_ms"):
            if name in values:
                values[name] = _number(name, values[name])
        for name in PERCENT_FIELDS:
            if name in values and not 0.0 <= values[name] <= 100.0:
                raise ValueError(f"{name} must be a percentage in 0..100, not {values[name]:g}")
        for name in ("delay_ms", "jitter_ms"):
            if name in values and values[name] < 0:
                raise ValueError(f"{name} must not be negative, not {values[name]:g}")
        if "limit" in values:
            limit = values["limit"]
            if isinstance(limit, bool) or not isinstance(limit, int) or limit < 1:
                raise ValueError(f"limit must be a whole number of packets >= 1, not {limit!r}")
        rate = values.get("rate")
        if rate in ("", "none"):
            values["rate"] = None
        elif rate is not None:
            if not isinstance(rate, str):
                raise ValueError(f"rate must be a string like '1mbit', not {rate!r}")
            values["rate"] = rate_text(rate)
        for name, choices in (("loss_model", LOSS_MODELS), ("jitter_dist", JITTER_DISTS)):
            if name in values and values[name] not in choices:
                raise ValueError(f"{name} must be one of {', '.join(choices)}, not {values[name]!r}")
        impairment = cls(**values)
        if impairment.loss_model == "gilbert-elliott" and impairment.loss:
            raise ValueError(
                "loss applies to the bernoulli model; gilbert-elliott uses ge_p, ge_r, ge_h, ge_k (set loss to 0)"
            )
        if impairment.reorder and not impairment.delay_ms:
            raise ValueError("reorder sends some packets ahead of the delayed ones: it needs a delay too")
        return impairment

    def updated(self, changes: dict) -> Impairment:
        """These parameters with some of them changed, checked as a whole."""
        return Impairment.from_dict({**self.to_dict(), **changes})

    def to_dict(self) -> dict:
        return asdict(self)

    @property
    def rate_bps(self) -> Optional[float]:
        return parse_rate(self.rate) if self.rate else None

    def describe(self) -> str:
        """A short human summary such as 'loss 10% delay 50ms'."""
        parts = []
        if self.loss_model == "gilbert-elliott":
            parts.append(f"GE p={self.ge_p:g}% r={self.ge_r:g}% h={self.ge_h:g}% k={self.ge_k:g}%")
        elif self.loss:
            parts.append(f"loss {self.loss:g}%")
        if self.delay_ms or self.jitter_ms:
            parts.append(f"delay {self.delay_ms:g}ms" + (f"±{self.jitter_ms:g}ms" if self.jitter_ms else ""))
        for name in ("duplicate", "reorder", "corrupt"):
            if getattr(self, name):
                parts.append(f"{name} {getattr(self, name):g}%")
        if self.rate:
            parts.append(f"rate {self.rate}")
        return " ".join(parts) or "clean"


def _number(name: str, value: object) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or math.isnan(value):
        raise ValueError(f"{name} must be a number, not {value!r}")
    return float(value)


def lab_changes(values: dict) -> dict:
    """Turn ``{'loss': '10%', 'delay': '50ms'}`` (lab-file spellings) into Impairment field changes.

    ``loss`` may also be a mapping for Gilbert-Elliott bursts:
    ``{model: gilbert-elliott, p: 1%, r: 25%, h: 100%, k: 0%}``.
    Raises UnknownParameter for an unknown name and ValueError for a bad value.
    """
    changes: dict = {}
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
            changes["rate"] = None if value in (None, "", "none") else rate_text(value)
        else:
            raise UnknownParameter(str(key), LAB_KEYS)
    return changes


def _loss_model(spec: dict) -> dict:
    model = str(spec.get("model", "bernoulli"))
    if model not in LOSS_MODELS:
        raise ValueError(f"loss model {model!r} is not one of {', '.join(LOSS_MODELS)}")
    allowed = ("model", "p") if model == "bernoulli" else ("model", "p", "r", "h", "k")
    unknown = sorted(set(spec) - set(allowed))
    if unknown:
        raise UnknownParameter(unknown[0], allowed)
    if model == "bernoulli":
        return {"loss_model": model, "loss": parse_percent(spec.get("p", 0))}
    defaults = Impairment()
    return {
        "loss_model": model,
        "loss": 0.0,
        "ge_p": parse_percent(spec.get("p", defaults.ge_p)),
        "ge_r": parse_percent(spec.get("r", defaults.ge_r)),
        "ge_h": parse_percent(spec.get("h", defaults.ge_h)),
        "ge_k": parse_percent(spec.get("k", defaults.ge_k)),
    }
