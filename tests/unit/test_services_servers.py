"""The reference servers, each run as `python -u services/<name>.py` with
PORT=0 on the host's loopback: what they answer, how they survive bad
clients and how many clients they serve at once."""

import os
import queue
import resource
import socket
import struct
import subprocess
import sys
import threading
import time
import zlib
from pathlib import Path
from xmlrpc.client import Fault, MultiCall, ProtocolError, ServerProxy

import pytest

import framing

SERVICES = Path(__file__).resolve().parents[2] / "services"
TCP_SERVERS = ["tcp_sequential", "tcp_threaded", "tcp_pool", "tcp_poll", "tcp_asyncio"]
CONCURRENT = [name for name in TCP_SERVERS if name != "tcp_sequential"]
NO_ANSWER = 0.3  # seconds we wait to conclude that a server does not answer


class Server:
    """One server subprocess; a thread collects its stdout lines."""

    def __init__(self, name: str, env: dict[str, str], max_files: int = 0) -> None:
        self.name = name
        self.proc = subprocess.Popen(
            [sys.executable, "-u", str(SERVICES / f"{name}.py")],
            env={**os.environ, "PORT": "0", **env},
            stdout=subprocess.PIPE,
            text=True,
            preexec_fn=lambda: max_files and resource.setrlimit(resource.RLIMIT_NOFILE, (max_files, max_files)),
        )
        self.lines: queue.Queue[str] = queue.Queue()
        threading.Thread(target=self._collect, daemon=True).start()

    def _collect(self) -> None:
        for line in self.proc.stdout:
            self.lines.put(line.rstrip("\n"))

    def wait_ready(self) -> None:
        first = self.lines.get(timeout=10)
        protocol, port = first.removeprefix("ready ").split("/")
        assert first.startswith("ready ") and protocol in ("tcp", "udp"), first
        self.port = int(port)

    def wait_for(self, prefix: str, timeout: float = 5.0) -> str:
        """The next log line that starts with prefix."""
        deadline = time.monotonic() + timeout
        while True:
            line = self.lines.get(timeout=max(0.0, deadline - time.monotonic()))
            if line.startswith(prefix):
                return line

    def stop(self) -> None:
        self.proc.kill()
        self.proc.wait()


@pytest.fixture(scope="module")
def servers():
    """servers(name, **env): a running server, started once per module;
    max_files limits its open file descriptors."""
    started: dict[tuple, Server] = {}

    def get(name: str, max_files: int = 0, **env: str) -> Server:
        key = (name, max_files, tuple(sorted(env.items())))
        if key not in started:
            started[key] = Server(name, env, max_files)
            started[key].wait_ready()
        return started[key]

    yield get
    for server in started.values():
        server.stop()


def connect(port: int, host: str = "127.0.0.1") -> socket.socket:
    return socket.create_connection((host, port), timeout=5)


def recv_exactly(sock: socket.socket, length: int) -> bytes:
    data = b""
    while len(data) < length:
        chunk = sock.recv(length - len(data))
        assert chunk, f"connection closed after {len(data)} of {length} bytes"
        data += chunk
    return data


def exchange(sock: socket.socket, data: bytes, expected: bytes) -> None:
    sock.sendall(data)
    assert recv_exactly(sock, len(expected)) == expected


def answers_within(sock: socket.socket, data: bytes, timeout: float) -> bool:
    sock.sendall(data)
    sock.settimeout(timeout)
    try:
        return sock.recv(len(data)) == data.upper()
    except TimeoutError:
        return False
    finally:
        sock.settimeout(5)


def reset(sock: socket.socket) -> None:
    """Close with a RST, as a client that crashes or loses its link."""
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    sock.close()


def has_ipv6() -> bool:
    try:
        with socket.socket(socket.AF_INET6, socket.SOCK_STREAM) as s:
            s.bind(("::1", 0))
        return True
    except OSError:
        return False


# --- UDP ----------------------------------------------------------------------


@pytest.fixture
def udp(servers):
    server = servers("udp_server")
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        s.settimeout(2)
        yield server, s


def ask_udp(s: socket.socket, port: int, message: bytes, host: str = "127.0.0.1") -> bytes:
    s.sendto(message, (host, port))
    return s.recvfrom(65535)[0]


def test_udp_server_upper_cases_each_datagram_and_logs_it(udp):
    server, s = udp
    for i in range(10):
        assert ask_udp(s, server.port, f"hello {i} é".encode()) == f"HELLO {i} É".encode()
    assert server.wait_for(f"datagram 127.0.0.1:{s.getsockname()[1]} ").endswith(" 10 bytes")


