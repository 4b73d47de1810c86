"""The small (CI) versions of the shipped experiments, run for real.

Each brings its lab up and down; together they take well under two
minutes. The udp-backoff ones show what the issue asks: same seed, same
loss-determined rows; another seed, other rows; an interrupted run resumes
to the rows an uninterrupted one gives; the lab never stays behind.
"""

from __future__ import annotations

import csv
import json
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from socklab import labels as L
from socklab.docker_backend import DockerBackend
from socklab.experiments import run_command

pytestmark = pytest.mark.slow
HERE = Path(__file__).parent
DETERMINED = ("loss", "trial", "attempts", "outcome")


def rows(out: Path) -> list[dict[str, str]]:
    with (out / "results.csv").open(newline="") as handle:
        return list(csv.DictReader(handle))


def determined(out: Path) -> list[tuple[str, ...]]:
    return [tuple(row[column] for column in DETERMINED) for row in rows(out)]


def metadata(out: Path) -> dict:
    return json.loads((out / "metadata.json").read_text())


def assert_lab_gone(out: Path) -> None:
    instance = metadata(out)["lab"]["instance"]
    backend = DockerBackend()
    assert not backend.containers({L.LAB: instance}) and not backend.networks({L.LAB: instance}), (
        f"lab {instance} was left behind"
    )


def test_udp_backoff_same_seed_same_rows_other_seed_other_rows(tmp_path: Path) -> None:
    a, b, c = tmp_path / "A", tmp_path / "B", tmp_path / "C"
    for out, seed in ((a, 1), (b, 1), (c, 2)):
        assert run_command("udp-backoff-ci", out, seed) == 0
        assert_lab_gone(out)
    assert list(rows(a)[0])[:4] == list(DETERMINED)
    assert metadata(a)["lab"]["addresses"] == metadata(b)["lab"]["addresses"], (
        "the lab moved: per-flow decisions depend on addresses"
    )
    assert determined(a) == determined(b), "same seed, same flows: the loss-determined rows must be identical"
    assert determined(a) != determined(c), "another seed must draw other losses"
    assert {row["outcome"] for row in rows(a)} <= {"answered", "gave-up"}
    assert any(int(row["attempts"]) > 1 for row in rows(a)), (
        "30% loss each way retried nothing: the link is not in the path"
    )
    facts = metadata(a)
    assert facts["parameters"]["seed"] == 1 and facts["lab"]["link"]["backend"] == "userspace", (
        "a seeded run must replay: userspace on every kernel"
    )
    assert "seed" in facts["lab"]["link"]["backend_reason"], facts["lab"]["link"]
    assert "Every retry is a drop the link counted" in (a / "summary.md").read_text(), (
        "each retry must match a drop the link counted"
    )
    assert facts["software"]["kernel"] and facts["docker"]["version"] and facts["started"] <= facts["ended"]
    assert (a / "udp-backoff.png").stat().st_size > 10_000
    assert "| loss (%) | trials | mean attempts | model |" in (a / "summary.md").read_text()


def test_an_interrupted_run_resumes_to_the_rows_of_an_uninterrupted_one(tmp_path: Path) -> None:
    experiment, whole, broken = str(HERE / "udp-backoff-slow.yaml"), tmp_path / "whole", tmp_path / "broken"
    command = [sys.executable, "-m", "socklab.cli", "experiment", "run", experiment, "--out", str(broken), "-q"]
    child = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    try:
        deadline = time.monotonic() + 60
        while (
            not ((broken / "results.csv").is_file() and len(rows(broken)) >= 20)
            and time.monotonic() < deadline
            and child.poll() is None
        ):
            time.sleep(0.02)
        child.send_signal(signal.SIGINT)  # what Ctrl-C does: mid-way through the slow second point
        assert child.wait(timeout=60) != 0, child.communicate()[1][-2000:]
        assert len(rows(broken)) == 20, "the interruption should land in the second point"
        assert metadata(broken)["runs"][-1]["status"] == "interrupted"
    finally:
        child.kill()  # a failed check must not leave the run going
        child.wait(timeout=30)
    assert_lab_gone(broken)

    assert run_command(experiment, broken, None) == 0
    assert run_command(experiment, whole, None) == 0
    assert [run["status"] for run in metadata(broken)["runs"]] == ["interrupted", "complete"]
    assert determined(broken) == determined(whole)


def test_server_models_small(tmp_path: Path) -> None:
    assert run_command("server-models-ci", tmp_path, None) == 0
    assert_lab_gone(tmp_path)
    results = rows(tmp_path)
    assert len(results) == 10 and all(row["errors"] == "0" for row in results)
    throughput = {(row["server"], row["clients"]): float(row["throughput_rps"]) for row in results}
    # six clients thinking 20 ms each: the sequential server serves one of them at a time
    assert throughput[("tcp-threaded", "6")] > 3 * throughput[("tcp-sequential", "6")]
    assert throughput[("tcp-pool", "6")] > 2 * throughput[("tcp-sequential", "6")]
    assert (tmp_path / "server-models.png").is_file()
    assert "## tcp-asyncio" in (tmp_path / "summary.md").read_text()


def test_tcp_under_loss_small(tmp_path: Path) -> None:
    assert run_command("tcp-under-loss-ci", tmp_path, None) == 0
    assert_lab_gone(tmp_path)
    results = rows(tmp_path)
    assert len(results) == 8 and all(row["outcome"] == "complete" for row in results)
    goodput = {(row["loss"], row["protocol"]): float(row["goodput_kBps"]) for row in results}
    assert goodput[("0", "tcp")] > goodput[("0", "udp")], "without loss a TCP stream beats one datagram per round trip"
    assert (tmp_path / "tcp-under-loss.png").is_file()
