#!/usr/bin/env python3
"""Multi-thread TCP upper-case server (slide "Multi-Thread TCP Server"):
one thread per connection, so a slow client never delays the others."""

import os
import time
from socket import SOCK_STREAM
from threading import Thread

from common import handle_client, log, ready, server_socket

serverPort = int(os.environ.get("PORT", 1234))


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
