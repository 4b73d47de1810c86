#!/usr/bin/env python3
"""Sequential TCP upper-case server (slide "Sequential TCP Server").

One client at a time: the next one waits in the listen queue until the
current one closes (or stays idle for IDLE_TIMEOUT seconds). That wait is
the point of this server; the threaded, pool, poll and asyncio ones fix it.
"""

import os
from socket import SOCK_STREAM

from common import handle_client, ready, server_socket

serverPort = int(os.environ.get("PORT", 1234))


def main() -> None:
    serverSocket = server_socket(SOCK_STREAM, serverPort)
    ready(serverSocket)
    while True:
        connectionSocket, address = serverSocket.accept()
        handle_client(connectionSocket, address)


if __name__ == "__main__":
    main()
