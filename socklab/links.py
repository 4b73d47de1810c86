"""Lossy links: a helper container in a node's network namespace.

The node under test never gets NET_ADMIN. A helper sharing its namespace
either runs the userspace impairment daemon (``services/impair``, fed by
NFQUEUE, seeded, reproducible) or applies ``tc netem`` from there (one
helper per direction; see netem.py for where each direction is shaped).
:func:`pick` says which backend a link gets and why; both backends read the
one impairment schema (``impair.schema``), so a parameter means the same.
"""

from __future__ import annotations

import json
import os
import threading
from dataclasses import dataclass, replace
from typing import Callable, Optional

from docker.models.containers import Container

from . import labels as L
from . import netem
from .docker_backend import DockerBackend
from .errors import BadInput, LabFileError, SocklabError
from .model import Impairment, Link, Ready
from .readiness import wait_ready
from .running import RunningNodes

Progress = Callable[[str], None]
DAEMON = ["python3", "-m", "impair.daemon"]
CTL = ["python3", "-m", "impair.ctl"]
CTL_REFUSED = 2  # impair.ctl's status when the daemon refuses a change (a bad value): nothing changed
SERVICES_DIR = "/opt/socklab/services"
LINK_CAPS = ["NET_ADMIN", "NET_RAW"]
NETEM_STATE = "/run/socklab-netem.json"  # a netem helper's record of its direction: where, and the parameters
# A safety net, not a judgement: tc answers in milliseconds, but a docker exec
# on a loaded emulated machine (tests/machines) was seen to take more than 10 s.
EXEC_TIMEOUT = 60.0


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


@dataclass(frozen=True)
class Choice:
    """The backend a link runs on, and why (shown by up, link show, doctor and experiments)."""

    backend: str
    reason: str


SEEDED = "the link has a seed, and only the userspace backend replays a seed per flow on every kernel"


def pick(link: Link, has_netem: Callable[[], bool]) -> Choice:
    """The backend of a link as the lab file declares it.

    A seeded link is served by the userspace backend on every kernel:
    netem's own ``seed`` (where the kernel and iproute2 have it; Debian 12's
    iproute2 does not) covers loss and corruption only, from one stream that
    every flow shares, so concurrent flows would change each other's drops
    and the experiments' replay would break. ``auto`` gives netem only the
    unseeded links, on kernels that have sch_netem. ``has_netem`` is only
    asked when the answer matters (it starts a probe container).
    """
    if link.backend == "userspace":
        return Choice("userspace", "the lab file asks for backend userspace")
    if link.backend == "netem":
        if not has_netem():
            raise SocklabError(
                f"link {link.name}: backend netem, but this kernel has no sch_netem "
                "(tc: 'Specified qdisc kind is unknown'); use backend: userspace or auto"
            )
        return Choice("netem", "the lab file asks for backend netem")
    if link.seed is not None:
        return Choice("userspace", f"auto: {SEEDED}")
    if not has_netem():
        return Choice("userspace", "auto: this kernel has no sch_netem")
    return Choice("netem", "auto: the kernel has sch_netem and the link has no seed")


def _device(running: RunningNodes, node: str, address: str) -> str:
    """The interface name inside a node that carries ``address``."""
    result = running.exec(node, ["ip", "-j", "addr", "show"], timeout=EXEC_TIMEOUT)
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
        choice = pick(link, lambda: netem_available(running.backend))
        progress(f"link {link.name}: {link.a} <-> {link.b}, backend {choice.backend} ({choice.reason})")
        labels = {L.LINK: link.name, L.LINK_BACKEND: choice.backend, L.LINK_REASON: choice.reason}
        forward, reverse = endpoints(running, link)
        if choice.backend == "userspace":
            _start_userspace(running, link, forward, labels)
        else:
            _start_netem(running, link, forward, reverse, labels)


def daemon_config(link: Link, forward: Endpoint) -> dict:
    """The userspace daemon's configuration: 'out' is forward, 'in' reverse; the schema's own dicts."""
    match = {"iface": forward.dev} if link.b_is_network else {"peer4": forward.peer4, "peer6": forward.peer6}
    seed = 0 if link.seed is None else link.seed
    return {
        "name": link.name,
        "seed": seed,
        "match": match,
        "out": link.forward.to_dict(),
        "in": link.reverse.to_dict(),
    }


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


def netem_plan(link: Link, forward: Endpoint, reverse: Endpoint) -> list[dict]:
    """Each direction's netem state: where it is shaped and with what; the helper keeps it in NETEM_STATE."""
    plans = []
    for direction, endpoint, imp in (("forward", forward, link.forward), ("reverse", reverse, link.reverse)):
        via_ifb = link.b_is_network and direction == "reverse"
        peers = [p for p in (endpoint.peer4, endpoint.peer6) if p]
        plans.append(
            {
                "direction": direction,
                "node": endpoint.node,
                "dev": endpoint.dev,
                "peers": peers,
                "via_ifb": via_ifb,
                "params": imp.to_dict(),
            }
        )
    return plans


