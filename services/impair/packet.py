"""Just enough IPv4/IPv6 parsing to name a packet's flow and find its payload.

The daemon sees raw IP packets from NFQUEUE. It needs the 5-tuple (the
flow, which keys every decision), the destination (to send a duplicate)
and where the transport payload starts (corruption flips a bit there, never
in the IP header, which would only make the packet vanish or go astray).
"""

from __future__ import annotations

import socket
import struct
from typing import NamedTuple

from impair.decide import FlowKey

TCP, UDP = 6, 17
_IPV6_EXTENSIONS = {0, 43, 60}  # hop-by-hop, routing, destination options: (length + 1) * 8 bytes
_IPV6_FRAGMENT, _IPV6_AH = 44, 51


class Parsed(NamedTuple):
    """What the daemon needs to know about one IP packet."""

    family: int
    flow: FlowKey
    dst: str
    transport: int  # offset of the transport header (the IP payload)
    payload: int  # offset of the transport payload (after the TCP/UDP header)


def parse(packet: bytes) -> Parsed:
    """Parse an IPv4 or IPv6 packet; ValueError when it is neither or is cut short."""
    if len(packet) >= 20 and packet[0] >> 4 == 4:
        family, proto, transport = socket.AF_INET, packet[9], (packet[0] & 0x0F) * 4
        src, dst = socket.inet_ntop(family, packet[12:16]), socket.inet_ntop(family, packet[16:20])
        first_fragment = struct.unpack_from("!H", packet, 6)[0] & 0x1FFF == 0
    elif len(packet) >= 40 and packet[0] >> 4 == 6:
        family = socket.AF_INET6
        src, dst = socket.inet_ntop(family, packet[8:24]), socket.inet_ntop(family, packet[24:40])
        proto, transport, first_fragment = _skip_ipv6_extensions(packet)
    else:
        raise ValueError("not an IPv4 or IPv6 packet")
    if transport > len(packet):
        raise ValueError("IP header longer than the packet")
    if proto in (TCP, UDP) and first_fragment and len(packet) >= transport + (20 if proto == TCP else 8):
        sport, dport = struct.unpack_from("!HH", packet, transport)
        header = (packet[transport + 12] >> 4) * 4 if proto == TCP else 8
        return Parsed(family, (proto, src, sport, dst, dport), dst, transport, min(transport + header, len(packet)))
    return Parsed(family, (proto, src, dst), dst, transport, transport)


def _skip_ipv6_extensions(packet: bytes) -> tuple[int, int, bool]:
    """(upper-layer protocol, its offset, whether this is a first fragment) of an IPv6 packet."""
    proto, offset, first_fragment = packet[6], 40, True
    while offset + 8 <= len(packet):
        if proto in _IPV6_EXTENSIONS:
            proto, offset = packet[offset], offset + (packet[offset + 1] + 1) * 8
        elif proto == _IPV6_AH:
            proto, offset = packet[offset], offset + (packet[offset + 1] + 2) * 4
        elif proto == _IPV6_FRAGMENT:
            first_fragment = struct.unpack_from("!H", packet, offset + 2)[0] & 0xFFF8 == 0
            proto, offset = packet[offset], offset + 8
        else:
            break
    return proto, offset, first_fragment


def flip_bit(packet: bytes, parsed: Parsed, where: float) -> bytes:
    """The packet with one bit of its transport payload flipped, ``where`` in [0, 1) saying which.

    A segment without data (a bare TCP ACK) has a bit of its transport
    header flipped instead; a packet with no IP payload at all is returned
    as it is. Checksums are left alone: catching the damage is the
    receiver's job, as on a real link.
    """
    start = parsed.payload if parsed.payload < len(packet) else parsed.transport
    bits = (len(packet) - start) * 8
    if bits <= 0:
        return packet
    bit = start * 8 + min(int(where * bits), bits - 1)
    damaged = bytearray(packet)
    damaged[bit // 8] ^= 0x80 >> (bit % 8)
    return bytes(damaged)
