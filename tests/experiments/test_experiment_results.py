"""results.csv and resuming, without Docker: what an interrupted run left
is kept, a row cut short is dropped, and a different run is refused."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from socklab.errors import BadInput
from socklab.experiments.measure import batches, command, trial_spec
from socklab.experiments.results import METADATA, RESULTS, ResultsFile, previous_run
from socklab.experiments.runner import _pending, _sorted
from socklab.experiments.spec import load_experiment

COLUMNS = ["loss", "trial", "attempts", "outcome", "latency_s"]


def test_a_row_cut_short_by_a_crash_is_dropped_and_the_rest_kept(tmp_path: Path) -> None:
    path = tmp_path / RESULTS
    path.write_text("loss,trial,attempts,outcome,latency_s\n0,0,1,answered,0.001\n0,1,1,answ")
    results = ResultsFile(path, COLUMNS)
    rows = results.read()
    assert rows == [{"loss": "0", "trial": "0", "attempts": "1", "outcome": "answered", "latency_s": "0.001"}]
    results.rewrite(rows)
    results.append([{"loss": "0", "trial": "1", "attempts": "2", "outcome": "answered", "latency_s": "0.1"}])
    assert path.read_text().splitlines()[1:] == ["0,0,1,answered,0.001", "0,1,2,answered,0.1"]


def test_results_of_another_experiment_are_not_read_as_ours(tmp_path: Path) -> None:
    (tmp_path / RESULTS).write_text("server,clients,trial\n")
    with pytest.raises(BadInput, match="not this experiment's"):
        ResultsFile(tmp_path / RESULTS, COLUMNS).read()


def test_resuming_needs_the_same_parameters(tmp_path: Path) -> None:
    one, two = load_experiment("udp-backoff-ci"), load_experiment("udp-backoff-ci", seed=2)
    assert previous_run(tmp_path, one.identity()) is None
    (tmp_path / METADATA).write_text(json.dumps({"parameters": one.identity()}))
    assert previous_run(tmp_path, one.identity())["parameters"]["seed"] == 1
    with pytest.raises(BadInput, match=r"seed 1 there, 2 now.*never mixed"):
        previous_run(tmp_path, two.identity())


def test_results_without_metadata_are_refused(tmp_path: Path) -> None:
    (tmp_path / RESULTS).write_text(",".join(COLUMNS) + "\n")
    with pytest.raises(BadInput, match="without metadata.json"):
        previous_run(tmp_path, load_experiment("udp-backoff-ci").identity())


def test_only_missing_point_trial_pairs_are_pending_and_rows_sort_by_sweep_then_trial() -> None:
    experiment = load_experiment("udp-backoff-ci")  # loss 0 and 30, 20 trials each
    rows = [{"loss": "30", "trial": "3"}] + [{"loss": "0", "trial": str(t)} for t in range(19, -1, -1)]
    pending = _pending(experiment, rows)
    assert [(index, point, trials[:4]) for index, point, trials in pending] == [(1, {"loss": "30"}, [0, 1, 2, 4])]
    assert len(pending[0][2]) == 19
    ordered = _sorted(experiment, rows)
    assert [(r["loss"], r["trial"]) for r in ordered[:3]] == [("0", "0"), ("0", "1"), ("0", "2")]
    assert ordered[-1] == {"loss": "30", "trial": "3"}


def test_a_batch_sends_each_trial_from_its_own_port_with_the_swept_options() -> None:
    experiment = load_experiment("tcp-under-loss-ci")
    assert trial_spec([0, 1, 2, 5, 7, 8]) == "0-2,5,7-8"
    assert batches(list(range(5)), experiment) == [[0, 1, 2, 3], [4]]
    argv = command(experiment, 3, experiment.points[3], [0, 1])
    assert argv[:6] == [
        "experiment-client",
        "transfer",
        "--trials",
        "0-1",
        "--first-port",
        str(24000 + 3 * experiment.trials),
    ]
    assert argv[-2:] == ["--protocol", "udp"] and "--loss" not in argv