def _netem_commands(state: dict) -> list[list[str]]:
    imp = Impairment.from_dict(state["params"])
    if state["via_ifb"]:
        return netem.ingress_via_ifb(state["dev"], imp)
    return netem.egress(state["dev"], state["peers"], imp)


def _start_netem(
    running: RunningNodes, link: Link, forward: Endpoint, reverse: Endpoint, labels: dict[str, str]
) -> None:
    """One helper per direction, in the namespace where that direction leaves (or, via ifb, arrives)."""
    for direction in (link.forward, link.reverse):
        problem = netem.unsupported(direction)
        if problem:
            raise LabFileError(running.lab.path, link.line, f"link {link.name}: backend netem: {problem}")
    for state in netem_plan(link, forward, reverse):
        helper = running.backend.start_helper(
            running.container(state["node"]),
            "link",
            ["sh", "-c", f'printf %s "$SOCKLAB_NETEM" > {NETEM_STATE} && exec sleep infinity'],
            LINK_CAPS,
            suffix=f"link-{link.name}-{state['direction']}",
            labels=dict(labels, **{L.LINK_DIRECTION: state["direction"]}),
            environment={"SOCKLAB_NETEM": json.dumps(state)},
        )
        for argv in _netem_commands(state):
            result = helper.exec(argv, timeout=EXEC_TIMEOUT)
            if result.exit_code != 0:
                raise SocklabError(
                    f"link {link.name}: backend netem failed on {state['node']} ({' '.join(argv)}): "
                    f"{result.output.strip()}"
                )