def test_udp_server_passes_invalid_utf8_through_and_keeps_serving(udp):
    server, s = udp
    assert ask_udp(s, server.port, b"ab\xff\xc3") == b"AB\xff\xc3"
    assert ask_udp(s, server.port, b"still there") == b"STILL THERE"


def test_udp_server_takes_a_datagram_bigger_than_the_slide_s_2048_bytes(udp):
    server, s = udp
    assert ask_udp(s, server.port, b"x" * 60000) == b"X" * 60000


@pytest.mark.skipif(not has_ipv6(), reason="no IPv6 on this host")
def test_udp_server_is_dual_stack(servers):
    server = servers("udp_server")
    with socket.socket(socket.AF_INET6, socket.SOCK_DGRAM) as s:
        s.settimeout(2)
        assert ask_udp(s, server.port, b"six", "::1") == b"SIX"


# --- TCP upper-case servers: every architecture ------------------------------


@pytest.mark.parametrize("name", TCP_SERVERS)
def test_tcp_server_answers_many_messages_on_one_connection_without_newlines(servers, name):
    server = servers(name)
    with connect(server.port) as s:
        client = f"127.0.0.1:{s.getsockname()[1]}"
        for i in range(20):
            exchange(s, f"message {i} à".encode(), f"MESSAGE {i} À".encode())
    assert server.wait_for(f"connect {client}") == f"connect {client}"
    assert server.wait_for(f"close {client}") == f"close {client}"


@pytest.mark.parametrize("name", TCP_SERVERS)
def test_tcp_server_passes_invalid_utf8_through_and_serves_another_client(servers, name):
    server = servers(name)
    with connect(server.port) as s:
        exchange(s, b"ab\xff\xfe\xed\xa0\x80cd", b"AB\xff\xfe\xed\xa0\x80CD")
    with connect(server.port) as s:
        exchange(s, b"next", b"NEXT")


@pytest.mark.parametrize("name", TCP_SERVERS)
def test_tcp_server_joins_a_character_split_across_two_segments(servers, name):
    server = servers(name)
    with connect(server.port) as s:
        s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        s.sendall(b"\xc3")
        time.sleep(0.05)
        exchange(s, b"\xa9", "É".encode())


@pytest.mark.parametrize("name", TCP_SERVERS)
def test_tcp_server_returns_a_cut_character_unchanged_at_end_of_stream(servers, name):
    server = servers(name)
    with connect(server.port) as s:
        s.sendall(b"ab\xc3")
        s.shutdown(socket.SHUT_WR)
        data = b""
        while chunk := s.recv(100):
            data += chunk
    assert data == b"AB\xc3"


@pytest.mark.parametrize("name", TCP_SERVERS)
def test_tcp_server_survives_a_client_that_resets_mid_character(servers, name):
    server = servers(name)
    s = connect(server.port)
    exchange(s, b"abc", b"ABC")
    s.sendall(b"d\xe2\x82")
    reset(s)
    with connect(server.port) as s:
        exchange(s, b"after", b"AFTER")


@pytest.mark.parametrize("name", TCP_SERVERS)
def test_tcp_server_streams_megabytes_to_a_client_that_reads_while_sending(servers, name):
    server = servers(name)
    data = bytes(range(97, 123)) * 80_000  # 2 MB of letters
    with connect(server.port) as s:
        sender = threading.Thread(target=s.sendall, args=(data,))
        sender.start()
        assert recv_exactly(s, len(data)) == data.upper()
        sender.join()


@pytest.mark.parametrize("name", CONCURRENT)
def test_concurrent_server_answers_a_second_client_while_a_first_holds_on(servers, name):
    server = servers(name)
    with connect(server.port) as first, connect(server.port) as second:
        exchange(first, b"first", b"FIRST")
        assert answers_within(second, b"second", 2.0)
        exchange(first, b"again", b"AGAIN")


def test_sequential_server_makes_a_second_client_wait_until_the_first_closes(servers):
    server = servers("tcp_sequential")
    first = connect(server.port)
    with connect(server.port) as second:
        with first:
            exchange(first, b"first", b"FIRST")
            assert not answers_within(second, b"second", NO_ANSWER)
        second.settimeout(2)
        assert recv_exactly(second, 6) == b"SECOND"


