"""server-models: the lecture's TCP server architectures under closed-loop
load; throughput and latency per server and client count against the model."""

from __future__ import annotations

import math
from pathlib import Path
from typing import Sequence

from matplotlib.lines import Line2D

from .. import model, plots
from ..analysis import by_point, numbers, relative_error
from ..core import Analysis, Experiment, Kind, Row, Table, register
from ..report import number, percent

SERVER_COLOURS = {
    "tcp-sequential": "tab:red",
    "tcp-pool": "tab:orange",
    "tcp-threaded": "tab:blue",
    "tcp-poll": "tab:green",
    "tcp-asyncio": "tab:purple",
}


def analyze(experiment: Experiment, rows: Sequence[Row], metadata: dict) -> Analysis:
    """Throughput and latency per server and client count; the model's
    per-request time s is the one measured with the fewest clients, where
    nobody waits for anybody."""
    analysis = Analysis("server-models")
    think = float(experiment.measure.options.get("think-ms", 0)) / 1000
    groups = by_point(experiment, rows)
    service: dict[str, float] = {}
    for point, group in sorted(groups, key=lambda item: int(item[0]["clients"]), reverse=True):
        service[point["server"]] = float(numbers(group, "mean_ms").mean()) / 1000
    for point, group in groups:
        server, clients = point["server"], int(point["clients"])
        mean_s = float(numbers(group, "mean_ms").mean()) / 1000
        slots = model.SERVER_SLOTS.get(server)
        throughput = float(numbers(group, "throughput_rps").mean())
        expected = (
            model.closed_loop_throughput(clients, slots, think, service[server]) if slots is not None else math.nan
        )
        analysis.records.append(
            {
                "server": server,
                "clients": clients,
                "trials": len(group),
                "throughput_rps": throughput,
                "model_rps": expected,
                "error": relative_error(throughput, expected),
                "mean_ms": mean_s * 1000,
                "model_mean_ms": model.closed_loop_latency(clients, slots, think, service[server]) * 1000
                if slots is not None
                else math.nan,
                "p50_ms": float(numbers(group, "p50_ms").mean()),
                "p99_ms": float(numbers(group, "p99_ms").mean()),
                "errors": int(numbers(group, "errors").sum()),
            }
        )
    analysis.notes.append(
        f"Each client asks, waits for the answer, then thinks {think * 1000:g} ms while it keeps its connection "
        "(the per-request time a connection is held). Model: a server that serves K connections at once "
        "(sequential 1, pool 4, threaded/poll/asyncio unbounded) delivers min(C, K)/(think + s) requests per second, "
        "s being the per-request time measured with one client; mean latency follows from the response time law, "
        "R = C/X - think."
    )
    return analysis


def plot(experiment: Experiment, analysis: Analysis, out: Path) -> list[Path]:
    records = analysis.records
    servers = list(dict.fromkeys(r["server"] for r in records))
    figure = plots.figure(13, 9)
    (throughput, mean), (p50, p99) = figure.subplots(2, 2)
    panels = (
        (throughput, "throughput_rps", "model_rps", "Throughput", "answers per second", "linear"),
        (mean, "mean_ms", "model_mean_ms", "Mean latency", "mean latency (ms, log scale)", "log"),
        (p50, "p50_ms", None, "Median latency (p50)", "p50 latency (ms, log scale)", "log"),
        (p99, "p99_ms", None, "Tail latency (p99)", "p99 latency (ms, log scale)", "log"),
    )
    for axes, measured, modelled, title, ylabel, scale in panels:
        for server in servers:
            rows = [r for r in records if r["server"] == server]
            clients = [r["clients"] for r in rows]
            colour = SERVER_COLOURS.get(server)
            axes.plot(clients, [r[measured] for r in rows], "o-", color=colour, label=server)
            if modelled and any(math.isfinite(r[modelled]) for r in rows):
                axes.plot(clients, [r[modelled] for r in rows], "--", color=colour, alpha=0.8)
        axes.set(
            title=title,
            xlabel="concurrent clients",
            ylabel=ylabel,
            yscale=scale,
            xticks=sorted({r["clients"] for r in records}),
        )
        plots.grid(axes)
    handles = [Line2D([], [], color=SERVER_COLOURS.get(s), marker="o", label=s) for s in servers]
    handles += [
        Line2D([], [], color="black", marker="o", label="measured"),
        Line2D([], [], color="black", linestyle="--", label="model: X = min(C, K) / (think + s),\nR = C / X - think"),
    ]
    figure.legend(handles=handles, loc="outside right center", fontsize="small")
    think = experiment.measure.options.get("think-ms", "0")
    figure.suptitle(
        f"The lecture's TCP server architectures under closed-loop load, "
        f"think time {think} ms ({plots.subtitle(experiment, records)})"
    )
    path = out / "server-models.png"
    figure.savefig(path)
    return [path]


def tables(analysis: Analysis) -> list[tuple[str, Table]]:
    columns = [
        "clients",
        "trials",
        "throughput (req/s)",
        "model",
        "error",
        "mean latency (ms)",
        "model",
        "p50 (ms)",
        "p99 (ms)",
        "errors",
    ]
    tables = []
    for server in dict.fromkeys(r["server"] for r in analysis.records):
        rows = [
            [
                str(r["clients"]),
                str(r["trials"]),
                number(r["throughput_rps"], 1),
                number(r["model_rps"], 1),
                percent(r["error"], signed=True),
                number(r["mean_ms"], 2),
                number(r["model_mean_ms"], 2),
                number(r["p50_ms"], 2),
                number(r["p99_ms"], 2),
                str(r["errors"]),
            ]
            for r in analysis.records
            if r["server"] == server
        ]
        tables.append((server, (columns, rows)))
    return tables


KIND = register(
    Kind(
        name="server-models",
        command="requests",
        columns=("requests", "throughput_rps", "mean_ms", "p50_ms", "p99_ms", "errors"),
        requires=("server", "clients"),
        parallel=False,
        flows=False,
        trial_seconds=lambda options: float(options.get("duration", 3)) + float(options.get("timeout", 30)) + 5,
        analyze=analyze,
        plot=plot,
        tables=tables,
    )
)
