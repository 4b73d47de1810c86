#!/usr/bin/env python3
"""Thread pool TCP upper-case server (slide "Thread Pool TCP Server").

POOL_SIZE threads share the listening socket, each accepting and serving
one client at a time: at most POOL_SIZE clients are served at once, the
next waits in the listen queue, and no burst of clients can start an
unbounded number of threads.
"""

import os
from socket import SOCK_STREAM, socket
from threading import Thread

from common import handle_client, ready, server_socket

serverPort = int(os.environ.get("PORT", 1234))
POOL_SIZE = int(os.environ.get("POOL_SIZE", 4))


def serve_clients(listeningSocket: socket) -> None:
    """One pool thread: accept a client, serve it to the end, repeat."""
    while True:
        clientSocket, address = listeningSocket.accept()
        handle_client(clientSocket, address)


def main() -> None:
    serverSocket = server_socket(SOCK_STREAM, serverPort)
    for _ in range(POOL_SIZE):
        Thread(target=serve_clients, args=(serverSocket,)).start()
    ready(serverSocket)


if __name__ == "__main__":
    main()
