"""``socklab doctor``: can a lab run here, and if not, what fixes it.

Each check gives a verdict, a detail and, when something is wrong, the
command that fixes it. Only problems that stop a lab from running make the
doctor exit non-zero; the rest are advice.
"""

from __future__ import annotations

import ipaddress
import json
import platform
import shutil
import subprocess
import sys
from dataclasses import dataclass
from importlib import metadata
from typing import Optional

import docker
import docker.errors

from . import addressing
from .catalog import NODE_IMAGE
from .docker_backend import DockerBackend, connect, registry_has
from .errors import SocklabError
from .images import BASE_IMAGE, LOCAL_ROLE, base_hash, debian_image, image_hash, node_hash
from .lab import instances
from .labels import IMAGE_ROLE
from .links import netem_available


@dataclass
class Finding:
    check: str
    ok: bool
    detail: str
    fix: str = ""
    blocking: bool = False


def examine() -> list[Finding]:
    findings: list[Finding] = [_python()]
    try:
        backend = DockerBackend(connect())
    except SocklabError as err:
        fix = (
            "start the engine (sudo systemctl start docker), "
            "and join the docker group: sudo usermod -aG docker $USER, then log in again"
        )
        return findings + [Finding("docker", False, str(err), fix, blocking=True)]
    info = backend.client.info()
    version = backend.client.version()
    engine = version.get("Version", "?")
    old = tuple(int(p) for p in engine.split("+")[0].split(".")[:2] if p.isdigit()) < (20, 10)
    detail = f"engine {engine}, API {version.get('ApiVersion')}, {info.get('OperatingSystem', '?')}"
    findings.append(Finding("docker", not old, detail, "upgrade to Docker 20.10 or newer" if old else "", blocking=old))
    findings.append(_cgroups(info))
    findings.append(_compose())
    findings.append(_registry(backend))
    findings += _images(backend)
    findings.append(_netem(backend))
    findings.append(_address_space(backend))
    findings.append(_leftovers(backend))
    findings += _host_tools()
    return findings


def _python() -> Finding:
    """Which Python runs socklab and how socklab was installed into it."""
    where = "the checkout's venv" if sys.prefix != sys.base_prefix else "the system Python"
    try:
        direct = metadata.distribution("socklab").read_text("direct_url.json") or "{}"
        how = "editable install" if json.loads(direct).get("dir_info", {}).get("editable") else "installed copy"
    except metadata.PackageNotFoundError:
        how = "not installed (run from the source tree)"
    detail = f"Python {platform.python_version()} at {sys.executable}: {how} in {where}"
    return Finding(
        "python", sys.version_info >= (3, 9), detail, "" if sys.version_info >= (3, 9) else "Python 3.9 or newer"
    )


def _cgroups(info: dict) -> Finding:
    """cgroup v2 is what users' machines have; v1 enforces the grader's limits too."""
    version = info.get("CgroupVersion") or "1"
    limits = [
        name
        for name, key in (("memory", "MemoryLimit"), ("pids", "PidsLimit"), ("cpu", "CPUCfsQuota"))
        if not info.get(key, True)
    ]
    detail = f"cgroup v{version}, driver {info.get('CgroupDriver', '?')}"
    if limits:
        return Finding(
            "cgroups",
            False,
            f"{detail}; the engine cannot limit {', '.join(limits)}: grading is not safe here",
            "enable the missing cgroup controllers (kernel command line)",
            blocking=False,
        )
    return Finding("cgroups", True, f"{detail}; memory, pids and CPU limits available")


def _compose() -> Finding:
    """Compose is optional: socklab drives Docker itself; compose/ files are for those who prefer it."""
    for argv, name in (
        (["docker", "compose", "version", "--short"], "v2 (docker compose)"),
        (["docker-compose", "version", "--short"], "v1 (docker-compose)"),
    ):
        if shutil.which(argv[0]) is None:
            continue
        done = subprocess.run(argv, capture_output=True, text=True)
        if done.returncode == 0:
            return Finding(
                "compose", True, f"Compose {name} {done.stdout.strip()}: only needed for the files in compose/"
            )
    return Finding(
        "compose",
        False,
        "no Compose: only needed for the files in compose/",
        "sudo apt-get install docker-compose-plugin (or docker-compose)",
    )


