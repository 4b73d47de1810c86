"""IP parsing for the impairment daemon: flows, and corruption that spares the IP header."""

from __future__ import annotations

import socket
import struct

import pytest

from impair.packet import flip_bit, parse


def ipv4(proto: int, body: bytes, src: str = "10.213.0.1", dst: str = "10.213.0.2", fragment: int = 0) -> bytes:
    header = struct.pack(
        "!BBHHHBBH4s4s",
        0x45,
        0,
        20 + len(body),
        1,
        fragment,
        64,
        proto,
        0,
        socket.inet_aton(src),
        socket.inet_aton(dst),
    )
    return header + body


def ipv6(next_header: int, body: bytes, src: str = "fd00:213::1", dst: str = "fd00:213::2") -> bytes:
    return (
        struct.pack(
            "!IHBB16s16s",
            6 << 28,
            len(body),
            next_header,
            64,
            socket.inet_pton(socket.AF_INET6, src),
            socket.inet_pton(socket.AF_INET6, dst),
        )
        + body
    )


def udp(sport: int, dport: int, data: bytes) -> bytes:
    return struct.pack("!HHHH", sport, dport, 8 + len(data), 0) + data


def tcp(sport: int, dport: int, data: bytes = b"") -> bytes:
    return struct.pack("!HHIIBBHHH", sport, dport, 1, 0, 5 << 4, 0x10, 65535, 0, 0) + data


def test_ipv4_udp_flow_is_its_five_tuple() -> None:
    parsed = parse(ipv4(17, udp(40000, 1234, b"hello")))
    assert parsed.family == socket.AF_INET
    assert parsed.flow == (17, "10.213.0.1", 40000, "10.213.0.2", 1234)
    assert (parsed.dst, parsed.transport, parsed.payload) == ("10.213.0.2", 20, 28)


def test_ipv4_tcp_payload_starts_after_the_tcp_header() -> None:
    parsed = parse(ipv4(6, tcp(40000, 80, b"GET /")))
    assert parsed.flow == (6, "10.213.0.1", 40000, "10.213.0.2", 80)
    assert parsed.payload == 40


def test_other_protocols_and_later_fragments_have_no_ports() -> None:
    assert parse(ipv4(1, b"\x08\x00" + b"\0" * 6)).flow == (1, "10.213.0.1", "10.213.0.2")
    assert parse(ipv4(17, b"\0" * 16, fragment=10)).flow == (17, "10.213.0.1", "10.213.0.2")


def test_ipv6_udp_behind_an_extension_header() -> None:
    hop_by_hop = bytes([17, 0]) + b"\x01\x04\0\0\0\0"  # next header UDP, 8 bytes, PadN
    parsed = parse(ipv6(0, hop_by_hop + udp(40000, 1234, b"hi")))
    assert parsed.family == socket.AF_INET6
    assert parsed.flow == (17, "fd00:213::1", 40000, "fd00:213::2", 1234)
    assert (parsed.transport, parsed.payload) == (48, 56)


@pytest.mark.parametrize("data", [b"", b"\x45\0\0", b"\x20" + b"\0" * 40])
def test_garbage_is_refused(data: bytes) -> None:
    with pytest.raises(ValueError):
        parse(data)


@pytest.mark.parametrize("where", [0.0, 0.3, 0.999999])
def test_corruption_flips_one_bit_of_the_transport_payload(where: float) -> None:
    packet = ipv4(17, udp(40000, 1234, b"0123456789"))
    damaged = flip_bit(packet, parse(packet), where)
    diff = [i for i, (a, b) in enumerate(zip(packet, damaged)) if a != b]
    assert len(diff) == 1 and diff[0] >= 28
    assert bin(packet[diff[0]] ^ damaged[diff[0]]).count("1") == 1


def test_corruption_of_a_bare_ack_hits_the_tcp_header_not_the_ip_header() -> None:
    packet = ipv4(6, tcp(40000, 80))
    damaged = flip_bit(packet, parse(packet), 0.5)
    assert damaged[:20] == packet[:20] and damaged != packet
