"""How faithful a lossy link is, through the ``udp-loss`` lab, on either backend.

    python benchmarks/link_fidelity.py [--backend userspace|netem]

Loss: measured loss inside the 99% binomial interval for 1, 10, 30, 50 %
over 5,000 datagrams each, sent at the fastest pace this machine answers
in full on a clean link, and counted in the two nodes' kernels as the netem
twins count it (probes.Crossing): an emulated guest's server socket still
overflows on a long flood, and those drops are the machine's, not the link's
(shown in their own column). Delay: 50 ms each way adds 100 ms to the median
round trip against a clean link in the same run; jitter's spread.
Reproducibility: same seed, same lost list (netem has no per-flow seed: it
shows two unseeded runs). Throughput: small datagrams per second through
the link. Prints tables. ``--backend netem`` runs the lab with its link's
seed removed and ``backend: netem`` (a kernel with sch_netem only).
"""

from __future__ import annotations

import argparse
import math
import sys
import tempfile
from pathlib import Path
from typing import Any

import yaml
from rich.console import Console
from rich.table import Table

from socklab import probes
from socklab.docker_backend import DockerBackend
from socklab.images import ensure_images
from socklab.lab import Options, RunningLab, up
from socklab.labfile import find_lab, load_lab

CLEAN: dict[str, Any] = dict(
    loss=0.0, delay_ms=0.0, jitter_ms=0.0, duplicate=0.0, reorder=0.0, corrupt=0.0, rate=None, loss_model="bernoulli"
)
N = 5000


def flood(lab: RunningLab, count: int, interval: float, source_port: int = 41000, wait: float = 2.0) -> dict:
    return probes.flood(lab, count=count, interval=interval, source_port=source_port, wait=wait)


def configure(lab: RunningLab, seed: int = 1, both: bool = False, **params: Any) -> None:
    link = lab.link("wan")
    link.set(seed=seed if link.backend == "userspace" else None, **CLEAN)
    if params:
        link.set(direction=None if both else "forward", **params)


def lab_file(backend: str, folder: Path) -> Path:
    """udp-loss as shipped (seeded: userspace on every kernel), or a copy of it on netem without the seed."""
    shipped = find_lab("udp-loss")
    if backend == "userspace":
        return shipped
    data = yaml.safe_load(shipped.read_text(encoding="utf-8"))
    data["links"]["wan"].pop("seed", None)
    data["links"]["wan"]["backend"] = "netem"
    data.pop("sheet", None)
    path = folder / "udp-loss.yaml"
    path.write_text(yaml.safe_dump(data), encoding="utf-8")
    return path


def server_overflows(lab: RunningLab) -> int:
    """Datagrams the server's socket had no room for, since it started."""
    return probes.udp_counters(lab, "server")["RcvbufErrors"]


def link_drops(lab: RunningLab) -> int:
    """Every packet the link did not pass on, both directions, since it started (the daemon's or netem's count)."""
    states = lab.link("wan").show()["directions"].values()
    return sum(
        c["counters"]["dropped"] + c["counters"].get("queue_overflows", 0) + c["counters"].get("overlimit", 0)
        for c in states
    )


def main() -> int:
    parser = argparse.ArgumentParser(description="How faithful a lossy link is, on either backend.")
    parser.add_argument("--backend", choices=("userspace", "netem"), default="userspace")
    chosen = parser.parse_args().backend
    backend = DockerBackend()
    ensure_images(backend.client)
    console = Console()
    with tempfile.TemporaryDirectory() as folder:
        lab = up(
            load_lab(lab_file(chosen, Path(folder))), backend, Options(instance=f"bench-link-{chosen}", ephemeral=True)
        )
        try:
            measure(lab, console)
        finally:
            lab.down()
    return 0


