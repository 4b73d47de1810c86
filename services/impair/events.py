"""The daemon's latest decisions, for a live view of the link: a bounded ring read by sequence number.

Every packet decision is appended (a tuple, no formatting on the packet
path) to a ring of the last ``CAPACITY``; older ones fall out, so memory
stays bounded at any packet rate. A reader asks for what came after the
last sequence number it saw and gets at most ``limit`` of the newest ones,
newest first, with the count it skipped: at 10,000 packets/s a view
polling four times a second samples the traffic instead of falling behind.
"""

from __future__ import annotations

import time
from collections import deque
from itertools import islice
from typing import Union

CAPACITY = 1024
MAX_LIMIT = 1000
FATES = ("passed", "dropped", "delayed", "duplicated", "overlimit")
_PROTOCOLS = {1: "icmp", 6: "tcp", 17: "udp", 58: "icmp6"}

Flow = tuple[Union[int, str], ...]


class Events:
    """The last ``capacity`` decisions of one link, both directions, numbered from 1."""

    def __init__(self, capacity: int = CAPACITY) -> None:
        self._ring: deque[tuple] = deque(maxlen=capacity)
        self.last = 0

    def add(self, direction: str, flow: Flow, size: int, fate: str, delay: float = 0.0) -> None:
        """Record one decision; ``delay`` in seconds."""
        self.last += 1
        self._ring.append((self.last, time.time(), direction, flow, size, fate, delay))

    def since(self, seq: object = 0, limit: object = 100) -> dict:
        """The newest events after ``seq`` (at most ``limit``, newest first) and how many were skipped.

        A ``seq`` ahead of the ring (the daemon restarted) reads from the start.
        """
        for name, value in (("since", seq), ("limit", limit)):
            if isinstance(value, bool) or not isinstance(value, int) or value < 0:
                raise ValueError(f"{name} must be a whole number >= 0, not {value!r}")
        assert isinstance(seq, int) and isinstance(limit, int)
        if seq > self.last:
            seq = 0
        newer = self.last - seq
        taken = min(newer, limit, MAX_LIMIT, len(self._ring))
        events = [_row(*event) for event in islice(reversed(self._ring), taken)]
        return {"events": events, "last": self.last, "skipped": newer - taken}


def _row(seq: int, when: float, direction: str, flow: Flow, size: int, fate: str, delay: float) -> dict:
    proto = flow[0] if flow else None
    ends: tuple = (None, None, None, None)  # src, sport, dst, dport: unparsed packets have none
    if len(flow) == 5:
        ends = flow[1:]
    elif len(flow) == 3:
        ends = (flow[1], None, flow[2], None)
    src, sport, dst, dport = ends
    return {
        "seq": seq,
        "time": round(when, 6),
        "dir": direction,
        "proto": _PROTOCOLS.get(proto, proto) if isinstance(proto, int) else proto,
        "src": src,
        "sport": sport,
        "dst": dst,
        "dport": dport,
        "size": size,
        "fate": fate,
        "delay_ms": round(delay * 1000, 3),
    }