def test_sequential_server_drops_a_silent_client_after_the_idle_timeout(servers):
    server = servers("tcp_sequential", IDLE_TIMEOUT="0.5")
    silent = connect(server.port)
    with silent, connect(server.port) as waiting:
        exchange(silent, b"half a message \xc3", b"HALF A MESSAGE ")
        start = time.monotonic()
        assert answers_within(waiting, b"served", 3.0)
        assert 0.3 < time.monotonic() - start < 2.5
        assert server.wait_for(f"error 127.0.0.1:{silent.getsockname()[1]}").endswith("timed out")


def test_threaded_server_survives_running_out_of_file_descriptors(servers):
    server = servers("tcp_threaded", max_files=16)
    holders = [connect(server.port) for _ in range(20)]
    try:
        assert server.wait_for("error accept ").endswith("Too many open files")
    finally:
        for holder in holders:
            holder.close()
    with connect(server.port) as s:
        exchange(s, b"back", b"BACK")


def test_pool_server_serves_four_clients_and_makes_the_fifth_wait(servers):
    server = servers("tcp_pool")
    holders = [connect(server.port) for _ in range(4)]
    try:
        for i, holder in enumerate(holders):
            exchange(holder, f"holder {i}".encode(), f"HOLDER {i}".encode())
        with connect(server.port) as fifth:
            assert not answers_within(fifth, b"fifth", NO_ANSWER)
            holders.pop().close()
            fifth.settimeout(2)
            assert recv_exactly(fifth, 5) == b"FIFTH"
    finally:
        for holder in holders:
            holder.close()


@pytest.mark.skipif(not has_ipv6(), reason="no IPv6 on this host")
@pytest.mark.parametrize("name", ["tcp_threaded", "tcp_poll"])
def test_tcp_server_is_dual_stack(servers, name):
    server = servers(name)
    with connect(server.port, "::1") as s:
        exchange(s, b"six", b"SIX")
        assert server.wait_for(f"connect [::1]:{s.getsockname()[1]}")


# --- block server -----------------------------------------------------------------


@pytest.fixture
def blocks(servers):
    return servers("block_server", IDLE_TIMEOUT="0.5")


def assert_dropped(sock: socket.socket) -> None:
    """The server closed this connection (FIN or RST) without answering."""
    try:
        assert sock.recv(100) == b""
    except ConnectionResetError:
        pass


