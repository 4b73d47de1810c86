"""``socklab capture -w`` writes a pcap that a real decoder (tshark) reads,
showing the client's retries through the lossy link."""

from __future__ import annotations

import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from socklab.pcap import read_pcap

pytestmark = pytest.mark.lab("udp-loss")


def test_capture_file_opens_in_tshark_and_shows_the_retries(lab, tmp_path: Path) -> None:
    if shutil.which("tshark") is None:
        pytest.skip("tshark is an optional host tool and is not installed (sudo apt-get install tshark)")
    lab.link("wan").set(loss=0.0)
    lab.link("wan").set(direction="reverse", loss=100.0)
    pcap = tmp_path / "retries.pcap"
    capture = subprocess.Popen(
        [sys.executable, "-m", "socklab.cli", "capture", "--instance", lab.instance, "udp-loss", "client", "--filter", "udp port 1234", "-w", str(pcap)],
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        deadline = time.monotonic() + 15
        while (not pcap.exists() or pcap.stat().st_size < 24) and time.monotonic() < deadline:
            time.sleep(0.05)
        lab.exec("client", ["udp-client", "--host", "server", "--message", "are you there"], timeout=10)
    finally:
        capture.send_signal(signal.SIGINT)
        capture.wait(timeout=15)
        lab.link("wan").set(loss=0.0)
    fields = subprocess.run(["tshark", "-r", str(pcap), "-T", "fields", "-e", "frame.time_relative", "-e", "udp.dstport", "-e", "data.data"], capture_output=True, text=True, check=True)
    rows = [line.split("\t") for line in fields.stdout.splitlines()]
    to_server = [row for row in rows if row[1] == "1234"]
    assert len(to_server) == 5, f"expected the 5 tries of the lecture's client, tshark shows:\n{fields.stdout}"
    assert bytes.fromhex(to_server[0][2]) == b"are you there"
    assert len(read_pcap(pcap.read_bytes())) == len(rows), "our reader and tshark must see the same packets"
