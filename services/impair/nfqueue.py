"""A small NFQUEUE client: netlink messages packed with struct, nothing else.

``iptables -j NFQUEUE --queue-num N`` hands matching packets to whoever is
bound to queue N and holds each one until that program sends a verdict for
its id: accept (possibly with a changed payload) or drop. That is all the
impairment daemon needs, and libnetfilter_queue is not in the container.
Constant names are those of linux/netlink.h, linux/netfilter/nfnetlink.h
and linux/netfilter/nfnetlink_queue.h.
"""

from __future__ import annotations

import errno
import socket
import struct
from typing import Iterator, NamedTuple, Optional

NETLINK_NETFILTER = 12
SO_RCVBUFFORCE = 33
NLMSG_ERROR = 2
NLM_F_REQUEST, NLM_F_ACK = 0x1, 0x4
NLA_TYPE_MASK = 0x3FFF  # without NLA_F_NESTED and NLA_F_NET_BYTEORDER

NFNETLINK_V0 = 0
NFNL_SUBSYS_QUEUE = 3
NFQNL_MSG_PACKET, NFQNL_MSG_VERDICT, NFQNL_MSG_CONFIG = 0, 1, 2

NFQA_CFG_CMD, NFQA_CFG_PARAMS, NFQA_CFG_QUEUE_MAXLEN = 1, 2, 3
NFQNL_CFG_CMD_BIND, NFQNL_CFG_CMD_PF_BIND = 1, 3
NFQNL_COPY_PACKET = 2

NFQA_PACKET_HDR, NFQA_VERDICT_HDR, NFQA_PAYLOAD, NFQA_CAP_LEN = 1, 2, 10, 13
NF_DROP, NF_ACCEPT = 0, 1

COPY_RANGE = 0xFFFF
_NLMSGHDR = struct.Struct("=IHHII")  # length, type, flags, sequence, port id
_NFGENMSG = struct.Struct("!BBH")  # family, version, resource id (the queue number, big-endian)
_NLATTR = struct.Struct("=HH")  # length, type


class Packet(NamedTuple):
    """One queued packet: ``id`` is what its verdict must name."""

    id: int
    hw_protocol: int  # the ethertype: 0x0800 IPv4, 0x86dd IPv6
    payload: bytes
    truncated: bool  # longer than COPY_RANGE: only its start was copied, so it must not be replaced


def _attr(kind: int, data: bytes) -> bytes:
    padding = b"\0" * (-len(data) % 4)
    return _NLATTR.pack(_NLATTR.size + len(data), kind) + data + padding


def _attrs(data: bytes, offset: int) -> dict[int, bytes]:
    found = {}
    while offset + _NLATTR.size <= len(data):
        length, kind = _NLATTR.unpack_from(data, offset)
        if length < _NLATTR.size:
            break
        found[kind & NLA_TYPE_MASK] = data[offset + _NLATTR.size : offset + length]
        offset += (length + 3) & ~3
    return found


def message(kind: int, flags: int, seq: int, family: int, queue: int, attrs: bytes) -> bytes:
    """One nfnetlink message of the queue subsystem."""
    body = _NFGENMSG.pack(family, NFNETLINK_V0, queue) + attrs
    return _NLMSGHDR.pack(_NLMSGHDR.size + len(body), (NFNL_SUBSYS_QUEUE << 8) | kind, flags, seq, 0) + body


def verdict_message(queue: int, packet_id: int, accept: bool, payload: Optional[bytes] = None, seq: int = 0) -> bytes:
    """Accept or drop packet ``packet_id``; an accepted packet may go on with a new ``payload``."""
    attrs = _attr(NFQA_VERDICT_HDR, struct.pack("!II", NF_ACCEPT if accept else NF_DROP, packet_id))
    if payload is not None:
        attrs += _attr(NFQA_PAYLOAD, payload)
    return message(NFQNL_MSG_VERDICT, NLM_F_REQUEST, seq, socket.AF_UNSPEC, queue, attrs)


def parse_messages(data: bytes) -> Iterator[tuple[int, bytes, int]]:
    """(message type, body, offset of the attributes) for each netlink message in one read."""
    offset = 0
    while offset + _NLMSGHDR.size <= len(data):
        length, kind = _NLMSGHDR.unpack_from(data, offset)[:2]
        if length < _NLMSGHDR.size or offset + length > len(data):
            break
        yield kind, data[offset : offset + length], _NLMSGHDR.size + _NFGENMSG.size
        offset += (length + 3) & ~3


