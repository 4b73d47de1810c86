"""Reading pcap files: timestamps and UDP/TCP headers, standard library only.

Enough of the format for checks on captured traffic (Ethernet, Linux cooked
v1 and v2 as tcpdump writes for ``-i any``, raw IP); anything richer is for
Wireshark, which opens the same files.
"""

from __future__ import annotations

import ipaddress
import struct
from dataclasses import dataclass
from typing import Iterator, Optional

ETHERNET, RAW, LINUX_SLL, LINUX_SLL2 = 1, 101, 113, 276
_LINK_HEADER = {ETHERNET: 14, RAW: 0, LINUX_SLL: 16, LINUX_SLL2: 20}
_PROTO_OFFSET = {ETHERNET: 12, LINUX_SLL: 14, LINUX_SLL2: 0}
TCP_FLAGS = "FSRPAUEC"


@dataclass(frozen=True)
class Packet:
    time: float
    family: int
    proto: str  # "udp" | "tcp" | "icmp" | other protocol number
    src: str
    dst: str
    sport: int
    dport: int
    payload: bytes
    flags: str = ""  # TCP flags, e.g. "SA"

    @property
    def flow(self) -> tuple:
        return (self.proto, self.src, self.sport, self.dst, self.dport)


def read_pcap(data: bytes) -> list[Packet]:
    return list(iter_pcap(data))


def iter_pcap(data: bytes) -> Iterator[Packet]:
    if len(data) < 24:
        return
    magic = data[:4]
    if magic in (b"\xd4\xc3\xb2\xa1", b"\x4d\x3c\xb2\xa1"):
        endian = "<"
    elif magic in (b"\xa1\xb2\xc3\xd4", b"\xa1\xb2\x3c\x4d"):
        endian = ">"
    else:
        raise ValueError("not a pcap file")
    nanos = magic in (b"\x4d\x3c\xb2\xa1", b"\xa1\xb2\x3c\x4d")
    linktype = struct.unpack(endian + "I", data[20:24])[0] & 0xFFFF
    offset = 24
    while offset + 16 <= len(data):
        seconds, fraction, captured, _ = struct.unpack(endian + "IIII", data[offset : offset + 16])
        frame = data[offset + 16 : offset + 16 + captured]
        offset += 16 + captured
        packet = _decode(frame, linktype, seconds + fraction / (1e9 if nanos else 1e6))
        if packet is not None:
            yield packet


def _decode(frame: bytes, linktype: int, when: float) -> Optional[Packet]:
    if linktype not in _LINK_HEADER:
        return None
    start = _LINK_HEADER[linktype]
    if linktype in _PROTO_OFFSET:
        (ethertype,) = struct.unpack("!H", frame[_PROTO_OFFSET[linktype] : _PROTO_OFFSET[linktype] + 2])
    else:
        ethertype = 0x0800 if frame[:1] and frame[0] >> 4 == 4 else 0x86DD
    ip = frame[start:]
    if ethertype == 0x0800 and len(ip) >= 20:
        header_length = (ip[0] & 0x0F) * 4
        proto, src, dst = ip[9], ipaddress.IPv4Address(ip[12:16]), ipaddress.IPv4Address(ip[16:20])
        total = struct.unpack("!H", ip[2:4])[0]
        return _transport(when, 4, proto, str(src), str(dst), ip[header_length:total])
    if ethertype == 0x86DD and len(ip) >= 40:
        proto, src6, dst6 = ip[6], ipaddress.IPv6Address(ip[8:24]), ipaddress.IPv6Address(ip[24:40])
        return _transport(when, 6, proto, str(src6), str(dst6), ip[40:])
    return None


def _transport(when: float, family: int, proto: int, src: str, dst: str, segment: bytes) -> Packet:
    if proto == 17 and len(segment) >= 8:
        sport, dport = struct.unpack("!HH", segment[:4])
        return Packet(when, family, "udp", src, dst, sport, dport, segment[8:])
    if proto == 6 and len(segment) >= 20:
        sport, dport = struct.unpack("!HH", segment[:4])
        data_offset = (segment[12] >> 4) * 4
        flags = "".join(name for bit, name in enumerate(TCP_FLAGS) if segment[13] & (1 << bit))
        return Packet(when, family, "tcp", src, dst, sport, dport, segment[data_offset:], flags)
    name = {1: "icmp", 58: "icmp6"}.get(proto, str(proto))
    return Packet(when, family, name, src, dst, 0, 0, segment)
