"""``socklab doctor``: can a lab run here, and if not, what fixes it.

Each check gives a verdict, a detail and, when something is wrong, the
command that fixes it. Only problems that stop a lab from running make the
doctor exit non-zero; the rest are advice.
"""

from __future__ import annotations

import ipaddress
import shutil
from dataclasses import dataclass

import docker
import docker.errors

from . import addressing
from .docker_backend import DockerBackend, connect
from .errors import SocklabError
from .images import BASE_IMAGE, NODE_IMAGE, base_hash, image_hash, node_hash
from .lab import instances
from .links import netem_available


@dataclass
class Finding:
    check: str
    ok: bool
    detail: str
    fix: str = ""
    blocking: bool = False


def examine() -> list[Finding]:
    findings: list[Finding] = []
    try:
        backend = DockerBackend(connect())
    except SocklabError as err:
        return [Finding("docker", False, str(err), "start the engine: dockerd & (or systemctl start docker)", blocking=True)]
    version = backend.client.version()
    engine = version.get("Version", "?")
    old = tuple(int(p) for p in engine.split("+")[0].split(".")[:2] if p.isdigit()) < (20, 10)
    findings.append(Finding("docker", not old, f"engine {engine}, API {version.get('ApiVersion')}", "upgrade to Docker 20.10 or newer" if old else "", blocking=old))
    findings += _images(backend)
    findings.append(_netem(backend))
    findings.append(_address_space(backend))
    findings.append(_leftovers(backend))
    for tool, package, why in (("dot", "graphviz", "socklab graph"), ("tshark", "tshark", "reading captures in a terminal")):
        found = shutil.which(tool) is not None
        findings.append(Finding(tool, found, "found" if found else f"missing: needed for {why}", "" if found else f"apt-get install {package}"))
    return findings


def _images(backend: DockerBackend) -> list[Finding]:
    client = backend.client
    have_base = image_hash(BASE_IMAGE, client)
    can_build = shutil.which("debootstrap") is not None
    if have_base is None:
        fix = "socklab images (about 40 s)" if can_build else "apt-get install debootstrap && socklab images"
        return [Finding("images", False, f"{BASE_IMAGE} is missing; socklab up builds it", fix, blocking=not can_build)]
    findings = [Finding("images", have_base == base_hash(), f"{BASE_IMAGE} " + ("current" if have_base == base_hash() else "older than images/base/packages.txt"), "" if have_base == base_hash() else "socklab images")]
    try:
        current = image_hash(NODE_IMAGE, client) == node_hash(client)
    except docker.errors.ImageNotFound:
        current = False
    findings.append(Finding("images", current, f"{NODE_IMAGE} " + ("current" if current else "missing or older than services/"), "" if current else "socklab images (a few seconds)"))
    return findings


def _netem(backend: DockerBackend) -> Finding:
    try:
        has = netem_available(backend)
    except docker.errors.DockerException as err:
        return Finding("netem", False, f"could not probe: {err}", "socklab images")
    seeded = "seeded links (lab file seed:, link set --seed, every experiment) use the userspace daemon on every kernel, so that their drops replay"
    if has:
        return Finding("netem", True, f"sch_netem works: unseeded links with backend auto use netem; {seeded}")
    return Finding("netem", False, f"this kernel has no sch_netem: links with backend auto use the userspace daemon (NFQUEUE); {seeded}; backend: netem labs fail at up", "nothing to do for socklab; for netem itself: modprobe sch_netem (package linux-modules-extra on Ubuntu)")


def _address_space(backend: DockerBackend) -> Finding:
    used = [n for n in backend.used_subnets() if n.version == 4]
    free = sum(1 for _, candidate in zip(range(4096), addressing.POOL4.subnets(new_prefix=24)) if not any(candidate.overlaps(u) for u in used))
    overlapping = [str(u) for u in used if u.overlaps(ipaddress.ip_network("10.77.0.0/16"))]
    detail = f"{free} free /24 subnets in {addressing.POOL4} for moved labs"
    if overlapping:
        detail += f"; labs' preferred 10.77.0.0/16 partly taken by {', '.join(overlapping)} (labs move aside automatically)"
    return Finding("addresses", free > 0, detail, "" if free else "docker network prune", blocking=free == 0)


def _leftovers(backend: DockerBackend) -> Finding:
    found = instances(backend)
    stale = [i for i in found if i.stale]
    if stale:
        return Finding("leftovers", False, f"{len(stale)} stale lab(s) from killed runs: {', '.join(i.name for i in stale)}", "socklab down --stale")
    return Finding("leftovers", True, f"no stale labs ({len(found)} lab(s) up)")
