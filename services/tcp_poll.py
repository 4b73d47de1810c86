#!/usr/bin/env python3
"""Multiplexing TCP upper-case server (slides "Multiplexing TCP Server").

One thread watches every socket with select.poll and only makes calls that
cannot block: accept on the ready listening socket, recv on a readable
client, send on a writable one. A non-blocking send may take only part of
the data; the rest waits in to_send[fd] for the next POLLOUT.
"""

import os
from select import POLLERR, POLLHUP, POLLIN, POLLNVAL, POLLOUT, poll
from socket import SOCK_STREAM, socket

from common import UpperCaser, log, peer, ready, server_socket

serverPort = int(os.environ.get("PORT", 1234))

my_poll = poll()
sockets: dict[int, socket] = {}  # retrieve socket object from fileno
peers: dict[int, str] = {}  # client address of fileno, for the log
uppers: dict[int, UpperCaser] = {}  # upper-cases fileno's stream
received: dict[int, bytes] = {}  # bytes received from fileno, not yet processed
to_send: dict[int, bytes] = {}  # bytes processed for fileno, not yet sent
finished: set[int] = set()  # filenos whose client will send nothing more


def accept_client(serverSocket: socket) -> None:
    connectionSocket, address = serverSocket.accept()
    connectionSocket.setblocking(False)
    fd = connectionSocket.fileno()
    sockets[fd] = connectionSocket
    peers[fd] = peer(address)
    uppers[fd] = UpperCaser()
    my_poll.register(fd, POLLIN)
    log(f"connect {peers[fd]}")


def receive(fd: int) -> None:
    data = sockets[fd].recv(4096)
    if data:
        received[fd] = received.get(fd, b"") + data
    else:
        finished.add(fd)
    # Wait for POLLOUT only, not POLLIN|POLLOUT as on the slide: we read no
    # more from a client until it has taken its answer, so a client that
    # sends without ever reading cannot make us buffer without limit.
    my_poll.modify(fd, POLLOUT)


def send(fd: int) -> None:
    data = uppers[fd].feed(received.pop(fd, b""), final=fd in finished)
    data = to_send.pop(fd, b"") + data
    n = sockets[fd].send(data)
    if n < len(data):
        to_send[fd] = data[n:]
    elif fd in finished:
        close_client(fd)
    else:
        my_poll.modify(fd, POLLIN)


def close_client(fd: int) -> None:
    my_poll.unregister(fd)
    sockets.pop(fd).close()
    uppers.pop(fd)
    received.pop(fd, None)  # with a default: the slide pops keys it may never have set
    to_send.pop(fd, None)
    finished.discard(fd)
    log(f"close {peers.pop(fd)}")


def main() -> None:
    serverSocket = server_socket(SOCK_STREAM, serverPort)
    serverSocket.setblocking(False)
    sockets[serverSocket.fileno()] = serverSocket
    my_poll.register(serverSocket, POLLIN)
    ready(serverSocket)
    while True:
        for fd, event in my_poll.poll():
            if sockets[fd] is serverSocket:
                try:
                    accept_client(serverSocket)
                except OSError as error:  # e.g. the client left before we accepted
                    log(f"error accept {error}")
            elif event & (POLLHUP | POLLERR | POLLNVAL):
                close_client(fd)
            else:
                try:
                    if event & POLLIN:
                        receive(fd)
                    elif event & POLLOUT:
                        send(fd)
                except OSError as error:  # reset, broken pipe: this client only
                    log(f"error {peers[fd]} {error}")
                    close_client(fd)


if __name__ == "__main__":
    main()
