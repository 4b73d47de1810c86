"""The Docker backend: networks and containers, found again by their labels.

Everything Docker-specific lives here; the rest of socklab asks for
"a network", "a node container", "a helper in this node's namespace".
"""

from __future__ import annotations

import ipaddress
import subprocess
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import IO, Callable, Iterable, Optional, Sequence, Union

import docker
import docker.errors
from docker.models.containers import Container
from docker.models.networks import Network as DockerNetwork

from . import labels as L
from .catalog import NODE_IMAGE
from .errors import SocklabError

# Limits for every lab node; student containers get tighter ones in grading.
NODE_MEMORY = "256m"
NODE_PIDS = 512
CGROUP_ADMIN_PIDS = 8  # a helper that only writes a cgroup limit and then sleeps
CPU_PERIOD = 10_000  # microseconds
REMOVAL_WAIT = 10.0  # seconds a removal waits for another removal of the same container
NETWORK_WAIT = 2.0  # seconds a network's removal waits for its last endpoint to go


@dataclass
class ExecResult:
    exit_code: int
    stdout: str
    stderr: str
    seconds: Optional[float] = None  # how long the command ran, where known better than by its caller

    @property
    def output(self) -> str:
        return self.stdout + self.stderr


@dataclass(frozen=True)
class Sandbox:
    """How tightly a container is boxed in."""

    user: Optional[str] = None
    memory: str = NODE_MEMORY
    pids: int = NODE_PIDS
    cpus: Optional[float] = None
    read_only: bool = False
    tmpfs: Optional[dict[str, str]] = None
    shm: Optional[str] = None  # size of /dev/shm (Docker's default: 64 MiB)
    log_size: Optional[str] = None  # cap on the log Docker keeps of its output, on the host's disk


def connect() -> docker.DockerClient:
    try:
        client = docker.from_env(timeout=120)
        client.ping()
    except docker.errors.DockerException as err:
        raise SocklabError(f"Docker is not reachable ({err}); start it (dockerd) or set DOCKER_HOST") from None
    return client


def import_image(client: docker.DockerClient, stream: IO[bytes], name: str, changes: list[str]) -> None:
    """``docker import`` a root filesystem tar streamed from ``stream`` as ``name``."""
    repository, tag = name.rsplit(":", 1)
    client.api.import_image(src=stream, repository=repository, tag=tag, changes=changes, stream_src=True)


def registry_has(client: docker.DockerClient, name: str) -> bool:
    """Whether a registry answers for ``name``, without pulling it."""
    try:
        client.api.inspect_distribution(name)
    except docker.errors.APIError:
        return False
    return True


