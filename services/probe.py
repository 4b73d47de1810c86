#!/usr/bin/env python3
"""Measurements run from inside a lab node, each printing one JSON object.

The behaviour suite and the grader both drive this tool through
``socklab exec``: the measurement happens on the lab's network, next to the
server, and the host only reads the verdict. Every wait is bounded.

    probe udp HOST PORT MESSAGE
    probe tcp HOST PORT MESSAGE [MESSAGE ...]
    probe hold HOST PORT --holders N     (is a newcomer served while N hold?)
    probe many HOST PORT --count N       (N connections at once, all answered?)
    probe block HOST PORT --size N [--chunk K] [--compress]
    probe raw HOST PORT --hex DATA       (send raw bytes, report what comes back)
    probe udp HOST PORT --hex DATA       (a datagram of raw bytes, e.g. invalid UTF-8)
    probe xmlrpc HOST PORT --calls JSON  ([[METHOD, [ARG, ...]], ...] on /RPC2)
"""

from __future__ import annotations

import argparse
import json
import os
import socket
import struct
import sys
import time
import xmlrpc.client
import zlib
from xml.parsers.expat import ExpatError

TIMEOUT = 2.0


def udp(host: str, port: int, message: bytes, timeout: float) -> dict:
    family = socket.getaddrinfo(host, port, type=socket.SOCK_DGRAM)[0][0]
    with socket.socket(family, socket.SOCK_DGRAM) as sock:
        sock.settimeout(timeout)
        sock.sendto(message, (host, port))
        try:
            answer, _ = sock.recvfrom(65535)
        except socket.timeout:
            return {"answered": False, "answer": None}
    return {"answered": True, "answer": answer.decode("utf-8", "surrogateescape"), "hex": answer.hex()}


def read_reply(sock: socket.socket, expected: int, timeout: float) -> bytes:
    """Read until ``expected`` bytes came, the peer closed, or time ran out."""
    sock.settimeout(timeout)
    data = b""
    deadline = time.monotonic() + timeout
    while len(data) < expected and time.monotonic() < deadline:
        try:
            chunk = sock.recv(65536)
        except (socket.timeout, ConnectionResetError):  # a reset ends the reply as a close does
            break
        if not chunk:
            break
        data += chunk
    return data


def tcp(host: str, port: int, messages: list[bytes], timeout: float) -> dict:
    replies = []
    with socket.create_connection((host, port), timeout=timeout) as sock:
        for message in messages:
            sock.sendall(message)
            replies.append(
                read_reply(
                    sock,
                    len(message.decode("utf-8", "surrogateescape").upper().encode("utf-8", "surrogateescape")),
                    timeout,
                ).decode("utf-8", "surrogateescape")
            )
    return {"replies": replies}


def exchange(sock: socket.socket, message: bytes, timeout: float) -> bool:
    """One message and its upper-cased answer on an open connection."""
    sock.sendall(message)
    return read_reply(sock, len(message), timeout) == message.upper()


def hold(host: str, port: int, holders: int, wait: float) -> dict:
    """Open ``holders`` connections and keep them, then try one more.

    A holder counts as served when its first message is answered; the
    newcomer is timed from its send until its answer, first while the others
    hold their connections, then after they have all closed.
    """
    held = []
    served = 0
    for index in range(holders):
        sock = socket.create_connection((host, port), timeout=wait)
        held.append(sock)
        if exchange(sock, f"holder {index}\n".encode(), wait):
            served += 1
    newcomer = socket.create_connection((host, port), timeout=wait)
    started = time.monotonic()
    newcomer.sendall(b"newcomer\n")
    first = read_reply(newcomer, 9, wait)
    answered_while_held = first == b"NEWCOMER\n"
    for sock in held:
        sock.close()
    after = first if answered_while_held else first + read_reply(newcomer, 9 - len(first), wait * 2)
    latency = time.monotonic() - started
    newcomer.close()
    return {
        "holders": holders,
        "holders_served": served,
        "answered_while_held": answered_while_held,
        "answered_after_release": after == b"NEWCOMER\n",
        "newcomer_latency_s": round(latency, 4),
    }


def many(host: str, port: int, count: int, timeout: float) -> dict:
    """``count`` connections open at once, each then answered."""
    socks = []
    try:
        for _ in range(count):
            socks.append(socket.create_connection((host, port), timeout=timeout))
        for index, sock in enumerate(socks):
            sock.sendall(f"conn {index}\n".encode())
        answered = sum(
            1
            for index, sock in enumerate(socks)
            if read_reply(sock, len(f"conn {index}\n"), timeout) == f"CONN {index}\n".encode()
        )
    finally:
        for sock in socks:
            sock.close()
    return {"opened": len(socks), "answered": answered}


