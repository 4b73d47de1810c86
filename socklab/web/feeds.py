"""Where the live view's link figures come from: one long-lived reader per link helper.

A ``docker exec`` for every poll would cost more than the rest of the view
together, so each helper runs one reader for as long as the view is open,
answering one line for each line sent to it: the link daemon's ``ctl relay``
for the userspace backend, a ``tc -s`` loop for netem.

The userspace daemon records every decision it takes (services/impair/events.py),
so its feed gives packets too. netem decides inside the kernel and keeps
counters only: its feed gives what ``tc -s qdisc`` shows and no packets.
"""

from __future__ import annotations

import json
import os
import selectors
import shlex
import subprocess
import threading
import time
from typing import TYPE_CHECKING, Optional

from .. import netem
from ..errors import SocklabError
from ..links import CTL, EXEC_TIMEOUT, NETEM_STATE, SERVICES_DIR, LinkControl
from ..model import Link

if TYPE_CHECKING:
    from ..lab import RunningLab

RETRY_AFTER = 2.0  # seconds before a reader that failed is started again (the lab may be down)
EVENTS_PER_POLL = 100  # the newest this many per poll; the strip marks how many it skipped
# A line per line asked: the direction's record (what ``link set`` last gave
# it), a tab, then ``tc -s`` of that direction's own qdisc, found as ``link
# show`` finds it (a namespace may hold the netem qdiscs of several links).
NETEM_LOOP = "while read -r _; do tr -d '\\n' < {state}; printf '\\t'; {stats} 2>/dev/null | tr -d '\\n'; echo; done"
NETEM_NOTE = (
    "netem decides in the kernel and keeps counters only (tc -s qdisc): "
    "it records no packet, so there is no strip for this link"
)


class LineChannel:
    """``docker exec -i CONTAINER ARGV`` kept running: a line out, a line back.

    Started on first use and again if it died, at most every ``RETRY_AFTER``
    seconds; ``close`` ends it by closing its input, which also happens by
    itself if this process is killed.
    """

    def __init__(self, container: str, argv: list[str], timeout: float = 5.0) -> None:
        self.argv = ["docker", "exec", "-i", container, *argv]
        self.timeout = timeout
        self._proc: Optional[subprocess.Popen] = None
        self._buffer = b""
        self._failed: Optional[tuple[float, str]] = None
        self._lock = threading.Lock()

    def ask(self, *lines: str) -> list[str]:
        """Send lines, return their answer lines; SocklabError when they do not come in time.

        All lines go out before the first answer is read: one round trip however many they are.
        """
        with self._lock:
            if self._proc is None or self._proc.poll() is not None:
                if self._failed is not None and time.monotonic() - self._failed[0] < RETRY_AFTER:
                    raise SocklabError(self._failed[1])
                self._buffer = b""
                self._proc = subprocess.Popen(
                    self.argv, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL
                )
                # A docker exec takes seconds to start on a slow machine (over 10 s
                # in an emulated guest): the first answer waits as long as a link
                # command does, the others ``timeout``.
                timeout = EXEC_TIMEOUT
            else:
                timeout = self.timeout
            assert self._proc.stdin is not None and self._proc.stdout is not None
            try:
                self._proc.stdin.write(b"".join(line.encode() + b"\n" for line in lines))
                self._proc.stdin.flush()
                answers = [self._read_line(self._proc.stdout.fileno(), timeout) for _ in lines]
            except (OSError, SocklabError) as err:
                self._end()
                self._failed = (time.monotonic(), f"no answer from {self.argv[3]}: {err}")
                raise SocklabError(self._failed[1]) from None
            self._failed = None
            return answers

    def _read_line(self, fd: int, timeout: float) -> str:
        with selectors.DefaultSelector() as selector:
            selector.register(fd, selectors.EVENT_READ)
            while b"\n" not in self._buffer:
                if not selector.select(timeout):
                    raise SocklabError(f"timed out after {timeout:g} s")
                chunk = os.read(fd, 1 << 16)
                if not chunk:
                    raise SocklabError("the reader ended")
                self._buffer += chunk
        line, _, self._buffer = self._buffer.partition(b"\n")
        return line.decode(errors="replace")

    def _end(self) -> None:
        if self._proc is not None:
            for pipe in (self._proc.stdin, self._proc.stdout):
                if pipe is not None:
                    pipe.close()
            try:
                self._proc.wait(timeout=5)
            except subprocess.TimeoutExpired:
                self._proc.kill()
                self._proc.wait()
            self._proc = None

    def close(self) -> None:
        with self._lock:
            self._end()


