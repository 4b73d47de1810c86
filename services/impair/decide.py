"""What happens to each packet on an impaired link: pure decisions, no sockets.

Every random number is a keyed hash of (seed, direction, flow, index of the
packet within its flow, purpose), not a draw from one shared generator. So a
decision depends only on the packet's own flow: other flows, the other
direction, or the timing of arrivals can never change it, and the same seed
with the same packets gives the same drops, delays and duplicates every run.
"""

from __future__ import annotations

import hashlib
from collections import deque
from dataclasses import dataclass
from statistics import NormalDist
from typing import Optional, Union

from impair.schema import Impairment

FlowKey = tuple[Union[int, str], ...]
"""(proto, src, sport, dst, dport) for TCP and UDP, (proto, src, dst) otherwise."""

# A normal jitter has sigma = jitter / 2 and is cut at +-2 sigma, so that it
# stays inside [-jitter, +jitter] like the uniform one.
_STANDARD = NormalDist()
_CUT_LOW = _STANDARD.cdf(-2.0)
_CUT_SPAN = _STANDARD.cdf(2.0) - _CUT_LOW


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
    return Decision(
        duplicate=copies == 2, delay=0.0 if reordered else delay, reordered=reordered, corrupt_at=corrupt_at, bad=bad
    )


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
