"""Talk to the link daemon from inside its helper container (``docker exec``).

    python3 /opt/socklab/services/impair/ctl.py show
    python3 /opt/socklab/services/impair/ctl.py set '{"out": {"loss": 10}, "seed": 2}'
    python3 /opt/socklab/services/impair/ctl.py events '{"since": 0, "limit": 20}'
    python3 /opt/socklab/services/impair/ctl.py relay    # request lines in, answer lines out

Prints the daemon's JSON answer. Exit status: 0 answered, 1 the daemon
does not answer ("link daemon not running"), 2 the request was refused.
``relay`` keeps one connection for a long-lived reader (socklab web), which
then polls without a docker exec each time.
It imports nothing from the package, so it runs as a plain script too.
The socket is --socket, else "control" in $SOCKLAB_LINK, else the default.
"""

from __future__ import annotations

import argparse
import json
import os
import socket
import sys
from typing import BinaryIO, Optional

DEFAULT_CONTROL = "/run/socklab-link.sock"


def control_path() -> str:
    """Where the daemon of this container listens: the same $SOCKLAB_LINK it was started with."""
    try:
        return json.loads(os.environ.get("SOCKLAB_LINK", "{}")).get("control") or DEFAULT_CONTROL
    except (ValueError, AttributeError):
        return DEFAULT_CONTROL


def ask(path: str, request: dict, timeout: float = 5.0) -> dict:
    """One request, one answer; OSError when no daemon answers."""
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as sock:
        sock.settimeout(timeout)
        sock.connect(path)
        sock.sendall(json.dumps(request).encode() + b"\n")
        answer = b""
        while not answer.endswith(b"\n"):
            chunk = sock.recv(65536)
            if not chunk:
                raise ConnectionResetError("the daemon closed the connection without answering")
            answer += chunk
    return json.loads(answer)


def relay(path: str, lines: BinaryIO, out: BinaryIO) -> int:
    """Pass each request line to the daemon and its answer line back, until the input ends.

    A daemon that does not answer gives an error line, and the next request connects again.
    """
    sock: Optional[socket.socket] = None
    reader: Optional[BinaryIO] = None
    for line in lines:
        if not line.strip():
            continue
        try:
            if sock is None or reader is None:
                sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
                sock.settimeout(5.0)
                sock.connect(path)
                reader = sock.makefile("rb")
            sock.sendall(line.rstrip(b"\n") + b"\n")
            answer = reader.readline()
            if not answer.endswith(b"\n"):
                raise ConnectionResetError("the daemon closed the connection without answering")
        except OSError as error:
            if sock is not None:
                sock.close()
            sock = reader = None
            answer = json.dumps({"error": f"link daemon not running (no answer on {path}: {error})"}).encode() + b"\n"
        out.write(answer)
        out.flush()
    if sock is not None:
        sock.close()
    return 0


def main(argv: Optional[list[str]] = None) -> int:
    parser = argparse.ArgumentParser(description="Show or change a socklab link daemon's parameters.")
    parser.add_argument("--socket", default=None, help="control socket (default: from $SOCKLAB_LINK)")
    parser.add_argument("op", choices=("show", "set", "events", "relay"))
    parser.add_argument(
        "changes", nargs="?", help='for set: JSON such as \'{"out": {"loss": 10}}\'; for events \'{"since": 0}\''
    )
    args = parser.parse_args(argv)
    path = args.socket or control_path()
    if args.op == "relay":
        return relay(path, sys.stdin.buffer, sys.stdout.buffer)
    request: dict = {"op": args.op}
    if args.op == "set" or (args.op == "events" and args.changes):
        try:
            changes = json.loads(args.changes or "")
        except ValueError:
            changes = None
        if not isinstance(changes, dict):
            example = '{"out": {"loss": 10}}' if args.op == "set" else '{"since": 0, "limit": 20}'
            parser.error(f"{args.op} needs a JSON object, such as '{example}'")
        request = {**changes, "op": args.op}
    try:
        answer = ask(path, request)
    except (OSError, ValueError) as error:
        print(f"link daemon not running (no answer on {path}: {error})", file=sys.stderr)
        return 1
    if "error" in answer:
        print(f"error: {answer['error']}", file=sys.stderr)
        return 2
    print(json.dumps(answer, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
