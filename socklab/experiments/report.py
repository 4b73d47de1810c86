"""summary.md: what was run, the model check, and per-point tables of
measured values next to the model with the relative error."""

from __future__ import annotations

import math
from pathlib import Path
from typing import Callable, Sequence

from .analysis import Analysis
from .spec import Experiment

Table = tuple[list[str], list[list[str]]]


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


def udp_backoff(analysis: Analysis) -> list[tuple[str, Table]]:
    columns = ["loss (%)", "trials", "mean attempts", "model", "error", "given up", "model",
               "p50 (ms)", "p90 (ms)", "p99 (ms)", "model p50/p90/p99 (ms)", "retries / link drops"]
    rows = [[number(r["loss"], 0), str(r["trials"]), number(r["mean_attempts"], 3) + " ± " + number(r["ci95_attempts"], 3),
             number(r["model_attempts"], 3), percent(r["error"], signed=True), percent(r["give_up"]) + " ± " + percent(r["ci95_give_up"]), percent(r["model_give_up"]),
             number(r["p50_ms"], 1), number(r["p90_ms"], 1), number(r["p99_ms"], 1),
             "/".join(number(r[f"model_p{q}_ms"], 0) for q in (50, 90, 99)),
             f"{r['retries']} / {'—' if r['link_drops'] is None else r['link_drops']}"]
            for r in analysis.records]
    return [("Attempts, give-ups and latency per loss level (mean ± 95% CI)", (columns, rows))]


def server_models(analysis: Analysis) -> list[tuple[str, Table]]:
    columns = ["clients", "trials", "throughput (req/s)", "model", "error", "mean latency (ms)", "model", "p50 (ms)", "p99 (ms)", "errors"]
    tables = []
    for server in dict.fromkeys(r["server"] for r in analysis.records):
        rows = [[str(r["clients"]), str(r["trials"]), number(r["throughput_rps"], 1), number(r["model_rps"], 1), percent(r["error"], signed=True),
                 number(r["mean_ms"], 2), number(r["model_mean_ms"], 2), number(r["p50_ms"], 2), number(r["p99_ms"], 2), str(r["errors"])]
                for r in analysis.records if r["server"] == server]
        tables.append((server, (columns, rows)))
    return tables


def tcp_under_loss(analysis: Analysis) -> list[tuple[str, Table]]:
    columns = ["loss (%)", "protocol", "trials", "goodput (kB/s)", "median", "model", "error", "complete"]
    rows = []
    for r in analysis.records:
        if r["protocol"] == "tcp" and math.isinf(r["mathis_kBps"]):
            modelled, verdict = "no bound without loss", "—"
        elif r["protocol"] == "tcp":
            modelled = f"{number(r['padhye_kBps'], 1)} – {number(r['mathis_kBps'], 1)}"
            verdict = {True: "between", False: "outside", None: "—"}[r["bracketed"]]
        else:
            modelled, verdict = number(r["model_kBps"], 1), percent(r["error"], signed=True)
        rows.append([number(r["loss"], 0), r["protocol"].upper(), str(r["trials"]), number(r["goodput_kBps"], 1) + " ± " + number(r["ci95_kBps"], 1),
                     number(r["median_kBps"], 1), modelled, verdict, percent(r["complete"], 0)])
    return [("Goodput per loss level (mean ± 95% CI; TCP model: Padhye – Mathis)", (columns, rows))]


TABLES: dict[str, Callable[[Analysis], list[tuple[str, Table]]]] = {
    "udp-backoff": udp_backoff,
    "server-models": server_models,
    "tcp-under-loss": tcp_under_loss,
}


def summary(experiment: Experiment, analysis: Analysis, metadata: dict, figures: Sequence[Path]) -> str:
    software = metadata.get("software", {})
    commit = software.get("commit") or "unknown"
    run = [
        ("experiment", f"`{experiment.name}` ({experiment.kind.name}), {experiment.path}"),
        ("lab", f"{experiment.lab.name}" + (f", link {experiment.link}" if experiment.link else "")
         + (f" ({', '.join(f'{k} {v}' for k, v in experiment.link_settings.items())})" if experiment.link_settings else "")),
        ("link backend", str(metadata.get("lab", {}).get("link", {}).get("backend", "none"))),
        ("seed", str(experiment.seed)),
        ("sweep", "; ".join(f"{name}: {', '.join(values)}" for name, values in experiment.sweep.items())),
        ("trials", f"{experiment.trials} per point, {experiment.trials * len(experiment.points)} in all"),
        ("run", f"{metadata.get('started')} to {metadata.get('ended')} ({metadata.get('duration_s', 0):.0f} s of measuring"
                f"{', resumed' if len(metadata.get('runs', [])) > 1 else ''})"),
        ("command", f"`{metadata.get('command')}`"),
        ("software", f"socklab {software.get('socklab')}, commit {commit[:12]}{' (with local changes)' if software.get('commit_dirty') else ''}, "
                     f"Python {software.get('python')}, kernel {software.get('kernel')}, Docker {metadata.get('docker', {}).get('version')}"),
    ]
    parts = [f"# {experiment.name}: summary", "", experiment.description, ""]
    parts += [f"- **{key}**: {value}" for key, value in run] + [""]
    if analysis.checks:
        parts += ["## Model check", ""]
        parts += [f"- {'**PASS**' if c.passed else '**FAIL**' if c.passed is False else 'n/a'}: {c.statement}" for c in analysis.checks]
        parts.append("")
    for title, (columns, rows) in TABLES[experiment.kind.name](analysis):
        parts += [f"## {title}", "", markdown_table(columns, rows), ""]
    parts += analysis.notes + ([""] if analysis.notes else [])
    parts += [f"![{path.stem}]({path.name})" for path in figures]
    return "\n".join(parts).rstrip() + "\n"