class LinkControl:
    """Read and change one link of a running lab, on whichever backend it runs."""

    def __init__(self, running: RunningNodes, link: Link) -> None:
        self.running = running
        self.link = link
        self.helpers = [
            h for h in running.helpers if h.labels.get(L.LINK) == link.name and h.labels.get(L.ROLE) == "link"
        ]
        if not self.helpers:
            raise SocklabError(f"link {link.name!r} has no helper container: the lab is incomplete")
        self.backend = self.helpers[0].labels.get(L.LINK_BACKEND, "userspace")
        self.reason = self.helpers[0].labels.get(L.LINK_REASON, "")

    def _ctl(self, *args: str) -> dict:
        helper = self.helpers[0]
        argv = ["sh", "-c", 'cd "$0" && exec "$@"', SERVICES_DIR, *CTL, *args]
        result = self.running.backend.exec(helper.id, argv, timeout=EXEC_TIMEOUT)
        if result.exit_code == CTL_REFUSED:
            raise BadInput(f"link {self.link.name}: {result.output.strip()}")
        if result.exit_code != 0:
            raise SocklabError(f"link {self.link.name}: {result.output.strip() or 'link daemon not running'}")
        return json.loads(result.stdout)

    def show(self) -> dict:
        """Parameters, backend (and why), and counters per direction."""
        names = list(self.link.directions)
        info = {"name": self.link.name, "backend": self.backend, "reason": self.reason}
        if self.backend == "userspace":
            try:
                state = self._ctl("show")
            except SocklabError as err:
                return {**info, "daemon": f"down: {err}", "directions": {}}
            directions = {names[0]: state["out"], names[1]: state["in"]}
            return {**info, "daemon": "running", "seed": state.get("seed"), "directions": directions}
        directions = {}
        for (helper, state), name in zip(self.netem_states(), names):
            command = netem.stats_command(state["dev"], state["via_ifb"])
            stats = self.running.backend.exec(helper.id, command, timeout=EXEC_TIMEOUT)
            try:
                counters = netem.counters(stats.stdout)
            except ValueError as err:
                raise SocklabError(
                    f"link {self.link.name}: cannot read netem's counters ({' '.join(command)}): "
                    f"{err} {stats.output.strip()}"
                ) from None
            directions[name] = {"params": state["params"], "counters": counters}
        return {**info, "daemon": "kernel", "seed": None, "directions": directions}

    def _netem_helpers(self) -> list[Container]:
        """The forward helper, then the reverse one."""
        return sorted(self.helpers, key=lambda h: h.labels.get(L.LINK_DIRECTION) != "forward")

    def netem_states(self) -> list[tuple[Container, dict]]:
        """Each direction's helper with its record (device, whether through the
        ifb, parameters), forward first: where that direction's netem qdisc is."""
        return [(helper, self._netem_state(helper)) for helper in self._netem_helpers()]

    def _netem_state(self, helper: Container) -> dict:
        result = self.running.backend.exec(helper.id, ["cat", NETEM_STATE], timeout=EXEC_TIMEOUT)
        if result.exit_code != 0:
            raise SocklabError(f"link {self.link.name}: the netem helper has lost its state: {result.output.strip()}")
        return json.loads(result.stdout)

    def set(self, direction: Optional[str] = None, seed: Optional[int] = None, **changes: object) -> dict:
        """Change what is named, live; ``direction`` is 'forward', 'reverse' or None for both.

        Parameters not named keep their current values on both backends. A
        seed given to a link that netem serves moves it to the userspace
        backend (``moved`` in the answer says so): only that one replays it.
        """
        if direction not in (None, "forward", "reverse"):
            raise BadInput(f"direction must be forward or reverse, not {direction!r}")
        if self.backend == "netem":
            if seed is not None:
                return self._move_to_userspace(direction, seed, changes)
            return self._set_netem(direction, changes)
        request: dict = {}
        for key, wire in (("forward", "out"), ("reverse", "in")):
            if direction in (None, key) and changes:
                request[wire] = changes
        if seed is not None:
            request["seed"] = seed
        return self._ctl("set", json.dumps(request))

    def _updated_states(self, direction: Optional[str], changes: dict) -> list[tuple[Container, dict, bool]]:
        """(helper, state with the changes applied, changed?) per direction, all checked before any is applied."""
        result = []
        for helper, state in self.netem_states():
            touched = direction in (None, state["direction"]) and bool(changes)
            if touched:
                try:
                    params = Impairment.from_dict(state["params"]).updated(changes)
                except ValueError as err:
                    raise BadInput(f"link {self.link.name} {state['direction']}: {err}") from None
                problem = netem.unsupported(params)
                if problem:
                    raise BadInput(f"link {self.link.name} {state['direction']}: backend netem: {problem}")
                state = dict(state, params=params.to_dict())
            result.append((helper, state, touched))
        return result

    def _set_netem(self, direction: Optional[str], changes: dict) -> dict:
        """``tc qdisc change`` with the helper's current parameters plus the named changes."""
        for helper, state, touched in self._updated_states(direction, changes):
            if not touched:
                continue
            argv = netem.change(state["dev"], state["via_ifb"], Impairment.from_dict(state["params"]))
            result = self.running.backend.exec(helper.id, argv, timeout=EXEC_TIMEOUT)
            if result.exit_code != 0:
                raise SocklabError(f"link {self.link.name}: {' '.join(argv)} failed: {result.output.strip()}")
            self._save(helper, state)
        return self.show()

    def _save(self, helper: Container, state: dict) -> None:
        record = ["sh", "-c", f"cat > {NETEM_STATE}"]
        saved = self.running.backend.exec(helper.id, record, input=json.dumps(state), timeout=EXEC_TIMEOUT)
        if saved.exit_code != 0:
            raise SocklabError(f"link {self.link.name}: cannot record the netem state: {saved.output.strip()}")

    def _move_to_userspace(self, direction: Optional[str], seed: int, changes: dict) -> dict:
        """Replace the netem qdiscs by a seeded userspace daemon with the same (changed) parameters."""
        if self.link.backend == "netem":
            raise BadInput(
                f"link {self.link.name}: the lab file asks for backend netem, which cannot replay a seed "
                "(its own covers loss and corruption only, from one stream all flows share); "
                "use backend auto or userspace to set a seed"
            )
        states = {state["direction"]: state for _, state, _ in self._updated_states(direction, changes)}
        for helper, state in self.netem_states():
            for argv in netem.teardown(state["dev"], state["via_ifb"]):
                self.running.backend.exec(helper.id, argv, timeout=EXEC_TIMEOUT)
        lab = self.helpers[0].labels[L.LAB]
        self.running.backend.remove({L.LAB: lab, L.LINK: self.link.name, L.ROLE: "link"})
        link = replace(
            self.link,
            seed=seed,
            forward=Impairment.from_dict(states["forward"]["params"]),
            reverse=Impairment.from_dict(states["reverse"]["params"]),
        )
        self.reason = f"link set --seed moved it from netem: {SEEDED}"
        labels = {L.LINK: link.name, L.LINK_BACKEND: "userspace", L.LINK_REASON: self.reason}
        forward, _ = endpoints(self.running, link)
        _start_userspace(self.running, link, forward, labels)
        self.helpers = self.running.backend.containers({L.LAB: lab, L.LINK: link.name, L.ROLE: "link"})
        self.running.helpers = [h for h in self.running.helpers if h.labels.get(L.LINK) != link.name] + self.helpers
        self.backend = "userspace"
        return dict(self.show(), moved="netem -> userspace")
