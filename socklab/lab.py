"""A running lab: bringing a lab up, finding it again, using it, taking it down.

``up`` creates networks and containers in parallel, waits for readiness and
starts the links; if anything fails or is interrupted on the way, everything
created under this run's id is removed before the error goes on.
"""

from __future__ import annotations

import json
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Optional

from . import addressing
from . import labels as L
from .capture import Capture
from .docker_backend import DockerBackend, Sandbox
from .errors import SocklabError
from .links import LinkControl, start_links
from .model import Lab, Node
from .readiness import wait_ready
from .running import RunningNodes, container_name, network_name

Progress = Callable[[str], None]


def _quiet(_: str) -> None:
    """Default progress sink: library callers show nothing."""


@dataclass
class Options:
    """How a lab is brought up, beyond what its file says."""

    instance: Optional[str] = None
    ephemeral: bool = False
    workspace: Optional[Path] = None
    sandboxes: Optional[dict[str, Sandbox]] = None  # per node, for untrusted code


def up(
    lab: Lab, backend: DockerBackend, options: Optional[Options] = None, progress: Progress = _quiet
) -> "RunningLab":
    """Bring a lab up and return it running and ready, or leave nothing behind."""
    options = options or Options()
    instance = options.instance or lab.name
    if backend.containers({L.LAB: instance}) or backend.networks({L.LAB: instance}):
        raise SocklabError(
            f"lab instance {instance!r} is already up (socklab down {instance}, or pick another --instance)"
        )
    run_id = uuid.uuid4().hex[:12]
    base_labels = L.run_labels(instance, run_id, options.ephemeral, len(lab.nodes), str(lab.path.resolve()))
    started = time.monotonic()
    try:
        subnets = _create_networks(lab, backend, instance, base_labels, progress)
        containers = _create_nodes(lab, backend, instance, base_labels, subnets, options, progress)
        running = RunningLab.attach(backend, instance)
        progress(f"waiting for {sum(1 for n in lab.nodes.values() if n.ready.strategy != 'none')} node(s) to be ready")
        with ThreadPoolExecutor(max_workers=max(1, len(lab.nodes) + 1)) as pool:
            waits = [
                pool.submit(wait_ready, backend, name, containers[name], node.ready) for name, node in lab.nodes.items()
            ]
            link_start = pool.submit(start_links, running, progress)
            for future in waits + [link_start]:
                future.result()
        progress(f"lab {instance} is up in {time.monotonic() - started:.1f} s")
        return RunningLab.attach(backend, instance)
    except BaseException:
        progress(f"removing what was started of {instance}")
        backend.remove({L.RUN: run_id})
        raise


def _create_networks(
    lab: Lab, backend: DockerBackend, instance: str, base_labels: dict, progress: Progress
) -> dict[str, tuple]:
    """Create the lab's networks; returns name -> (actual subnet, actual subnet6)."""
    used = backend.used_subnets()
    chosen: dict[str, tuple] = {}
    for net in lab.networks.values():
        v4 = addressing.choose(net.subnet, used, 4)
        used.append(v4)
        v6 = None
        if net.subnet6 is not None:
            v6 = addressing.choose(net.subnet6, used, 6)
            used.append(v6)
        chosen[net.name] = (v4, v6)
    progress(f"creating {len(chosen)} network(s)")

    def create(name: str) -> None:
        net = lab.networks[name]
        v4, v6 = chosen[name]
        labels = dict(
            base_labels,
            **{
                L.NETWORK: name,
                L.SUBNETS: json.dumps([str(net.subnet or ""), str(v4), str(net.subnet6 or ""), str(v6 or "")]),
            },
        )
        for skip in range(1, 20):
            try:
                backend.create_network(network_name(instance, name), v4, v6, net.internal, labels)
                chosen[name] = (v4, v6)
                return
            except Exception as err:  # another process took the subnet meanwhile: take the next free one
                if "overlap" not in str(err).lower():
                    raise
                used = backend.used_subnets()
                v4 = addressing.choose(net.subnet, used, 4, skip=skip)
                if v6 is not None:  # the IPv6 subnet may be the one taken
                    v6 = addressing.choose(net.subnet6, used, 6, skip=skip)
                labels[L.SUBNETS] = json.dumps([str(net.subnet or ""), str(v4), str(net.subnet6 or ""), str(v6 or "")])
        raise SocklabError(f"no free subnet found for network {name!r}")

    with ThreadPoolExecutor(max_workers=max(1, len(chosen))) as pool:
        list(pool.map(create, list(chosen)))
    return chosen


