"""The NFQUEUE netlink messages, checked byte by byte against the kernel's layout."""

from __future__ import annotations

import struct

from impair import nfqueue
from impair.nfqueue import parse_messages, parse_packet, verdict_message


def attr(kind: int, data: bytes) -> bytes:
    return struct.pack("=HH", 4 + len(data), kind) + data + b"\0" * (-len(data) % 4)


def packet_message(packet_id: int, payload: bytes, cap_len: int = 0) -> bytes:
    attrs = attr(nfqueue.NFQA_PACKET_HDR, struct.pack("!IHB", packet_id, 0x0800, 3))
    attrs += attr(nfqueue.NFQA_PAYLOAD, payload)
    if cap_len:
        attrs += attr(nfqueue.NFQA_CAP_LEN, struct.pack("!I", cap_len))
    body = struct.pack("!BBH", 2, 0, 1) + attrs
    return struct.pack("=IHHII", 16 + len(body), (3 << 8) | nfqueue.NFQNL_MSG_PACKET, 0, 0, 0) + body


def test_verdict_message_layout() -> None:
    message = verdict_message(1, 77, accept=True, payload=b"abcde")
    length, kind, flags = struct.unpack_from("=IHH", message)
    assert (length, kind, flags) == (len(message), (3 << 8) | 1, nfqueue.NLM_F_REQUEST)
    assert struct.unpack_from("!BBH", message, 16) == (0, 0, 1)  # AF_UNSPEC, v0, queue 1 big-endian
    assert struct.unpack_from("=HH", message, 20) == (12, nfqueue.NFQA_VERDICT_HDR)
    assert struct.unpack_from("!II", message, 24) == (nfqueue.NF_ACCEPT, 77)
    assert struct.unpack_from("=HH", message, 32) == (9, nfqueue.NFQA_PAYLOAD)
    assert message[36:41] == b"abcde" and len(message) == 44  # padded to 4 bytes


def test_drop_verdict_has_no_payload() -> None:
    message = verdict_message(0, 5, accept=False)
    assert len(message) == 32
    assert struct.unpack_from("!II", message, 24) == (nfqueue.NF_DROP, 5)


def test_packet_messages_are_parsed_one_after_another() -> None:
    data = packet_message(1, b"\x45abc") + packet_message(2, b"\x45defgh", cap_len=1500)
    packets = [parse_packet(body, offset) for _, body, offset in parse_messages(data)]
    assert [(p.id, p.hw_protocol, p.payload, p.truncated) for p in packets] == [
        (1, 0x0800, b"\x45abc", False),
        (2, 0x0800, b"\x45defgh", True),
    ]


def test_a_cut_message_is_not_read_past_its_end() -> None:
    data = packet_message(1, b"\x45abc")
    assert list(parse_messages(data[:-3])) == []
