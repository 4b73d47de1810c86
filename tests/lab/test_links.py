"""The lossy link's parameters, each seen in real packets, and live changes.

The link is ``wan`` of the ``udp-loss`` lab. ``flood`` (in the client node)
sends numbered datagrams to the UDP server and reports what came back; only
the forward direction is impaired unless a test says otherwise, so what the
client sees is what was configured.
"""

from __future__ import annotations

import math
import tempfile
import textwrap
from pathlib import Path

import pytest

from socklab import probes
from socklab.docker_backend import DockerBackend
from socklab.errors import SocklabError
from socklab.lab import Options, up
from socklab.labfile import load_lab
from socklab.links import netem_available

pytestmark = pytest.mark.lab("udp-loss")

CLEAN = dict(
    loss=0.0, delay_ms=0.0, jitter_ms=0.0, duplicate=0.0, reorder=0.0, corrupt=0.0, rate=None, loss_model="bernoulli"
)


def configure(lab, seed: int = 1, **forward: object) -> None:
    link = lab.link("wan")
    link.set(seed=seed, **CLEAN)
    if forward:
        link.set(direction="forward", **forward)


def binomial_interval(n: int, p: float, z: float = 2.576) -> tuple[float, float]:
    spread = z * math.sqrt(p * (1 - p) / n)
    return p - spread, p + spread


def test_loss_rate_and_its_reproducibility(lab) -> None:
    configure(lab, seed=3, loss=30.0)
    first = probes.flood(lab, count=1000)
    low, high = binomial_interval(1000, 0.30)
    assert low <= len(first["lost"]) / 1000 <= high, f"30% loss: lost {len(first['lost'])} of 1000"
    configure(lab, seed=3, loss=30.0)
    assert probes.flood(lab, count=1000)["lost"] == first["lost"], (
        "same seed, same flow: the same datagrams must be lost"
    )
    configure(lab, seed=4, loss=30.0)
    assert probes.flood(lab, count=1000)["lost"] != first["lost"], "another seed must lose other datagrams"


def test_live_change_while_the_lab_runs(lab) -> None:
    configure(lab)
    assert probes.flood(lab, count=300)["lost"] == []
    lab.link("wan").set(direction="forward", loss=50.0)
    lost = len(probes.flood(lab, count=300, source_port=40001)["lost"])
    low, high = binomial_interval(300, 0.5)
    assert low * 300 <= lost <= high * 300, f"after set --loss 50%: lost {lost} of 300"
    state = lab.link("wan").show()["directions"]["client->server"]
    assert state["params"]["loss"] == 50.0 and state["counters"]["dropped"] >= lost


def test_delay_and_jitter(lab) -> None:
    configure(lab, delay_ms=50.0)
    rtt = probes.flood(lab, count=200, interval=0.005)["rtt_ms"]
    assert 49.0 <= rtt["median"] <= 53.0, f"50 ms one way: round trip {rtt}"
    configure(lab, delay_ms=50.0, jitter_ms=10.0)
    rtt = probes.flood(lab, count=400, interval=0.005)["rtt_ms"]
    # The minimum cannot beat the link; the maximum is left to the scheduler.
    assert 45.0 <= rtt["median"] <= 56.0 and rtt["min"] >= 39.0 and rtt["p90"] <= 63.0, f"50±10 ms: {rtt}"
    assert rtt["p90"] - rtt["p10"] >= 10.0, f"jitter of ±10 ms should spread the round trips: {rtt}"


def test_duplicate_every_datagram(lab) -> None:
    configure(lab, duplicate=100.0)
    result = probes.flood(lab, count=200)
    assert result["answered"] == 200 and result["duplicates"] == 200, result


def test_reorder_skips_the_delay(lab) -> None:
    configure(lab, delay_ms=20.0, reorder=25.0)
    result = probes.flood(lab, count=400, interval=0.002)
    assert result["reordered"] > 20, result
    assert result["rtt_ms"]["min"] < 5.0 and result["rtt_ms"]["max"] >= 19.0, result["rtt_ms"]


def test_corrupted_datagrams_fail_their_checksum(lab) -> None:
    configure(lab, corrupt=100.0)
    result = probes.flood(lab, count=100)
    counters = lab.link("wan").show()["directions"]["client->server"]["counters"]
    assert result["answered"] == 0 and counters["corrupted"] >= 100, (result, counters)


def test_rate_limit_spreads_a_burst(lab) -> None:
    configure(lab, rate="1mbit")
    result = probes.flood(lab, count=100, interval=0.0, size=1000, wait=2.0)
    assert result["answered"] == 100, result
    assert result["rtt_ms"]["max"] >= 650.0, f"100 x 1000 B at 1 Mbit/s take about 0.8 s: {result['rtt_ms']}"


def test_gilbert_elliott_losses_come_in_bursts(lab) -> None:
    configure(lab, loss_model="gilbert-elliott", ge_p=5.0, ge_r=25.0, ge_h=100.0, ge_k=0.0)
    lost = probes.flood(lab, count=2000, interval=0.0005)["lost"]
    bursts = 1 + sum(1 for a, b in zip(lost, lost[1:]) if b != a + 1)
    assert len(lost) > 50 and len(lost) / bursts > 2.5, (
        f"{len(lost)} lost in {bursts} bursts: mean burst should be near 1/r = 4"
    )


def test_backend_netem_fails_clearly_without_netem_and_auto_falls_back(lab) -> None:
    backend = DockerBackend()
    if netem_available(backend):
        pytest.skip("this kernel has sch_netem: the fallback is not exercised here")
    assert lab.link("wan").show()["backend"] == "userspace"
    text = textwrap.dedent("""\
        networks: {lan: {}}
        nodes:
          a: {service: udp-server, networks: [lan]}
          b: {service: client, networks: [lan]}
        links:
          wan: {between: [b, a], backend: netem, loss: 10%}
        """)
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "netem-only.yaml"
        path.write_text(text)
        with pytest.raises(SocklabError, match="no sch_netem"):
            up(load_lab(path), backend, Options(instance=f"netem-{lab.instance}", ephemeral=True))
    assert not backend.containers({"org.socklab.lab": f"netem-{lab.instance}"})


def test_the_kernels_count_the_drops_the_link_counts(lab) -> None:
    """probes.Crossing (what left the client's kernel and never reached the server's)
    agrees with the daemon's own count: the measure the netem twins rely on."""
    configure(lab, seed=5, loss=30.0)

    def dropped() -> int:
        return lab.link("wan").show()["directions"]["client->server"]["counters"]["dropped"]

    before = dropped()
    with probes.Crossing(lab, "client", "server") as counted:
        probes.flood(lab, host=lab.address("server"), count=500)
    assert counted.sent == 500 and counted.lost == dropped() - before > 50, (counted.sent, counted.lost, before)
