#!/usr/bin/env python3
"""Broadcast client (slide "UDP Broadcast Client"): one datagram to the
subnet's broadcast address (the slide mistakenly sends it to serverName),
then every answer, from every responder, until --timeout seconds pass
without one. When nobody answers at all it prints 'server seems down' and
exits with status 1, like every client of the lecture.

The broadcast address comes from the interface's address and prefix
(`ip -j -4 addr show`), not from assuming a /24 as the slide does.
"""

import argparse
import json
import os
import subprocess
import sys
from ipaddress import IPv4Interface
from socket import AF_INET, SO_BROADCAST, SOCK_DGRAM, SOL_SOCKET, socket


def broadcast_address(ip_json: str, iface: str | None = None) -> str:
    """The broadcast address of iface, or of the first interface that is
    not loopback, given the output of `ip -j -4 addr show`."""
    for link in json.loads(ip_json):
        if iface is not None and link.get("ifname") != iface:
            continue
        if iface is None and "LOOPBACK" in link.get("flags", []):
            continue
        for address in link.get("addr_info", []):
            if address.get("family") == "inet":
                interface = IPv4Interface(f"{address['local']}/{address['prefixlen']}")
                return str(interface.network.broadcast_address)
    raise LookupError(f"no IPv4 address on {iface or 'any interface but loopback'}")


def main() -> None:
    parser = argparse.ArgumentParser(description="Ask every broadcast responder on the subnet.")
    parser.add_argument(
        "--broadcast",
        default=os.environ.get("SERVER_HOST"),
        help="send here instead of the computed broadcast address (default: $SERVER_HOST)",
    )
    parser.add_argument("--iface", help="use the broadcast address of this interface")
    parser.add_argument("--port", type=int, default=int(os.environ.get("SERVER_PORT", 1234)))
    parser.add_argument("--message", help="the line to send (default: one line of standard input)")
    parser.add_argument("--timeout", type=float, default=1.0, help="stop once this many seconds pass without an answer")
    args = parser.parse_args()

    if args.message is None:
        message = sys.stdin.buffer.readline().rstrip(b"\r\n")
    else:
        message = args.message.encode("utf-8", "surrogateescape")
    broadcastAddr = args.broadcast
    if broadcastAddr is None:
        try:
            ip = subprocess.run(["ip", "-j", "-4", "addr", "show"], capture_output=True, text=True, check=True)
            broadcastAddr = broadcast_address(ip.stdout, args.iface)
        except (OSError, subprocess.CalledProcessError, LookupError) as error:
            sys.exit(f"cannot find the broadcast address: {error}")

    with socket(AF_INET, SOCK_DGRAM) as clientSocket:
        clientSocket.setsockopt(SOL_SOCKET, SO_BROADCAST, 1)
        clientSocket.sendto(message, (broadcastAddr, args.port))
        clientSocket.settimeout(args.timeout)
        answers = 0
        while True:
            try:
                modifiedMessage, serverAddress = clientSocket.recvfrom(65535)
            except TimeoutError:
                break
            answers += 1
            print(serverAddress[0], modifiedMessage.decode("utf-8", "replace"), flush=True)
    if not answers:
        print("server seems down")
        sys.exit(1)
    print(f"{answers} answers")


if __name__ == "__main__":
    main()