def measure(lab: RunningLab, console: Console) -> None:
    shown = lab.link("wan").show()
    console.print(f"backend {shown['backend']} ({shown['reason']})")
    configure(lab)
    pace = probes.steady_interval(lab)
    loss = Table(
        title=f"loss fidelity, forward direction, {N} datagrams each, one every {pace * 1000:g} ms"
        + (", seed 1" if shown["backend"] == "userspace" else "")
    )
    for column in ("configured", "sent", "lost", "measured", "99% interval", "inside", "server socket overflows"):
        loss.add_column(column)
    server = lab.address("server")  # an address: no DNS datagram is counted as sent
    for percent in (1, 10, 30, 50):
        configure(lab, loss=float(percent))
        overflows = server_overflows(lab)
        with probes.Crossing(lab, "client", "server") as crossing:
            probes.flood(lab, host=server, count=N, interval=pace, source_port=41000, wait=2.0)
        sent, lost = crossing.sent, crossing.lost
        p = percent / 100
        spread = 2.576 * math.sqrt(p * (1 - p) / sent)
        inside = p - spread <= lost / sent <= p + spread
        loss.add_row(
            f"{percent}%",
            str(sent),
            str(lost),
            f"{100 * lost / sent:.2f}%",
            f"{100 * (p - spread):.2f}..{100 * (p + spread):.2f}%",
            "yes" if inside else "NO",
            str(server_overflows(lab) - overflows),
        )
    console.print(loss)

    delay = Table(title="delay fidelity, 1,000 datagrams at 200/s")
    for column in ("link", "median RTT ms", "added ms", "p10..p90 ms", "min..max ms"):
        delay.add_column(column)
    configure(lab)
    base = flood(lab, 1000, 0.005)["rtt_ms"]
    delay.add_row(
        "clean",
        f"{base['median']:.2f}",
        "-",
        f"{base['p10']:.2f}..{base['p90']:.2f}",
        f"{base['min']:.2f}..{base['max']:.2f}",
    )
    delays: list[tuple[str, dict[str, Any]]] = [
        ("50 ms each way", dict(delay_ms=50.0)),
        ("50 ± 10 ms each way (uniform)", dict(delay_ms=50.0, jitter_ms=10.0)),
    ]
    for label, params in delays:
        configure(lab, both=True, **params)
        rtt = flood(lab, 1000, 0.005)["rtt_ms"]
        delay.add_row(
            label,
            f"{rtt['median']:.2f}",
            f"{rtt['median'] - base['median']:.2f}",
            f"{rtt['p10']:.2f}..{rtt['p90']:.2f}",
            f"{rtt['min']:.2f}..{rtt['max']:.2f}",
        )
    console.print(delay)
    console.print(
        "expected with jitter: the sum of two uniform ±10 ms gives round trips in 80..120 ms, p10..p90 about 89..111 ms"
    )

    runs: dict[int, list[list[int]]] = {}
    for seed in (1, 1, 2):
        configure(lab, seed=seed, loss=30.0)
        runs.setdefault(seed, []).append(flood(lab, 2000, pace)["lost"])
    replay = "seed 1 twice identical" if shown["backend"] == "userspace" else "netem, unseeded: two runs identical"
    console.print(
        f"reproducibility (30% loss, 2,000 datagrams): {replay}: {runs[1][0] == runs[1][1]}; "
        f"seed 2 differs: {runs[2][0] != runs[1][0]}; lost {len(runs[1][0])} / {len(runs[1][1])} / {len(runs[2][0])}"
    )

    throughput = Table(title=f"{shown['backend']} link throughput, 64-byte datagrams, 0% loss configured")
    for column in ("offered", "achieved /s", "answered", "lost", "link drops", "server socket overflows"):
        throughput.add_column(column)
    for label, interval in (("10,000/s paced", 0.0001), ("as fast as possible", 0.0)):
        configure(lab)
        before, daemon_before = server_overflows(lab), link_drops(lab)
        fast = flood(lab, 20000, interval, wait=2.0)
        throughput.add_row(
            label,
            f"{fast['sent'] / fast['send_duration_s']:,.0f}" if fast["send_duration_s"] else "-",
            str(fast["answered"]),
            str(len(fast["lost"])),
            str(link_drops(lab) - daemon_before),
            str(server_overflows(lab) - before),
        )
    console.print(throughput)


if __name__ == "__main__":
    sys.exit(main())
