#!/usr/bin/env python3
"""Block (framing) client: sends one block and reads the answer block, then
ends the session with an empty block.

The block is standard input, a --file, or --size N pseudo-random lowercase
letters; with --size it checks the answer itself and prints 'ok N bytes'
(or exits 1 on a mismatch) instead of printing N bytes.
"""

import argparse
import os
import random
import sys
from socket import create_connection

from framing import MAX_LENGTH, get_block, put_block

LETTERS = bytes.maketrans(bytes(range(256)), bytes(ord("a") + i % 26 for i in range(256)))


def random_letters(size: int) -> bytes:
    """size lowercase letters, the same ones every run."""
    return random.Random(size).randbytes(size).translate(LETTERS)


def main() -> None:
    parser = argparse.ArgumentParser(description="Send one block to the block server.")
    parser.add_argument("--host", default=os.environ.get("SERVER_HOST", "127.0.0.1"))
    parser.add_argument("--port", type=int, default=int(os.environ.get("SERVER_PORT", 1235)))
    source = parser.add_mutually_exclusive_group()
    source.add_argument("--size", type=int, help="send this many letters and check the answer")
    source.add_argument("--file", help="send this file")
    parser.add_argument("--compress", action="store_true", help="send the block zlib-compressed")
    args = parser.parse_args()

    if args.size is not None:
        message = random_letters(args.size)
    elif args.file:
        with open(args.file, "rb") as f:
            message = f.read()
    else:
        message = sys.stdin.buffer.read()
    if not message:
        sys.exit("nothing to send: an empty block would only end the session")

    try:
        clientSocket = create_connection((args.host, args.port))
    except OSError:
        print("server seems down")
        sys.exit(1)
    with clientSocket:
        put_block(clientSocket, message, compress=args.compress)
        answer = get_block(clientSocket, MAX_LENGTH)  # upper-casing may lengthen it
        put_block(clientSocket, b"")

    if args.size is None:
        print(answer.decode("utf-8", "replace"), end="")
    elif answer == message.upper():
        print(f"ok {len(answer)} bytes")
    else:
        sys.exit(f"mismatch: sent {len(message)} bytes, got {len(answer)} bytes not all upper-cased")


if __name__ == "__main__":
    main()
