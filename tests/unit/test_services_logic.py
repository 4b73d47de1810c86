"""Pure-logic tests of the reference services' helpers: upper-casing,
the dual-stack socket, framing, the fixed quadratic, broadcast addresses
and the names tool's error message. No subprocess here."""

import json
import socket
import zlib

import pytest

import broadcast_client
import common
import framing
import names
import udp_client
import xmlrpc_server
from common import UpperCaser, peer, server_socket, upper_bytes


def has_ipv6() -> bool:
    try:
        with socket.socket(socket.AF_INET6, socket.SOCK_STREAM) as s:
            s.bind(("::1", 0))
        return True
    except OSError:
        return False


# --- upper-casing -----------------------------------------------------------


def test_upper_bytes_upper_cases_utf8():
    assert upper_bytes("hello é straße".encode()) == "HELLO É STRASSE".encode()


def test_upper_bytes_passes_invalid_utf8_through_unchanged():
    assert upper_bytes(b"ab\xff\xfe\xc3cd\xed\xa0\x80") == b"AB\xff\xfe\xc3CD\xed\xa0\x80"


def test_upper_caser_holds_a_cut_character_until_its_second_half():
    upper = UpperCaser()
    assert upper.feed(b"a\xc3") == b"A"
    assert upper.feed(b"\xa9b") == "Éb".upper().encode()


def test_upper_caser_flushes_a_cut_character_unchanged_at_the_end():
    upper = UpperCaser()
    assert upper.feed(b"ab\xe2\x82") == b"AB"
    assert upper.feed(b"", final=True) == b"\xe2\x82"


def test_upper_caser_gives_the_same_bytes_however_the_stream_is_cut():
    data = "añb€c😀d".encode() + b"\xff\xc3(\xe2\x28\xa1xyz"
    for cut in range(len(data) + 1):
        upper = UpperCaser()
        out = upper.feed(data[:cut]) + upper.feed(data[cut:]) + upper.feed(b"", final=True)
        assert out == upper_bytes(data), cut


def test_peer_shows_mapped_ipv4_as_plain_ipv4():
    assert peer(("::ffff:10.0.0.3", 40000, 0, 0)) == "10.0.0.3:40000"
    assert peer(("10.0.0.3", 40000)) == "10.0.0.3:40000"
    assert peer(("fd00::1", 80, 0, 0)) == "[fd00::1]:80"


# --- the dual-stack listening socket -----------------------------------------


def test_server_socket_serves_ipv4_and_ipv6_on_one_port():
    with server_socket(socket.SOCK_STREAM, 0) as serverSocket:
        port = serverSocket.getsockname()[1]
        hosts = ["127.0.0.1"] + (["::1"] if has_ipv6() else [])
        for host in hosts:
            with socket.create_connection((host, port), timeout=2):
                connection, _ = serverSocket.accept()
                connection.close()


def test_server_socket_udp_port_zero_gets_a_real_port():
    with server_socket(socket.SOCK_DGRAM, 0) as serverSocket:
        assert serverSocket.type == socket.SOCK_DGRAM
        assert serverSocket.getsockname()[1] != 0


@pytest.mark.parametrize("family, reachable, refused", [("4", "127.0.0.1", "::1"), ("6", "::1", "127.0.0.1")])
def test_server_socket_of_one_family_only(monkeypatch, family: str, reachable: str, refused: str):
    if not has_ipv6():
        pytest.skip("this host has no IPv6 loopback")
    monkeypatch.setattr(common, "FAMILY", family)
    with server_socket(socket.SOCK_STREAM, 0) as serverSocket:
        port = serverSocket.getsockname()[1]
        with socket.create_connection((reachable, port), timeout=2):
            pass
        with pytest.raises(ConnectionRefusedError):
            socket.create_connection((refused, port), timeout=2)


def test_server_socket_falls_back_to_ipv4_without_ipv6(monkeypatch):
    real_socket = common.socket

    def no_ipv6(family=socket.AF_INET, kind=socket.SOCK_STREAM):
        if family == socket.AF_INET6:
            raise OSError(97, "Address family not supported by protocol")
        return real_socket(family, kind)

    monkeypatch.setattr(common, "socket", no_ipv6)
    with server_socket(socket.SOCK_STREAM, 0) as serverSocket:
        assert serverSocket.family == socket.AF_INET
        with socket.create_connection(("127.0.0.1", serverSocket.getsockname()[1]), timeout=2):
            pass


# --- framing ------------------------------------------------------------------


@pytest.fixture
def pair():
    a, b = socket.socketpair()
    a.settimeout(5)
    b.settimeout(5)
    yield a, b
    a.close()
    b.close()


def test_put_block_sends_a_network_order_length_then_the_payload(pair):
    a, b = pair
    framing.put_block(a, b"hello")
    assert framing.recvall(b, 9) == b"\x00\x00\x00\x05hello"


