#!/usr/bin/env python3
"""XML-RPC server (slides "Python XML-RPC Server") on path /RPC2.

One thread per request (ThreadingMixIn), so one slow client does not block
the others. A function that raises, or a call with the wrong number or
types of arguments, comes back to the caller as an XML-RPC Fault; the
server goes on serving.
"""

import os
from functools import reduce
from math import sqrt
from operator import add
from socket import SOCK_STREAM
from socketserver import ThreadingMixIn
from xmlrpc.server import SimpleXMLRPCRequestHandler, SimpleXMLRPCServer

from common import log, peer, ready, server_socket

serverPort = int(os.environ.get("PORT", 7001))
IDLE_TIMEOUT = float(os.environ.get("IDLE_TIMEOUT", 30))  # seconds


def addtogether(*things):
    """Add all arguments together: 1, 2, 3 gives 6; 'x', 'y', 'z' gives 'xyz'."""
    return reduce(add, things)


def quadratic(a: float, b: float, c: float) -> list[float]:
    """The real roots of a*x**2 + b*x + c = 0, smallest first.

    The slide computes (-b-b24ac)/2.0*a, which is ((-b-b24ac)/2.0)*a and
    gives [0.0, 8.0] for (2, -4, 0); the roots are 0 and 2.
    """
    if a == 0:
        raise ValueError("a is 0: not a quadratic equation")
    discriminant = b * b - 4.0 * a * c
    if discriminant < 0:
        return []
    b24ac = sqrt(discriminant)
    return sorted({(-b - b24ac) / (2.0 * a), (-b + b24ac) / (2.0 * a)})


class RequestHandler(SimpleXMLRPCRequestHandler):
    """Serves /RPC2 only, logs one line per request on stdout, and gives up
    on a client that stalls for IDLE_TIMEOUT seconds."""

    rpc_paths = ("/RPC2",)
    timeout = IDLE_TIMEOUT

    def log_request(self, code="-", size="-") -> None:
        log(f'request {peer(self.client_address)} "{self.requestline}" {code}')

    def log_error(self, format: str, *args) -> None:
        log(f"error {peer(self.client_address)} {format % args}")


class ThreadingXMLRPCServer(ThreadingMixIn, SimpleXMLRPCServer):
    daemon_threads = True


def main() -> None:
    server = ThreadingXMLRPCServer(("", serverPort), RequestHandler, bind_and_activate=False)
    # socketserver makes a socket of one address family; use our dual-stack one.
    server.socket.close()
    server.socket = server_socket(SOCK_STREAM, serverPort)
    server.register_introspection_functions()
    server.register_multicall_functions()
    server.register_function(addtogether)
    server.register_function(quadratic)
    ready(server.socket)
    server.serve_forever()


if __name__ == "__main__":
    main()
