"""The lab model: what a lab file describes, independent of any backend.

Nothing here knows about Docker; the backend turns these objects into
networks and containers, and the compose and graph exporters read them too.
"""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass, field, fields, replace
from pathlib import Path
from typing import Any, Optional, Union

IPNetwork = Union[ipaddress.IPv4Network, ipaddress.IPv6Network]
IPAddress = Union[ipaddress.IPv4Address, ipaddress.IPv6Address]

LINK_BACKENDS = ("auto", "netem", "userspace")
LOSS_MODELS = ("bernoulli", "gilbert-elliott")


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
class Impairment:
    """One direction's impairment; percentages are 0..100, times in ms."""

    loss: float = 0.0
    delay_ms: float = 0.0
    jitter_ms: float = 0.0
    duplicate: float = 0.0
    reorder: float = 0.0
    corrupt: float = 0.0
    rate: Optional[str] = None
    loss_model: str = "bernoulli"
    ge_p: float = 0.0  # Gilbert-Elliott: % chance good -> bad per packet
    ge_r: float = 100.0  # % chance bad -> good
    ge_h: float = 100.0  # % loss in the bad state
    ge_k: float = 0.0  # % loss in the good state

    def to_dict(self) -> dict:
        return {f.name: getattr(self, f.name) for f in fields(self)}

    def updated(self, **changes: Any) -> "Impairment":
        return replace(self, **changes)

    def describe(self) -> str:
        """A short human summary such as 'loss 10% delay 50ms'."""
        parts = []
        if self.loss_model == "gilbert-elliott":
            parts.append(f"GE p={self.ge_p:g}% r={self.ge_r:g}% h={self.ge_h:g}% k={self.ge_k:g}%")
        elif self.loss:
            parts.append(f"loss {self.loss:g}%")
        if self.delay_ms:
            parts.append(f"delay {self.delay_ms:g}ms" + (f"±{self.jitter_ms:g}ms" if self.jitter_ms else ""))
        for name in ("duplicate", "reorder", "corrupt"):
            if getattr(self, name):
                parts.append(f"{name} {getattr(self, name):g}%")
        if self.rate:
            parts.append(f"rate {self.rate}")
        return " ".join(parts) or "clean"


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
    seed: int = 0

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