class DockerBackend:
    def __init__(self, client: Optional[docker.DockerClient] = None) -> None:
        self.client = client or connect()
        self.api = self.client.api

    def used_subnets(self) -> list:
        """Every subnet any Docker network holds now."""
        result = []
        for net in self.api.networks():
            for config in (net.get("IPAM") or {}).get("Config") or []:
                if config.get("Subnet"):
                    result.append(ipaddress.ip_network(config["Subnet"], strict=False))
        return result

    def create_network(self, name: str, subnet, subnet6, internal: bool, labels: dict[str, str]) -> DockerNetwork:
        pools = [docker.types.IPAMPool(subnet=str(s)) for s in (subnet, subnet6) if s is not None]
        return self.client.networks.create(
            name,
            driver="bridge",
            internal=internal,
            enable_ipv6=subnet6 is not None,
            ipam=docker.types.IPAMConfig(pool_configs=pools),
            labels=labels,
            check_duplicate=True,
        )

    def create_container(
        self,
        name: str,
        image: str,
        command: Sequence[str],
        labels: dict[str, str],
        hostname: Optional[str] = None,
        environment: Optional[dict[str, str]] = None,
        networks: Sequence[tuple[str, Optional[str], Optional[str], list[str]]] = (),
        network_mode: Optional[str] = None,
        cap_add: Sequence[str] = (),
        sysctls: Optional[dict[str, str]] = None,
        binds: Optional[dict[str, dict[str, str]]] = None,
        ports: Sequence[str] = (),
        sandbox: Sandbox = Sandbox(),
        stdin: bool = False,
        cgroup_admin: Optional[str] = None,
    ) -> str:
        """Create (not start) a container; ``networks`` are (name, v4, v6, aliases).

        ``stdin``: its standard input stays open for an attached client to
        write to, and is closed when that client closes its side.
        ``cgroup_admin``: a cgroup parent (a systemd slice) that the container
        is started in and may administer: privileged, seeing the host's
        cgroups. Only socklab's own helpers get it, never a node."""
        port_bindings = {}
        for spec in ports:
            host, _, inner = spec.rpartition(":")
            port_bindings[inner if "/" in inner else f"{inner}/tcp"] = int(host) if host else None
        host_config = self.api.create_host_config(
            init=True,
            cap_drop=["ALL"],
            cap_add=list(cap_add) or None,
            security_opt=["no-new-privileges"],
            mem_limit=sandbox.memory,
            memswap_limit=sandbox.memory,
            pids_limit=sandbox.pids,
            # A short period: with Docker's 100 ms one, a container over its share
            # stalls for up to 100 ms at once, which skews timing checks.
            cpu_period=CPU_PERIOD if sandbox.cpus else None,
            cpu_quota=int(sandbox.cpus * CPU_PERIOD) if sandbox.cpus else None,
            read_only=sandbox.read_only,
            tmpfs=sandbox.tmpfs,
            shm_size=sandbox.shm,
            log_config=(
                docker.types.LogConfig(type="json-file", config={"max-size": sandbox.log_size, "max-file": "1"})
                if sandbox.log_size
                else None
            ),
            network_mode=network_mode or (networks[0][0] if networks else "none"),
            sysctls=sysctls,
            binds=binds,
            port_bindings=port_bindings or None,
            privileged=cgroup_admin is not None,
            cgroupns="host" if cgroup_admin else None,
            cgroup_parent=cgroup_admin,
        )
        networking_config = None
        if networks and not network_mode:
            first, v4, v6, aliases = networks[0]
            networking_config = self.api.create_networking_config(
                {first: self.api.create_endpoint_config(ipv4_address=v4, ipv6_address=v6, aliases=aliases)}
            )
        created = self.api.create_container(
            image,
            command=list(command),
            name=name,
            hostname=hostname,
            labels=labels,
            environment=environment,
            host_config=host_config,
            networking_config=networking_config,
            user=sandbox.user,
            ports=list(port_bindings) or None,
            stop_signal="SIGTERM",
            stdin_open=stdin,
        )
        container_id = created["Id"]
        for net, v4, v6, aliases in networks[1:]:
            self.api.connect_container_to_network(container_id, net, ipv4_address=v4, ipv6_address=v6, aliases=aliases)
        return container_id

    def start(self, container_id: str) -> None:
        self.api.start(container_id)

    def start_helper(
        self,
        node: Union[Container, str, None],
        role: str,
        command: Sequence[str],
        cap_add: Sequence[str] = (),
        suffix: Optional[str] = None,
        labels: Optional[dict[str, str]] = None,
        environment: Optional[dict[str, str]] = None,
        stdout: Optional[Callable[[bytes], object]] = None,
        cgroup_admin: Optional[str] = None,
    ) -> "Helper":
        """Start a helper in a node's network namespace, with only the named capabilities.

        The node itself never gets them. The helper carries the node's labels
        (lab, run, lab file, node...) with its own role, so that attach,
        status, down and stale-lab cleanup find it as part of the node's lab;
        ``labels`` adds to them. ``node`` None puts the helper on no network
        at all, labelled by ``labels`` alone. ``stdout``, when given, receives
        the helper's standard output as it comes, byte for byte (the log
        driver would turn binary output such as a pcap stream into text).
        ``cgroup_admin``: see :meth:`create_container`; such a helper may
        fork only a few processes.
        """
        if node is None:
            base, name, network_mode = {L.PROJECT: "1"}, f"socklab-{role}", "none"
        else:
            info = self.api.inspect_container(node.id if isinstance(node, Container) else node)
            base, name = dict(info["Config"]["Labels"] or {}), info["Name"].lstrip("/")
            network_mode = f"container:{info['Id']}"
        helper_labels = dict(base, **(labels or {}), **{L.ROLE: role})
        container_id = self.create_container(
            f"{name}-{suffix or role}",
            NODE_IMAGE,
            command,
            helper_labels,
            environment=environment,
            network_mode=network_mode,
            cap_add=cap_add,
            sandbox=Sandbox(pids=CGROUP_ADMIN_PIDS) if cgroup_admin else Sandbox(),
            cgroup_admin=cgroup_admin,
        )
        pump = None
        try:
            if stdout is not None:
                # Attached before the start, so that nothing it writes is missed.
                stream = self.api.attach(container_id, stdout=True, stderr=False, stream=True, logs=False)
                pump = threading.Thread(target=_pump, args=(stream, stdout), daemon=True)
                pump.start()
            self.start(container_id)
        except BaseException:
            self.remove_container(container_id)
            raise
        return Helper(self, container_id, pump)

    def run_helper(
        self,
        node: Union[Container, str, None],
        role: str,
        command: Sequence[str],
        cap_add: Sequence[str] = (),
        suffix: Optional[str] = None,
        timeout: float = 30,
    ) -> tuple[int, str]:
        """Run a helper to its end (see :meth:`start_helper`): its exit status and
        log; it is removed whatever happens."""
        helper = self.start_helper(node, role, command, cap_add, suffix)
        try:
            status = helper.wait(timeout)
            return status, helper.logs()
        finally:
            helper.remove()

    def containers(self, filters: dict[str, str] | None = None, all_: bool = True) -> list[Container]:
        label_filters = [f"{L.PROJECT}=1"] + [f"{k}={v}" for k, v in (filters or {}).items()]
        return self.client.containers.list(all=all_, filters={"label": label_filters}, ignore_removed=True)

    def networks(self, filters: dict[str, str] | None = None) -> list[DockerNetwork]:
        label_filters = [f"{L.PROJECT}=1"] + [f"{k}={v}" for k, v in (filters or {}).items()]
        return self.client.networks.list(filters={"label": label_filters})

    def remove(self, filters: dict[str, str]) -> tuple[int, int]:
        """Remove every container, then every network, matching the labels.

        A network Docker still refuses to remove once its containers are
        gone (its count of endpoints gone stale) is left, not raised: it
        must not stop this cleanup, nor every later one that finds it stale.
        """
        containers = self.containers(filters)
        with ThreadPoolExecutor(max_workers=16) as pool:
            list(pool.map(self.remove_container, [c.id for c in containers]))
        networks = self.networks(filters)
        with ThreadPoolExecutor(max_workers=8) as pool:
            removed = sum(pool.map(self._remove_network, [n.id for n in networks]))
        return len(containers), removed

    def remove_container(self, container_id: str) -> None:
        """Remove one container, running or not; gone already is fine. When
        another removal of it is under way, wait for that one (a network is
        refused while the container's endpoint is still on it)."""
        try:
            self.api.remove_container(container_id, force=True, v=True)
        except docker.errors.NotFound:
            pass
        except docker.errors.APIError as err:
            if "already in progress" not in str(err):
                raise
            deadline = time.monotonic() + REMOVAL_WAIT
            while time.monotonic() < deadline:
                try:
                    self.api.inspect_container(container_id)
                except docker.errors.NotFound:
                    return
                time.sleep(0.1)

    def _remove_network(self, network_id: str) -> bool:
        """Remove one network; whether it is gone (see :meth:`remove`)."""
        deadline = time.monotonic() + NETWORK_WAIT
        while True:
            try:
                self.api.remove_network(network_id)
                return True
            except docker.errors.NotFound:
                return True
            except docker.errors.APIError as err:
                if "active endpoints" not in str(err):
                    raise
                if time.monotonic() > deadline:
                    return False
                time.sleep(0.25)

    def logs(self, container_id: str, tail: int | str = "all") -> str:
        try:
            data = self.api.logs(container_id, stdout=True, stderr=True, tail=tail)
        except docker.errors.NotFound:
            return ""
        return data.decode("utf-8", "replace")

    def state(self, container_id: str) -> dict:
        return self.api.inspect_container(container_id)["State"]

    def exec(
        self,
        container: str,
        command: Sequence[str],
        input: bytes | str | None = None,
        timeout: Optional[float] = None,
        user: Optional[str] = None,
        environment: Optional[dict[str, str]] = None,
        workdir: Optional[str] = None,
    ) -> ExecResult:
        """Run a command in a container, passing ``input`` on its stdin.

        The docker CLI is used because it streams stdin and returns the exit
        status reliably; a timeout is enforced inside the container too, so
        nothing keeps running there after we give up.
        """
        argv = ["docker", "exec", "-i"] + docker_exec_options(user, environment, workdir) + [container]
        if timeout is not None:
            argv += ["timeout", "-k", "1", f"{timeout:g}"]
        argv += list(command)
        data = input.encode() if isinstance(input, str) else input
        try:
            done = subprocess.run(
                argv, input=data or b"", capture_output=True, timeout=(timeout + 5) if timeout else None
            )
        except subprocess.TimeoutExpired as err:
            return ExecResult(124, _text(err.stdout), _text(err.stderr) + f"\n(timed out after {timeout:g} s)")
        return ExecResult(done.returncode, _text(done.stdout), _text(done.stderr))


