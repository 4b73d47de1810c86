"""What happens to each packet on an impaired link: pure decisions, no sockets.

Every random number is a keyed hash of (seed, direction, flow, index of the
packet within its flow, purpose), not a draw from one shared generator. So a
decision depends only on the packet's own flow: other flows, the other
direction, or the timing of arrivals can never change it, and the same seed
with the same packets gives the same drops, delays and duplicates every run.
"""

from __future__ import annotations

import hashlib
import math
import re
from collections import deque
from dataclasses import asdict, dataclass, fields
from statistics import NormalDist
from typing import Optional, Union

FlowKey = tuple[Union[int, str], ...]
"""(proto, src, sport, dst, dport) for TCP and UDP, (proto, src, dst) otherwise."""

LOSS_MODELS = ("bernoulli", "gilbert-elliott")
JITTER_DISTS = ("uniform", "normal")
PERCENT_FIELDS = ("loss", "duplicate", "reorder", "corrupt", "ge_p", "ge_r", "ge_h", "ge_k")

_RATE = re.compile(r"^\s*(\d+(?:\.\d*)?|\.\d+)\s*([a-z]*)\s*$")
_RATE_UNITS = {
    "": 1, "bit": 1, "bps": 8,
    "kbit": 10**3, "mbit": 10**6, "gbit": 10**9, "tbit": 10**12,
    "kibit": 2**10, "mibit": 2**20, "gibit": 2**30, "tibit": 2**40,
    "kbps": 8 * 10**3, "mbps": 8 * 10**6, "gbps": 8 * 10**9, "tbps": 8 * 10**12,
    "kibps": 8 * 2**10, "mibps": 8 * 2**20, "gibps": 8 * 2**30, "tibps": 8 * 2**40,
}

# A normal jitter has sigma = jitter / 2 and is cut at +-2 sigma, so that it
# stays inside [-jitter, +jitter] like the uniform one.
_STANDARD = NormalDist()
_CUT_LOW = _STANDARD.cdf(-2.0)
_CUT_SPAN = _STANDARD.cdf(2.0) - _CUT_LOW


def parse_rate(text: str) -> float:
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