def _registry(backend: DockerBackend) -> Finding:
    """Where the base image's Debian comes from: a registry, or made here offline."""
    name = debian_image()
    try:
        image = backend.client.images.get(name)
    except docker.errors.ImageNotFound:
        if not registry_has(backend.client, name):
            fix = "nothing if debootstrap works here (sudo apt-get install debootstrap); else connect to a registry"
            return Finding(
                "registry", False, f"no registry answers: socklab images will make {name} locally with debootstrap", fix
            )
        return Finding("registry", True, f"a registry answers: socklab images pulls {name}")
    if (image.labels or {}).get(IMAGE_ROLE) == LOCAL_ROLE:
        return Finding("registry", True, f"offline base: {name} was made here with debootstrap (no registry answered)")
    return Finding("registry", True, f"{name} present (pulled from a registry)")


def _host_tools() -> list[Finding]:
    """Optional host programs: each adds something, none is needed to run a lab."""
    tools = (
        (
            "dot",
            "graphviz",
            "socklab graph draws with the host's Graphviz; without it, in a container (socklab/graphviz)",
        ),
        ("tshark", "tshark", "reading captures in a terminal; Wireshark or socklab's own pcap reader do too"),
    )
    findings = []
    for tool, package, why in tools:
        found = shutil.which(tool) is not None
        findings.append(
            Finding(
                tool,
                found,
                ("found: " if found else "optional, missing: ") + why,
                "" if found else f"sudo apt-get install {package}",
            )
        )
    return findings


def _images(backend: DockerBackend) -> list[Finding]:
    client = backend.client
    try:
        wanted_base: Optional[str] = base_hash(client)
    except docker.errors.ImageNotFound:
        wanted_base = None
    have_base = image_hash(BASE_IMAGE, client)
    if have_base is None or wanted_base is None:
        return [
            Finding(
                "images", False, f"{BASE_IMAGE} is missing; socklab up builds it", "socklab images (about a minute)"
            )
        ]
    current = have_base == wanted_base
    findings = [
        Finding(
            "images",
            current,
            f"{BASE_IMAGE} " + ("current" if current else "older than images/base/"),
            "" if current else "socklab images",
        )
    ]
    try:
        current = image_hash(NODE_IMAGE, client) == node_hash(client)
    except docker.errors.ImageNotFound:
        current = False
    findings.append(
        Finding(
            "images",
            current,
            f"{NODE_IMAGE} " + ("current" if current else "missing or older than services/"),
            "" if current else "socklab images (a few seconds)",
        )
    )
    return findings


def _netem(backend: DockerBackend) -> Finding:
    try:
        has = netem_available(backend)
    except docker.errors.DockerException as err:
        return Finding("netem", False, f"could not probe: {err}", "socklab images")
    seeded = (
        "seeded links (lab file seed:, link set --seed, every experiment) "
        "use the userspace daemon on every kernel, so that their drops replay"
    )
    if has:
        return Finding("netem", True, f"sch_netem works: unseeded links with backend auto use netem; {seeded}")
    return Finding(
        "netem",
        False,
        f"this kernel has no sch_netem: links with backend auto use the userspace daemon (NFQUEUE); "
        f"{seeded}; backend: netem labs fail at up",
        "nothing to do for socklab; for netem itself: modprobe sch_netem (package linux-modules-extra on Ubuntu)",
    )


def _address_space(backend: DockerBackend) -> Finding:
    used = [n for n in backend.used_subnets() if n.version == 4]
    free = sum(
        1
        for _, candidate in zip(range(4096), addressing.POOL4.subnets(new_prefix=24))
        if not any(candidate.overlaps(u) for u in used)
    )
    overlapping = [str(u) for u in used if u.overlaps(ipaddress.ip_network("10.77.0.0/16"))]
    detail = f"{free} free /24 subnets in {addressing.POOL4} for moved labs"
    if overlapping:
        detail += (
            f"; labs' preferred 10.77.0.0/16 partly taken by {', '.join(overlapping)} (labs move aside automatically)"
        )
    return Finding("addresses", free > 0, detail, "" if free else "docker network prune", blocking=free == 0)


def _leftovers(backend: DockerBackend) -> Finding:
    found = instances(backend)
    stale = [i for i in found if i.stale]
    if stale:
        return Finding(
            "leftovers",
            False,
            f"{len(stale)} stale lab(s) from killed runs: {', '.join(i.name for i in stale)}",
            "socklab down --stale",
        )
    return Finding("leftovers", True, f"no stale labs ({len(found)} lab(s) up)")
