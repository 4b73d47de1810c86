#!/usr/bin/env python3
"""The measurement side of ``socklab experiment run``: trials run inside a
lab node, each printing one JSON line that the host turns into a CSV row.

    experiment-client udp-backoff --host H --first-port P --trials 0-199 [--parallel N]
    experiment-client transfer --protocol tcp|udp --tcp-server H:P --udp-server H:P --first-port P --trials 0-9
    experiment-client requests --server H --clients C --duration S --think-ms MS --trials 0-2

Trial t sends from source port P + t, so that each trial is a flow of its
own, the same flow run after run: the link's seeded decisions depend only
on the flow and the packet's index in it, never on which trial ran first.
That is also why trials may run in parallel without changing any drop.
"""

from __future__ import annotations

import argparse
import json
import math
import sys
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from socket import (
    IPPROTO_TCP,
    SHUT_RDWR,
    SHUT_WR,
    SO_REUSEADDR,
    SOCK_DGRAM,
    SOCK_STREAM,
    SOL_SOCKET,
    TCP_NODELAY,
    getaddrinfo,
    socket,
)
from typing import Callable

from udp_client import ask

_print_lock = threading.Lock()


def emit(record: dict) -> None:
    """One JSON line per trial, whole even when trials finish at once."""
    with _print_lock:
        sys.stdout.write(json.dumps(record) + "\n")
        sys.stdout.flush()


def parse_trials(text: str) -> list[int]:
    """'0-3,7' -> [0, 1, 2, 3, 7]."""
    trials = []
    for part in text.split(","):
        first, _, last = part.partition("-")
        trials.extend(range(int(first), int(last or first) + 1))
    return trials


def resolve(host: str, port: int, kind: int) -> tuple:
    """Look the name up once: later trials must not wait on DNS."""
    family, _, _, _, address = getaddrinfo(host, port, type=kind)[0]
    return family, address


def run_trials(trials: list[int], parallel: int, trial: Callable[[int], dict]) -> None:
    with ThreadPoolExecutor(max_workers=max(1, parallel)) as pool:
        for record in pool.map(trial, trials):
            emit(record)


def udp_backoff(args: argparse.Namespace) -> None:
    """One request per trial with the lecture's backoff client (udp_client.ask)."""
    family, address = resolve(args.host, args.port, SOCK_DGRAM)

    def trial(number: int) -> dict:
        with socket(family, SOCK_DGRAM) as sock:
            sock.bind(("", args.first_port + number))
            start = time.monotonic()
            answer, attempts = ask(sock, args.message.encode(), address)
            latency = time.monotonic() - start
        return {
            "trial": number,
            "attempts": attempts,
            "outcome": "answered" if answer is not None else "gave-up",
            "latency_s": round(latency, 4),
        }

    run_trials(parse_trials(args.trials), args.parallel, trial)


def udp_transfer(address: tuple, family: int, port: int, total: int, chunk: int) -> tuple[int, str]:
    """Upper-case ``total`` bytes as datagrams of ``chunk`` bytes, one at a
    time with backoff; a message given up on is skipped. Returns the bytes
    answered and the outcome."""
    answered = 0
    with socket(family, SOCK_DGRAM) as sock:
        sock.bind(("", port))
        for offset in range(0, total, chunk):
            message = b"x" * min(chunk, total - offset)
            answer, _ = ask(sock, message, address)
            if answer is not None:
                answered += len(message)
    return answered, "complete" if answered == total else "gave-up"


def tcp_transfer(address: tuple, family: int, port: int, total: int, timeout: float) -> tuple[int, str]:
    """Stream ``total`` bytes to the upper-case server while reading its
    answer back (from a second thread, or both sides would block once the
    buffers fill). Returns the bytes echoed and the outcome."""
    with socket(family, SOCK_STREAM) as sock:
        sock.setsockopt(SOL_SOCKET, SO_REUSEADDR, 1)
        sock.bind(("", port))
        sock.settimeout(timeout)  # bounds connect and the sender; recv waits only until the deadline
        deadline = time.monotonic() + timeout
        try:
            sock.connect(address)
        except OSError:
            return 0, "timeout"

        def send() -> None:
            try:
                sock.sendall(b"x" * total)
                sock.shutdown(SHUT_WR)
            except OSError:
                pass

        sender = threading.Thread(target=send, daemon=True)
        sender.start()
        received = 0
        while received < total and time.monotonic() < deadline:
            try:
                sock.settimeout(max(0.01, deadline - time.monotonic()))
                data = sock.recv(65536)
            except OSError:
                break
            if not data:
                break
            received += len(data)
        if received < total:
            try:
                sock.shutdown(SHUT_RDWR)  # wakes a sender still blocked in sendall
            except OSError:
                pass
        sender.join()
    return received, "complete" if received == total else "timeout"