def recvall(sock: socket.socket, length: int) -> bytes:
    data = b""
    while len(data) < length:
        chunk = sock.recv(min(length - len(data), 1 << 20))
        if not chunk:
            raise EOFError(f"socket closed with {length - len(data)} bytes left in this block")
        data += chunk
    return data


def block(host: str, port: int, size: int, chunk: int, compress: bool, timeout: float) -> dict:
    letters = bytes(range(ord("a"), ord("z") + 1))
    payload = (letters * (size // len(letters) + 1))[:size]
    body = zlib.compress(payload) if compress else payload
    header = struct.pack("!I", len(body) | (0x80000000 if compress else 0))
    with socket.create_connection((host, port), timeout=timeout) as sock:
        wire = header + body
        step = chunk or len(wire)
        for offset in range(0, len(wire), step):
            sock.sendall(wire[offset : offset + step])
        (length,) = struct.unpack("!I", recvall(sock, 4))
        answer = recvall(sock, length & 0x7FFFFFFF)
        if length & 0x80000000:
            answer = zlib.decompress(answer)
        try:
            sock.sendall(struct.pack("!I", 0))
            sock.settimeout(timeout)
            closed = sock.recv(1) == b""
        except ConnectionError:  # it closed even before the empty block: closed all the same
            closed = True
    return {"size": size, "intact": answer == payload.upper(), "answer_size": len(answer), "closed_after_zero": closed}


def raw(host: str, port: int, data: bytes, timeout: float) -> dict:
    with socket.create_connection((host, port), timeout=timeout) as sock:
        sock.sendall(data)
        sock.shutdown(socket.SHUT_WR)
        reply = read_reply(sock, 1 << 20, timeout)
    return {"reply_hex": reply.hex(), "reply": reply.decode("utf-8", "surrogateescape")}


def xmlrpc_calls(host: str, port: int, calls: list, timeout: float) -> dict:
    """Each call's result, or its fault: a fault is an answer, not an error."""
    socket.setdefaulttimeout(timeout)  # ServerProxy takes no timeout of its own
    host = f"[{host}]" if ":" in host else host
    results = []
    with xmlrpc.client.ServerProxy(f"http://{host}:{port}/RPC2") as proxy:
        for method, params in calls:
            try:
                results.append({"result": getattr(proxy, method)(*params)})
            except xmlrpc.client.Fault as fault:
                results.append({"fault": fault.faultString})
    return {"results": results}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("kind", choices=["udp", "tcp", "hold", "many", "block", "raw", "xmlrpc"])
    parser.add_argument("host", nargs="?", default=os.environ.get("SERVER_HOST", "localhost"))
    parser.add_argument("port", nargs="?", type=int, default=int(os.environ.get("SERVER_PORT", "1234")))
    parser.add_argument("messages", nargs="*")
    parser.add_argument("--timeout", type=float, default=TIMEOUT)
    parser.add_argument("--holders", type=int, default=1)
    parser.add_argument("--count", type=int, default=200)
    parser.add_argument("--size", type=int, default=1000)
    parser.add_argument("--chunk", type=int, default=0)
    parser.add_argument("--compress", action="store_true")
    parser.add_argument("--hex", default="")
    parser.add_argument("--calls", default="[]")
    args = parser.parse_args()
    messages = [m.encode("utf-8", "surrogateescape") for m in args.messages] or [b"hello\n"]
    try:
        if args.kind == "udp":
            result = udp(args.host, args.port, bytes.fromhex(args.hex) if args.hex else messages[0], args.timeout)
        elif args.kind == "tcp":
            result = tcp(args.host, args.port, messages, args.timeout)
        elif args.kind == "hold":
            result = hold(args.host, args.port, args.holders, args.timeout)
        elif args.kind == "many":
            result = many(args.host, args.port, args.count, args.timeout)
        elif args.kind == "block":
            result = block(args.host, args.port, args.size, args.chunk, args.compress, args.timeout)
        elif args.kind == "xmlrpc":
            result = xmlrpc_calls(args.host, args.port, json.loads(args.calls), args.timeout)
        else:
            result = raw(args.host, args.port, bytes.fromhex(args.hex), args.timeout)
    except (OSError, EOFError, struct.error, zlib.error, xmlrpc.client.Error, ExpatError) as error:
        result = {"error": f"{type(error).__name__}: {error}"}
    print(json.dumps(result, default=str))  # default: XML-RPC dates and binaries
    sys.exit(1 if "error" in result else 0)


if __name__ == "__main__":
    main()
