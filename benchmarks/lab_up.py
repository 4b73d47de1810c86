"""How close ``socklab up``/``down`` come to plain parallel ``docker run``.

Brings a 10-node lab up and down with socklab (networks, containers,
readiness), then creates and removes the same 10 containers with plain
parallel ``docker run -d`` / ``docker rm -f`` on one network; repeats, and
prints the medians and their ratio, all measured in this one run.
"""

from __future__ import annotations

import statistics
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from rich.console import Console
from rich.table import Table

from socklab.catalog import NODE_IMAGE
from socklab.docker_backend import DockerBackend
from socklab.images import ensure_images
from socklab.lab import Options, up
from socklab.labfile import load_lab

LAB = Path(__file__).with_name("ten-nodes.yaml")
ROUNDS = 5


def docker(*args: str) -> None:
    subprocess.run(["docker", *args], check=True, capture_output=True)


def plain_round() -> tuple[float, float]:
    network = "socklab-bench-plain"
    names = [f"socklab-bench-plain-{i}" for i in range(10)]
    started = time.monotonic()
    docker("network", "create", "--internal", "--label", "org.socklab=1", network)
    with ThreadPoolExecutor(max_workers=10) as pool:
        list(
            pool.map(
                lambda name: docker(
                    "run",
                    "-d",
                    "--init",
                    "--label",
                    "org.socklab=1",
                    "--network",
                    network,
                    "--name",
                    name,
                    NODE_IMAGE,
                    "udp-server",
                ),
                names,
            )
        )
    up_time = time.monotonic() - started
    started = time.monotonic()
    docker("rm", "-f", *names)
    docker("network", "rm", network)
    return up_time, time.monotonic() - started


def socklab_round(backend: DockerBackend) -> tuple[float, float]:
    lab = load_lab(LAB)
    started = time.monotonic()
    running = up(lab, backend, Options(instance="bench-ten", ephemeral=True))
    up_time = time.monotonic() - started
    started = time.monotonic()
    running.down()
    return up_time, time.monotonic() - started


def main() -> int:
    backend = DockerBackend()
    ensure_images(backend.client)
    console = Console(stderr=True)
    plain, ours = [], []
    for index in range(ROUNDS):
        console.print(f"round {index + 1}/{ROUNDS}")
        plain.append(plain_round())
        ours.append(socklab_round(backend))
    plain_up = statistics.median(p[0] for p in plain)
    plain_down = statistics.median(p[1] for p in plain)
    our_up = statistics.median(o[0] for o in ours)
    our_down = statistics.median(o[1] for o in ours)
    table = Table(title=f"10 nodes, median of {ROUNDS} rounds (seconds)")
    for column in ("", "up", "down"):
        table.add_column(column)
    table.add_row("plain parallel docker run", f"{plain_up:.2f}", f"{plain_down:.2f}")
    table.add_row("socklab (with readiness)", f"{our_up:.2f}", f"{our_down:.2f}")
    table.add_row("ratio socklab / plain", f"{our_up / plain_up:.2f}", f"{our_down / plain_down:.2f}")
    Console().print(table)
    goals = our_up <= 1.5 * plain_up and our_up < 2.5 and our_down < 1.0
    Console().print(f"goal (up <= 1.5x plain and < 2.5 s, down < 1 s): {'met' if goals else 'NOT met'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
