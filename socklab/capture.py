"""Packet capture on a node, from a tcpdump helper sharing its namespace.

Used as ``with lab.capture("server", filter="udp port 1234") as cap: ...``;
after the block ``cap.packets`` holds the parsed packets and ``cap.pcap``
the raw file, which Wireshark and tshark open as they are. ``socklab
capture`` is the same capture, its output streamed to a file or, as text,
to the terminal while it runs.
"""

from __future__ import annotations

import re
import time
import uuid
from typing import Callable, Optional

from .docker_backend import Helper
from .model import Ready
from .pcap import Packet, read_pcap
from .readiness import wait_ready
from .running import RunningNodes

# tcpdump opens the interface, then gives up root (-Z root still calls
# setgroups): the helper, not the node under test, holds these.
CAPTURE_CAPS = ["NET_ADMIN", "NET_RAW", "SETUID", "SETGID"]
SUMMARY = re.compile(r"^\d+ packets? (captured|received by filter|dropped by kernel)$")


class Capture:
    """tcpdump in a helper; its pcap stream (or, with ``text``, its packet
    lines) goes to ``sink`` as it comes, or is kept in ``pcap``."""

    def __init__(
        self,
        running: RunningNodes,
        node: str,
        filter: str = "",
        iface: str = "any",
        count: Optional[int] = None,
        sink: Optional[Callable[[bytes], object]] = None,
        text: bool = False,
    ) -> None:
        self.running = running
        self.node = node
        self.filter = filter
        self.iface = iface
        self.count = count
        self.text = text
        self.sink = sink or self._keep
        self.helper: Optional[Helper] = None
        self.pcap = b""
        self.packets: list[Packet] = []
        self.summary: list[str] = []  # tcpdump's closing counts
        self._chunks: list[bytes] = []

    def argv(self) -> list[str]:
        command = ["tcpdump", "-Z", "root", "-i", self.iface, "-n"]
        if self.text:
            command += ["-l"]
        else:
            # --immediate-mode: without it libpcap hands packets over in blocks, up to
            # a second late, and those still pending when tcpdump is stopped are lost.
            command += ["-U", "--immediate-mode", "-w", "-", "--time-stamp-precision=nano"]
        if self.count:
            command += ["-c", str(self.count)]
        return command + ([self.filter] if self.filter else [])

    def _keep(self, chunk: bytes) -> None:
        self._chunks.append(chunk)

    def start(self) -> Capture:
        self.helper = self.running.backend.start_helper(
            self.running.container(self.node),
            "capture",
            self.argv(),
            CAPTURE_CAPS,
            suffix=f"capture-{uuid.uuid4().hex[:6]}",
            stdout=self.sink,
        )
        try:
            wait_ready(
                self.running.backend,
                f"capture on {self.node}",
                self.helper.id,
                Ready("log", log="listening on", timeout=10),
            )
        except BaseException:
            self.helper.remove()
            self.helper = None
            raise
        return self

    def wait(self, poll: float = 0.2) -> None:
        """Until tcpdump stops by itself (``count`` packets seen); a Ctrl-C gets through."""
        assert self.helper is not None
        while not self.helper.finished(poll):
            pass

    def stop(self) -> list[Packet]:
        """Stop tcpdump cleanly (it flushes its output), remove the helper, parse the pcap."""
        helper = self.helper
        assert helper is not None
        try:
            time.sleep(0.05)  # let packets already in flight reach tcpdump's buffer
            if helper.running():
                helper.signal("SIGINT")
            helper.wait(timeout=10)
            self.summary = [line for line in helper.logs().splitlines() if SUMMARY.match(line)]
        finally:
            helper.remove()
            self.helper = None
        if self._chunks:
            self.pcap = b"".join(self._chunks)
            self.packets = read_pcap(self.pcap)
        return self.packets

    def __enter__(self) -> Capture:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()
