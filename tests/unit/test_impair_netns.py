"""The link daemon on real packets: two network namespaces joined by a veth pair.

Namespace A runs the daemon (as a helper container would, in the node's
namespace) and impairs its link to B. All traffic stays between the two
addresses the test gives the veth ends, 10.213.0.1/30 and 10.213.0.2/30
(and fd00:213::1/126, ::2); the namespaces are deleted at the end.
"""

from __future__ import annotations

import json
import math
import os
import shutil
import signal
import statistics
import subprocess
import sys
import time
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Iterator, Optional

import pytest

from impair.decide import FlowStreams, Impairment

SERVICES = Path(__file__).resolve().parents[2] / "services"
TRAFFIC = Path(__file__).with_name("impair_netns.py")
A4, B4, A6, B6 = "10.213.0.1", "10.213.0.2", "fd00:213::1", "fd00:213::2"


def _netns_unavailable() -> Optional[str]:
    if os.geteuid() != 0:
        return "needs root to create network namespaces"
    if shutil.which("ip") is None or subprocess.run(["ip", "netns", "list"], capture_output=True).returncode:
        return "`ip netns` is not available"
    return None


pytestmark = [pytest.mark.skipif(_netns_unavailable() is not None, reason=_netns_unavailable() or ""), pytest.mark.slow]


@dataclass(frozen=True)
class Pair:
    a: str
    b: str
    a_iface: str


def _ip(*args: str) -> None:
    subprocess.run(["ip", *args], check=True, capture_output=True)


@pytest.fixture(scope="module")
def pair() -> Iterator[Pair]:
    """Two namespaces joined by a veth pair (not named `lab`: that is the socklab plugin's fixture)."""
    tag = os.getpid() % 100_000
    pair = Pair(f"socklab-impair-{tag}-a", f"socklab-impair-{tag}-b", f"sli{tag}a")
    try:
        _ip("netns", "add", pair.a)
        _ip("netns", "add", pair.b)
        _ip("link", "add", pair.a_iface, "netns", pair.a, "type", "veth", "peer", "name", f"sli{tag}b", "netns", pair.b)
        for ns, iface, addr4, addr6 in ((pair.a, pair.a_iface, A4, A6), (pair.b, f"sli{tag}b", B4, B6)):
            _ip("-n", ns, "addr", "add", f"{addr4}/30", "dev", iface)
            _ip("-n", ns, "addr", "add", f"{addr6}/126", "dev", iface, "nodad")
            _ip("-n", ns, "link", "set", "lo", "up")
            _ip("-n", ns, "link", "set", iface, "up")
        yield pair
    finally:
        for ns in (pair.a, pair.b):
            subprocess.run(["ip", "netns", "del", ns], capture_output=True)


class Daemon:
    """The daemon running in namespace A, as ``python3 -m impair.daemon`` from the services directory."""

    def __init__(self, pair: Pair, workdir: Path, config: dict) -> None:
        self.control = str(workdir / f"{config['name']}.sock")
        self.output = workdir / f"{config['name']}.out"
        self.config = {"control": self.control, **config}
        with open(self.output, "w") as output:
            self.proc = subprocess.Popen(
                [
                    "ip",
                    "netns",
                    "exec",
                    pair.a,
                    sys.executable,
                    "-m",
                    "impair.daemon",
                    "--config",
                    json.dumps(self.config),
                ],
                cwd=SERVICES,
                stdout=output,
                stderr=subprocess.STDOUT,
                text=True,
            )
        deadline = time.monotonic() + 10
        while "ready link/" not in self.output.read_text():
            assert self.proc.poll() is None and time.monotonic() < deadline, self.output.read_text()
            time.sleep(0.02)

    def ctl(self, *args: str) -> subprocess.CompletedProcess:
        return subprocess.run(
            [sys.executable, "-m", "impair.ctl", "--socket", self.control, *args],
            cwd=SERVICES,
            capture_output=True,
            text=True,
            timeout=10,
        )

    def show(self) -> dict:
        done = self.ctl("show")
        assert done.returncode == 0, done.stderr
        return json.loads(done.stdout)

    def set(self, changes: dict) -> dict:
        done = self.ctl("set", json.dumps(changes))
        assert done.returncode == 0, done.stderr
        return json.loads(done.stdout)

    def stop(self, signum: int = signal.SIGTERM) -> None:
        if self.proc.poll() is None:
            self.proc.send_signal(signum)
            self.proc.wait(timeout=10)


@contextmanager
def daemon(pair: Pair, tmp_path: Path, **config: object) -> Iterator[Daemon]:
    running = Daemon(pair, tmp_path, {"name": "t", "match": {"peer4": B4, "peer6": B6}, **config})
    try:
        yield running
    finally:
        running.stop()


def start_traffic(ns: str, *args: object) -> subprocess.Popen:
    """Start impair_netns.py in a namespace; its output is read from the pipe."""
    return subprocess.Popen(
        ["ip", "netns", "exec", ns, sys.executable, str(TRAFFIC), *map(str, args)], stdout=subprocess.PIPE, text=True
    )


