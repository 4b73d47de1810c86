#!/usr/bin/env python3
"""Send numbered datagrams to an upper-case echo server and report what came back.

Measures a lossy link from the client's side: which sequence numbers were
lost, how many answers came twice or out of order, and the round-trip times.
Prints one JSON object.

    flood HOST PORT --count 5000 --interval 0.0002 [--size 64] [--source-port N]
"""

from __future__ import annotations

import argparse
import json
import select
import socket
import statistics
import time


def flood(host: str, port: int, count: int, interval: float, size: int, source_port: int, wait: float) -> dict:
    sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4 << 20)
    sock.bind(("", source_port))
    sock.setblocking(False)
    address = (socket.gethostbyname(host), port)
    sent_at: dict[int, float] = {}
    rtts: dict[int, list[float]] = {}
    arrivals: list[int] = []
    started = next_send = time.monotonic()
    seq = 0
    deadline = None
    while True:
        # Each datagram is stamped as it leaves: a burst (interval 0, or catching
        # up) stamped once would show no send time and short round trips.
        while seq < count and (now := time.monotonic()) >= next_send:
            try:
                sock.sendto(f"seq {seq} ".encode().ljust(size, b"x"), address)
            except BlockingIOError:
                break
            sent_at[seq] = now
            seq += 1
            next_send += interval
        now = time.monotonic()
        if seq == count and deadline is None:
            deadline = now + wait
        if deadline is not None and now > deadline:
            break
        pause = (deadline if deadline is not None else next_send) - now
        ready, _, _ = select.select([sock], [], [], max(0.0, min(pause, 0.05)))
        while ready:
            try:
                answer = sock.recv(65535)
            except BlockingIOError:
                break
            received = time.monotonic()
            try:
                number = int(answer.split()[1])
            except (IndexError, ValueError):
                continue
            if number in sent_at:
                rtts.setdefault(number, []).append(received - sent_at[number])
                arrivals.append(number)
    sock.close()
    highest = -1
    reordered = 0
    for number in arrivals:
        if number < highest:
            reordered += 1
        highest = max(highest, number)
    firsts = [values[0] * 1000 for values in rtts.values()]
    summary = {}
    if firsts:
        deciles = statistics.quantiles(firsts, n=10) if len(firsts) > 1 else [firsts[0]] * 9
        summary = {
            "min": round(min(firsts), 3),
            "p10": round(deciles[0], 3),
            "median": round(statistics.median(firsts), 3),
            "p90": round(deciles[-1], 3),
            "max": round(max(firsts), 3),
            "stdev": round(statistics.pstdev(firsts), 3),
        }
    return {
        "sent": seq,
        "answered": len(rtts),
        "lost": [n for n in range(seq) if n not in rtts],
        "duplicates": sum(len(values) - 1 for values in rtts.values()),
        "reordered": reordered,
        "rtt_ms": summary,
        "send_duration_s": round(max(sent_at.values(), default=started) - started, 4),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("host")
    parser.add_argument("port", type=int)
    parser.add_argument("--count", type=int, default=1000)
    parser.add_argument("--interval", type=float, default=0.001, help="seconds between sends (0: as fast as possible)")
    parser.add_argument("--size", type=int, default=64, help="datagram size in bytes")
    parser.add_argument("--source-port", type=int, default=0, help="a fixed port makes the flow the same run after run")
    parser.add_argument("--wait", type=float, default=1.0, help="seconds to wait for answers after the last send")
    args = parser.parse_args()
    print(json.dumps(flood(args.host, args.port, args.count, args.interval, args.size, args.source_port, args.wait)))


if __name__ == "__main__":
    main()
