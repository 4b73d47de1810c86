"""Framing with struct (slides "Framing and Quoting"): blocks with a '!I' prefix."""

from __future__ import annotations

import struct

import pytest

from socklab import probes

pytestmark = pytest.mark.lab("blocks")


def test_ten_mebibyte_block_comes_back_intact(lab) -> None:
    result = probes.block(lab, "client", "blocks", 1235, size=10 * 1024 * 1024)
    assert result.get("intact") and result["closed_after_zero"], result


def test_one_byte_at_a_time_client_gets_the_right_answer(lab) -> None:
    result = probes.block(lab, "client", "blocks", 1235, size=300, chunk=1)
    assert result.get("intact"), result


def test_compressed_block(lab) -> None:
    result = probes.block(lab, "client", "blocks", 1235, size=200_000, compress=True)
    assert result.get("intact"), result


@pytest.mark.parametrize(
    "data, why",
    [
        (struct.pack("!I", 100) + b"only ten b", "truncated block"),
        (struct.pack("!I", 0x7FFFFFF0), "huge length prefix"),
        (b"\x00\x00", "truncated header"),
    ],
)
def test_bad_framing_drops_that_connection_only(lab, data: bytes, why: str) -> None:
    probes.raw(lab, "client", "blocks", 1235, data, timeout=2.0)
    after = probes.block(lab, "client", "blocks", 1235, size=1000)
    assert after.get("intact"), f"after a {why}, the server should still serve others: {after}"
