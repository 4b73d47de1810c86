"""What every reference server shares: its listening socket, its log lines
and upper-casing that never breaks on bytes that are not valid UTF-8."""

import codecs
import os
import sys
from socket import AF_INET, AF_INET6, IPPROTO_IPV6, IPV6_V6ONLY, SO_REUSEADDR, SOCK_STREAM, SOL_SOCKET, socket


FAMILY = os.environ.get("FAMILY", "")  # '4' or '6': serve that family only


def server_socket(kind: int, port: int) -> socket:
    """A socket bound to ('', port), listening if kind is SOCK_STREAM.

    It takes IPv6 and IPv4 clients alike (dual stack) where IPv6 works, and
    falls back to IPv4 only where it does not (a container without IPv6).
    FAMILY=4 or FAMILY=6 makes a server of one family only, for a client
    that must find the other one with getaddrinfo.
    """
    if FAMILY == "4":
        serverSocket = _bound_socket(AF_INET, kind, port)
    elif FAMILY == "6":
        serverSocket = _bound_socket(AF_INET6, kind, port, v6only=True)
    else:
        try:
            serverSocket = _bound_socket(AF_INET6, kind, port)
        except OSError:
            serverSocket = _bound_socket(AF_INET, kind, port)
    if kind == SOCK_STREAM:
        serverSocket.listen()
    return serverSocket


def _bound_socket(family: int, kind: int, port: int, v6only: bool = False) -> socket:
    serverSocket = socket(family, kind)
    try:
        if family == AF_INET6:
            serverSocket.setsockopt(IPPROTO_IPV6, IPV6_V6ONLY, int(v6only))
        if kind == SOCK_STREAM:
            # A restarted server must not wait for old connections' TIME_WAIT.
            serverSocket.setsockopt(SOL_SOCKET, SO_REUSEADDR, 1)
        serverSocket.bind(("", port))
    except OSError:
        serverSocket.close()
        raise
    return serverSocket


def log(line: str) -> None:
    """Print one log line at once, so that lines of concurrent threads never mix."""
    sys.stdout.write(line + "\n")
    sys.stdout.flush()


def ready(serverSocket: socket) -> None:
    """Announce, with the real port (PORT=0 picks one), that the server can serve."""
    protocol = "tcp" if serverSocket.type == SOCK_STREAM else "udp"
    log(f"ready {protocol}/{serverSocket.getsockname()[1]}")


def peer(address: tuple) -> str:
    """'host:port' for a log line; an IPv4 client of a dual-stack socket
    shows as plain IPv4 rather than as ::ffff:10.0.0.3."""
    host = address[0].removeprefix("::ffff:")
    if ":" in host:
        host = f"[{host}]"
    return f"{host}:{address[1]}"


def upper_bytes(data: bytes) -> bytes:
    """Upper-case a whole message (a datagram, a block) given as UTF-8.

    Bytes that are not UTF-8 come back unchanged (surrogateescape) instead
    of raising UnicodeDecodeError as the slides' decode('utf-8') would.
    """
    return data.decode("utf-8", "surrogateescape").upper().encode("utf-8", "surrogateescape")


class UpperCaser:
    """Upper-cases one TCP stream chunk by chunk.

    recv() may cut a multi-byte character in two (b'\\xc3' | b'\\xa9' is 'é'):
    the incremental decoder keeps the first half until the rest arrives.
    Use one per connection.
    """

    def __init__(self) -> None:
        self._decoder = codecs.getincrementaldecoder("utf-8")("surrogateescape")

    def feed(self, data: bytes, final: bool = False) -> bytes:
        """The upper-cased bytes that can be sent now; final=True at the end
        of the stream flushes a cut character unchanged."""
        text = self._decoder.decode(data, final)
        return text.upper().encode("utf-8", "surrogateescape")


IDLE_TIMEOUT = float(os.environ.get("IDLE_TIMEOUT", 30))  # seconds


def handle_client(clientSocket: socket, address: tuple) -> None:
    """Upper-case whatever the client sends, as soon as it arrives, until it
    closes (the slide closes but stays in its loop). The sequential, threaded
    and pool servers share it: only how they call it differs. A vanished
    client times out after IDLE_TIMEOUT; errors end this connection only."""
    log(f"connect {peer(address)}")
    upper = UpperCaser()
    clientSocket.settimeout(IDLE_TIMEOUT)
    with clientSocket:
        try:
            while True:
                received = clientSocket.recv(4096)
                if not received:
                    clientSocket.sendall(upper.feed(b"", final=True))
                    break
                clientSocket.sendall(upper.feed(received))
        except OSError as error:  # reset, timed out, broken pipe
            log(f"error {peer(address)} {error}")
    log(f"close {peer(address)}")
