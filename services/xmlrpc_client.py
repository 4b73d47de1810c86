#!/usr/bin/env python3
"""XML-RPC client (slides "Python XML-RPC Client"): the slide's four calls.
Expected: xyz, 15, [0.0, 2.0] (not the slide's [0.0, 8.0]) and [-1.0]."""

import argparse
import os
import sys
from xmlrpc.client import ServerProxy


def main() -> None:
    parser = argparse.ArgumentParser(description="Make the lecture's four XML-RPC calls.")
    parser.add_argument("--host", default=os.environ.get("SERVER_HOST", "127.0.0.1"))
    parser.add_argument("--port", type=int, default=int(os.environ.get("SERVER_PORT", 7001)))
    args = parser.parse_args()

    host = f"[{args.host}]" if ":" in args.host else args.host  # an IPv6 address in a URL
    try:
        with ServerProxy(f"http://{host}:{args.port}/RPC2") as proxy:
            print(proxy.addtogether("x", "y", "z"))
            print(proxy.addtogether(1, 2, 3, 4, 5))
            print(proxy.quadratic(2, -4, 0))
            print(proxy.quadratic(1, 2, 1))
    except OSError:  # refused, unreachable, unknown host
        print("server seems down")
        sys.exit(1)


if __name__ == "__main__":
    main()
