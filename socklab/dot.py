"""Graphviz's ``dot`` for ``socklab graph``: the host's where installed, else
one in ``socklab/graphviz``, so that drawing needs no host package (Docker
Desktop, or a machine where the user may not install any)."""

from __future__ import annotations

import io
import shutil
import subprocess
import tarfile
from typing import Callable, Optional

import docker

from .docker_backend import connect
from .errors import SocklabError
from .images import IMAGE_ROLE, PROJECT, Progress, ensure_graphviz

Dot = Callable[[list[str], str], bytes]  # dot's options and the DOT source -> the drawing


def _quiet(_: str) -> None:
    """Progress sink for callers that show nothing."""


def host_dot() -> Optional[Dot]:
    """The host's Graphviz ``dot``, or None where it is not installed."""
    dot = shutil.which("dot")
    if dot is None:
        return None
    found: str = dot

    def run(options: list[str], source: str) -> bytes:
        done = subprocess.run([found, *options], input=source.encode(), capture_output=True)
        if done.returncode != 0:
            raise SocklabError(f"dot failed: {done.stderr.decode(errors='replace').strip()}")
        return done.stdout

    return run


def container_dot(client: docker.DockerClient, progress: Progress = _quiet) -> Dot:
    """Graphviz's ``dot`` run in ``socklab/graphviz``: options and DOT source in, drawing out.

    The drawing comes back through the container's filesystem, not its log,
    which would mangle a PNG's bytes.
    """
    image = ensure_graphviz(client, progress)

    def run(options: list[str], source: str) -> bytes:
        script = 'printf "%s" "$1" > /tmp/in.dot; shift; exec dot "$@" -o /tmp/out /tmp/in.dot'
        container = client.containers.create(
            image,
            ["-c", script, "dot", source, *options],
            entrypoint=["sh"],
            network_disabled=True,
            labels={PROJECT: "1", IMAGE_ROLE: "graphviz"},
        )
        try:
            container.start()
            status = container.wait(timeout=60).get("StatusCode")
            if status != 0:
                raise SocklabError(f"dot failed: {container.logs().decode(errors='replace').strip()}")
            stream, _ = container.get_archive("/tmp/out")
            with tarfile.open(fileobj=io.BytesIO(b"".join(stream))) as tar:
                member = tar.extractfile("out")
                assert member is not None
                return member.read()
        finally:
            container.remove(force=True)

    return run


def find_dot(progress: Progress = _quiet) -> Dot:
    """The host's ``dot`` where installed, else the one in ``socklab/graphviz``."""
    return host_dot() or container_dot(connect(), progress)