def parse_packet(body: bytes, attrs_offset: int) -> Packet:
    """The packet carried by an NFQNL_MSG_PACKET message."""
    attrs = _attrs(body, attrs_offset)
    packet_id, hw_protocol = struct.unpack_from("!IH", attrs[NFQA_PACKET_HDR])
    payload = attrs.get(NFQA_PAYLOAD, b"")
    cap_len = struct.unpack("!I", attrs[NFQA_CAP_LEN])[0] if NFQA_CAP_LEN in attrs else len(payload)
    return Packet(packet_id, hw_protocol, payload, cap_len > len(payload))


class NfQueue:
    """A netlink socket bound to one queue number, for IPv4 and IPv6 packets.

    The socket is non-blocking so a burst can be drained without waiting.
    ``overflows`` counts ENOBUFS: the kernel had packets for us but our
    receive buffer was full, so it dropped them. That is reported, never
    hidden (NETLINK_NO_ENOBUFS is deliberately not set).
    """

    def __init__(self, queue: int, rcvbuf: int = 16 << 20, maxlen: int = 1 << 16) -> None:
        self.queue = queue
        self.overflows = 0
        self._seq = 0
        self._sock = socket.socket(socket.AF_NETLINK, socket.SOCK_RAW, NETLINK_NETFILTER)
        try:
            self._sock.setsockopt(socket.SOL_SOCKET, SO_RCVBUFFORCE, rcvbuf)
            self._sock.bind((0, 0))
            # PF_BIND has been a no-op since Linux 3.8; it is sent for older kernels.
            for family in (socket.AF_INET, socket.AF_INET6):
                self._configure(_attr(NFQA_CFG_CMD, struct.pack("!BxH", NFQNL_CFG_CMD_PF_BIND, family)), queue=0)
            self._configure(_attr(NFQA_CFG_CMD, struct.pack("!BxH", NFQNL_CFG_CMD_BIND, 0)))
            # Copy whole packets. No NFQA_CFG_FLAGS: without FAIL_OPEN a full
            # queue drops rather than passing packets unimpaired, and without
            # GSO the kernel cuts large segments to wire size, with checksums.
            self._configure(_attr(NFQA_CFG_PARAMS, struct.pack("!IB", COPY_RANGE, NFQNL_COPY_PACKET)))
            # Packets the daemon delays stay in the kernel's queue until their
            # verdict; the default of 1024 would cap a delayed link's traffic.
            self._configure(_attr(NFQA_CFG_QUEUE_MAXLEN, struct.pack("!I", maxlen)))
        except OSError:
            self._sock.close()
            raise
        self._sock.setblocking(False)

    def _configure(self, attrs: bytes, queue: Optional[int] = None) -> None:
        """Send one config message and wait for the kernel's answer, so errors are not lost."""
        self._seq += 1
        queue = self.queue if queue is None else queue
        self._sock.send(message(NFQNL_MSG_CONFIG, NLM_F_REQUEST | NLM_F_ACK, self._seq, socket.AF_UNSPEC, queue, attrs))
        for kind, body, _ in parse_messages(self._sock.recv(4096)):
            if kind == NLMSG_ERROR:
                code = -struct.unpack_from("=i", body, _NLMSGHDR.size)[0]
                if code:
                    raise OSError(code, f"binding NFQUEUE {self.queue}: {errno.errorcode.get(code, code)}")

    def fileno(self) -> int:
        return self._sock.fileno()

    def receive(self, most: int = 64) -> list[Packet]:
        """Up to ``most`` packets that are waiting (none if none are)."""
        packets = []
        while len(packets) < most:
            try:
                data = self._sock.recv(COPY_RANGE + 4096)
            except BlockingIOError:
                break
            except OSError as error:
                if error.errno != errno.ENOBUFS:
                    raise
                self.overflows += 1
                continue
            for kind, body, attrs_offset in parse_messages(data):
                if kind == (NFNL_SUBSYS_QUEUE << 8) | NFQNL_MSG_PACKET:
                    packets.append(parse_packet(body, attrs_offset))
        return packets

    def verdict(self, packet_id: int, accept: bool, payload: Optional[bytes] = None) -> None:
        """Let the packet go (with ``payload`` instead of its own, if given) or drop it."""
        self._sock.send(verdict_message(self.queue, packet_id, accept, payload))

    def close(self) -> None:
        """Closing unbinds the queue; the kernel drops whatever it still holds for us."""
        self._sock.close()