class LinkFeed:
    """One link's parameters, counters and (where its backend records them) packets."""

    backend = "?"
    note = ""

    def __init__(self, link: Link) -> None:
        self.link = link
        self.names = list(link.directions)  # forward, reverse: "a->b", "b->a"

    def poll(self, since: int) -> tuple[dict, Optional[dict]]:
        """The link's state, and its packets after ``since`` (newest first) or None where none are recorded."""
        raise NotImplementedError

    def close(self) -> None:
        """Nothing to close by default."""


class DaemonFeed(LinkFeed):
    """The userspace backend: the link daemon answers through its ctl relay."""

    backend = "userspace"

    def __init__(self, link: Link, helper: str) -> None:
        super().__init__(link)
        self.channel = LineChannel(helper, ["sh", "-c", 'cd "$0" && exec "$@"', SERVICES_DIR, *CTL, "relay"])
        self.wire = {"out": self.names[0], "in": self.names[1]}

    def poll(self, since: int) -> tuple[dict, Optional[dict]]:
        """The daemon's state and its events after ``since``, in one round trip."""
        try:
            lines = self.channel.ask(
                json.dumps({"op": "show"}), json.dumps({"op": "events", "since": since, "limit": EVENTS_PER_POLL})
            )
            shown, events = (json.loads(line) for line in lines)
            if "error" in shown or "error" in events:
                raise SocklabError(shown.get("error") or events["error"])
        except (SocklabError, ValueError) as err:
            down: dict = {"backend": self.backend, "daemon": f"down: {err}", "seed": None, "directions": {}}
            return down, {"events": [], "last": since, "skipped": 0}
        directions = {self.wire[wire]: shown[wire] for wire in ("out", "in")}
        for event in events["events"]:
            event["dir"] = self.wire.get(event["dir"], event["dir"])
        state = {"backend": self.backend, "daemon": "running", "seed": shown.get("seed"), "directions": directions}
        return state, events

    def close(self) -> None:
        self.channel.close()


class NetemFeed(LinkFeed):
    """The netem backend: ``tc -s qdisc`` of each direction's helper, counters only."""

    backend = "netem"
    note = NETEM_NOTE

    def __init__(self, link: Link, states: list[tuple[str, dict]]) -> None:
        super().__init__(link)
        self.channels = [LineChannel(helper, ["sh", "-c", netem_loop(state)]) for helper, state in states]

    def poll(self, since: int) -> tuple[dict, Optional[dict]]:
        directions = {}
        for name, channel in zip(self.names, self.channels):
            try:
                directions[name] = netem_direction(channel.ask("")[0])
            except SocklabError as err:
                directions[name] = {"params": {}, "counters": {}, "error": str(err)}
        return {"backend": self.backend, "daemon": "kernel", "seed": None, "directions": directions}, None

    def close(self) -> None:
        for channel in self.channels:
            channel.close()


def netem_loop(state: dict) -> str:
    """The reader of one direction's figures, in its netem helper."""
    stats = shlex.join(netem.stats_command(state["dev"], state["via_ifb"]))
    return NETEM_LOOP.format(state=shlex.quote(NETEM_STATE), stats=stats)


def netem_direction(line: str) -> dict:
    """One direction as ``link show`` gives it (parameters, counters), from a line of :func:`netem_loop`."""
    record, _, stats = line.partition("\t")
    try:
        return {"params": json.loads(record)["params"], "counters": netem.counters(stats)}
    except (ValueError, KeyError, TypeError) as err:
        return {"params": {}, "counters": {}, "error": f"cannot read netem's figures: {err}"}


def feed_for(running: "RunningLab", link: Link) -> LinkFeed:
    control = LinkControl(running, link)
    if control.backend == "netem":
        return NetemFeed(link, [(helper.name, state) for helper, state in control.netem_states()])
    return DaemonFeed(link, control.helpers[0].name)