def test_block_server_answers_a_10_mib_block_then_a_small_one(blocks):
    message = bytes(range(97, 123)) * (10 * 1024 * 1024 // 26)
    with connect(blocks.port) as s:
        framing.put_block(s, message)
        assert framing.get_block(s) == message.upper()
        framing.put_block(s, "é".encode())
        assert framing.get_block(s) == "É".encode()


def test_block_server_ends_the_session_on_an_empty_block(blocks):
    with connect(blocks.port) as s:
        framing.put_block(s, b"one")
        assert framing.get_block(s) == b"ONE"
        framing.put_block(s, b"")
        assert s.recv(100) == b""


def test_block_server_answers_a_compressed_block_compressed(blocks):
    message = b"A very long test string to evaluate compression " * 100
    with connect(blocks.port) as s:
        framing.put_block(s, message, compress=True)
        assert framing.get_block_with_flag(s) == (message.upper(), True)


@pytest.mark.parametrize(
    "header", [32 * 1024 * 1024 + 1, framing.MAX_LENGTH, framing.COMPRESSED | 32 * 1024 * 1024 + 1]
)
def test_block_server_drops_a_header_over_the_cap_and_serves_others(blocks, header):
    with connect(blocks.port) as s:
        s.sendall(framing.header_struct.pack(header))
        assert_dropped(s)
        assert "over the limit" in blocks.wait_for(f"error 127.0.0.1:{s.getsockname()[1]}")
    with connect(blocks.port) as s:
        framing.put_block(s, b"next")
        assert framing.get_block(s) == b"NEXT"


def test_block_server_drops_a_zip_bomb(blocks):
    bomb = zlib.compress(bytes(33 * 1024 * 1024))
    with connect(blocks.port) as s:
        s.sendall(framing.header_struct.pack(framing.COMPRESSED | len(bomb)) + bomb)
        assert_dropped(s)
        assert "expands over the limit" in blocks.wait_for(f"error 127.0.0.1:{s.getsockname()[1]}")


def test_block_server_reads_a_block_sent_one_byte_at_a_time(blocks):
    block = framing.header_struct.pack(20) + b"byte by byte, slowly"
    with connect(blocks.port) as s:
        s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        for i in range(len(block)):
            s.send(block[i : i + 1])
            time.sleep(0.002)
        assert framing.get_block(s) == b"BYTE BY BYTE, SLOWLY"


def test_block_server_survives_a_client_that_vanishes_mid_block(blocks):
    s = connect(blocks.port)
    client = f"127.0.0.1:{s.getsockname()[1]}"
    s.sendall(framing.header_struct.pack(100) + b"only ten b")
    reset(s)
    assert blocks.wait_for(f"error {client}")
    with connect(blocks.port) as s:
        framing.put_block(s, b"next")
        assert framing.get_block(s) == b"NEXT"


def test_block_server_drops_a_client_silent_mid_block_after_the_idle_timeout(blocks):
    with connect(blocks.port) as s:
        s.sendall(framing.header_struct.pack(100) + b"only ten b")
        s.settimeout(3)
        assert_dropped(s)
        assert blocks.wait_for(f"error 127.0.0.1:{s.getsockname()[1]}").endswith("timed out")


# --- broadcast responder ------------------------------------------------------------


def test_broadcast_responder_answers_with_its_name(servers):
    server = servers("broadcast_responder", NODE_NAME="node1")
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        s.settimeout(2)
        assert ask_udp(s, server.port, b"who is there \xff") == b"node1: WHO IS THERE \xff"


# --- XML-RPC ----------------------------------------------------------------------------


@pytest.fixture
def rpc(servers):
    server = servers("xmlrpc_server")
    with ServerProxy(f"http://127.0.0.1:{server.port}/RPC2") as proxy:
        yield server, proxy


def test_xmlrpc_the_slide_s_calls_with_quadratic_fixed(rpc):
    server, proxy = rpc
    assert proxy.addtogether("x", "y", "z") == "xyz"
    assert proxy.addtogether(1, 2, 3, 4, 5) == 15
    assert proxy.quadratic(2, -4, 0) == [0.0, 2.0]
    assert proxy.quadratic(1, 2, 1) == [-1.0]
    assert proxy.quadratic(1, 0, 1) == []
    assert server.wait_for("request 127.0.0.1:").endswith('"POST /RPC2 HTTP/1.1" 200')


def test_xmlrpc_multicall_and_introspection(rpc):
    _, proxy = rpc
    multicall = MultiCall(proxy)
    multicall.addtogether(1, 2)
    multicall.quadratic(1, -3, 2)
    assert list(multicall()) == [3, [1.0, 2.0]]
    methods = proxy.system.listMethods()
    assert {"addtogether", "quadratic", "system.multicall", "system.listMethods"} <= set(methods)
    assert "roots" in proxy.system.methodHelp("quadratic")


@pytest.mark.parametrize(
    "method, args",
    [
        ("quadratic", (0, 1, 1)),
        ("quadratic", ("a", "b", "c")),
        ("quadratic", (1,)),
        ("quadratic", (1, 2, 3, 4)),
        ("addtogether", ()),
        ("addtogether", (1, "x")),
        ("nosuchmethod", ()),
    ],
)
def test_xmlrpc_bad_calls_give_a_fault_and_the_server_keeps_serving(rpc, method, args):
    _, proxy = rpc
    with pytest.raises(Fault):
        getattr(proxy, method)(*args)
    assert proxy.addtogether(1, 2) == 3


def test_xmlrpc_serves_only_rpc2(rpc):
    server, _ = rpc
    with ServerProxy(f"http://127.0.0.1:{server.port}/other") as proxy:
        with pytest.raises(ProtocolError):
            proxy.addtogether(1, 2)


def test_xmlrpc_a_stalled_client_does_not_block_the_others(rpc):
    server, proxy = rpc
    with connect(server.port) as stalled:
        stalled.sendall(b"POST /RPC2 HTTP/1.1\r\nContent-Length: 500\r\n\r\n<?xml")
        start = time.monotonic()
        assert proxy.addtogether(2, 3) == 5
        assert time.monotonic() - start < 1.0


# --- stopping -------------------------------------------------------------------------

ALL_SERVERS = ["udp_server", *TCP_SERVERS, "block_server", "broadcast_responder", "xmlrpc_server"]


@pytest.mark.parametrize("name", ALL_SERVERS)
def test_server_stops_promptly_on_sigterm(name):
    server = Server(name, {})
    try:
        server.wait_ready()
        server.proc.terminate()
        server.proc.wait(timeout=2)
    finally:
        server.stop()
