"""tcp-under-loss: bulk TCP against UDP with backoff through a lossy link;
goodput per loss level against the classic TCP models and a UDP model."""

from __future__ import annotations

import math
from pathlib import Path
from typing import Mapping, Sequence

import numpy as np

from .. import model, plots
from ..analysis import by_point, numbers, relative_error, rtt_seconds
from ..core import Analysis, Experiment, Kind, Row, Table, register
from ..report import number, percent

PROTOCOL_COLOURS = {"tcp": "tab:blue", "udp": "tab:orange"}


def analyze(experiment: Experiment, rows: Sequence[Row], metadata: dict) -> Analysis:
    analysis = Analysis("tcp-under-loss")
    chunk = int(experiment.measure.options.get("chunk", 1024))
    groups = by_point(experiment, rows)
    lossless = [group for point, group in groups if point["protocol"] == "udp" and float(point["loss"]) == 0]
    measured_rtt = chunk / (numbers(lossless[0], "goodput_kBps").mean() * 1000) if lossless else None
    for point, group in groups:
        loss, protocol = float(point["loss"]), point["protocol"]
        p = loss / 100
        rtt = measured_rtt or rtt_seconds(experiment, point)
        goodput = numbers(group, "goodput_kBps")
        mean = float(goodput.mean())
        known = rtt > 0  # the models need the link's round trip
        udp = protocol == "udp" and known
        low = model.tcp_padhye(p, rtt) / 1000 if protocol == "tcp" and known else math.nan
        high = model.tcp_mathis(p, rtt) / 1000 if protocol == "tcp" and known else math.nan
        expected = model.udp_goodput(p, rtt, chunk) / 1000 if udp else math.nan
        analysis.records.append(
            {
                "loss": loss,
                "protocol": protocol,
                "trials": len(group),
                "goodput_kBps": mean,
                "median_kBps": float(np.median(goodput)),
                "ci95_kBps": float(1.96 * goodput.std(ddof=1) / math.sqrt(len(goodput)))
                if len(goodput) > 1
                else math.nan,
                "model_kBps": expected,
                "error": relative_error(mean, expected),
                "padhye_kBps": low,
                "mathis_kBps": high,
                "bracketed": low <= mean <= high if math.isfinite(low) else None,
                "complete": sum(row["outcome"] == "complete" for row in group) / len(group),
                "rtt_ms": rtt * 1000,
            }
        )
    analysis.notes.append(
        "Goodput is bytes upper-cased per second: over TCP one connection streams the bytes to the threaded server "
        "and reads them back; over UDP the lecture's client sends them as datagrams, one at a time, each with its "
        "backoff (a datagram given up on is not counted). UDP model: chunk x P(answered) / E[request time], with the "
        "backoff schedule and the round trip"
        + (
            f" measured over UDP without loss ({measured_rtt * 1000:.1f} ms: the link's delays and the lab's own time)"
            if measured_rtt
            else ""
        )
        + ", used by the TCP models too. TCP has two classic steady-state models, set side by side: "
        "Padhye et al. (Reno with timeouts, pessimistic for a Linux TCP with SACK and RACK) below, Mathis et al. "
        "(fast retransmit only, optimistic) above; without loss a short transfer is bounded by slow start instead."
    )
    return analysis


def plot(experiment: Experiment, analysis: Analysis, out: Path) -> list[Path]:
    records = analysis.records
    figure = plots.figure(9, 5.5)
    axes = figure.subplots()
    rtt = records[0]["rtt_ms"] / 1000 if records else 0.0
    top = max(r["loss"] for r in records)
    curve = np.linspace(0, max(top, 1), 300)
    chunk = int(experiment.measure.options.get("chunk", 1024))
    if rtt > 0:
        lossy = curve[1:]
        axes.fill_between(
            lossy,
            [model.tcp_padhye(p / 100, rtt) / 1000 for p in lossy],
            [model.tcp_mathis(p / 100, rtt) / 1000 for p in lossy],
            color=PROTOCOL_COLOURS["tcp"],
            alpha=0.12,
            label="TCP models: Padhye et al. (below) to Mathis et al. (above)",
        )
        axes.plot(
            curve,
            [model.udp_goodput(p / 100, rtt, chunk) / 1000 for p in curve],
            "--",
            color=PROTOCOL_COLOURS["udp"],
            label="UDP model: stop-and-wait with the lecture's backoff",
        )
    protocols = list(dict.fromkeys(r["protocol"] for r in records))
    for index, protocol in enumerate(protocols):
        rows = [r for r in records if r["protocol"] == protocol]
        colour = PROTOCOL_COLOURS.get(protocol)
        dodge = (index - (len(protocols) - 1) / 2) * top * 0.01  # side by side, not on top of each other
        axes.errorbar(
            [r["loss"] + dodge for r in rows],
            [r["goodput_kBps"] for r in rows],
            yerr=[r["ci95_kBps"] for r in rows],
            fmt="o",
            color=colour,
            capsize=3,
            label=f"{protocol.upper()} measured mean (95% CI)",
        )
    size = experiment.measure.options.get("bytes", "65536")
    axes.set(
        title=f"Upper-casing {int(size) // 1024} KiB through a lossy link, round trip {rtt * 1000:.1f} ms",
        xlabel="loss p in each direction (%)",
        ylabel="goodput (kB/s, log scale)",
        yscale="log",
    )
    plots.grid(axes)
    axes.legend(fontsize="small")
    figure.suptitle(f"Bulk TCP against UDP with backoff ({plots.subtitle(experiment, records)})")
    path = out / "tcp-under-loss.png"
    figure.savefig(path)
    return [path]


def tables(analysis: Analysis) -> list[tuple[str, Table]]:
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
        rows.append(
            [
                number(r["loss"], 0),
                r["protocol"].upper(),
                str(r["trials"]),
                number(r["goodput_kBps"], 1) + " ± " + number(r["ci95_kBps"], 1),
                number(r["median_kBps"], 1),
                modelled,
                verdict,
                percent(r["complete"], 0),
            ]
        )
    return [("Goodput per loss level (mean ± 95% CI; TCP model: Padhye – Mathis)", (columns, rows))]


def trial_seconds(options: Mapping[str, str]) -> float:
    chunks = math.ceil(int(options.get("bytes", 65536)) / int(options.get("chunk", 1024)))
    return max(float(options.get("timeout", 60)), chunks * model.LECTURE_GIVE_UP_S) + 5


KIND = register(
    Kind(
        name="tcp-under-loss",
        command="transfer",
        columns=("bytes", "seconds", "goodput_kBps", "outcome"),
        requires=("loss", "protocol"),
        parallel=True,
        flows=True,
        trial_seconds=trial_seconds,
        analyze=analyze,
        plot=plot,
        tables=tables,
    )
)
