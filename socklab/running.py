"""The handle on a running lab: its containers, found again by their labels.

Links and captures (``links.py``, ``capture.py``) build on this handle, and
``lab.py`` builds on them; keeping the handle here keeps those imports one-way.
"""

from __future__ import annotations

import ipaddress
import json
import time
from dataclasses import dataclass
from typing import Optional, Sequence, TypeVar

from docker.models.containers import Container

from . import labels as L
from .docker_backend import DockerBackend, ExecResult, container_addresses
from .errors import LabNotRunning, SocklabError
from .labfile import load_lab
from .model import Lab

R = TypeVar("R", bound="RunningNodes")


def container_name(instance: str, node: str) -> str:
    return f"socklab-{instance}-{node}"


def network_name(instance: str, network: str) -> str:
    return f"socklab-{instance}-{network}"


@dataclass
class NodeStatus:
    name: str
    role: str
    state: str
    addresses: dict[str, tuple[str, str]]
    ports: str
    container: str


class RunningNodes:
    """A lab instance found through its Docker labels: its nodes and the
    helpers beside them. Links and captures build on it; :class:`socklab.lab.RunningLab`
    adds them."""

    def __init__(
        self,
        backend: DockerBackend,
        instance: str,
        lab: Lab,
        containers: dict[str, Container],
        helpers: list[Container],
    ) -> None:
        self.backend = backend
        self.instance = instance
        self.lab = lab
        self.containers = containers
        self.helpers = helpers

    @classmethod
    def attach(cls: type[R], backend: DockerBackend, instance: str) -> R:
        """Find a lab instance again. Its lab file is read from a node's
        labels: helpers (captures, links) come and go beside the nodes, in
        whatever order Docker lists them."""
        found = backend.containers({L.LAB: instance})
        if not found:
            raise LabNotRunning(f"lab instance {instance!r} is not up (socklab status lists what is)")
        nodes = {c.labels[L.NODE]: c for c in found if c.labels.get(L.ROLE) == "node"}
        helpers = [c for c in found if c.labels.get(L.ROLE) != "node"]
        lab_files = [c.labels[L.LAB_FILE] for c in nodes.values() if c.labels.get(L.LAB_FILE)]
        if not lab_files:
            raise LabNotRunning(
                f"lab instance {instance!r} has no node left, only {len(helpers)} helper(s): socklab down {instance}"
            )
        return cls(backend, instance, load_lab(lab_files[0]), nodes, helpers)

    def container(self, node: str) -> Container:
        try:
            return self.containers[node]
        except KeyError:
            raise SocklabError(
                f"lab {self.instance!r} has no node {node!r} (nodes: {', '.join(self.containers)})"
            ) from None

    def exec(
        self,
        node: str,
        command: Sequence[str] | str,
        input: bytes | str | None = None,
        timeout: Optional[float] = 30,
        user: Optional[str] = None,
        environment: Optional[dict[str, str]] = None,
    ) -> ExecResult:
        argv = ["sh", "-c", command] if isinstance(command, str) else list(command)
        return self.backend.exec(
            self.container(node).id, argv, input=input, timeout=timeout, user=user, environment=environment
        )

    def python(self, node: str, script: str, timeout: Optional[float] = 30, args: Sequence[str] = ()) -> ExecResult:
        """Run a Python script (given as text) in a node."""
        return self.exec(node, ["python3", "-", *args], input=script, timeout=timeout)

    def addresses(self, node: str) -> dict[str, tuple[str, str]]:
        """Lab network name -> (IPv4, IPv6) of a node."""
        prefix = f"socklab-{self.instance}-"
        return {
            name[len(prefix) :]: pair
            for name, pair in container_addresses(self.container(node)).items()
            if name.startswith(prefix)
        }

    def address(self, node: str, network: Optional[str] = None, family: int = 4) -> str:
        addresses = self.addresses(node)
        if network is None:
            network = next(iter(addresses))
        return addresses[network][0 if family == 4 else 1]

    def subnet(self, network: str, family: int = 4) -> ipaddress._BaseNetwork:
        net = self.backend.client.networks.get(network_name(self.instance, network))
        declared_v4, actual_v4, declared_v6, actual_v6 = json.loads(net.attrs["Labels"][L.SUBNETS])
        return ipaddress.ip_network(actual_v4 if family == 4 else actual_v6)

    def logs(self, node: str, tail: int | str = "all") -> str:
        return self.backend.logs(self.container(node).id, tail=tail)

    def wait_log(self, node: str, text: str, timeout: float = 10.0, after: int = 0) -> str:
        """Wait until ``text`` shows in a node's log (past character ``after``)."""
        deadline = time.monotonic() + timeout
        while True:
            logs = self.logs(node)
            if text in logs[after:]:
                return logs
            if time.monotonic() > deadline:
                raise SocklabError(f"{node}: {text!r} not in its log within {timeout:g} s; last lines:\n{logs[-800:]}")
            time.sleep(0.05)

    def status(self) -> list[NodeStatus]:
        result = []
        for name in self.lab.nodes:
            container = self.containers.get(name)
            if container is None:
                result.append(NodeStatus(name, self.lab.nodes[name].role, "missing", {}, "", ""))
                continue
            ports = ", ".join(
                f"{b[0]['HostPort']}->{p}"
                for p, b in (container.attrs["NetworkSettings"].get("Ports") or {}).items()
                if b
            )
            result.append(
                NodeStatus(
                    name, self.lab.nodes[name].role, container.status, self.addresses(name), ports, container.name
                )
            )
        return result

    def down(self) -> tuple[int, int]:
        return self.backend.remove({L.LAB: self.instance})
