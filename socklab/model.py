"""The lab model: what a lab file describes, independent of any backend.

Nothing here knows about Docker; the backend turns these objects into
networks and containers, and the compose and graph exporters read them too.
"""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass, field
from pathlib import Path
from typing import Optional, Union

from impair.schema import Impairment

IPNetwork = Union[ipaddress.IPv4Network, ipaddress.IPv6Network]
IPAddress = Union[ipaddress.IPv4Address, ipaddress.IPv6Address]

LINK_BACKENDS = ("auto", "netem", "userspace")


@dataclass(frozen=True)
class Ready:
    """How to tell that a node serves: a named strategy and its argument."""

    strategy: str  # "log" | "tcp" | "udp" | "command" | "none"
    log: Optional[str] = None
    port: Optional[int] = None
    send: str = "ping"
    command: tuple[str, ...] = ()
    timeout: float = 15.0


@dataclass(frozen=True)
class Network:
    name: str
    subnet: Optional[ipaddress.IPv4Network] = None
    subnet6: Optional[ipaddress.IPv6Network] = None
    internal: bool = True


@dataclass(frozen=True)
class Attachment:
    """A node's place on one network, with optional fixed addresses."""

    network: str
    address: Optional[ipaddress.IPv4Address] = None
    address6: Optional[ipaddress.IPv6Address] = None


@dataclass(frozen=True)
class Route:
    to: IPNetwork
    via: IPAddress


@dataclass(frozen=True)
class Node:
    name: str
    image: str
    command: tuple[str, ...]
    networks: tuple[Attachment, ...]
    environment: dict[str, str] = field(default_factory=dict)
    ready: Ready = Ready("none")
    role: str = "node"
    service: Optional[str] = None
    router: bool = False
    routes: tuple[Route, ...] = ()
    workspace: bool = False
    ports: tuple[str, ...] = ()

    def attachment(self, network: str) -> Optional[Attachment]:
        return next((a for a in self.networks if a.network == network), None)


@dataclass(frozen=True)
class Link:
    """An impaired path between node ``a`` and node-or-network ``b``.

    ``forward`` applies to packets from ``a`` to ``b``, ``reverse`` to those
    from ``b`` to ``a``.
    """

    name: str
    a: str
    b: str
    b_is_network: bool
    forward: Impairment
    reverse: Impairment
    backend: str = "auto"
    seed: Optional[int] = None  # None: the lab file gives none (netem may serve the link)
    line: int = 0  # where the lab file declares it, for errors found at up

    @property
    def directions(self) -> dict[str, Impairment]:
        return {f"{self.a}->{self.b}": self.forward, f"{self.b}->{self.a}": self.reverse}


@dataclass(frozen=True)
class Lab:
    name: str
    path: Path
    networks: dict[str, Network]
    nodes: dict[str, Node]
    links: dict[str, Link] = field(default_factory=dict)
    description: str = ""
    sheet: Optional[str] = None