@dataclass(frozen=True)
class Impairment:
    """One direction's impairment: percentages 0..100, times in milliseconds.

    ``loss`` is the Bernoulli loss; the Gilbert-Elliott model uses ``ge_p``
    (good -> bad), ``ge_r`` (bad -> good), ``ge_h`` (loss in the bad state)
    and ``ge_k`` (loss in the good state) instead. ``limit`` is the most
    packets held back at once (netem's limit): beyond it packets are dropped.
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
        known = [f.name for f in fields(cls)]
        unknown = sorted(set(d) - set(known))
        if unknown:
            raise ValueError(f"unknown impairment parameter {unknown[0]!r} (known: {', '.join(known)})")
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
            parse_rate(rate)
        for name, choices in (("loss_model", LOSS_MODELS), ("jitter_dist", JITTER_DISTS)):
            if name in values and values[name] not in choices:
                raise ValueError(f"{name} must be one of {', '.join(choices)}, not {values[name]!r}")
        impairment = cls(**values)
        if impairment.loss_model == "gilbert-elliott" and impairment.loss:
            raise ValueError("loss applies to the bernoulli model; gilbert-elliott uses ge_p, ge_r, ge_h, ge_k "
                             "(set loss to 0)")
        return impairment

    def updated(self, changes: dict) -> Impairment:
        """These parameters with some of them changed, checked as a whole."""
        return Impairment.from_dict({**self.to_dict(), **changes})

    def to_dict(self) -> dict:
        return asdict(self)

    @property
    def rate_bps(self) -> Optional[float]:
        return parse_rate(self.rate) if self.rate else None


def _number(name: str, value: object) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or math.isnan(value):
        raise ValueError(f"{name} must be a number, not {value!r}")
    return float(value)


def uniform(seed: int, direction: str, flow: FlowKey, index: int, purpose: str) -> float:
    """A number in [0, 1) that depends on nothing but its arguments."""
    data = f"{direction}|{','.join(map(str, flow))}|{index}|{purpose}".encode()
    digest = hashlib.blake2b(data, key=str(seed).encode(), digest_size=8).digest()
    return int.from_bytes(digest, "big") / 2**64


@dataclass(frozen=True)
class Decision:
    """The fate of one packet.

    ``delay`` is in seconds, jitter included, zero when ``reordered`` (the
    packet skipped the delay). ``corrupt_at`` is where, as a fraction of the
    transport payload's bits, one bit is flipped; None leaves it intact.
    ``bad`` is the flow's Gilbert-Elliott state for its next packet.
    """

    drop: bool = False
    duplicate: bool = False
    delay: float = 0.0
    reordered: bool = False
    corrupt_at: Optional[float] = None
    bad: bool = False


def decide(imp: Impairment, seed: int, direction: str, flow: FlowKey, index: int, bad: bool = False) -> Decision:
    """Decide the packet number ``index`` of ``flow`` (``bad``: its GE state).

    Loss and duplication combine as in netem: a packet both lost and
    duplicated goes through once. A probability of zero draws nothing, which
    cannot matter since every draw is independent of the others.
    """

    def chance(percent: float, purpose: str) -> bool:
        return percent > 0 and uniform(seed, direction, flow, index, purpose) * 100 < percent

    if imp.loss_model == "gilbert-elliott":
        lost = chance(imp.ge_h if bad else imp.ge_k, "loss")
        bad = not chance(imp.ge_r, "ge") if bad else chance(imp.ge_p, "ge")
    else:
        lost = chance(imp.loss, "loss")
    copies = 1 + chance(imp.duplicate, "duplicate") - lost
    if copies == 0:
        return Decision(drop=True, bad=bad)
    delay = imp.delay_ms / 1000
    if imp.jitter_ms > 0:
        u = uniform(seed, direction, flow, index, "jitter")
        if imp.jitter_dist == "normal":
            offset = _STANDARD.inv_cdf(_CUT_LOW + u * _CUT_SPAN) / 2
        else:
            offset = 2 * u - 1
        delay = max(0.0, delay + offset * imp.jitter_ms / 1000)
    reordered = delay > 0 and chance(imp.reorder, "reorder")
    corrupt_at = uniform(seed, direction, flow, index, "corrupt_at") if chance(imp.corrupt, "corrupt") else None
    return Decision(duplicate=copies == 2, delay=0.0 if reordered else delay, reordered=reordered,
                    corrupt_at=corrupt_at, bad=bad)


class FlowStreams:
    """The per-flow state that turns ``decide`` into a stream: each flow's next index and GE state.

    One per direction. A new seed starts every stream afresh.
    """

    def __init__(self, seed: int, direction: str) -> None:
        self.seed = seed
        self.direction = direction
        self._next: dict[FlowKey, int] = {}
        self._bad: dict[FlowKey, bool] = {}

    def next(self, imp: Impairment, flow: FlowKey) -> Decision:
        index = self._next.get(flow, 0)
        self._next[flow] = index + 1
        decision = decide(imp, self.seed, self.direction, flow, index, self._bad.get(flow, False))
        if decision.bad:
            self._bad[flow] = True
        else:
            self._bad.pop(flow, None)
        return decision

    def reseed(self, seed: int) -> None:
        self.seed = seed
        self._next.clear()
        self._bad.clear()


class TokenBucket:
    """A link that sends ``rate_bps`` bits per second, one packet at a time.

    It is a token bucket one packet deep, the way netem's rate works: a
    packet leaves once the ones before it have been sent, so a faster sender
    is delayed rather than dropped, until more than ``limit`` packets wait.
    """

    def __init__(self, rate_bps: float, limit: int) -> None:
        self.rate_bps = rate_bps
        self.limit = limit
        self._waiting: deque[float] = deque()
        self._free_at = 0.0

    def departure(self, now: float, size: int) -> Optional[float]:
        """When a packet of ``size`` bytes arriving at ``now`` has been sent; None: drop it."""
        while self._waiting and self._waiting[0] <= now:
            self._waiting.popleft()
        if len(self._waiting) >= self.limit:
            return None
        self._free_at = max(now, self._free_at) + size * 8 / self.rate_bps
        self._waiting.append(self._free_at)
        return self._free_at
