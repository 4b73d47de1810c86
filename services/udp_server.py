#!/usr/bin/env python3
"""UDP upper-case server (slide "UDP Python Server"): each datagram comes
back upper-cased to whoever sent it.

PREFIX (a word, for a student's variant of the assignment) is put in front
of each answer, followed by a space: with PREFIX=KILO, 'hello' comes back as
'KILO HELLO'. Without it the answer is the slide's."""

import os
from socket import SOCK_DGRAM

from common import log, peer, ready, server_socket, upper_bytes

serverPort = int(os.environ.get("PORT", 1234))
prefix = os.environ.get("PREFIX", "").encode("utf-8")
lead = prefix + b" " if prefix else b""


def main() -> None:
    serverSocket = server_socket(SOCK_DGRAM, serverPort)
    ready(serverSocket)
    while True:
        # 65535, not the slide's 2048: a bigger datagram would be cut short.
        message, clientAddress = serverSocket.recvfrom(65535)
        log(f"datagram {peer(clientAddress)} {len(message)} bytes")
        try:
            serverSocket.sendto(lead + upper_bytes(message), clientAddress)
        except OSError as error:  # e.g. the answer grew too big for one datagram
            log(f"error {peer(clientAddress)} {error}")


if __name__ == "__main__":
    main()
