"""Lossy links: a helper container in a node's network namespace.

The node under test never gets NET_ADMIN. A helper sharing its namespace
either runs the userspace impairment daemon (``services/impair``, fed by
NFQUEUE, seeded, reproducible) or applies ``tc netem`` from there. ``auto``
probes the kernel for netem once and says which it picked.
"""

from __future__ import annotations

import json
import os
import threading
from dataclasses import dataclass
from typing import Callable, Optional

from . import labels as L
from . import netem
from .docker_backend import DockerBackend
from .errors import BadInput, SocklabError
from .model import Link, Ready
from .readiness import wait_ready
from .running import RunningNodes

Progress = Callable[[str], None]
DAEMON = ["python3", "-m", "impair.daemon"]
CTL = ["python3", "-m", "impair.ctl"]
SERVICES_DIR = "/opt/socklab/services"
LINK_CAPS = ["NET_ADMIN", "NET_RAW"]


@dataclass(frozen=True)
class Endpoint:
    """Where one direction of a link is shaped: a node's interface and peer."""

    node: str
    dev: str
    peer4: Optional[str]
    peer6: Optional[str]


_netem_by_engine: dict[str, bool] = {}
_netem_lock = threading.Lock()  # labs coming up in parallel threads (grading) probe once, not at once


def netem_available(backend: DockerBackend) -> bool:
    """Whether the host kernel has sch_netem: probed once per engine, by a
    throwaway container trying a netem qdisc on its own loopback."""
    engine = backend.client.info()["ID"]
    with _netem_lock:
        if engine not in _netem_by_engine:
            status, _ = backend.run_helper(None, "probe", netem.PROBE, ["NET_ADMIN"], suffix=f"netem-{os.getpid()}")
            _netem_by_engine[engine] = status == 0
    return _netem_by_engine[engine]


def choose_backend(running: RunningNodes, link: Link) -> str:
    """The backend a link gets; asking for netem on a kernel without it fails."""
    if link.backend == "userspace":
        return "userspace"
    has_netem = netem_available(running.backend)
    if link.backend == "netem" and not has_netem:
        raise SocklabError(
            f"link {link.name}: backend netem, but this kernel has no sch_netem "
            "(tc: 'Specified qdisc kind is unknown'); use backend: userspace or auto"
        )
    return "netem" if has_netem else "userspace"


def _device(running: RunningNodes, node: str, address: str) -> str:
    """The interface name inside a node that carries ``address``."""
    result = running.exec(node, ["ip", "-j", "addr", "show"], timeout=10)
    for iface in json.loads(result.stdout or "[]"):
        if any(a.get("local") == address for a in iface.get("addr_info", [])):
            return iface["ifname"]
    raise SocklabError(f"no interface of {node} carries {address}")


def _shared_network(running: RunningNodes, a: str, b: str) -> str:
    nets_a = running.addresses(a)
    return next(net for net in running.addresses(b) if net in nets_a)


def endpoints(running: RunningNodes, link: Link) -> tuple[Endpoint, Endpoint]:
    """The (forward, reverse) shaping points of a link."""
    if link.b_is_network:
        v4, v6 = running.addresses(link.a)[link.b]
        dev = _device(running, link.a, v4)
        return Endpoint(link.a, dev, None, None), Endpoint(link.a, dev, None, None)
    net = _shared_network(running, link.a, link.b)
    a4, a6 = running.addresses(link.a)[net]
    b4, b6 = running.addresses(link.b)[net]
    return (
        Endpoint(link.a, _device(running, link.a, a4), b4 or None, b6 or None),
        Endpoint(link.b, _device(running, link.b, b4), a4 or None, a6 or None),
    )


def start_links(running: RunningNodes, progress: Progress) -> None:
    for link in running.lab.links.values():
        chosen = choose_backend(running, link)
        progress(f"link {link.name}: {link.a} <-> {link.b}, backend {chosen}" + (" (auto: no netem in this kernel)" if link.backend == "auto" and chosen == "userspace" else ""))
        labels = {L.LINK: link.name, L.LINK_BACKEND: chosen}
        forward, reverse = endpoints(running, link)
        if chosen == "userspace":
            _start_userspace(running, link, forward, labels)
        else:
            _start_netem(running, link, forward, reverse, labels)


def daemon_config(link: Link, forward: Endpoint) -> dict:
    """The userspace daemon's configuration: 'out' is forward, 'in' reverse."""
    match = {"iface": forward.dev} if link.b_is_network else {"peer4": forward.peer4, "peer6": forward.peer6}
    return {"name": link.name, "seed": link.seed, "match": match, "out": link.forward.to_dict(), "in": link.reverse.to_dict()}