def _create_nodes(
    lab: Lab,
    backend: DockerBackend,
    instance: str,
    base_labels: dict,
    subnets: dict,
    options: Options,
    progress: Progress,
) -> dict[str, str]:
    progress(f"starting {len(lab.nodes)} container(s)")

    def create(node: Node) -> tuple[str, str]:
        attachments = []
        for att in node.networks:
            net = lab.networks[att.network]
            v4 = addressing.translate(att.address, net.subnet, subnets[att.network][0])
            v6 = addressing.translate(att.address6, net.subnet6, subnets[att.network][1])
            attachments.append(
                (network_name(instance, att.network), str(v4) if v4 else None, str(v6) if v6 else None, [node.name])
            )
        sysctls = {"net.ipv4.ping_group_range": "0 2147483647"}
        if node.router:
            sysctls["net.ipv4.ip_forward"] = "1"
            if any(lab.networks[a.network].subnet6 for a in node.networks):
                sysctls["net.ipv6.conf.all.forwarding"] = "1"
        binds = None
        if node.workspace and options.workspace is not None:
            options.workspace.mkdir(parents=True, exist_ok=True)
            binds = {str(options.workspace.resolve()): {"bind": "/work", "mode": "rw"}}
        environment = dict(node.environment, NODE_NAME=node.name, LAB=instance)
        container_id = backend.create_container(
            container_name(instance, node.name),
            node.image,
            node.command,
            dict(base_labels, **{L.NODE: node.name, L.ROLE: "node"}),
            hostname=node.name,
            environment=environment,
            networks=attachments,
            sysctls=sysctls,
            binds=binds,
            ports=node.ports,
            sandbox=(options.sandboxes or {}).get(node.name, Sandbox()),
        )
        backend.start(container_id)
        return node.name, container_id

    with ThreadPoolExecutor(max_workers=max(1, len(lab.nodes))) as pool:
        containers = dict(pool.map(create, lab.nodes.values()))
    routed = [n for n in lab.nodes.values() if n.routes]
    if routed:
        with ThreadPoolExecutor(max_workers=len(routed)) as pool:
            list(pool.map(lambda n: _apply_routes(backend, containers[n.name], n, lab, subnets), routed))
    return containers


def _apply_routes(backend: DockerBackend, container_id: str, node: Node, lab: Lab, subnets: dict) -> None:
    """Add a node's routes from a short-lived helper in its namespace.

    The node itself never gets NET_ADMIN; the helper has it, does its work
    and is removed.
    """
    routes = []
    for route in node.routes:
        to, via = route.to, route.via
        for att in node.networks:
            net = lab.networks[att.network]
            declared = net.subnet if via.version == 4 else net.subnet6
            actual = subnets[att.network][0 if via.version == 4 else 1]
            if declared is not None and via in declared:
                via = addressing.translate(via, declared, actual)
        for net in lab.networks.values():
            declared = net.subnet if to.version == 4 else net.subnet6
            actual = subnets[net.name][0 if to.version == 4 else 1]
            if declared is not None and to == declared:
                to = actual
        routes.append(f"{to} via {via}")
    command = ["sh", "-ec", "for route; do ip route replace $route; done", "routes", *routes]
    status, logs = backend.run_helper(container_id, "route", command, ["NET_ADMIN"], suffix="routes")
    if status != 0:
        raise SocklabError(f"adding routes to {node.name} failed: {logs.strip()}")


class RunningLab(RunningNodes):
    """A running lab, with its links and captures."""

    def link(self, name: str) -> LinkControl:
        if name not in self.lab.links:
            raise SocklabError(
                f"lab {self.instance!r} has no link {name!r} (links: {', '.join(self.lab.links) or 'none'})"
            )
        return LinkControl(self, self.lab.links[name])

    def capture(self, node: str, filter: str = "", iface: str = "any") -> Capture:
        """Capture packets on a node for the length of a ``with`` block."""
        return Capture(self, node, filter=filter, iface=iface)


@dataclass
class Instance:
    """One lab instance as Docker's labels describe it, complete or not."""

    name: str
    lab_file: str
    run: str
    owner: str
    nodes: int
    expected: int
    networks: int
    stale: bool
    reason: str


def instances(backend: DockerBackend) -> list[Instance]:
    """Every socklab instance on this Docker engine, with stale ones marked.

    A run is stale when the process that created it is gone and either it
    was meant to die with that process (tests, grading, experiments) or it
    never completed (fewer node containers than the lab has).
    """
    groups: dict[str, dict] = {}
    for obj, kind in [(c, "container") for c in backend.containers()] + [(n, "network") for n in backend.networks()]:
        labels = obj.labels if kind == "container" else obj.attrs.get("Labels", {})
        group = groups.setdefault(labels.get(L.LAB, "?"), {"labels": labels, "nodes": 0, "networks": 0})
        if kind == "network":
            group["networks"] += 1
        elif labels.get(L.ROLE) == "node":
            group["nodes"] += 1
            group["labels"] = labels  # a node's labels describe the run; a helper's may be partial
    result = []
    for name, group in sorted(groups.items()):
        labels = group["labels"]
        expected = int(labels.get(L.EXPECTED, "0") or 0)
        alive = L.process_alive(labels)
        reason = ""
        if not alive and labels.get(L.EPHEMERAL) == "1":
            reason = f"its process {labels.get(L.PID)} is gone"
        elif not alive and group["nodes"] < expected:
            reason = f"incomplete ({group['nodes']} of {expected} nodes) and its process is gone"
        result.append(
            Instance(
                name,
                labels.get(L.LAB_FILE, ""),
                labels.get(L.RUN, ""),
                labels.get(L.OWNER, ""),
                group["nodes"],
                expected,
                group["networks"],
                bool(reason),
                reason,
            )
        )
    return result


def remove_stale(backend: DockerBackend) -> list[str]:
    removed = []
    for instance in instances(backend):
        if instance.stale:
            backend.remove({L.LAB: instance.name})
            removed.append(instance.name)
    return removed
