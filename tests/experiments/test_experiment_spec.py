"""Experiment files: the shipped ones load, CI variants shrink them, and
mistakes are reported with file and line before anything starts."""

from __future__ import annotations

from pathlib import Path

import pytest

from socklab.errors import BadInput, LabFileError
from socklab.experiments.analysis import rtt_seconds
from socklab.experiments.spec import experiments_dir, load_experiment

LAB = experiments_dir() / "lossy-link.lab.yaml"
SHIPPED = ["udp-backoff", "server-models", "tcp-under-loss"]


def write(tmp_path: Path, text: str, name: str = "exp.yaml") -> Path:
    path = tmp_path / name
    path.write_text(text.replace("LAB", str(LAB)))
    return path


VALID = """\
kind: udp-backoff
lab: LAB
link: wan
seed: 3
trials: 4
sweep:
  loss: {from: 0%, to: 30%, step: 10%}
measure:
  node: client
  options: {host: udp-server}
"""


@pytest.mark.parametrize("name", SHIPPED)
def test_shipped_experiments_and_their_ci_variants_load(name: str) -> None:
    full, small = load_experiment(name), load_experiment(f"{name}-ci")
    assert small.kind == full.kind and small.lab.name == full.lab.name
    assert len(small.points) * small.trials < len(full.points) * full.trials


def test_udp_backoff_has_the_issue_columns_and_enough_trials_for_the_model_check() -> None:
    experiment = load_experiment("udp-backoff")
    assert experiment.columns[:4] == ["loss", "trial", "attempts", "outcome"]
    assert experiment.trials >= 200
    assert [p["loss"] for p in experiment.points] == ["0", "10", "20", "30", "40", "50", "60"]


def test_a_range_includes_both_ends_and_values_are_written_as_parsed(tmp_path: Path) -> None:
    experiment = load_experiment(write(tmp_path, VALID))
    assert [p["loss"] for p in experiment.points] == ["0", "10", "20", "30"]
    assert experiment.link_changes(experiment.points[2])["loss"] == 20.0


def test_seed_option_replaces_the_files_seed_and_changes_every_point_seed(tmp_path: Path) -> None:
    path = write(tmp_path, VALID)
    three, four = load_experiment(path), load_experiment(path, seed=4)
    assert three.seed == 3 and four.seed == 4
    assert {three.point_seed(p) for p in three.points}.isdisjoint({four.point_seed(p) for p in four.points})
    assert len({three.point_seed(p) for p in three.points}) == len(three.points)


def test_every_point_and_trial_gets_its_own_source_port(tmp_path: Path) -> None:
    experiment = load_experiment(write(tmp_path, VALID))
    ports = {experiment.first_port(i) + t for i in range(len(experiment.points)) for t in range(experiment.trials)}
    assert len(ports) == len(experiment.points) * experiment.trials


def test_a_variant_replaces_whole_top_level_keys(tmp_path: Path) -> None:
    write(tmp_path, VALID, "base.yaml")
    variant = write(tmp_path, f"extends: {tmp_path / 'base.yaml'}\ntrials: 2\nsweep:\n  loss: [5%]\n", "small.yaml")
    experiment = load_experiment(variant)
    assert experiment.trials == 2 and experiment.points == ({"loss": "5"},) and experiment.seed == 3


@pytest.mark.parametrize(
    "change, line, message",
    [
        (("trials: 4", "trials: four"), 5, "trials must be a whole number"),
        (("kind: udp-backoff", "kind: udp-magic"), 1, "unknown kind 'udp-magic'"),
        (("link: wan", "link: lan"), 3, "has no link 'lan'"),
        (("  loss: {from: 0%, to: 30%, step: 10%}", "  loss: [0%, 130%]"), 7, "outside 0%..100%"),
        (("  loss: {from: 0%, to: 30%, step: 10%}", "  jitter: [1ms]"), 6, "'loss' is missing"),
        (("  node: client", "  node: laptop"), 9, "has no node 'laptop'"),
        (("seed: 3", "seeds: 3"), 4, "unknown key 'seeds'"),
        (("trials: 4", "trials: 4000"), 5, "source ports up to"),
    ],
)
def test_mistakes_name_file_and_line(tmp_path: Path, change: tuple[str, str], line: int, message: str) -> None:
    path = write(tmp_path, VALID.replace(*change))
    with pytest.raises(LabFileError) as caught:
        load_experiment(path)
    assert caught.value.path == path and caught.value.line == line
    assert message in str(caught.value)


def test_an_unknown_experiment_lists_the_known_ones() -> None:
    with pytest.raises(BadInput, match="unknown experiment 'nope'.*udp-backoff"):
        load_experiment("nope")


def test_a_netem_link_is_refused_before_anything_starts(tmp_path: Path) -> None:
    """Every experiment is seeded, and backend netem cannot replay a seed."""
    lab = tmp_path / "netem.lab.yaml"
    lab.write_text(LAB.read_text().replace("    backend: auto\n    seed: 1\n", "    backend: netem\n"))
    path = tmp_path / "exp.yaml"
    path.write_text(VALID.replace("LAB", str(lab)))
    with pytest.raises(LabFileError, match="cannot replay the experiment's seed") as info:
        load_experiment(path)
    assert info.value.line == 3


def test_the_round_trip_a_swept_delay_adds_is_both_directions(tmp_path: Path) -> None:
    """The TCP models fall back on it when no lossless UDP point measured the round trip."""
    text = VALID.replace(
        "loss: {from: 0%, to: 30%, step: 10%}", "loss: [0%]\n  delay: {from: 10ms, to: 20ms, step: 10ms}"
    )
    experiment = load_experiment(write(tmp_path, text))
    assert [rtt_seconds(experiment, point) for point in experiment.points] == [0.02, 0.04]
