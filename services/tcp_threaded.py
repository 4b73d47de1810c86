#!/usr/bin/env python3
"""Multi-thread TCP upper-case server (slide "Multi-Thread TCP Server"):
one thread per connection, so a slow client never delays the others."""

import os
import time
from socket import SOCK_STREAM, socket
from threading import Thread

from common import UpperCaser, log, peer, ready, server_socket

serverPort = int(os.environ.get('PORT', 1234))
IDLE_TIMEOUT = float(os.environ.get('IDLE_TIMEOUT', 30))  # seconds


def handle_client(clientSocket: socket, address: tuple) -> None:
    """Upper-case whatever the client sends, as soon as it arrives, until it
    closes. Errors end this connection only."""
    log(f'connect {peer(address)}')
    upper = UpperCaser()
    clientSocket.settimeout(IDLE_TIMEOUT)  # a vanished client must not keep its thread forever
    with clientSocket:
        try:
            while True:
                received = clientSocket.recv(4096)
                if not received:
                    clientSocket.sendall(upper.feed(b'', final=True))
                    break
                clientSocket.sendall(upper.feed(received))
        except OSError as error:  # reset, timed out, broken pipe
            log(f'error {peer(address)} {error}')
    log(f'close {peer(address)}')


def main() -> None:
    serverSocket = server_socket(SOCK_STREAM, serverPort)
    ready(serverSocket)
    while True:
        try:
            connectionSocket, address = serverSocket.accept()
            Thread(target=handle_client, args=(connectionSocket, address), daemon=True).start()
        except (OSError, RuntimeError) as error:  # out of file descriptors or threads
            log(f'error accept {error}')
            time.sleep(0.1)  # let some connections end instead of spinning


if __name__ == '__main__':
    main()
