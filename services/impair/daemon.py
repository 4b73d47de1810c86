"""The lossy-link daemon: impairs one link's packets, both directions, from NFQUEUE.

One event loop waits on the two queue sockets, the control socket and the
earliest held packet. A packet is decided as it arrives (see decide.py);
a delayed one stays in the kernel, only its id is kept in a timer heap,
and it is accepted when due. A duplicate is the same bytes sent again
through a raw socket, marked so that the rules do not queue it a second
time. SIGTERM or SIGINT removes the rules and lets held packets go; any
other death leaves the rules in place, so the link stops instead of
silently becoming perfect. The latest decisions are kept in a bounded
ring (events.py) that the control socket's "events" op reads.
"""

from __future__ import annotations

import argparse
import heapq
import itertools
import os
import selectors
import signal
import socket
import sys
import time
from typing import NamedTuple, Optional

from impair.config import DIRECTIONS, LinkConfig, check_seed
from impair.control import ControlServer
from impair.decide import FlowStreams, Impairment, TokenBucket
from impair.events import Events
from impair.nfqueue import NfQueue, Packet
from impair.packet import Parsed, flip_bit, parse
from impair.rules import MARK, Rules

COUNTERS = (
    "seen",
    "dropped",
    "delayed",
    "duplicated",
    "corrupted",
    "reordered",
    "queue_overflows",
    "overlimit",
    "duplicate_failed",
)
_UNPARSED = ("unparsed",)


class Held(NamedTuple):
    """A packet waiting in the kernel for its verdict."""

    direction: Direction
    id: int
    payload: Optional[bytes]  # the corrupted packet, None to pass it as it is
    duplicate: Optional[bytes]
    parsed: Optional[Parsed]


class Direction:
    """One direction of the link: its queue, parameters, flow streams, rate and counters."""

    def __init__(self, name: str, queue: int, impairment: Impairment, seed: int) -> None:
        self.name = name
        self.queue = NfQueue(queue)
        self.streams = FlowStreams(seed, name)
        self.counters = dict.fromkeys(COUNTERS, 0)
        self.held = 0
        self.bucket: Optional[TokenBucket] = None
        self.impairment = impairment
        self.configure(impairment)

    def configure(self, impairment: Impairment) -> None:
        rate = impairment.rate_bps
        if rate is None:
            self.bucket = None
        elif self.bucket is None or self.bucket.rate_bps != rate:
            self.bucket = TokenBucket(rate, impairment.limit)
        else:
            self.bucket.limit = impairment.limit
        self.impairment = impairment

    def show(self) -> dict:
        counters = dict(
            self.counters,
            queue_overflows=self.queue.overflows,
            held=self.held,
            kernel_dropped=kernel_dropped(self.queue.queue),
        )
        return {"params": self.impairment.to_dict(), "counters": counters}


def kernel_dropped(queue: int) -> int:
    """Packets the kernel dropped for this queue: it was full, or our socket buffer was.

    From /proc/net/netfilter/nfnetlink_queue (this namespace's queues):
    the queue_dropped and queue_user_dropped columns.
    """
    try:
        with open("/proc/net/netfilter/nfnetlink_queue") as table:
            for line in table:
                columns = line.split()
                if columns and int(columns[0]) == queue:
                    return int(columns[5]) + int(columns[6])
    except (OSError, ValueError, IndexError):
        pass
    return 0


class Injector:
    """Sends duplicates: raw sockets that take whole IP packets, with the mark the rules skip.

    An "in" duplicate is addressed to this host, so it goes out through
    the loopback and arrives as if from the peer.
    """

    def __init__(self) -> None:
        self._sockets = {}
        for family in (socket.AF_INET, socket.AF_INET6):
            sock = socket.socket(family, socket.SOCK_RAW, socket.IPPROTO_RAW)  # IPPROTO_RAW implies HDRINCL
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_MARK, MARK)
            sock.setblocking(False)
            self._sockets[family] = sock

    def send(self, parsed: Parsed, packet: bytes) -> bool:
        try:
            self._sockets[parsed.family].sendto(packet, (parsed.dst, 0))
        except OSError:
            return False
        return True

    def close(self) -> None:
        for sock in self._sockets.values():
            sock.close()


