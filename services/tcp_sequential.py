#!/usr/bin/env python3
"""Sequential TCP upper-case server (slide "Sequential TCP Server").

One client at a time: the next one waits in the listen queue until the
current one closes (or stays idle for IDLE_TIMEOUT seconds). That wait is
the point of this server; the threaded, pool, poll and asyncio ones fix it.
"""

import os
from socket import SOCK_STREAM, socket

from common import UpperCaser, log, peer, ready, server_socket

serverPort = int(os.environ.get('PORT', 1234))
IDLE_TIMEOUT = float(os.environ.get('IDLE_TIMEOUT', 30))  # seconds


def handle_client(clientSocket: socket, address: tuple) -> None:
    """Upper-case whatever the client sends, as soon as it arrives, until it
    closes. Errors end this connection only."""
    log(f'connect {peer(address)}')
    upper = UpperCaser()
    clientSocket.settimeout(IDLE_TIMEOUT)  # a vanished client must not hold us forever
    with clientSocket:
        try:
            while True:
                received = clientSocket.recv(4096)
                if not received:
                    clientSocket.sendall(upper.feed(b'', final=True))
                    break  # the slide closes here but stays in its loop
                clientSocket.sendall(upper.feed(received))
        except OSError as error:  # reset, timed out, broken pipe
            log(f'error {peer(address)} {error}')
    log(f'close {peer(address)}')


def main() -> None:
    serverSocket = server_socket(SOCK_STREAM, serverPort)
    ready(serverSocket)
    while True:
        connectionSocket, address = serverSocket.accept()
        handle_client(connectionSocket, address)


if __name__ == '__main__':
    main()
