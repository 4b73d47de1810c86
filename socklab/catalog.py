"""The reference services a lab node can name with ``service:``.

Each entry says which program of ``services/`` runs, how its readiness shows
and which role it plays; a lab file may still override any of it.
"""

from __future__ import annotations

import os
from dataclasses import dataclass

from .model import Ready

PUBLISHED_NODE_IMAGE = "socklab/node"
# The image every node and link helper runs. SOCKLAB_NODE_IMAGE gives it
# another name, so that two checkouts with different services/ can share
# one Docker engine without rebuilding each other's image.
NODE_IMAGE = os.environ.get("SOCKLAB_NODE_IMAGE", PUBLISHED_NODE_IMAGE)


@dataclass(frozen=True)
class Service:
    command: tuple[str, ...]
    ready: Ready
    role: str
    port: int | None = None
    protocol: str | None = None


def _server(program: str, protocol: str, port: int) -> Service:
    return Service((program,), Ready("log", log=f"ready {protocol}/{port}"), "server", port, protocol)


SERVICES: dict[str, Service] = {
    "udp-server": _server("udp-server", "udp", 1234),
    "tcp-sequential": _server("tcp-sequential", "tcp", 1234),
    "tcp-threaded": _server("tcp-threaded", "tcp", 1234),
    "tcp-pool": _server("tcp-pool", "tcp", 1234),
    "tcp-poll": _server("tcp-poll", "tcp", 1234),
    "tcp-asyncio": _server("tcp-asyncio", "tcp", 1234),
    "blocks": _server("block-server", "tcp", 1235),
    "slow-reader": _server("slow-reader", "tcp", 1236),
    "broadcast-responder": _server("broadcast-responder", "udp", 1234),
    "xmlrpc": _server("xmlrpc-server", "tcp", 7001),
    "client": Service(("sleep", "infinity"), Ready("none"), "client"),
    "router": Service(("sleep", "infinity"), Ready("none"), "router"),
}