def _start_userspace(running: RunningNodes, link: Link, forward: Endpoint, labels: dict[str, str]) -> None:
    config = json.dumps(daemon_config(link, forward))
    helper = running.backend.start_helper(
        running.container(link.a),
        "link",
        ["sh", "-c", 'cd "$0" && exec "$@"', SERVICES_DIR, *DAEMON],
        LINK_CAPS,
        suffix=f"link-{link.name}",
        labels=labels,
        environment={"SOCKLAB_LINK": config},
    )
    wait_ready(running.backend, f"link {link.name}", helper.id, Ready("log", log=f"ready link/{link.name}", timeout=15))


def _start_netem(running: RunningNodes, link: Link, forward: Endpoint, reverse: Endpoint, labels: dict[str, str]) -> None:
    plans = [(forward, netem.egress_to_peer(forward.dev, forward.peer4, link.forward), "forward")]
    if link.b_is_network:
        plans.append((reverse, netem.ingress_via_ifb(reverse.dev, "ifb0", link.reverse), "reverse"))
    else:
        plans.append((reverse, netem.egress_to_peer(reverse.dev, reverse.peer4, link.reverse), "reverse"))
    for endpoint, commands, direction in plans:
        helper = running.backend.start_helper(
            running.container(endpoint.node), "link", ["sleep", "infinity"], LINK_CAPS, suffix=f"link-{link.name}-{direction}", labels=labels
        )
        for argv in commands:
            result = helper.exec(argv, timeout=10)
            if result.exit_code != 0:
                raise SocklabError(f"link {link.name}: backend netem failed on {endpoint.node} ({' '.join(argv)}): {result.output.strip()}")


class LinkControl:
    """Read and change one link of a running lab."""

    def __init__(self, running: RunningNodes, link: Link) -> None:
        self.running = running
        self.link = link
        self.helpers = [h for h in running.helpers if h.labels.get(L.LINK) == link.name and h.labels.get(L.ROLE) == "link"]
        if not self.helpers:
            raise SocklabError(f"link {link.name!r} has no helper container: the lab is incomplete")
        self.backend = self.helpers[0].labels.get(L.LINK_BACKEND, "userspace")

    def _ctl(self, *args: str) -> dict:
        helper = self.helpers[0]
        result = self.running.backend.exec(helper.id, ["sh", "-c", 'cd "$0" && exec "$@"', SERVICES_DIR, *CTL, *args], timeout=10)
        if result.exit_code != 0:
            raise SocklabError(f"link {self.link.name}: {result.output.strip() or 'link daemon not running'}")
        return json.loads(result.stdout)

    def show(self) -> dict:
        """Parameters, backend and counters per direction."""
        names = list(self.link.directions)
        if self.backend == "userspace":
            try:
                state = self._ctl("show")
            except SocklabError as err:
                return {"name": self.link.name, "backend": "userspace", "daemon": f"down: {err}", "directions": {}}
            return {
                "name": self.link.name,
                "backend": "userspace",
                "daemon": "running",
                "seed": state.get("seed"),
                "directions": {names[0]: state["out"], names[1]: state["in"]},
            }
        directions = {}
        for helper, name in zip(sorted(self.helpers, key=lambda h: h.name), names):
            stats = self.running.backend.exec(helper.id, ["tc", "-s", "qdisc", "show"], timeout=10)
            directions[name] = {"params": {}, "counters": {}, "tc": stats.stdout.strip()}
        return {"name": self.link.name, "backend": "netem", "daemon": "kernel", "seed": None, "directions": directions}

    def set(self, direction: Optional[str] = None, seed: Optional[int] = None, **changes: object) -> dict:
        """Change parameters live; ``direction`` is 'forward', 'reverse' or None for both."""
        if direction not in (None, "forward", "reverse"):
            raise BadInput(f"direction must be forward or reverse, not {direction!r}")
        if self.backend == "netem":
            return self._set_netem(direction, changes)
        request: dict = {}
        for key, wire in (("forward", "out"), ("reverse", "in")):
            if direction in (None, key) and changes:
                request[wire] = changes
        if seed is not None:
            request["seed"] = seed
        return self._ctl("set", json.dumps(request))

    def _set_netem(self, direction: Optional[str], changes: dict) -> dict:
        """netem keeps no seed and its state is the kernel's: parameters not
        given fall back to the lab file's, as ``tc qdisc change`` replaces all."""
        if not changes:
            raise BadInput("netem has no seed to set; give parameters to change")
        forward, reverse = endpoints(self.running, self.link)
        plans = [("forward", forward, self.link.forward), ("reverse", reverse, self.link.reverse)]
        for (name, endpoint, imp), helper in zip(plans, sorted(self.helpers, key=lambda h: h.name)):
            if direction not in (None, name):
                continue
            dev, peer = ("ifb0", None) if self.link.b_is_network and name == "reverse" else (endpoint.dev, endpoint.peer4)
            argv = netem.change(dev, peer, imp.updated(**changes))
            result = self.running.backend.exec(helper.id, argv, timeout=10)
            if result.exit_code != 0:
                raise SocklabError(f"link {self.link.name}: {' '.join(argv)} failed: {result.output.strip()}")
        return self.show()
