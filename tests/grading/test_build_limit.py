"""The process limit of a build on Docker's systemd driver (users' machines), on whatever Docker runs here.

A privileged helper sets the limit of a systemd slice that the build's steps
join. Where Docker refuses it (here: runc cannot apply a privileged
container's capabilities), the build has no process limit but its memory and
deadline, and nothing is left behind either way. In the emulated users'
machines (tests/machines), the guests' grade step shows the limit refusing
build-fork-bomb's 300 processes.
"""

from __future__ import annotations

import uuid
from pathlib import Path

import docker

from socklab import labels as L
from socklab.grading.build import BUILD_PIDS, _systemd_slice

SLICES = Path("/sys/fs/cgroup/socklab.slice/socklab-build.slice")


def test_a_build_slice_gets_its_limit_or_none_and_its_helper_goes() -> None:
    client = docker.from_env()
    run = f"test-slice-{uuid.uuid4().hex[:8]}"
    mine = {"label": f"{L.RUN}={run}"}
    with _systemd_slice(client, {L.PROJECT: "1", L.RUN: run}) as unit:
        if unit is not None:
            helpers = client.containers.list(all=True, filters=mine)
            assert [h.labels[L.ROLE] for h in helpers] == ["build-limit"]
            assert (SLICES / unit / "pids.max").read_text().strip() == str(BUILD_PIDS)
    assert client.containers.list(all=True, filters=mine) == []
