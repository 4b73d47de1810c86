"""summary.md: what was run, the model check, and per-point tables of
measured values next to the model with the relative error."""

from __future__ import annotations

import math
from pathlib import Path
from typing import Sequence

from .core import Analysis, Experiment


def number(value: float, digits: int = 2) -> str:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "—"
    if isinstance(value, float) and math.isinf(value):
        return "∞"
    return f"{value:.{digits}f}"


def percent(value: float, digits: int = 1, signed: bool = False) -> str:
    if value is None or math.isnan(value):
        return "—"
    return f"{value * 100:+.{digits}f}%" if signed else f"{value * 100:.{digits}f}%"


def markdown_table(columns: Sequence[str], rows: Sequence[Sequence[str]]) -> str:
    lines = ["| " + " | ".join(columns) + " |", "|" + "|".join("---:" for _ in columns) + "|"]
    lines += ["| " + " | ".join(row) + " |" for row in rows]
    return "\n".join(lines)


def summary(experiment: Experiment, analysis: Analysis, metadata: dict, figures: Sequence[Path]) -> str:
    software = metadata.get("software", {})
    commit = software.get("commit") or "unknown"
    run = [
        ("experiment", f"`{experiment.name}` ({experiment.kind.name}), {experiment.path}"),
        (
            "lab",
            f"{experiment.lab.name}"
            + (f", link {experiment.link}" if experiment.link else "")
            + (
                f" ({', '.join(f'{k} {v}' for k, v in experiment.link_settings.items())})"
                if experiment.link_settings
                else ""
            ),
        ),
        ("link backend", str(metadata.get("lab", {}).get("link", {}).get("backend", "none"))),
        ("seed", str(experiment.seed)),
        ("sweep", "; ".join(f"{name}: {', '.join(values)}" for name, values in experiment.sweep.items())),
        ("trials", f"{experiment.trials} per point, {experiment.trials * len(experiment.points)} in all"),
        (
            "run",
            f"{metadata.get('started')} to {metadata.get('ended')} ({metadata.get('duration_s', 0):.0f} s of measuring"
            f"{', resumed' if len(metadata.get('runs', [])) > 1 else ''})",
        ),
        ("command", f"`{metadata.get('command')}`"),
        (
            "software",
            f"socklab {software.get('socklab')}, commit {commit[:12]}"
            f"{' (with local changes)' if software.get('commit_dirty') else ''}, "
            f"Python {software.get('python')}, kernel {software.get('kernel')}, "
            f"Docker {metadata.get('docker', {}).get('version')}",
        ),
    ]
    parts = [f"# {experiment.name}: summary", "", experiment.description, ""]
    parts += [f"- **{key}**: {value}" for key, value in run] + [""]
    if analysis.checks:
        parts += ["## Model check", ""]
        parts += [
            f"- {'**PASS**' if c.passed else '**FAIL**' if c.passed is False else 'n/a'}: {c.statement}"
            for c in analysis.checks
        ]
        parts.append("")
    for title, (columns, rows) in experiment.kind.tables(analysis):
        parts += [f"## {title}", "", markdown_table(columns, rows), ""]
    parts += analysis.notes + ([""] if analysis.notes else [])
    parts += [f"![{path.stem}]({path.name})" for path in figures]
    return "\n".join(parts).rstrip() + "\n"
