#!/usr/bin/env python3
"""Block (framing) server (slides "Sending a Block", "Receiving a Block").

Each block is answered by one block with the upper-cased payload,
compressed if the request was. An empty block ends the session. One thread
per connection; a block over MAX_BLOCK bytes, a broken compressed block or
a client that stalls mid-block for IDLE_TIMEOUT seconds ends its own
connection only.
"""

import os
import time
from socket import SOCK_STREAM, socket
from threading import Thread

from common import log, peer, ready, server_socket, upper_bytes
from framing import BlockError, get_block_with_flag, put_block

serverPort = int(os.environ.get("PORT", 1235))
MAX_BLOCK = int(os.environ.get("MAX_BLOCK", 32 * 1024 * 1024))  # bytes
IDLE_TIMEOUT = float(os.environ.get("IDLE_TIMEOUT", 30))  # seconds


def handle_client(clientSocket: socket, address: tuple) -> None:
    log(f"connect {peer(address)}")
    clientSocket.settimeout(IDLE_TIMEOUT)
    with clientSocket:
        try:
            while True:
                message, compressed = get_block_with_flag(clientSocket, MAX_BLOCK)
                log(f"block {peer(address)} {len(message)} bytes" + (" compressed" if compressed else ""))
                if not message:
                    break
                put_block(clientSocket, upper_bytes(message), compress=compressed)
        except (OSError, EOFError, BlockError) as error:
            log(f"error {peer(address)} {error}")
    log(f"close {peer(address)}")


def main() -> None:
    serverSocket = server_socket(SOCK_STREAM, serverPort)
    ready(serverSocket)
    while True:
        try:
            connectionSocket, address = serverSocket.accept()
            Thread(target=handle_client, args=(connectionSocket, address), daemon=True).start()
        except (OSError, RuntimeError) as error:  # out of file descriptors or threads
            log(f"error accept {error}")
            time.sleep(0.1)  # let some connections end instead of spinning


if __name__ == "__main__":
    main()
