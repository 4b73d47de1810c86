"""What metadata.json records besides the parameters: the software, the
machine and the lab a run used, so that numbers can be traced and redone."""

from __future__ import annotations

import platform
import subprocess
import sys
from datetime import datetime, timezone
from pathlib import Path
from typing import TYPE_CHECKING, Optional

import docker.errors

from .. import __version__
from ..catalog import NODE_IMAGE
from ..docker_backend import DockerBackend
from ..labels import CONTENT
from .spec import Experiment

if TYPE_CHECKING:
    from ..lab import RunningLab

ROOT = Path(__file__).resolve().parent.parent.parent


def utc_now() -> str:
    return datetime.now(timezone.utc).isoformat(timespec="seconds")


def _git(*args: str) -> Optional[str]:
    try:
        done = subprocess.run(["git", "-C", str(ROOT), *args], capture_output=True, text=True, timeout=10)
    except (OSError, subprocess.TimeoutExpired):
        return None
    return done.stdout.strip() if done.returncode == 0 else None


def software() -> dict:
    """socklab's version and commit (dirty: uncommitted changes), Python, the host kernel."""
    status = _git("status", "--porcelain", "--untracked-files=no")
    return {
        "socklab": __version__,
        "commit": _git("rev-parse", "HEAD"),
        "commit_dirty": None if status is None else bool(status),
        "python": sys.version.split()[0],
        "kernel": platform.release(),
        "platform": platform.platform(),
    }


def docker_engine(backend: DockerBackend) -> dict:
    version = backend.client.version()
    facts = {
        "version": version.get("Version"),
        "api": version.get("ApiVersion"),
        "kernel": version.get("KernelVersion"),
    }
    try:
        image = backend.client.images.get(NODE_IMAGE)
        facts["node_image"] = {"id": image.id, "content": (image.labels or {}).get(CONTENT)}
    except docker.errors.ImageNotFound:
        facts["node_image"] = None
    return facts


def lab_facts(running: "RunningLab", experiment: Experiment) -> dict:
    """The instance, each node's addresses (they key the link's per-flow
    decisions) and the link's backend as it runs, with why it was picked."""
    facts: dict = {
        "name": experiment.lab.name,
        "file": str(experiment.lab.path),
        "instance": running.instance,
        "addresses": {node: running.addresses(node) for node in experiment.lab.nodes},
    }
    if experiment.link is not None:
        shown = running.link(experiment.link).show()
        facts["link"] = {
            "name": experiment.link,
            "backend": shown["backend"],
            "backend_reason": shown.get("reason"),
            "directions": list(shown.get("directions", {})),
        }
    return facts