def traffic(ns: str, *args: object) -> str:
    """Run impair_netns.py in a namespace to its end; what it printed."""
    return start_traffic(ns, *args).communicate(timeout=30)[0]


class Receiver:
    def __init__(self, ns: str, addr: str, port: int, wait: float = 5.0) -> None:
        self.proc = start_traffic(ns, "recv", addr, port, wait)
        assert self.proc.stdout.readline().strip() == "listening"

    def seqs(self) -> list[int]:
        out, _ = self.proc.communicate(timeout=30)
        return json.loads(out)


def send_and_receive(pair: Pair, count: int, port: int, sport: int, to: str = B4, wait: float = 5.0) -> list[int]:
    """Send ``count`` numbered datagrams from A to B; the sequence numbers B got."""
    sender, receiver_ns = (pair.a, pair.b) if to in (B4, B6) else (pair.b, pair.a)
    receiver = Receiver(receiver_ns, to, port, wait)
    traffic(sender, "send", to, port, sport, count)
    return receiver.seqs()


def binomial_interval(n: int, p: float, z: float = 2.576) -> tuple[float, float]:
    """The 99% interval of a binomial count (normal approximation, fine at n*p = 600)."""
    spread = z * math.sqrt(n * p * (1 - p))
    return n * p - spread, n * p + spread


def test_loss_is_binomial_and_the_same_seed_loses_the_same_packets(pair: Pair, tmp_path: Path) -> None:
    n, sport, port = 2000, 40000, 5000
    lost = []
    for _ in range(2):
        with daemon(pair, tmp_path, seed=1, out={"loss": 30}) as link:
            lost.append(set(range(n)) - set(send_and_receive(pair, n, port, sport)))
            counters = link.show()["out"]["counters"]
    with daemon(pair, tmp_path, seed=1, out={"loss": 30}) as link:
        link.set({"seed": 2})
        lost.append(set(range(n)) - set(send_and_receive(pair, n, port, sport)))
    low, high = binomial_interval(n, 0.30)
    assert low <= len(lost[0]) <= high
    assert counters["dropped"] == len(lost[0]) and counters["queue_overflows"] == counters["kernel_dropped"] == 0
    assert lost[0] == lost[1]
    assert lost[2] != lost[0]
    streams, flow = FlowStreams(1, "out"), (17, A4, sport, B4, port)
    assert lost[0] == {i for i in range(n) if streams.next(Impairment(loss=30), flow).drop}


def test_the_event_ring_names_each_packet_and_its_fate(pair: Pair, tmp_path: Path) -> None:
    n, sport, port = 40, 40010, 5010
    with daemon(pair, tmp_path, seed=3, out={"loss": 30, "delay_ms": 20}) as link:
        received = set(send_and_receive(pair, n, port, sport))
        done = link.ctl("events", json.dumps({"since": 0, "limit": 500}))
        assert done.returncode == 0, done.stderr
        answer = json.loads(done.stdout)
    ours = [e for e in reversed(answer["events"]) if (e["proto"], e["sport"], e["dport"]) == ("udp", sport, port)]
    assert len(ours) == n and answer["skipped"] == 0
    assert {i for i, e in enumerate(ours) if e["fate"] == "dropped"} == set(range(n)) - received
    assert all(e["fate"] == "delayed" and 19 <= e["delay_ms"] <= 21 for e in ours if e["fate"] != "dropped")
    assert all((e["dir"], e["src"], e["dst"]) == ("out", A4, B4) for e in ours)
    assert [e["time"] for e in ours] == sorted(e["time"] for e in ours)


def _median_rtt(pair: Pair, count: int = 30) -> float:
    return statistics.median(json.loads(traffic(pair.a, "ping", B4, 7, count)))


def test_delay_out_adds_its_delay_to_the_round_trip(pair: Pair, tmp_path: Path) -> None:
    echo = start_traffic(pair.b, "echo", B4, 7)
    try:
        assert echo.stdout.readline().strip() == "listening"
        base = _median_rtt(pair)
        with daemon(pair, tmp_path, out={"delay_ms": 50}) as link:
            delayed = _median_rtt(pair)
            counters = link.show()["out"]["counters"]
    finally:
        echo.kill()
        echo.wait()
    assert (delayed - base) * 1000 == pytest.approx(50, abs=3)
    assert counters["delayed"] >= 30


@pytest.mark.parametrize("family", ["ipv4", "ipv6"])
def test_duplicates_arrive_twice_in_both_directions(pair: Pair, tmp_path: Path, family: str) -> None:
    to_b, to_a = (B4, A4) if family == "ipv4" else (B6, A6)
    with daemon(pair, tmp_path, out={"duplicate": 100}) as link:
        out = send_and_receive(pair, 100, 5001, 40001, to=to_b)
        link.set({"out": {"duplicate": 0}, "in": {"duplicate": 100}})
        back = send_and_receive(pair, 100, 5002, 40002, to=to_a)
        shown = link.show()
    assert sorted(out) == sorted(list(range(100)) * 2)
    assert sorted(back) == sorted(list(range(100)) * 2), "an 'in' duplicate sent through the loopback was lost"
    for direction in ("out", "in"):
        assert shown[direction]["counters"]["duplicated"] >= 100
        assert shown[direction]["counters"]["duplicate_failed"] == 0


