"""Blocks over TCP (slides "Framing and Quoting"): a 4-byte '!I' length,
then that many bytes. TCP is a byte stream, so the length tells the
receiver where one message ends and the next begins.

A header with its top bit (COMPRESSED) set carries a zlib-compressed
payload (slide "Python Data Compression"); the other 31 bits are the length
of the payload as sent. Receivers refuse a payload longer than max_length,
before or after decompression, so that neither a huge header nor a zip bomb
can make them allocate gigabytes.
"""

import zlib
from socket import socket
from struct import Struct

header_struct = Struct("!I")
COMPRESSED = 0x80000000
MAX_LENGTH = COMPRESSED - 1
MAX_BLOCK = 32 * 1024 * 1024  # default limit for a received block


class BlockError(ValueError):
    """A block this receiver refuses: too long, or not valid zlib."""


def recvall(sock: socket, length: int) -> bytes:
    """Exactly length bytes: recv() may return fewer than asked."""
    blocks = []
    while length:
        block = sock.recv(min(length, 65536))  # recv(n) reserves n bytes first
        if not block:
            raise EOFError(f"socket closed with {length} bytes left in this block")
        length -= len(block)
        blocks.append(block)
    return b"".join(blocks)


def put_block(sock: socket, message: bytes, compress: bool = False) -> None:
    """Send message as one block, zlib-compressed if asked.

    Header and payload go out in one sendall: sending the small header on
    its own could wait for a delayed ACK (Nagle's algorithm), ~40 ms a block.
    """
    flags = 0
    if compress:
        message = zlib.compress(message)
        flags = COMPRESSED
    if len(message) > MAX_LENGTH:
        raise BlockError(f"block of {len(message)} bytes does not fit the header")
    sock.sendall(header_struct.pack(flags | len(message)) + message)


def get_block_with_flag(sock: socket, max_length: int = MAX_BLOCK) -> tuple[bytes, bool]:
    """Receive one block: its (decompressed) payload and whether it came compressed."""
    (header,) = header_struct.unpack(recvall(sock, header_struct.size))
    compressed = bool(header & COMPRESSED)
    block_length = header & MAX_LENGTH
    if block_length > max_length:
        raise BlockError(f"block of {block_length} bytes is over the limit of {max_length}")
    message = recvall(sock, block_length)
    if compressed:
        message = decompress(message, max_length)
    return message, compressed


def get_block(sock: socket, max_length: int = MAX_BLOCK) -> bytes:
    """Receive one block's payload, decompressed if it was compressed."""
    return get_block_with_flag(sock, max_length)[0]


def decompress(data: bytes, max_length: int) -> bytes:
    """zlib.decompress that stops at max_length bytes of output (zip bomb)."""
    decompressor = zlib.decompressobj()
    try:
        message = decompressor.decompress(data, max_length + 1)
    except zlib.error as error:
        raise BlockError(f"compressed block: {error}") from None
    if len(message) > max_length:
        raise BlockError(f"compressed block expands over the limit of {max_length} bytes")
    if not decompressor.eof:
        raise BlockError("compressed block is truncated")
    if decompressor.unused_data:
        raise BlockError("compressed block has bytes after its end")
    return message
