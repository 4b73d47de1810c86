#!/usr/bin/env python3
"""Slow reader (slides "TCP send", "TCP send Loop", "TCP sendall"): a TCP
peer with a small receive buffer that reads slowly, so that its sender's
TCP/IP stack fills up and send() returns having taken only part of a
message.

Each client sends one message ending with a newline; the server answers
with one line, 'received N bytes sha256 HEX' (N and HEX of the bytes before
the newline), and closes. A client that closes (or stalls for IDLE_TIMEOUT
seconds) before its newline is logged with the bytes that did arrive.
"""

import hashlib
import os
import time
from socket import SO_RCVBUF, SOCK_STREAM, SOL_SOCKET, socket
from threading import Thread

from common import log, peer, ready, server_socket

serverPort = int(os.environ.get("PORT", 1236))
RECEIVE_BUFFER = 4096  # bytes: the kernel doubles it, still far below a message
CHUNK = 8192  # bytes read at a time
PAUSE = 0.001  # seconds between two reads: a few MB/s at most
IDLE_TIMEOUT = float(os.environ.get("IDLE_TIMEOUT", 10))  # seconds


def handle_client(clientSocket: socket, address: tuple) -> None:
    log(f"connect {peer(address)}")
    clientSocket.settimeout(IDLE_TIMEOUT)
    digest = hashlib.sha256()
    count = 0
    with clientSocket:
        try:
            while True:
                received = clientSocket.recv(CHUNK)
                if not received:
                    log(f"incomplete {peer(address)} closed after {count} bytes, before a newline")
                    return
                line, newline, _ = received.partition(b"\n")
                digest.update(line)
                count += len(line)
                if newline:
                    break
                time.sleep(PAUSE)
            log(f"received {peer(address)} {count} bytes")
            clientSocket.sendall(f"received {count} bytes sha256 {digest.hexdigest()}\n".encode("utf-8"))
        except OSError as error:  # reset, timed out
            log(f"incomplete {peer(address)} {error} after {count} bytes, before a newline")
    log(f"close {peer(address)}")


def main() -> None:
    serverSocket = server_socket(SOCK_STREAM, serverPort)
    # Set on the listening socket, so that every accepted one inherits it
    # before the connection's window is agreed.
    serverSocket.setsockopt(SOL_SOCKET, SO_RCVBUF, RECEIVE_BUFFER)
    ready(serverSocket)
    while True:
        try:
            connectionSocket, address = serverSocket.accept()
            Thread(target=handle_client, args=(connectionSocket, address), daemon=True).start()
        except (OSError, RuntimeError) as error:  # out of file descriptors or threads
            log(f"error accept {error}")
            time.sleep(0.1)


if __name__ == "__main__":
    main()
