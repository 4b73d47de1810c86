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

from socklab import labels as L
from socklab.pcap import read_pcap

pytestmark = pytest.mark.lab("udp-loss")


def test_capture_file_opens_in_tshark_and_shows_the_retries(lab, tmp_path: Path) -> None:
    if shutil.which("tshark") is None:
        pytest.skip("tshark is an optional host tool and is not installed (sudo apt-get install tshark)")
    lab.link("wan").set(loss=0.0)
    lab.link("wan").set(direction="reverse", loss=100.0)
    pcap = tmp_path / "retries.pcap"
    capture = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "socklab.cli",
            "capture",
            "--instance",
            lab.instance,
            "udp-loss",
            "client",
            "--filter",
            "udp port 1234",
            "-w",
            str(pcap),
        ],
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
    fields = subprocess.run(
        [
            "tshark",
            "-r",
            str(pcap),
            "-T",
            "fields",
            "-e",
            "frame.time_relative",
            "-e",
            "udp.dstport",
            "-e",
            "data.data",
        ],
        capture_output=True,
        text=True,
        check=True,
    )
    rows = [line.split("\t") for line in fields.stdout.splitlines()]
    to_server = [row for row in rows if row[1] == "1234"]
    assert len(to_server) == 5, f"expected the 5 tries of the lecture's client, tshark shows:\n{fields.stdout}"
    assert bytes.fromhex(to_server[0][2]) == b"are you there"
    assert len(read_pcap(pcap.read_bytes())) == len(rows), "our reader and tshark must see the same packets"


def test_status_and_exec_work_while_a_cli_capture_runs(lab) -> None:
    """The sheets' sequence: a capture in one window, the lab used from
    another. The capture's helper must neither be taken for a node nor
    break finding the lab again."""
    lab.link("wan").set(loss=0.0)
    socklab = [sys.executable, "-m", "socklab.cli"]
    capture = subprocess.Popen(
        [*socklab, "capture", "--instance", lab.instance, "udp-loss", "server", "--filter", "udp port 1234", "-q"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        deadline = time.monotonic() + 15
        while not [
            h for h in lab.backend.containers({L.LAB: lab.instance, L.ROLE: "capture"}) if h.status == "running"
        ]:
            assert time.monotonic() < deadline and capture.poll() is None, "the capture did not start"
            time.sleep(0.1)
        time.sleep(0.5)  # its helper is running; tcpdump gets a moment to listen
        listed = subprocess.run([*socklab, "status"], capture_output=True, text=True, timeout=60)
        assert listed.returncode == 0 and lab.instance in listed.stdout, listed.stderr
        status = subprocess.run(
            [*socklab, "status", "--instance", lab.instance, "udp-loss"], capture_output=True, text=True, timeout=60
        )
        assert status.returncode == 0, status.stderr
        assert "server" in status.stdout and "client" in status.stdout, status.stdout
        done = subprocess.run(
            [
                *socklab,
                "exec",
                "--instance",
                lab.instance,
                "udp-loss",
                "client",
                "--",
                "udp-client",
                "--host",
                "server",
                "--message",
                "hello",
            ],
            capture_output=True,
            text=True,
            timeout=60,
        )
        assert done.returncode == 0, done.stderr
        assert "HELLO" in done.stdout, done.stdout
    finally:
        capture.send_signal(signal.SIGINT)
        out, err = capture.communicate(timeout=30)
    assert capture.returncode == 0, err
    assert "Traceback" not in err, err
    assert "UDP" in out and ".1234" in out, f"tcpdump's lines should show the datagrams:\n{out}\n{err}"
    assert not lab.backend.containers({L.LAB: lab.instance, L.ROLE: "capture"}), (
        "Ctrl-C leaves the capture helper behind"
    )
