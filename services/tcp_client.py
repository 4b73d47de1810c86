#!/usr/bin/env python3
"""TCP upper-case client (slide "TCP Python Client"), one connection for
all of standard input: each line goes out with sendall and its upper-cased
reply is read up to its newline, since one recv() may return only part of it."""

import argparse
import os
import sys
from socket import SHUT_WR, create_connection


def main() -> None:
    parser = argparse.ArgumentParser(description="Upper-case standard input, line by line, over TCP.")
    parser.add_argument("--host", default=os.environ.get("SERVER_HOST", "127.0.0.1"))
    parser.add_argument("--port", type=int, default=int(os.environ.get("SERVER_PORT", 1234)))
    args = parser.parse_args()

    try:
        clientSocket = create_connection((args.host, args.port))
    except OSError:
        print("server seems down")
        sys.exit(1)
    with clientSocket, clientSocket.makefile("rb") as replies:
        for line in sys.stdin.buffer:
            try:
                clientSocket.sendall(line)
                if not line.endswith(b"\n"):
                    # The last line has no newline to wait for: the server's
                    # close after our end of stream ends the reply instead.
                    clientSocket.shutdown(SHUT_WR)
                modifiedMessage = replies.readline()
            except OSError as error:
                sys.exit(f"connection lost: {error}")
            if not modifiedMessage:
                sys.exit("server closed the connection")
            print(modifiedMessage.decode("utf-8", "replace"), end="", flush=True)


if __name__ == "__main__":
    main()
