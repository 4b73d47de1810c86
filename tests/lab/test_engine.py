"""The lab engine's promises: readiness, cleanup on every path, stale runs
found, two instances side by side, the CLI round trip of the quick start."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

from socklab import labels as L
from socklab.catalog import NODE_IMAGE
from socklab.docker_backend import DockerBackend
from socklab.errors import LabNotRunning, NodeNotReady
from socklab.lab import Options, RunningLab, instances, remove_stale, up
from socklab.labfile import load_lab

UDP_SCRIPT = """\
import socket
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.settimeout(2)
s.sendto(b"hello from the client", ("udp-server", 1234))
print(s.recvfrom(2048)[0].decode())
"""


@pytest.fixture(scope="module")
def backend() -> DockerBackend:
    return DockerBackend()


def leftovers(backend: DockerBackend, instance: str) -> tuple[int, int]:
    return len(backend.containers({L.LAB: instance})), len(backend.networks({L.LAB: instance}))


def unique(name: str) -> str:
    return f"{name}-e{os.getpid()}"


def socklab(*args: str, **kwargs) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "socklab.cli", *args], capture_output=True, text=True, timeout=120, **kwargs
    )


def test_quick_start_round_trip_through_the_cli(backend: DockerBackend) -> None:
    instance = unique("udp-echo")
    try:
        assert socklab("up", "udp-echo", "--instance", instance, "-q").returncode == 0
        done = socklab("exec", "--instance", instance, "udp-echo", "client", "--", "python3", "-", input=UDP_SCRIPT)
        assert done.stdout.strip() == "HELLO FROM THE CLIENT", done.stderr
        failing = socklab("exec", "--instance", instance, "udp-echo", "client", "--", "sh", "-c", "exit 7")
        assert failing.returncode == 7
    finally:
        socklab("down", "udp-echo", "--instance", instance)
    assert leftovers(backend, instance) == (0, 0)


def write_lab(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "probe-lab.yaml"
    path.write_text(textwrap.dedent(text).replace("NODE_IMAGE", NODE_IMAGE))
    return path


def test_named_readiness_strategies(backend: DockerBackend, tmp_path: Path) -> None:
    path = write_lab(
        tmp_path,
        """\
        networks: {lan: {}}
        nodes:
          by-tcp: {service: tcp-threaded, networks: [lan], ready: {tcp: 1234}}
          by-udp: {service: udp-server, networks: [lan], ready: {udp: 1234, send: ping}}
          by-command: {service: client, networks: [lan], ready: {command: "test -d /opt/socklab/services"}}
          by-log: {service: blocks, networks: [lan]}
        """,
    )
    running = up(load_lab(path), backend, Options(instance=unique("ready"), ephemeral=True))
    try:
        assert {s.state for s in running.status()} == {"running"}
    finally:
        running.down()


def test_node_never_ready_fails_up_with_its_logs_and_leaves_nothing(backend: DockerBackend, tmp_path: Path) -> None:
    path = write_lab(
        tmp_path,
        """\
        networks: {lan: {}}
        nodes:
          fine: {service: udp-server, networks: [lan]}
          broken:
            image: NODE_IMAGE
            command: [sh, -c, "echo starting up; echo cannot bind >&2; exit 3"]
            ready: {log: "ready tcp/1234", timeout: 5}
            networks: [lan]
        """,
    )
    instance = unique("broken")
    with pytest.raises(NodeNotReady) as info:
        up(load_lab(path), backend, Options(instance=instance, ephemeral=True))
    assert info.value.node == "broken" and "exited with status 3" in str(info.value)
    assert "cannot bind" in info.value.last_logs
    assert leftovers(backend, instance) == (0, 0)


def test_two_instances_side_by_side_get_distinct_subnets(backend: DockerBackend) -> None:
    lab = load_lab("udp-echo")
    first = up(lab, backend, Options(instance=unique("twin-a"), ephemeral=True))
    try:
        second = up(lab, backend, Options(instance=unique("twin-b"), ephemeral=True))
        try:
            assert first.subnet("lan") != second.subnet("lan")
            assert second.address("udp-server").endswith(".10"), (
                "a fixed address keeps its host part in the moved subnet"
            )
            for running in (first, second):
                assert running.python("client", UDP_SCRIPT).stdout.strip() == "HELLO FROM THE CLIENT"
        finally:
            second.down()
    finally:
        first.down()


def test_a_killed_run_is_found_stale_and_removed(backend: DockerBackend) -> None:
    instance = unique("killed")
    script = (
        "import os; from socklab.lab import up, Options; from socklab.labfile import load_lab; "
        "from socklab.docker_backend import DockerBackend; "
        f"up(load_lab('udp-echo'), DockerBackend(), Options(instance={instance!r}, ephemeral=True)); os._exit(0)"
    )
    subprocess.run([sys.executable, "-c", script], check=True, timeout=60)
    found = {i.name: i for i in instances(backend)}
    assert found[instance].stale, found[instance]
    assert instance in remove_stale(backend)
    assert leftovers(backend, instance) == (0, 0)


def _ignore_sigint() -> None:
    """What a shell does to a job it starts in the background."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)


@pytest.mark.parametrize(
    "sig, background",
    [(signal.SIGINT, False), (signal.SIGINT, True), (signal.SIGTERM, False)],
    ids=["ctrl-c", "ctrl-c-started-in-background", "sigterm"],
)
def test_interrupted_up_leaves_nothing(backend: DockerBackend, sig: signal.Signals, background: bool) -> None:
    instance = unique(f"interrupted-{sig.value}{'b' if background else ''}")
    process = subprocess.Popen(
        [sys.executable, "-m", "socklab.cli", "up", "lecture", "--instance", instance, "-q"],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
        preexec_fn=_ignore_sigint if background else None,
    )
    try:
        deadline = time.monotonic() + 30
        while not backend.containers({L.LAB: instance}) and time.monotonic() < deadline:
            time.sleep(0.02)
        process.send_signal(sig)
        _, stderr = process.communicate(timeout=60)
        assert process.returncode != 0, "up should report the interruption"
        assert leftovers(backend, instance) == (0, 0), stderr
    finally:
        process.kill()
        backend.remove({L.LAB: instance})
    with pytest.raises(LabNotRunning):
        RunningLab.attach(backend, instance)
