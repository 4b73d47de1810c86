#!/usr/bin/env python3
"""UDP client with exponential backoff (slides "UDP Packet Drops").

UDP may lose the question or the answer, so the client asks again after a
timeout that doubles after each loss, and gives up once the next timeout
would exceed MAX_DELAY: it sends at t = 0, 0.1, 0.3, 0.7 and 1.5 s and gives
up at 3.1 s. A student's variant of the assignment changes both:
--initial-timeout and --give-up (or INITIAL_TIMEOUT and GIVE_UP).
With --json it prints one line for experiments instead:
{"answer", "attempts" (datagrams sent), "outcome" ("answered" or "gave-up"),
"latency_s" (from the first send to the answer, or to giving up)}.
"""

import argparse
import json
import os
import sys
import time
from socket import SOCK_DGRAM, getaddrinfo, socket

INITIAL_DELAY = 0.1  # seconds
MAX_DELAY = 2.0


def ask(
    clientSocket: socket,
    message: bytes,
    serverAddress: tuple,
    initialDelay: float = INITIAL_DELAY,
    maxDelay: float = MAX_DELAY,
) -> tuple[bytes | None, int]:
    """Send until an answer comes; return it (None if we gave up) and the
    number of datagrams sent. A late answer to an earlier send counts too:
    it is the same question."""
    delay = initialDelay
    attempts = 0
    while True:
        clientSocket.sendto(message, serverAddress)
        attempts += 1
        clientSocket.settimeout(delay)
        try:
            modifiedMessage, _ = clientSocket.recvfrom(65535)
            return modifiedMessage, attempts
        except TimeoutError:
            delay *= 2
            if delay > maxDelay:
                return None, attempts


def main() -> None:
    parser = argparse.ArgumentParser(description="Ask the UDP upper-case server, with backoff.")
    parser.add_argument("--host", default=os.environ.get("SERVER_HOST", "127.0.0.1"))
    parser.add_argument("--port", type=int, default=int(os.environ.get("SERVER_PORT", 1234)))
    parser.add_argument("--message", help="the line to send (default: one line of standard input)")
    parser.add_argument(
        "--source-port", type=int, default=0, help="send from this local port, so that a flow is the same run after run"
    )
    parser.add_argument("--json", action="store_true", help="print one JSON line with the outcome")
    parser.add_argument(
        "--initial-timeout",
        type=float,
        default=float(os.environ.get("INITIAL_TIMEOUT", INITIAL_DELAY)),
        help="seconds to wait for the first answer (default 0.1)",
    )
    parser.add_argument(
        "--give-up",
        type=float,
        default=float(os.environ.get("GIVE_UP", MAX_DELAY)),
        help="give up once the next timeout would exceed this (default 2.0)",
    )
    args = parser.parse_args()

    if args.message is None:
        message = sys.stdin.buffer.readline().rstrip(b"\r\n")
    else:
        message = args.message.encode("utf-8", "surrogateescape")
    try:
        family, _, _, _, serverAddress = getaddrinfo(args.host, args.port, type=SOCK_DGRAM)[0]
    except OSError:  # the server's name is unknown, e.g. its container is not up
        print("server seems down")
        sys.exit(1)
    with socket(family, SOCK_DGRAM) as clientSocket:
        if args.source_port:
            clientSocket.bind(("", args.source_port))
        start = time.monotonic()
        modifiedMessage, attempts = ask(clientSocket, message, serverAddress, args.initial_timeout, args.give_up)
        latency = time.monotonic() - start

    answer = None if modifiedMessage is None else modifiedMessage.decode("utf-8", "replace")
    if args.json:
        print(
            json.dumps(
                {
                    "answer": answer,
                    "attempts": attempts,
                    "outcome": "gave-up" if answer is None else "answered",
                    "latency_s": round(latency, 4),
                }
            )
        )
    elif answer is None:
        print("server seems down")
    else:
        print(answer)
    if answer is None:
        sys.exit(1)


if __name__ == "__main__":
    main()