def _udp_checksum_errors(ns: str) -> int:
    snmp = subprocess.run(["ip", "netns", "exec", ns, "cat", "/proc/net/snmp"], capture_output=True, text=True).stdout
    names, values = [line.split()[1:] for line in snmp.splitlines() if line.startswith("Udp:")]
    return int(values[names.index("InCsumErrors")])


def test_corrupted_datagrams_are_caught_by_the_receivers_checksum(pair: Pair, tmp_path: Path) -> None:
    before = _udp_checksum_errors(pair.b)
    with daemon(pair, tmp_path, out={"corrupt": 100}) as link:
        received = send_and_receive(pair, 50, 5003, 40003, wait=1.0)
        corrupted = link.show()["out"]["counters"]["corrupted"]
    assert received == [] and corrupted == 50
    assert _udp_checksum_errors(pair.b) - before == 50


def test_an_interface_link_impairs_both_address_families(pair: Pair, tmp_path: Path) -> None:
    with daemon(pair, tmp_path, match={"iface": pair.a_iface}, out={"loss": 100}) as link:
        assert send_and_receive(pair, 20, 5004, 40004, to=B4, wait=1.0) == []
        assert send_and_receive(pair, 20, 5005, 40005, to=B6, wait=1.0) == []
        assert link.show()["out"]["counters"]["dropped"] >= 40


def until(counter: Callable[[], int], seconds: float = 10.0) -> int:
    """The counter once it is above zero, or at ``seconds`` (a loaded machine may start the flood late)."""
    deadline = time.monotonic() + seconds
    while (value := counter()) == 0 and time.monotonic() < deadline:
        time.sleep(0.05)
    return value


def test_control_changes_parameters_while_traffic_flows(pair: Pair, tmp_path: Path) -> None:
    with daemon(pair, tmp_path) as link:
        receiver = Receiver(pair.b, B4, 5006, wait=12.0)
        # 2,000 a second: a loaded machine's receiver keeps up, so every loss is the link's.
        flood = start_traffic(pair.a, "flood", B4, 5006, 40006, 4, 2000)
        assert until(lambda: link.show()["out"]["counters"]["seen"]) > 0
        refused = link.ctl("set", json.dumps({"out": {"loss": 200}}))
        # Half, not all: a spell of total loss longer than 0.6 s (a loaded machine's
        # two link commands) would end the receiver, which stops when nothing comes.
        lossy = link.set({"out": {"loss": 50}})
        assert until(lambda: link.show()["out"]["counters"]["dropped"]) > 0, "nothing dropped at 50% loss"
        clean = link.set({"out": {"loss": 0}})
        sent = int(flood.communicate(timeout=30)[0])
        received = len(receiver.seqs())
        final = link.show()
    assert lossy["out"]["params"]["loss"] == 50.0 and clean["out"]["params"]["loss"] == 0.0
    assert refused.returncode == 2 and "loss must be a percentage" in refused.stderr
    assert final["out"]["counters"]["seen"] >= sent
    assert 0 < final["out"]["counters"]["dropped"] == sent - received
    assert final["in"]["params"] == Impairment().to_dict()
    assert link.output.read_text().count("set link/t ") == 2


def _chains(ns: str) -> str:
    return "".join(
        subprocess.run(["ip", "netns", "exec", ns, tool, "-S"], capture_output=True, text=True).stdout
        for tool in ("iptables", "ip6tables")
    )


def test_a_killed_daemon_stops_the_link_and_ctl_says_so(pair: Pair, tmp_path: Path) -> None:
    with daemon(pair, tmp_path) as link:
        assert "SOCKLAB-t-OUT" in _chains(pair.a)
        link.stop(signal.SIGKILL)
        answer = link.ctl("show")
        assert answer.returncode == 1 and "link daemon not running" in answer.stderr
        assert send_and_receive(pair, 20, 5007, 40007, wait=1.0) == [], "a dead daemon must not pass traffic"
    with daemon(pair, tmp_path) as link:  # a new daemon replaces the dead one's rules
        assert send_and_receive(pair, 20, 5008, 40008) == list(range(20))
    assert "SOCKLAB" not in _chains(pair.a)
    assert send_and_receive(pair, 20, 5009, 40009) == list(range(20))


def test_throughput_of_small_datagrams(pair: Pair, tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    seconds = 2.0
    with daemon(pair, tmp_path) as link:
        receiver = Receiver(pair.b, B4, 5010)
        sent = int(traffic(pair.a, "flood", B4, 5010, 40010, seconds))
        received = len(receiver.seqs())
        counters = link.show()["out"]["counters"]
    with capsys.disabled():
        print(
            f"\nimpair daemon throughput: {received / seconds:,.0f} datagrams/s of 32 bytes "
            f"({sent} sent, {received} received, {counters['dropped']} dropped by the daemon)"
        )
    assert counters["dropped"] == counters["queue_overflows"] == counters["kernel_dropped"] == 0
