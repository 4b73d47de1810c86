"""``socklab experiment run``: bring the lab up once, set the link for each
point, run the trials, and write results, provenance, plots and a summary.

Rows reach results.csv as each batch ends, so Ctrl-C (or a crash) loses at
most one batch, and the same command picks up where the run stopped. The
lab is always taken down, whatever happens.
"""

from __future__ import annotations

import json
import os
import shlex
import sys
import time
from pathlib import Path
from typing import Callable, Optional, Sequence

from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn, TimeRemainingColumn

from ..docker_backend import DockerBackend
from ..errors import BadInput
from ..images import ensure_images
from ..lab import Options, RunningLab, up
from ..links import LinkControl
from .analysis import Analysis, analyze
from .measure import batches, run_batch
from .plots import plot
from .provenance import docker_engine, lab_facts, software, utc_now
from .report import summary
from .results import METADATA, RESULTS, ResultsFile, previous_run
from .spec import UNITS, Experiment, Point, load_experiment

ProgressSink = Callable[[str], None]
Pending = list[tuple[int, Point, list[int]]]


def _quiet(_: str) -> None:
    """Default progress sink: library callers show nothing."""


def run_command(
    experiment: str,
    out: Path,
    seed: Optional[int],
    progress: ProgressSink = _quiet,
    bar: bool = True,
    command: Optional[Sequence[str]] = None,
) -> int:
    """What ``socklab experiment run EXPERIMENT --out DIR [--seed N]`` does.

    Returns 0 when the run is complete, 1 when a model check failed (the
    summary says which); bad input raises BadInput before anything starts.
    ``bar`` shows a progress bar on stderr; ``command`` is recorded in
    metadata.json (default: this process's argv).
    """
    spec = load_experiment(experiment, seed)
    analysis = run(spec, out, progress, bar, shlex.join(command if command is not None else sys.argv))
    for check in analysis.checks:
        progress(check.statement)
    progress(f"results in {out}: {RESULTS}, {METADATA}, summary.md and the plots")
    return 1 if any(check.passed is False for check in analysis.checks) else 0


def run(
    experiment: Experiment, out: Path, progress: ProgressSink = _quiet, bar: bool = False, command: str = ""
) -> Analysis:
    """Run (or resume) an experiment into ``out`` and write everything it produces."""
    if out.exists() and not out.is_dir():
        raise BadInput(f"--out {out} is a file, not a folder")
    identity = experiment.identity()
    previous = previous_run(out, identity)
    out.mkdir(parents=True, exist_ok=True)
    results = ResultsFile(out / RESULTS, experiment.columns)
    rows = results.read() if previous else []
    results.rewrite(rows)  # drops a row a crash cut short
    pending = _pending(experiment, rows)
    metadata = _metadata(experiment, previous, command)
    if previous and pending:
        progress(f"resuming {out}: {len(rows)} trials done, {sum(len(t) for _, _, t in pending)} to go")
    elif previous:
        progress(f"all {len(rows)} trials are in {out / RESULTS} already: writing the plots and summary again")
    if pending:
        _measure(experiment, out, pending, metadata, command, progress, bar)
    rows = _sorted(experiment, results.read())
    results.rewrite(rows)
    analysis = analyze(experiment, rows, metadata)
    figures = plot(experiment, analysis, out)
    metadata["ended"] = utc_now()
    _write_metadata(out, metadata)
    (out / "summary.md").write_text(summary(experiment, analysis, metadata, figures), encoding="utf-8")
    return analysis


def _pending(experiment: Experiment, rows: list[dict[str, str]]) -> Pending:
    done = {(tuple(row[name] for name in experiment.sweep), row["trial"]) for row in rows}
    pending = []
    for index, point in enumerate(experiment.points):
        trials = [t for t in range(experiment.trials) if (tuple(point.values()), str(t)) not in done]
        if trials:
            pending.append((index, point, trials))
    return pending


def _sorted(experiment: Experiment, rows: list[dict[str, str]]) -> list[dict[str, str]]:
    """Rows in sweep order then trial order, however batches finished, so two runs compare line by line."""
    order = {tuple(point.values()): index for index, point in enumerate(experiment.points)}
    return sorted(
        rows, key=lambda row: (order.get(tuple(row[name] for name in experiment.sweep), len(order)), int(row["trial"]))
    )


def _metadata(experiment: Experiment, previous: Optional[dict], command: str) -> dict:
    metadata = dict(previous or {})
    metadata.update(
        {
            "experiment": experiment.name,
            "file": str(experiment.path),
            "description": experiment.description,
            "parameters": experiment.identity(),
            "units": {name: UNITS[name] for name in experiment.sweep if name in UNITS},
            "points": [
                {
                    "index": index,
                    "values": point,
                    "link_seed": experiment.point_seed(point) if experiment.link else None,
                    "first_port": experiment.first_port(index) if experiment.kind.flows else None,
                    "link": experiment.link_changes(point) if experiment.link else None,
                }
                for index, point in enumerate(experiment.points)
            ],
            "deterministic_columns": list(experiment.kind.deterministic),
            "command": metadata.get("command", command),
            "started": metadata.get("started", utc_now()),
            "software": software(),
        }
    )
    metadata.setdefault("runs", [])
    metadata.setdefault("duration_s", 0.0)
    return metadata