def describe(impairment: Impairment) -> str:
    """The parameters that differ from a clean link, as key=value."""
    clean = Impairment().to_dict()
    changed = [f"{k}={v}" for k, v in impairment.to_dict().items() if v != clean[k]]
    return " ".join(changed) or "clean"


class Daemon:
    def __init__(self, config: LinkConfig) -> None:
        self.config = config
        self.seed = config.seed
        self.directions: dict[str, Direction] = {}
        self.rules = Rules(config.name, config.match, config.queues)
        self.selector = selectors.DefaultSelector()
        self.timers: list[tuple[float, int, Held]] = []
        self._order = itertools.count()
        self.control: Optional[ControlServer] = None
        self.events = Events()
        self.injector: Optional[Injector] = None
        self._stop = False
        self._wake_r, self._wake_w = socket.socketpair()

    def start(self) -> None:
        """Bind the queues before installing the rules, so that no packet meets an unbound queue."""
        for name in DIRECTIONS:
            direction = Direction(name, self.config.queues[name], self.config.impairments[name], self.seed)
            self.directions[name] = direction
            self.selector.register(direction.queue, selectors.EVENT_READ, direction)
        self.injector = Injector()
        self.control = ControlServer(self.config.control, self.handle)
        self.selector.register(self.control.listener, selectors.EVENT_READ, "accept")
        self._wake_r.setblocking(False)
        self._wake_w.setblocking(False)
        self.selector.register(self._wake_r, selectors.EVENT_READ, "wake")
        signal.set_wakeup_fd(self._wake_w.fileno())
        for signum in (signal.SIGTERM, signal.SIGINT):
            signal.signal(signum, self._on_signal)
        self.rules.install()

    def _on_signal(self, signum: int, frame: object) -> None:
        self._stop = True

    def run(self) -> None:
        """Serve until SIGTERM or SIGINT."""
        while not self._stop:
            timeout = max(0.0, self.timers[0][0] - time.monotonic()) if self.timers else None
            for key, _ in self.selector.select(timeout):
                if isinstance(key.data, Direction):
                    self._receive(key.data)
                elif key.data == "accept":
                    self.selector.register(self.control.accept(), selectors.EVENT_READ, "conn")
                elif key.data == "conn":
                    if not self.control.serve(key.fileobj):
                        self.selector.unregister(key.fileobj)
                        self.control.drop(key.fileobj)
                else:
                    self._wake_r.recv(64)
            self._release_due(time.monotonic())

    def _receive(self, direction: Direction) -> None:
        packets = direction.queue.receive()
        now = time.monotonic()
        for packet in packets:
            self._decide(direction, packet, now)

    def _decide(self, direction: Direction, packet: Packet, now: float) -> None:
        counters = direction.counters
        counters["seen"] += 1
        try:
            parsed: Optional[Parsed] = parse(packet.payload)
        except ValueError:
            parsed = None
        flow = parsed.flow if parsed else _UNPARSED
        decision = direction.streams.next(direction.impairment, flow)
        if decision.drop:
            counters["dropped"] += 1
            direction.queue.verdict(packet.id, False)
            self.events.add(direction.name, flow, len(packet.payload), "dropped")
            return
        due: Optional[float] = now
        if direction.held >= direction.impairment.limit:
            due = None
        elif direction.bucket is not None:
            due = direction.bucket.departure(now, len(packet.payload))
        if due is None:
            counters["dropped"] += 1
            counters["overlimit"] += 1
            direction.queue.verdict(packet.id, False)
            self.events.add(direction.name, flow, len(packet.payload), "overlimit")
            return
        due += decision.delay
        whole = parsed is not None and not packet.truncated
        payload = duplicate = None
        if decision.corrupt_at is not None and whole:
            payload = flip_bit(packet.payload, parsed, decision.corrupt_at)
            counters["corrupted"] += 1
        if decision.duplicate:
            if whole:
                duplicate = packet.payload
            else:
                counters["duplicate_failed"] += 1
        counters["reordered"] += decision.reordered
        held = Held(direction, packet.id, payload, duplicate, parsed)
        fate = "duplicated" if duplicate is not None else "delayed" if due > now else "passed"
        self.events.add(direction.name, flow, len(packet.payload), fate, due - now)
        if due > now:
            counters["delayed"] += 1
            direction.held += 1
            heapq.heappush(self.timers, (due, next(self._order), held))
        else:
            self._release(held)

    def _release(self, held: Held) -> None:
        held.direction.queue.verdict(held.id, True, held.payload)
        if held.duplicate is not None:
            sent = self.injector.send(held.parsed, held.duplicate)
            held.direction.counters["duplicated" if sent else "duplicate_failed"] += 1

    def _release_due(self, now: float) -> None:
        while self.timers and self.timers[0][0] <= now:
            held = heapq.heappop(self.timers)[2]
            held.direction.held -= 1
            self._release(held)

    def show(self) -> dict:
        answer = {"name": self.config.name, "backend": "userspace", "seed": self.seed}
        answer.update({name: direction.show() for name, direction in self.directions.items()})
        return answer

    def handle(self, request: dict) -> dict:
        """Answer a control request; ValueError becomes an error answer and changes nothing."""
        op = request.get("op")
        if op == "show":
            return self.show()
        if op == "events":
            return self.events.since(request.get("since", 0), request.get("limit", 100))
        if op != "set":
            raise ValueError(f"unknown op {op!r} (known: show, set, events)")
        unknown = sorted(set(request) - {"op", "seed", *DIRECTIONS})
        if unknown:
            raise ValueError(f"unknown key {unknown[0]!r} in set (known: seed, {', '.join(DIRECTIONS)})")
        seed = check_seed(request["seed"]) if "seed" in request else None
        updated = {}
        for name in DIRECTIONS:
            if name in request:
                try:
                    updated[name] = self.directions[name].impairment.updated(request[name] or {})
                except ValueError as error:
                    raise ValueError(f"{name}: {error}") from None
        for name, impairment in updated.items():
            self.directions[name].configure(impairment)
        if seed is not None:
            self.seed = seed
            for direction in self.directions.values():
                direction.streams.reseed(seed)
        summary = "; ".join(f"{name}: {describe(d.impairment)}" for name, d in self.directions.items())
        print(f"set link/{self.config.name} seed={self.seed} {summary}", flush=True)
        return self.show()

    def stop(self) -> None:
        """Remove the rules first, so nothing new is queued, then let every held packet go."""
        self.rules.remove()
        while self.timers:
            held = heapq.heappop(self.timers)[2]
            held.direction.held -= 1
            self._release(held)
        for direction in self.directions.values():
            direction.queue.close()
        if self.injector is not None:
            self.injector.close()
        if self.control is not None:
            self.control.close()


def main(argv: Optional[list[str]] = None) -> int:
    parser = argparse.ArgumentParser(description="Impair one socklab link with NFQUEUE (userspace backend).")
    parser.add_argument(
        "--config",
        default=os.environ.get("SOCKLAB_LINK"),
        help="the link as JSON (default: $SOCKLAB_LINK); see impair/config.py",
    )
    args = parser.parse_args(argv)
    if not args.config:
        parser.error("no link config: give --config JSON or set $SOCKLAB_LINK")
    try:
        config = LinkConfig.from_json(args.config)
    except ValueError as error:
        print(f"error: link config: {error}", file=sys.stderr)
        return 2
    daemon = Daemon(config)
    try:
        daemon.start()
    except (OSError, RuntimeError) as error:
        print(f"error: link/{config.name}: cannot start: {error}", file=sys.stderr)
        daemon.stop()
        return 1
    print(f"ready link/{config.name} backend=userspace", flush=True)
    daemon.run()
    daemon.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
