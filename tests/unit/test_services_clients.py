"""The reference clients, run as `python services/<name>.py` against the
reference servers (PORT=0) or against a bare UDP socket that records when
datagrams arrive and never answers."""

import json
import os
import select
import socket
import struct
import subprocess
import sys
import time
from pathlib import Path

import pytest

from socklab.probes import backoff_verdict

SERVICES = Path(__file__).resolve().parents[2] / "services"
SEND_TIMES = [0.0, 0.1, 0.3, 0.7, 1.5]  # seconds after the first send
GIVE_UP_TIME = 3.1
TOLERANCE = 0.05
SO_TIMESTAMPNS = getattr(socket, "SO_TIMESTAMPNS", 35)  # Linux's value, where the socket module does not name it


@pytest.fixture(scope="module")
def server_port():
    """server_port(name, **env): the port of a running server, started once per module."""
    started: dict[tuple, tuple[subprocess.Popen, int]] = {}

    def get(name: str, **env: str) -> int:
        key = (name, tuple(sorted(env.items())))
        if key not in started:
            proc = subprocess.Popen(
                [sys.executable, "-u", str(SERVICES / f"{name}.py")],
                env={**os.environ, "PORT": "0", **env},
                stdout=subprocess.PIPE,
                text=True,
            )
            started[key] = (proc, 0)
            ready, _, _ = select.select([proc.stdout], [], [], 10)
            assert ready, f"{name} did not become ready"
            line = proc.stdout.readline()
            assert line.startswith("ready "), line
            started[key] = (proc, int(line.rsplit("/", 1)[1]))
        return started[key][1]

    yield get
    for proc, _ in started.values():
        proc.kill()
        proc.wait()


def client(name: str, *args: str, input: bytes = b"") -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, str(SERVICES / f"{name}.py"), *args], input=input, capture_output=True, timeout=15
    )


def spawn(name: str, *args: str) -> subprocess.Popen:
    return subprocess.Popen(
        [sys.executable, str(SERVICES / f"{name}.py"), *args], stdin=subprocess.DEVNULL, stdout=subprocess.PIPE
    )


@pytest.fixture
def silent_udp():
    """silent_udp(): a bound UDP socket on 127.0.0.1 that nobody answers from; the
    kernel stamps each datagram's arrival (SO_TIMESTAMPNS, read by :func:`arrival`)."""
    sockets = []

    def make() -> socket.socket:
        s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        s.setsockopt(socket.SOL_SOCKET, SO_TIMESTAMPNS, 1)
        s.bind(("127.0.0.1", 0))
        sockets.append(s)
        return s

    yield make
    for s in sockets:
        s.close()


@pytest.fixture
def killed_at_end():
    procs: list[subprocess.Popen] = []
    yield procs.append
    for proc in procs:
        proc.kill()
        proc.wait()


def arrival(sock: socket.socket) -> tuple[bytes, float]:
    """A datagram and the kernel's time of its arrival: a busy test process may read
    two datagrams in one go, 0.1 s after the first arrived."""
    data, ancillary, _, _ = sock.recvmsg(100, socket.CMSG_SPACE(16))
    for level, kind, value in ancillary:
        if level == socket.SOL_SOCKET and kind == SO_TIMESTAMPNS:
            seconds, nanoseconds = struct.unpack("qq", value[:16])
            return data, seconds + nanoseconds / 1e9
    raise AssertionError("no arrival time: SO_TIMESTAMPNS is not set on this socket")


def free_udp_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


# --- UDP client with backoff ---------------------------------------------------


def test_udp_client_backs_off_and_gives_up_on_time(silent_udp, killed_at_end):
    """Plain and --json clients run side by side, each against its own
    silent socket, so that the 3.1 s of backoff are spent only once."""
    plain, as_json = silent_udp(), silent_udp()
    runs = {}
    for sock, extra in ((plain, []), (as_json, ["--json"])):
        proc = spawn(
            "udp_client", "--host", "127.0.0.1", "--port", str(sock.getsockname()[1]), "--message", "hello", *extra
        )
        killed_at_end(proc)
        runs[sock] = {"proc": proc, "arrivals": [], "exit": None}

    deadline = time.monotonic() + 8
    while time.monotonic() < deadline and any(run["exit"] is None for run in runs.values()):
        readable, _, _ = select.select(list(runs), [], [], 0.005)
        for sock in readable:
            data, arrived = arrival(sock)
            assert data == b"hello"
            runs[sock]["arrivals"].append(arrived)
        for run in runs.values():
            if run["exit"] is None and run["proc"].poll() is not None:
                run["exit"] = time.time()  # the clock of the kernel's arrival stamps

    for run in runs.values():
        first = run["arrivals"][0]
        ok, verdict = backoff_verdict([round(t - first, 4) for t in run["arrivals"]], SEND_TIMES, TOLERANCE)
        assert ok, verdict
        assert run["exit"] - first == pytest.approx(GIVE_UP_TIME, abs=0.15)
        assert run["proc"].returncode == 1
    assert runs[plain]["proc"].stdout.read() == b"server seems down\n"
    result = json.loads(runs[as_json]["proc"].stdout.read())
    assert result["outcome"] == "gave-up" and result["attempts"] == 5 and result["answer"] is None
    assert result["latency_s"] == pytest.approx(GIVE_UP_TIME, abs=0.15)


