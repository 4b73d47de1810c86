"""Running trials: one ``experiment-client`` call in the lab node per batch.

A ``docker exec`` costs 50-100 ms, more than a trial at low loss, so trials
run in batches inside the node and come back as JSON lines; batches stay
small enough that progress moves and an interrupted run loses little.
"""

from __future__ import annotations

import json
import math
from typing import TYPE_CHECKING, Sequence

from ..errors import SocklabError
from ..impairment import IMPAIRMENT_KEYS
from .spec import Experiment, Point

if TYPE_CHECKING:
    from ..lab import RunningLab

CLIENT = "experiment-client"
BATCHES_PER_WORKER = 2  # trials per batch = parallel workers x this


def batches(trials: Sequence[int], experiment: Experiment) -> list[list[int]]:
    """Split a point's pending trials into batches run by one exec each."""
    size = experiment.measure.parallel * BATCHES_PER_WORKER if experiment.kind.parallel else 1
    return [list(trials[i : i + size]) for i in range(0, len(trials), size)]


def trial_spec(trials: Sequence[int]) -> str:
    """[0, 1, 2, 5] -> '0-2,5'."""
    parts: list[str] = []
    start = previous = trials[0]
    for trial in [*trials[1:], None]:
        if trial is not None and trial == previous + 1:
            previous = trial
            continue
        parts.append(str(start) if start == previous else f"{start}-{previous}")
        if trial is not None:
            start = previous = trial
    return ",".join(parts)


def command(experiment: Experiment, index: int, point: Point, trials: Sequence[int]) -> list[str]:
    """The argv of one batch: fixed options, then the swept ones that are not the link's."""
    kind = experiment.kind
    argv = [CLIENT, kind.command, "--trials", trial_spec(trials)]
    if kind.flows:
        argv += ["--first-port", str(experiment.first_port(index))]
    if kind.parallel:
        argv += ["--parallel", str(min(experiment.measure.parallel, len(trials)))]
    for key, value in experiment.measure.options.items():
        argv += [f"--{key}", value]
    for key, value in point.items():
        if key not in IMPAIRMENT_KEYS:
            argv += [f"--{key}", value]
    return argv


def run_batch(
    running: "RunningLab", experiment: Experiment, index: int, point: Point, trials: Sequence[int]
) -> list[dict[str, str]]:
    """Run some trials of one point and return their results.csv rows, by trial."""
    kind = experiment.kind
    rounds = math.ceil(len(trials) / experiment.measure.parallel) if kind.parallel else len(trials)
    timeout = rounds * kind.trial_seconds(experiment.measure.options) + 30
    argv = command(experiment, index, point, trials)
    result = running.exec(experiment.measure.node, argv, timeout=timeout)
    rows: dict[int, dict[str, str]] = {}
    for line in result.stdout.splitlines():
        try:
            record = json.loads(line)
            trial = int(record["trial"])
            rows[trial] = {**point, "trial": str(trial), **{column: _cell(record[column]) for column in kind.columns}}
        except (ValueError, KeyError, TypeError):
            raise SocklabError(f"{' '.join(argv)}: unexpected output line {line!r}") from None
    missing = sorted(set(trials) - set(rows))
    if result.exit_code != 0 or missing:
        raise SocklabError(
            f"{' '.join(argv)} in {experiment.measure.node} exited {result.exit_code}"
            f"{f' without trials {trial_spec(missing)}' if missing else ''}: {result.stderr.strip()[-500:]}"
        )
    return [rows[trial] for trial in sorted(rows)]


def _cell(value: object) -> str:
    return "" if value is None else str(value)
