#!/usr/bin/env python3
"""Broadcast responder (slide "UDP Broadcast Server"): answers every
datagram, including one sent to the subnet's broadcast address, with
'NAME: UPPER-CASED MESSAGE', so that a client learns who is on its subnet."""

import os
from socket import AF_INET, SOCK_DGRAM, gethostname, socket

from common import log, peer, ready, upper_bytes

serverPort = int(os.environ.get("PORT", 1234))
NODE_NAME = os.environ.get("NODE_NAME") or gethostname()


def main() -> None:
    serverSocket = socket(AF_INET, SOCK_DGRAM)  # IPv4: IPv6 has no broadcast
    # bind takes one (host, port) tuple, not two arguments as on the slide;
    # host '' (any address) is what lets broadcasts in.
    serverSocket.bind(("", serverPort))
    ready(serverSocket)
    name = NODE_NAME.encode("utf-8")
    while True:
        message, clientAddress = serverSocket.recvfrom(65535)
        log(f"datagram {peer(clientAddress)} {len(message)} bytes")
        try:
            serverSocket.sendto(name + b": " + upper_bytes(message), clientAddress)
        except OSError as error:
            log(f"error {peer(clientAddress)} {error}")


if __name__ == "__main__":
    main()
