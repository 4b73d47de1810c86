"""Traffic for the impairment daemon's namespace tests, run inside a namespace with ``ip netns exec``.

    recv  ADDR PORT WAIT       print "listening", then the JSON list of sequence numbers received
                               (giving up after WAIT seconds if nothing comes)
    send  ADDR PORT SPORT N    send datagrams 0..N-1 from a fixed source port (so the flow is the same every run)
    echo  ADDR PORT            send every datagram back, until killed
    ping  ADDR PORT N          print the JSON list of N round-trip times, in seconds
    flood ADDR PORT SPORT SECS [RATE]
                               send small datagrams for SECS seconds, as fast as possible or at most
                               RATE a second; print how many

Every loop is bounded in count or time; every address is one the test
created in its own namespaces.
"""

from __future__ import annotations

import json
import socket
import struct
import sys
import time

SEQ = struct.Struct("!I")
RCVBUF = 8 << 20
SO_RCVBUFFORCE = 33


def _udp(addr: str) -> socket.socket:
    return socket.socket(socket.AF_INET6 if ":" in addr else socket.AF_INET, socket.SOCK_DGRAM)


def recv(addr: str, port: int, wait: float, idle: float = 0.6, deadline: float = 20.0) -> None:
    """Stop once nothing has come for ``wait`` seconds at first or ``idle`` seconds later, or at ``deadline``."""
    sock = _udp(addr)
    sock.setsockopt(socket.SOL_SOCKET, SO_RCVBUFFORCE, RCVBUF)
    sock.bind((addr, port))
    print("listening", flush=True)
    seqs: list[int] = []
    end = time.monotonic() + deadline
    sock.settimeout(wait)
    while time.monotonic() < end:
        try:
            data = sock.recv(65536)
        except socket.timeout:
            break
        seqs.append(SEQ.unpack_from(data)[0])
        sock.settimeout(idle)
    print(json.dumps(seqs), flush=True)


def send(addr: str, port: int, sport: int, count: int) -> None:
    sock = _udp(addr)
    sock.bind(("", sport))
    for seq in range(count):
        sock.sendto(SEQ.pack(seq) + b"x" * 28, (addr, port))
        if seq % 100 == 99:
            time.sleep(0.002)  # let the receiver keep up; the test is about the link, not buffers


def echo(addr: str, port: int, deadline: float = 60.0) -> None:
    sock = _udp(addr)
    sock.bind((addr, port))
    print("listening", flush=True)
    end = time.monotonic() + deadline
    sock.settimeout(1.0)
    while time.monotonic() < end:
        try:
            data, peer = sock.recvfrom(65536)
        except socket.timeout:
            continue
        sock.sendto(data, peer)


def ping(addr: str, port: int, count: int) -> None:
    sock = _udp(addr)
    sock.settimeout(1.0)
    rtts = []
    for seq in range(count):
        start = time.monotonic()
        sock.sendto(SEQ.pack(seq), (addr, port))
        try:
            while SEQ.unpack_from(sock.recv(64))[0] != seq:
                pass
        except socket.timeout:
            continue
        rtts.append(time.monotonic() - start)
        time.sleep(0.005)
    print(json.dumps(rtts), flush=True)


def flood(addr: str, port: int, sport: int, seconds: float, rate: float = 0.0) -> None:
    sock = _udp(addr)
    sock.bind(("", sport))
    start, sent, payload = time.monotonic(), 0, b"x" * 28
    while sent % 256 or time.monotonic() < start + seconds:
        sock.sendto(SEQ.pack(sent) + payload, (addr, port))
        sent += 1
        if rate and sent % 64 == 0:
            time.sleep(max(0.0, start + sent / rate - time.monotonic()))
    print(sent, flush=True)


if __name__ == "__main__":
    command, address, numbers = sys.argv[1], sys.argv[2], [float(a) for a in sys.argv[3:]]
    if command == "recv":
        recv(address, int(numbers[0]), numbers[1])
    elif command == "send":
        send(address, int(numbers[0]), int(numbers[1]), int(numbers[2]))
    elif command == "echo":
        echo(address, int(numbers[0]))
    elif command == "ping":
        ping(address, int(numbers[0]), int(numbers[1]))
    elif command == "flood":
        flood(address, int(numbers[0]), int(numbers[1]), *numbers[2:4])