def test_udp_client_takes_a_late_answer_and_sends_from_its_source_port(silent_udp, killed_at_end):
    server = silent_udp()
    server.settimeout(2)
    source_port = free_udp_port()
    proc = spawn(
        "udp_client",
        "--host",
        "127.0.0.1",
        "--port",
        str(server.getsockname()[1]),
        "--message",
        "hello",
        "--source-port",
        str(source_port),
        "--json",
    )
    killed_at_end(proc)
    _, address = server.recvfrom(100)
    assert address == ("127.0.0.1", source_port)
    server.recvfrom(100)  # the second send, 0.1 s later; now answer the first
    server.sendto(b"LATE HELLO", address)
    assert proc.wait(timeout=5) == 0
    result = json.loads(proc.stdout.read())
    assert result["answer"] == "LATE HELLO"
    assert result["attempts"] == 2 and result["outcome"] == "answered"
    assert 0.09 < result["latency_s"] < 0.3


def test_udp_client_prints_the_server_s_answer(server_port):
    port = server_port("udp_server")
    result = client("udp_client", "--host", "127.0.0.1", "--port", str(port), input="hello wörld\n".encode())
    assert (result.returncode, result.stdout.decode()) == (0, "HELLO WÖRLD\n")
    result = client("udp_client", "--port", str(port), "--message", "hi", "--json")
    assert result.returncode == 0
    answer = json.loads(result.stdout)
    assert (answer["answer"], answer["attempts"], answer["outcome"]) == ("HI", 1, "answered")


def test_flood_stamps_each_datagram_as_it_leaves(server_port):
    """Sent as fast as possible, 2,000 datagrams take a time to send that a
    sendto() per datagram bounds: stamped once per burst, they showed none, and
    the fidelity benchmark printed 200,000,000 a second."""
    port = server_port("udp_server")
    result = client("flood", "127.0.0.1", str(port), "--count", "2000", "--interval", "0", "--wait", "0.5")
    report = json.loads(result.stdout)
    assert report["sent"] == 2000 and report["send_duration_s"] > 0, report
    assert report["sent"] / report["send_duration_s"] < 5_000_000, report


# --- TCP, block and XML-RPC clients ------------------------------------------------


@pytest.mark.parametrize("name", ["tcp_threaded", "tcp_poll"])
def test_tcp_client_upper_cases_each_line(server_port, name):
    port = server_port(name)
    result = client(
        "tcp_client",
        "--host",
        "127.0.0.1",
        "--port",
        str(port),
        input="hello\nwörld\nlast line without newline".encode(),
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.decode() == "HELLO\nWÖRLD\nLAST LINE WITHOUT NEWLINE"


def test_tcp_client_says_when_the_server_is_down():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]  # bound, not listening: connections are refused
        result = client("tcp_client", "--host", "127.0.0.1", "--port", str(port), input=b"hello\n")
    assert (result.returncode, result.stdout) == (1, b"server seems down\n")


@pytest.mark.parametrize("extra", [[], ["--compress"]])
def test_block_client_checks_a_generated_block(server_port, extra):
    port = server_port("block_server")
    result = client("block_client", "--port", str(port), "--size", "1000000", *extra)
    assert (result.returncode, result.stdout) == (0, b"ok 1000000 bytes\n"), result.stderr


def test_block_client_sends_standard_input_or_a_file(server_port, tmp_path):
    port = server_port("block_server")
    result = client("block_client", "--port", str(port), input="hello\nwörld\n".encode())
    assert (result.returncode, result.stdout.decode()) == (0, "HELLO\nWÖRLD\n")
    path = tmp_path / "message.txt"
    path.write_bytes(b"from a file")
    result = client("block_client", "--port", str(port), "--file", str(path))
    assert (result.returncode, result.stdout) == (0, b"FROM A FILE")


def test_xmlrpc_client_prints_the_slide_s_results_with_quadratic_fixed(server_port):
    port = server_port("xmlrpc_server")
    result = client("xmlrpc_client", "--host", "127.0.0.1", "--port", str(port))
    assert (result.returncode, result.stdout) == (0, b"xyz\n15\n[0.0, 2.0]\n[-1.0]\n"), result.stderr


# --- broadcast and names -----------------------------------------------------------


def test_broadcast_client_prints_each_answer_and_the_count(server_port):
    port = server_port("broadcast_responder", NODE_NAME="node1")
    start = time.monotonic()
    result = client(
        "broadcast_client", "--broadcast", "127.0.0.1", "--port", str(port), "--timeout", "0.3", "--message", "anyone?"
    )
    assert (result.returncode, result.stdout) == (0, b"127.0.0.1 node1: ANYONE?\n1 answers\n")
    assert time.monotonic() - start < 2.0


def test_broadcast_client_says_server_seems_down_when_nobody_answers(silent_udp):
    port = silent_udp().getsockname()[1]
    result = client(
        "broadcast_client", "--broadcast", "127.0.0.1", "--port", str(port), "--timeout", "0.3", "--message", "anyone?"
    )
    assert (result.returncode, result.stdout) == (1, b"server seems down\n")


# --- send vs sendall, against the slow reader --------------------------------------


def test_slow_reader_makes_send_return_short_and_answers_a_whole_line(server_port):
    port = server_port("slow_reader")
    line = b"a" * 5_000_000 + b"\n"
    with socket.create_connection(("127.0.0.1", port), timeout=5) as short:
        assert short.send(line) < len(line)
    with socket.create_connection(("127.0.0.1", port), timeout=10) as whole:
        whole.sendall(line)
        answer = whole.makefile("rb").readline()
    assert answer.startswith(b"received 5000000 bytes sha256 "), answer


def test_names_on_localhost():
    result = client("names", "localhost", "80")
    output = result.stdout.decode()
    assert result.returncode == 0, output
    assert "gethostbyname: 127.0.0.1\n" in output
    assert "getaddrinfo AF_INET: 127.0.0.1" in output
    assert "getaddrinfo AF_INET6: " in output
    assert "port: 80\n" in output
    assert "gethostbyaddr " in output and "Traceback" not in result.stderr.decode()
