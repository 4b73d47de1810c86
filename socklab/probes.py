"""Measurements on a running lab, shared by the behaviour suite and the grader.

Each runs ``probe`` (``services/probe.py``) inside a node so traffic stays on
the lab's network, and returns its JSON verdict; each failure message says
what was sent, what was expected and what came back.
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Sequence

from .errors import SocklabError
from .pcap import Packet

if TYPE_CHECKING:
    from .lab import RunningLab


def run_probe(lab: "RunningLab", node: str, args: Sequence[str], timeout: float = 60) -> dict:
    result = lab.exec(node, ["probe", *args], timeout=timeout)
    try:
        return json.loads(result.stdout.strip().splitlines()[-1])
    except (IndexError, json.JSONDecodeError):
        raise SocklabError(
            f"probe {' '.join(args)} from {node} gave no verdict: {result.output.strip()[-500:]}"
        ) from None


def udp(lab: "RunningLab", node: str, host: str, port: int, message: str | bytes, timeout: float = 2.0) -> dict:
    """One datagram and its answer; bytes go as they are (e.g. invalid UTF-8)."""
    data = ["--hex", message.hex()] if isinstance(message, bytes) else [message]
    return run_probe(lab, node, ["udp", host, str(port), *data, "--timeout", str(timeout)])


def tcp(lab: "RunningLab", node: str, host: str, port: int, messages: Sequence[str], timeout: float = 2.0) -> dict:
    return run_probe(lab, node, ["tcp", host, str(port), *messages, "--timeout", str(timeout)])


def hold(lab: "RunningLab", node: str, host: str, port: int, holders: int, wait: float = 1.0) -> dict:
    return run_probe(lab, node, ["hold", host, str(port), "--holders", str(holders), "--timeout", str(wait)])


def many(lab: "RunningLab", node: str, host: str, port: int, count: int, timeout: float = 5.0) -> dict:
    return run_probe(lab, node, ["many", host, str(port), "--count", str(count), "--timeout", str(timeout)])


def block(
    lab: "RunningLab",
    node: str,
    host: str,
    port: int,
    size: int,
    chunk: int = 0,
    compress: bool = False,
    timeout: float = 10.0,
) -> dict:
    args = ["block", host, str(port), "--size", str(size), "--chunk", str(chunk), "--timeout", str(timeout)]
    return run_probe(lab, node, args + (["--compress"] if compress else []), timeout=timeout * 4 + 30)


def raw(lab: "RunningLab", node: str, host: str, port: int, data: bytes, timeout: float = 2.0) -> dict:
    return run_probe(lab, node, ["raw", host, str(port), "--hex", data.hex(), "--timeout", str(timeout)])


def xmlrpc(
    lab: "RunningLab", node: str, host: str, port: int, calls: Sequence[tuple[str, Sequence]], timeout: float = 5.0
) -> dict:
    """XML-RPC calls on /RPC2, one connection each: {"results": [{"result"|"fault": ...}]}."""
    return run_probe(
        lab,
        node,
        ["xmlrpc", host, str(port), "--calls", json.dumps([[m, list(a)] for m, a in calls]), "--timeout", str(timeout)],
        timeout=timeout * len(calls) + 30,
    )


def flood(
    lab: "RunningLab",
    node: str = "client",
    host: str = "server",
    port: int = 1234,
    count: int = 500,
    interval: float = 0.001,
    size: int = 64,
    source_port: int = 40000,
    wait: float = 1.0,
    timeout: float = 300,
) -> dict:
    """Numbered datagrams from ``node`` to an upper-case echo server (services/flood.py):
    {"sent", "answered", "lost" (sequence numbers), "duplicates", "reordered", "rtt_ms", ...}."""
    args = [str(a) for a in (host, port, "--count", count, "--interval", interval, "--size", size)]
    args += ["--source-port", str(source_port), "--wait", str(wait)]
    result = lab.exec(node, ["flood", *args], timeout=timeout)
    try:
        return json.loads(result.stdout)
    except json.JSONDecodeError:
        raise SocklabError(f"flood from {node} to {host} gave no result: {result.output.strip()[-500:]}") from None


def udp_counters(lab: "RunningLab", node: str) -> dict[str, int]:
    """The UDP counters of ``node``'s network stack (/proc/net/snmp): InDatagrams,
    OutDatagrams, RcvbufErrors (arrived, but its socket had no room), ..."""
    lines = [line.split() for line in lab.exec(node, ["cat", "/proc/net/snmp"]).stdout.splitlines()]
    names, values = (line[1:] for line in lines if line[:1] == ["Udp:"])
    return {name: int(value) for name, value in zip(names, values)}


class Crossing:
    """What a link did to the datagrams one node sent another, counted in the two
    nodes' kernels: sent = the sender's OutDatagrams, arrived = the receiver's
    InDatagrams + RcvbufErrors. A slow program (an emulated guest's server) drops
    nothing here: a datagram its socket had no room for has still crossed.

        with probes.Crossing(lab, "client", "server") as crossing:
            probes.flood(lab, ...)
        crossing.lost
    """

    def __init__(self, lab: "RunningLab", sender: str, receiver: str) -> None:
        self.lab, self.sender, self.receiver = lab, sender, receiver
        self.sent = self.arrived = 0

    def _counts(self) -> tuple[int, int]:
        out, got = udp_counters(self.lab, self.sender), udp_counters(self.lab, self.receiver)
        return out["OutDatagrams"], got["InDatagrams"] + got["RcvbufErrors"]

    def __enter__(self) -> "Crossing":
        self._before = self._counts()
        return self

    def __exit__(self, *exc: object) -> None:
        after = self._counts()
        self.sent, self.arrived = after[0] - self._before[0], after[1] - self._before[1]

    @property
    def lost(self) -> int:
        return self.sent - self.arrived


PACES = (0.0002, 0.0005, 0.001, 0.002, 0.005, 0.01, 0.02)


def steady_interval(
    lab: "RunningLab", node: str = "client", host: str = "server", port: int = 1234, count: int = 2000
) -> float:
    """The shortest interval between datagrams, of :data:`PACES`, at which this
    machine answers every one of ``count`` over the link as it is now (clean).

    A loss measured faster than that counts the machine's overflowing socket
    buffers as the link's drops: an emulated guest answers about 200 a second,
    this host thousands. ``count`` is as long as the longest flood sent at that
    pace: 400 datagrams fit in a socket's buffer, so a Debian 12 guest's
    server that kept up with two thirds of them passed at 1 ms, then lost a
    third of 5,000. Raises when even the slowest pace loses datagrams.
    """
    for interval in PACES:
        result = flood(lab, node, host, port, count=count, interval=interval, source_port=39000, wait=2.0)
        if not result["lost"]:
            return interval
    raise SocklabError(f"even one datagram every {PACES[-1] * 1000:g} ms loses {len(result['lost'])} of {count}")


def send_times(packets: Sequence[Packet], dport: int, proto: str = "udp") -> list[float]:
    """Times of the datagrams sent to ``dport``, relative to the first one."""
    sent = [p.time for p in packets if p.proto == proto and p.dport == dport]
    return [round(t - sent[0], 4) for t in sent] if sent else []


LECTURE_BACKOFF = [0.0, 0.1, 0.3, 0.7, 1.5]


def backoff_verdict(
    times: Sequence[float], expected: Sequence[float] = LECTURE_BACKOFF, tolerance: float = 0.03
) -> tuple[bool, str]:
    """Compare captured send times with a doubling schedule, gap by gap.

    A timeout never fires early but fires late on a busy machine, and one late
    wake-up shifts every later send: so each gap between sends is judged on
    its own, at most ``tolerance`` early and at most ``tolerance`` plus a tenth
    of the gap late. That still tells doubling from a constant, linear or
    tripling wait (the second gap 0.1, 0.3 or 0.3 s instead of 0.2 s).
    """
    if len(times) != len(expected):
        return False, f"expected {len(expected)} sends at {list(expected)} s, saw {len(times)} at {list(times)} s"
    saw, want = _gaps(times), _gaps(expected)
    for number, (gap, goal) in enumerate(zip(saw, want), start=1):
        late = tolerance + goal / 10
        if not goal - tolerance <= gap <= goal + late:
            how = f"{(goal - gap) * 1000:.0f} ms early" if gap < goal else f"{(gap - goal) * 1000:.0f} ms late"
            bounds = f"each at most {tolerance * 1000:.0f} ms early and {tolerance * 1000:.0f} ms + 10% late"
            return False, (
                f"expected sends at {list(expected)} s, waits of {want} s ({bounds}); saw sends at {list(times)} s, "
                f"waits of {saw} s: wait {number} was {gap:g} s, {how}"
            )
    worst = max((abs(gap - goal) for gap, goal in zip(saw, want)), default=0.0)
    return True, f"sends at {list(times)} s: waits of {saw} s match {want} s within {worst * 1000:.0f} ms each"


def _gaps(times: Sequence[float]) -> list[float]:
    return [round(b - a, 4) for a, b in zip(times, times[1:])]
