"""The figures of each experiment, measurement against model, as PNG.

Figures are made with matplotlib's object API on the Agg canvas, never
through pyplot, so that no display is needed and no global state is shared.
Measured values are markers (with their 95% confidence interval where it
means something), models are lines; every axis says its unit.
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Callable

import numpy as np
from matplotlib.axes import Axes
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure
from matplotlib.lines import Line2D
from matplotlib.ticker import FuncFormatter, LogLocator, NullFormatter

from . import model
from .analysis import Analysis
from .spec import Experiment

DPI = 120
SERVER_COLOURS = {"tcp-sequential": "tab:red", "tcp-pool": "tab:orange", "tcp-threaded": "tab:blue",
                  "tcp-poll": "tab:green", "tcp-asyncio": "tab:purple"}
PROTOCOL_COLOURS = {"tcp": "tab:blue", "udp": "tab:orange"}


def _figure(width: float, height: float) -> Figure:
    figure = Figure(figsize=(width, height), dpi=DPI, layout="constrained")
    FigureCanvasAgg(figure)
    return figure


def _grid(axes: Axes) -> None:
    """A light grid; log axes labelled 0.1, 1, 10 rather than 10^-1, 10^0, 10^1."""
    axes.grid(True, which="major", alpha=0.3)
    if axes.get_yscale() == "log":
        axes.yaxis.set_major_locator(LogLocator(subs=(1.0, 2.0, 5.0)))
        axes.yaxis.set_major_formatter(FuncFormatter(lambda value, _: f"{value:g}"))
        axes.yaxis.set_minor_formatter(NullFormatter())


def _subtitle(experiment: Experiment, records: list[dict]) -> str:
    trials = sorted({r["trials"] for r in records})
    per_point = f"{trials[0]}" if len(trials) == 1 else f"{trials[0]}-{trials[-1]}"
    return f"{experiment.name}: {per_point} trial{'s' if trials[-1] > 1 else ''} per point, seed {experiment.seed}"


def udp_backoff(experiment: Experiment, analysis: Analysis, out: Path) -> list[Path]:
    records = analysis.records
    loss = np.array([r["loss"] for r in records])
    curve = np.linspace(0, max(loss.max(), 1), 200)
    rtt = records[0]["rtt_ms"] / 1000
    figure = _figure(15, 4.6)
    attempts, give_up, latency = figure.subplots(1, 3)

    attempts.plot(curve, [model.mean_attempts(p / 100) for p in curve], color="black", label="model: (1-(1-q)^5)/q, q = (1-p)^2")
    attempts.errorbar(loss, [r["mean_attempts"] for r in records], yerr=[r["ci95_attempts"] for r in records],
                      fmt="o", color="tab:blue", capsize=3, label="measured mean (95% CI)")
    attempts.axhline(5, color="grey", linestyle=":")
    attempts.annotate("the client gives up after 5 sends", (0.98, 5), xycoords=("axes fraction", "data"), xytext=(0, -12),
                      textcoords="offset points", ha="right", color="grey", fontsize="small")
    attempts.set(title="Attempts per request", xlabel="loss p in each direction (%)", ylabel="mean attempts (datagrams sent)", ylim=(0.8, 5.3))

    give_up.plot(curve, [100 * model.give_up_probability(p / 100) for p in curve], color="black", label="model: (1-q)^5")
    give_up.errorbar(loss, [100 * r["give_up"] for r in records], yerr=[100 * r["ci95_give_up"] for r in records],
                     fmt="o", color="tab:red", capsize=3, label="measured share (95% CI)")
    give_up.set(title='Requests given up ("server seems down")', xlabel="loss p in each direction (%)", ylabel="requests given up (%)")

    for quantile, colour in ((50, "tab:blue"), (90, "tab:orange"), (99, "tab:red")):
        latency.step(curve, [1000 * model.latency_quantile(p / 100, quantile / 100, rtt) for p in curve], where="post",
                     color=colour, linestyle="--", alpha=0.8, label=f"p{quantile} model")
        latency.plot(loss, [max(r[f"p{quantile}_ms"], 0.1) for r in records], "o", color=colour, label=f"p{quantile} measured")
    latency.set(title="Request latency, first send to answer or giving up", xlabel="loss p in each direction (%)",
                ylabel="latency (ms, log scale)", yscale="log", ylim=(0.1, 6000))  # room for the legend below 1 ms
    for axes, corner, columns in ((attempts, "lower right", 1), (give_up, "upper left", 1), (latency, "lower right", 2)):
        _grid(axes)
        axes.legend(fontsize="small", loc=corner, ncols=columns)
    figure.suptitle(f"The lecture's UDP client with backoff through a lossy link ({_subtitle(experiment, records)})")
    path = out / "udp-backoff.png"
    figure.savefig(path)
    return [path]


def server_models(experiment: Experiment, analysis: Analysis, out: Path) -> list[Path]:
    records = analysis.records
    servers = list(dict.fromkeys(r["server"] for r in records))
    figure = _figure(13, 9)
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
        axes.set(title=title, xlabel="concurrent clients", ylabel=ylabel, yscale=scale, xticks=sorted({r["clients"] for r in records}))
        _grid(axes)
    handles = [Line2D([], [], color=SERVER_COLOURS.get(s), marker="o", label=s) for s in servers]
    handles += [Line2D([], [], color="black", marker="o", label="measured"),
                Line2D([], [], color="black", linestyle="--", label="model: X = min(C, K) / (think + s),\nR = C / X - think")]
    figure.legend(handles=handles, loc="outside right center", fontsize="small")
    think = experiment.measure.options.get("think-ms", "0")
    figure.suptitle(f"The lecture's TCP server architectures under closed-loop load, think time {think} ms ({_subtitle(experiment, records)})")
    path = out / "server-models.png"
    figure.savefig(path)
    return [path]


def tcp_under_loss(experiment: Experiment, analysis: Analysis, out: Path) -> list[Path]:
    records = analysis.records
    figure = _figure(9, 5.5)
    axes = figure.subplots()
    rtt = records[0]["rtt_ms"] / 1000 if records else 0.0
    top = max(r["loss"] for r in records)
    curve = np.linspace(0, max(top, 1), 300)
    chunk = int(experiment.measure.options.get("chunk", 1024))
    if rtt > 0:
        lossy = curve[1:]
        axes.fill_between(lossy, [model.tcp_padhye(p / 100, rtt) / 1000 for p in lossy], [model.tcp_mathis(p / 100, rtt) / 1000 for p in lossy],
                          color=PROTOCOL_COLOURS["tcp"], alpha=0.12, label="TCP models: Padhye et al. (below) to Mathis et al. (above)")
        axes.plot(curve, [model.udp_goodput(p / 100, rtt, chunk) / 1000 for p in curve], "--", color=PROTOCOL_COLOURS["udp"],
                  label="UDP model: stop-and-wait with the lecture's backoff")
    protocols = list(dict.fromkeys(r["protocol"] for r in records))
    for number, protocol in enumerate(protocols):
        rows = [r for r in records if r["protocol"] == protocol]
        colour = PROTOCOL_COLOURS.get(protocol)
        dodge = (number - (len(protocols) - 1) / 2) * top * 0.01  # side by side, not on top of each other
        axes.errorbar([r["loss"] + dodge for r in rows], [r["goodput_kBps"] for r in rows], yerr=[r["ci95_kBps"] for r in rows],
                      fmt="o", color=colour, capsize=3, label=f"{protocol.upper()} measured mean (95% CI)")
    size = experiment.measure.options.get("bytes", "65536")
    axes.set(title=f"Upper-casing {int(size) // 1024} KiB through a lossy link, round trip {rtt * 1000:.1f} ms",
             xlabel="loss p in each direction (%)", ylabel="goodput (kB/s, log scale)", yscale="log")
    _grid(axes)
    axes.legend(fontsize="small")
    figure.suptitle(f"Bulk TCP against UDP with backoff ({_subtitle(experiment, records)})")
    path = out / "tcp-under-loss.png"
    figure.savefig(path)
    return [path]


PLOTS: dict[str, Callable[[Experiment, Analysis, Path], list[Path]]] = {
    "udp-backoff": udp_backoff,
    "server-models": server_models,
    "tcp-under-loss": tcp_under_loss,
}


def plot(experiment: Experiment, analysis: Analysis, out: Path) -> list[Path]:
    """Draw the experiment's figures into ``out``; returns their paths."""
    if not analysis.records:
        return []
    return PLOTS[experiment.kind.name](experiment, analysis, out)