def transfer(args: argparse.Namespace) -> None:
    """Bulk upper-casing through the link, over TCP or over UDP with backoff."""
    if args.protocol == "tcp":
        host, _, port = args.tcp_server.rpartition(":")
        family, address = resolve(host, int(port), SOCK_STREAM)
    else:
        host, _, port = args.udp_server.rpartition(":")
        family, address = resolve(host, int(port), SOCK_DGRAM)

    def trial(number: int) -> dict:
        start = time.monotonic()
        if args.protocol == "tcp":
            done, outcome = tcp_transfer(address, family, args.first_port + number, args.bytes, args.timeout)
        else:
            done, outcome = udp_transfer(address, family, args.first_port + number, args.bytes, args.chunk)
        seconds = time.monotonic() - start
        return {
            "trial": number,
            "bytes": done,
            "seconds": round(seconds, 4),
            "goodput_kBps": round(done / seconds / 1000, 3),
            "outcome": outcome,
        }

    run_trials(parse_trials(args.trials), args.parallel, trial)


def percentile(ordered: list[float], fraction: float) -> float:
    """Nearest-rank percentile of an already sorted list."""
    return ordered[max(0, math.ceil(fraction * len(ordered)) - 1)] if ordered else float("nan")


def requests(args: argparse.Namespace) -> None:
    """Closed-loop load: each of C clients connects, asks R questions one at a
    time, thinking between them while it keeps the connection, and starts over.

    Throughput counts the answers received within the window; a request
    started in the window is waited for and its latency counted, so a
    client queued behind a busy server is measured, not cut off.
    """
    family, address = resolve(args.server, args.port, SOCK_STREAM)
    message = b"x" * (args.message_bytes - 1) + b"\n"

    def client(deadline: float, latencies: list[float], errors: list[int], finished: list[float]) -> None:
        while time.monotonic() < deadline:
            try:
                with socket(family, SOCK_STREAM) as sock:
                    sock.setsockopt(IPPROTO_TCP, TCP_NODELAY, 1)
                    sock.settimeout(args.timeout)
                    sock.connect(address)
                    with sock.makefile("rb") as replies:
                        for _ in range(args.requests_per_connection):
                            if time.monotonic() >= deadline:
                                break
                            start = time.monotonic()
                            sock.sendall(message)
                            if replies.readline() != message.upper():
                                errors.append(1)
                                break
                            end = time.monotonic()
                            latencies.append(end - start)
                            finished.append(end)
                            time.sleep(args.think_ms / 1000)
            except OSError:
                errors.append(1)

    for number in parse_trials(args.trials):
        latencies: list[float] = []
        errors: list[int] = []
        finished: list[float] = []
        start = time.monotonic()
        deadline = start + args.duration
        threads = [
            threading.Thread(target=client, args=(deadline, latencies, errors, finished)) for _ in range(args.clients)
        ]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        ordered = sorted(latencies)
        in_window = sum(1 for end in finished if end <= deadline)
        emit(
            {
                "trial": number,
                "requests": len(ordered),
                "throughput_rps": round(in_window / args.duration, 2),
                "mean_ms": round(1000 * sum(ordered) / len(ordered), 3) if ordered else float("nan"),
                "p50_ms": round(1000 * percentile(ordered, 0.50), 3),
                "p99_ms": round(1000 * percentile(ordered, 0.99), 3),
                "errors": len(errors),
            }
        )


def main() -> None:
    parser = argparse.ArgumentParser(description="Run experiment trials in this node; one JSON line per trial.")
    commands = parser.add_subparsers(dest="command", required=True)

    def command(name: str, func: Callable[[argparse.Namespace], None], help: str) -> argparse.ArgumentParser:
        sub = commands.add_parser(name, help=help)
        sub.add_argument("--trials", required=True, help="trial numbers, e.g. 0-99 or 3,5,8-10")
        sub.set_defaults(func=func)
        return sub

    sub = command("udp-backoff", udp_backoff, "one request per trial with the lecture backoff client")
    sub.add_argument("--host", required=True)
    sub.add_argument("--port", type=int, default=1234)
    sub.add_argument("--message", default="hello")
    sub.add_argument("--first-port", type=int, required=True, help="trial t sends from this port + t")
    sub.add_argument("--parallel", type=int, default=1)

    sub = command("transfer", transfer, "bulk upper-casing over TCP or over UDP with backoff")
    sub.add_argument("--protocol", choices=["tcp", "udp"], required=True)
    sub.add_argument("--tcp-server", default="tcp-server:1234", help="HOST:PORT")
    sub.add_argument("--udp-server", default="udp-server:1234", help="HOST:PORT")
    sub.add_argument("--bytes", type=int, default=65536)
    sub.add_argument("--chunk", type=int, default=1024, help="bytes per UDP datagram")
    sub.add_argument("--timeout", type=float, default=60.0, help="seconds a TCP trial may take")
    sub.add_argument("--first-port", type=int, required=True, help="trial t sends from this port + t")
    sub.add_argument("--parallel", type=int, default=1)

    sub = command("requests", requests, "closed-loop request load on a TCP upper-case server")
    sub.add_argument("--server", required=True)
    sub.add_argument("--port", type=int, default=1234)
    sub.add_argument("--clients", type=int, required=True)
    sub.add_argument("--duration", type=float, default=3.0, help="measurement window, seconds")
    sub.add_argument("--requests-per-connection", type=int, default=5)
    sub.add_argument("--think-ms", type=float, default=0.0, help="pause after each answer, connection kept")
    sub.add_argument("--message-bytes", type=int, default=32)
    sub.add_argument("--timeout", type=float, default=30.0, help="seconds a request may wait")

    args = parser.parse_args()
    args.func(args)


if __name__ == "__main__":
    main()