def _write_metadata(out: Path, metadata: dict) -> None:
    partial = out / (METADATA + ".partial")
    partial.write_text(json.dumps(metadata, indent=2) + "\n", encoding="utf-8")
    os.replace(partial, out / METADATA)


def _measure(
    experiment: Experiment, out: Path, pending: Pending, metadata: dict, command: str, progress: ProgressSink, bar: bool
) -> None:
    """Bring the lab up, run the pending trials point by point, take it down."""
    backend = DockerBackend()
    ensure_images(backend.client, progress)
    metadata["docker"] = docker_engine(backend)
    this_run = {
        "started": utc_now(),
        "command": command,
        "commit": metadata["software"]["commit"],
        "trials": sum(len(t) for _, _, t in pending),
        "status": "running",
    }
    metadata["runs"].append(this_run)
    clock = time.monotonic()
    running = up(
        experiment.lab, backend, Options(instance=f"exp-{experiment.name}-{os.getpid()}", ephemeral=True), progress
    )
    try:
        if experiment.link is not None:
            # Every experiment is seeded: a lab whose link has no seed of its own came up on netem where the
            # kernel has it, and a seed moves the link to the userspace backend before anything is measured.
            running.link(experiment.link).set(seed=experiment.seed)
        metadata["lab"] = lab_facts(running, experiment)
        for warning in _moved(running, experiment):
            progress(warning)
            metadata.setdefault("warnings", []).append(warning)
        _write_metadata(out, metadata)
        _run_points(running, experiment, out, pending, metadata, progress, bar)
        this_run["status"] = "complete"
    except KeyboardInterrupt:
        this_run["status"] = "interrupted"
        progress(f"interrupted: what was measured is in {out / RESULTS}; the same command resumes the run")
        raise
    except BaseException:
        this_run["status"] = "failed"
        raise
    finally:
        progress(f"taking lab {running.instance} down")
        running.down()
        this_run["ended"] = utc_now()
        metadata["duration_s"] = round(metadata["duration_s"] + time.monotonic() - clock, 1)
        _write_metadata(out, metadata)


def _moved(running: RunningLab, experiment: Experiment) -> list[str]:
    """Warnings for nodes not at their declared addresses (their subnet was
    taken): the link decides per flow, addresses included, so the drops then
    differ from those of a run at the declared addresses."""
    warnings = []
    for node in experiment.lab.nodes.values():
        for attachment in node.networks:
            actual = running.addresses(node.name).get(attachment.network, ("", ""))[0]
            declared = attachment.address
            if declared is not None and actual and str(declared) != actual:
                subnet = experiment.lab.networks[attachment.network].subnet
                warnings.append(
                    f"{node.name} is at {actual}, not {declared} ({subnet} is taken by another lab): "
                    "the seeded drops differ from those of a run at the lab's own addresses"
                )
    return warnings


def _dropped(link: Optional[LinkControl]) -> Optional[int]:
    """Packets the link has dropped so far, both directions; None where it reported no count."""
    if link is None:
        return None
    counters = [state.get("counters", {}).get("dropped") for state in link.show().get("directions", {}).values()]
    return None if not counters or None in counters else sum(counters)


def _run_points(
    running: RunningLab,
    experiment: Experiment,
    out: Path,
    pending: Pending,
    metadata: dict,
    progress: ProgressSink,
    bar: bool,
) -> None:
    """Run the pending trials; each batch's rows, and the drops the link
    counted meanwhile (per point, in metadata.json), are saved as it ends."""
    results = ResultsFile(out / RESULTS, experiment.columns)
    link = running.link(experiment.link) if experiment.link is not None else None
    drops = metadata.setdefault("link_drops", {})
    total = experiment.trials * len(experiment.points)
    done = total - sum(len(trials) for _, _, trials in pending)
    points_done = len(experiment.points) - len(pending)
    columns = (
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TextColumn("trials, points {task.fields[points]},"),
        TimeElapsedColumn(),
        TextColumn("elapsed,"),
        TimeRemainingColumn(),
        TextColumn("left"),
    )
    with Progress(*columns, console=Console(stderr=True), disable=not bar) as bars:
        task = bars.add_task(
            experiment.name, total=total, completed=done, points=f"{points_done}/{len(experiment.points)}"
        )
        for index, point, trials in pending:
            label = ", ".join(f"{name}={value}{UNITS.get(name, '')}" for name, value in point.items())
            bars.update(task, description=label)
            if link is not None:
                link.set(seed=experiment.point_seed(point), **experiment.link_changes(point))
            before = _dropped(link)
            for batch in batches(trials, experiment):
                rows = run_batch(running, experiment, index, point, batch)
                after = _dropped(link)
                results.append(rows)
                if before is not None and after is not None:
                    drops[str(index)] = drops.get(str(index), 0) + after - before
                    _write_metadata(out, metadata)
                before = after
                bars.advance(task, len(batch))
            points_done += 1
            bars.update(task, points=f"{points_done}/{len(experiment.points)}")
            if not bar:
                progress(f"point {points_done}/{len(experiment.points)} done: {label}")
