"""compose/udp-echo.yml runs under Compose: a datagram from the client comes back upper-cased.

The Compose file uses the lab's fixed subnets and socklab's names, and
Compose adopts (and ``down`` removes) a network that already has its name,
so the test refuses to start beside anything holding either.
"""

from __future__ import annotations

import ipaddress
import os
import shutil
import subprocess
import uuid
from typing import Optional

import docker
import pytest

from socklab.compose import compose_dir
from socklab.images import ensure_images
from socklab.labfile import load_lab

LAB = "udp-echo"
COMPOSE_FILE = compose_dir() / f"{LAB}.yml"
PREFIX = f"socklab-{LAB}-"
ECHO = """\
import socket, sys
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.settimeout(0.5)
for attempt in range(30):  # the server may still be starting: Compose does not wait for readiness
    s.sendto(b"hello compose", ("udp-server", 1234))
    try:
        print(s.recv(100).decode())
        sys.exit(0)
    except (socket.timeout, ConnectionRefusedError):
        pass
sys.exit("no answer from udp-server:1234")
"""


def _compose_commands() -> list:
    """docker-compose v1 and docker compose v2, each skipped with its reason when absent."""
    v1 = pytest.param(["docker-compose"], id="docker-compose-v1")
    if shutil.which("docker-compose") is None:
        v1 = pytest.param(
            ["docker-compose"],
            id="docker-compose-v1",
            marks=pytest.mark.skip(reason="docker-compose (v1) is not installed"),
        )
    v2_present = (
        shutil.which("docker") is not None
        and subprocess.run(["docker", "compose", "version"], capture_output=True).returncode == 0
    )
    v2 = pytest.param(["docker", "compose"], id="docker-compose-v2")
    if not v2_present:
        v2 = pytest.param(
            ["docker", "compose"],
            id="docker-compose-v2",
            marks=pytest.mark.skip(
                reason="'docker compose' (v2 plugin) is not installed: `docker compose version` fails"
            ),
        )
    return [v1, v2]


@pytest.fixture(scope="module")
def client() -> docker.DockerClient:
    client = docker.from_env()
    ensure_images(client)
    return client


def _container_names(client: docker.DockerClient, filters: Optional[dict] = None) -> list[str]:
    """Names from one listing: other labs come and go meanwhile, so no inspecting one by one."""
    return [name.lstrip("/") for c in client.api.containers(all=True, filters=filters) for name in c["Names"]]


def _refuse_collisions(client: docker.DockerClient) -> None:
    """Fail, naming the culprit, when a name or subnet of the lab is taken."""
    taken = [n for n in _container_names(client) if n.startswith(PREFIX)]
    taken += [n["Name"] for n in client.api.networks() if n["Name"].startswith(PREFIX)]
    if taken:
        pytest.fail(f"{', '.join(sorted(taken))} already exist(s): is `socklab up {LAB}` running? (socklab down {LAB})")
    wanted = [s for net in load_lab(LAB).networks.values() for s in (net.subnet, net.subnet6) if s is not None]
    for net in client.api.networks():
        for config in (net.get("IPAM") or {}).get("Config") or []:
            if not config.get("Subnet"):
                continue
            subnet = ipaddress.ip_network(config["Subnet"], strict=False)
            clash = [str(w) for w in wanted if w.version == subnet.version and w.overlaps(subnet)]
            if clash:
                pytest.fail(
                    f"compose/{LAB}.yml needs {', '.join(clash)}, but Docker network {net['Name']!r} holds {subnet}; "
                    "remove it or stop what uses it"
                )


@pytest.mark.parametrize("compose", _compose_commands())
def test_udp_echo_runs_under_compose(client: docker.DockerClient, compose: list[str]) -> None:
    _refuse_collisions(client)
    project = f"socklab-compose-test-{os.getpid()}-{uuid.uuid4().hex[:6]}"
    base = [*compose, "-p", project, "-f", str(COMPOSE_FILE)]
    try:
        started = subprocess.run([*base, "up", "-d"], capture_output=True, text=True, timeout=180)
        assert started.returncode == 0, f"{' '.join(base)} up -d failed:\n{started.stdout}{started.stderr}"
        echo = subprocess.run(
            ["docker", "exec", "-i", f"{PREFIX}client", "python3", "-"],
            input=ECHO,
            capture_output=True,
            text=True,
            timeout=60,
        )
        assert echo.returncode == 0, f"the client got no answer:\n{echo.stdout}{echo.stderr}"
        assert echo.stdout.strip() == "HELLO COMPOSE"
    finally:
        down = subprocess.run([*base, "down", "-v", "--remove-orphans"], capture_output=True, text=True, timeout=180)
        label = {"label": f"com.docker.compose.project={project}"}
        left = _container_names(client, label) + [n["Name"] for n in client.api.networks(filters=label)]
        assert down.returncode == 0 and not left, f"{' '.join(base)} down -v left {left}:\n{down.stdout}{down.stderr}"