class Helper:
    """A running helper container (see :meth:`DockerBackend.start_helper`)."""

    def __init__(self, backend: DockerBackend, container_id: str, pump: Optional[threading.Thread]) -> None:
        self.backend = backend
        self.id = container_id
        self.pump = pump

    def wait(self, timeout: Optional[float] = None) -> int:
        """Its exit status, once it has stopped (and its output has been passed on)."""
        status = int(self.backend.api.wait(self.id, timeout=timeout).get("StatusCode", -1))
        if self.pump is not None:
            self.pump.join(timeout)
        return status

    def running(self) -> bool:
        return bool(self.backend.state(self.id).get("Running"))

    def finished(self, timeout: float) -> bool:
        """Whether it has stopped, after waiting at most ``timeout`` (short
        waits let a Ctrl-C through)."""
        if self.pump is not None:
            self.pump.join(timeout)
        else:
            time.sleep(timeout)
        return not self.running()

    def signal(self, signal: str) -> None:
        self.backend.api.kill(self.id, signal=signal)

    def logs(self) -> str:
        return self.backend.logs(self.id)

    def exec(self, command: Sequence[str], timeout: Optional[float] = None) -> ExecResult:
        return self.backend.exec(self.id, command, timeout=timeout)

    def remove(self) -> None:
        self.backend.remove_container(self.id)


def _pump(stream: Iterable[bytes], sink: Callable[[bytes], object]) -> None:
    for chunk in stream:
        sink(chunk)


def docker_exec_options(
    user: Optional[str], environment: Optional[dict[str, str]], workdir: Optional[str]
) -> list[str]:
    options = []
    if user:
        options += ["-u", user]
    for key, value in (environment or {}).items():
        options += ["-e", f"{key}={value}"]
    if workdir:
        options += ["-w", workdir]
    return options


def _text(data: bytes | None) -> str:
    return (data or b"").decode("utf-8", "replace")


def container_addresses(container: Container) -> dict[str, tuple[str, str]]:
    """Docker network name -> (IPv4, IPv6) of a container."""
    nets = container.attrs.get("NetworkSettings", {}).get("Networks") or {}
    return {name: (n.get("IPAddress") or "", n.get("GlobalIPv6Address") or "") for name, n in nets.items()}