def test_blocks_round_trip_including_the_empty_block(pair):
    a, b = pair
    for message in (b"one", b"", b"three"):
        framing.put_block(a, message)
        assert framing.get_block(b) == message


def test_compressed_block_sets_the_top_bit_and_round_trips(pair):
    a, b = pair
    message = b"A very long test string to evaluate compression " * 20
    framing.put_block(a, message, compress=True)
    header = framing.recvall(b, 4)
    (value,) = framing.header_struct.unpack(header)
    assert value & framing.COMPRESSED
    assert value & framing.MAX_LENGTH < len(message)
    assert zlib.decompress(framing.recvall(b, value & framing.MAX_LENGTH)) == message
    framing.put_block(a, message, compress=True)
    assert framing.get_block_with_flag(b) == (message, True)


def test_recvall_says_how_many_bytes_were_missing(pair):
    a, b = pair
    a.sendall(b"\x00\x00\x00\x05he")
    a.close()
    with pytest.raises(EOFError, match=r"^socket closed with 3 bytes left in this block$"):
        framing.get_block(b)


def test_get_block_refuses_a_length_over_the_limit_without_reading_it(pair):
    a, b = pair
    a.sendall(framing.header_struct.pack(1001))
    with pytest.raises(framing.BlockError, match="over the limit"):
        framing.get_block(b, max_length=1000)


def test_get_block_refuses_a_zip_bomb(pair):
    a, b = pair
    bomb = zlib.compress(bytes(10_000_000))
    a.sendall(framing.header_struct.pack(framing.COMPRESSED | len(bomb)) + bomb)
    with pytest.raises(framing.BlockError, match="expands over the limit"):
        framing.get_block(b, max_length=1_000_000)


@pytest.mark.parametrize("payload", [b"not zlib at all", zlib.compress(b"x" * 100)[:-4], zlib.compress(b"x") + b"junk"])
def test_get_block_refuses_broken_compressed_payloads(pair, payload):
    a, b = pair
    a.sendall(framing.header_struct.pack(framing.COMPRESSED | len(payload)) + payload)
    with pytest.raises(framing.BlockError):
        framing.get_block(b)


# --- XML-RPC functions ------------------------------------------------------


def test_quadratic_roots_with_the_precedence_fixed():
    assert xmlrpc_server.quadratic(2, -4, 0) == [0.0, 2.0]
    assert xmlrpc_server.quadratic(1, 2, 1) == [-1.0]
    assert xmlrpc_server.quadratic(1, 0, 1) == []
    assert xmlrpc_server.quadratic(1, -3, 2) == [1.0, 2.0]
    with pytest.raises(ValueError):
        xmlrpc_server.quadratic(0, 1, 1)


def test_addtogether():
    assert xmlrpc_server.addtogether("x", "y", "z") == "xyz"
    assert xmlrpc_server.addtogether(1, 2, 3, 4, 5) == 15


# --- broadcast address ---------------------------------------------------------

IP_JSON = json.dumps(
    [
        {
            "ifindex": 1,
            "ifname": "lo",
            "flags": ["LOOPBACK", "UP"],
            "addr_info": [{"family": "inet", "local": "127.0.0.1", "prefixlen": 8}],
        },
        {},
        {
            "ifindex": 7,
            "ifname": "eth0",
            "flags": ["BROADCAST", "UP"],
            "addr_info": [{"family": "inet", "local": "10.77.1.23", "prefixlen": 24}],
        },
        {
            "ifindex": 9,
            "ifname": "eth1",
            "flags": ["BROADCAST", "UP"],
            "addr_info": [{"family": "inet", "local": "172.18.3.4", "prefixlen": 16}],
        },
    ]
)


def test_broadcast_address_of_the_first_interface_that_is_not_loopback():
    assert broadcast_client.broadcast_address(IP_JSON) == "10.77.1.255"


def test_broadcast_address_of_a_named_interface_uses_its_prefix():
    assert broadcast_client.broadcast_address(IP_JSON, "eth1") == "172.18.255.255"


def test_broadcast_address_without_a_usable_interface():
    with pytest.raises(LookupError):
        broadcast_client.broadcast_address(IP_JSON, "eth9")


# --- clients' constants and messages --------------------------------------------


def test_udp_client_backoff_constants_are_the_lecture_s():
    assert (udp_client.INITIAL_DELAY, udp_client.MAX_DELAY) == (0.1, 2.0)


def test_names_says_the_host_does_not_exist_without_a_traceback(monkeypatch, capsys):
    def unknown(*args, **kwargs):
        raise socket.gaierror(socket.EAI_NONAME, "Name or service not known")

    monkeypatch.setattr(names, "getaddrinfo", unknown)
    monkeypatch.setattr("sys.argv", ["names", "nonexistent.example"])
    with pytest.raises(SystemExit) as exit_info:
        names.main()
    assert exit_info.value.code == 1
    assert capsys.readouterr().out == "This host does not seem to exist\n"
