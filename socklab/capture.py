"""Packet capture on a node, from a tcpdump helper sharing its namespace.

Used as ``with lab.capture("server", filter="udp port 1234") as cap: ...``;
after the block ``cap.packets`` holds the parsed packets and ``cap.pcap``
the raw file, which Wireshark and tshark open as they are.
"""

from __future__ import annotations

import io
import tarfile
import time
import uuid
from typing import TYPE_CHECKING, Optional

from . import labels as L
from .catalog import NODE_IMAGE
from .model import Ready
from .pcap import Packet, read_pcap
from .readiness import wait_ready

if TYPE_CHECKING:
    from .lab import RunningLab

PCAP_PATH = "/tmp/capture.pcap"
# tcpdump opens the interface, then gives up root (-Z root still calls
# setgroups): the helper, not the node under test, holds these.
CAPTURE_CAPS = ["NET_ADMIN", "NET_RAW", "SETUID", "SETGID"]


class Capture:
    def __init__(self, running: "RunningLab", node: str, filter: str = "", iface: str = "any", count: Optional[int] = None) -> None:
        self.running = running
        self.node = node
        self.filter = filter
        self.iface = iface
        self.count = count
        self.helper: Optional[str] = None
        self.pcap = b""
        self.packets: list[Packet] = []

    def argv(self, path: str = PCAP_PATH) -> list[str]:
        # --immediate-mode: without it libpcap hands packets over in blocks, up to
        # a second late, and those still pending when tcpdump is stopped are lost.
        command = ["tcpdump", "-Z", "root", "-i", self.iface, "-U", "--immediate-mode", "-n", "-w", path, "--time-stamp-precision=nano"]
        if self.count:
            command += ["-c", str(self.count)]
        return command + ([self.filter] if self.filter else [])

    def start(self) -> "Capture":
        node = self.running.container(self.node)
        labels = dict(node.labels, **{L.ROLE: "capture"})
        self.helper = self.running.backend.create_container(
            f"{node.name}-capture-{uuid.uuid4().hex[:6]}",
            NODE_IMAGE,
            self.argv(),
            labels,
            network_mode=f"container:{node.id}",
            cap_add=CAPTURE_CAPS,
        )
        self.running.backend.start(self.helper)
        wait_ready(self.running.backend, f"capture on {self.node}", self.helper, Ready("log", log="listening on", timeout=10))
        return self

    def stop(self) -> list[Packet]:
        """Stop tcpdump cleanly (it flushes the file), fetch and parse the pcap."""
        api = self.running.backend.api
        assert self.helper is not None
        try:
            time.sleep(0.05)  # let packets already in flight reach tcpdump's buffer
            if api.inspect_container(self.helper)["State"]["Running"]:
                api.kill(self.helper, signal="SIGINT")
                api.wait(self.helper, timeout=10)
            stream, _ = api.get_archive(self.helper, PCAP_PATH)
            with tarfile.open(fileobj=io.BytesIO(b"".join(stream))) as tar:
                member = tar.getmembers()[0]
                self.pcap = tar.extractfile(member).read()
        finally:
            api.remove_container(self.helper, force=True)
            self.helper = None
        self.packets = read_pcap(self.pcap)
        return self.packets

    def __enter__(self) -> "Capture":
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()
