"""udp-backoff: the lecture's UDP client with backoff through a lossy link;
attempts, give-ups and latency per loss level against the model."""

from __future__ import annotations

import math
from pathlib import Path
from typing import Sequence

import numpy as np

from .. import model, plots
from ..analysis import by_point, numbers, relative_error
from ..core import Analysis, Check, Experiment, Kind, Row, Table, register
from ..report import number, percent

CHECK_TRIALS = 200  # trials per point before the model check counts
CHECK_LOSS = 40.0  # percent: up to here mean attempts must match the model
CHECK_TOLERANCE = 0.10


def first_answer_seconds(rows: Sequence[Row]) -> float:
    """The median latency of requests answered at the first attempt: the
    lab's own round trip, which the latency model adds to each send time."""
    first = [float(row["latency_s"]) for row in rows if row["attempts"] == "1" and row["outcome"] == "answered"]
    return float(np.median(first)) if first else 0.0


def retries_check(records: Sequence[dict]) -> Check:
    """Each retry must be a drop: a question lost, or its answer. A retry
    without a drop means an answer came after the 0.1 s timeout, so timing,
    not the seeded link, decided that row, and it may differ next run."""
    counted = [r for r in records if r["link_drops"] is not None]
    if not counted:
        return Check("Retries not compared with drops: the link reported no drop count.", None)
    retries, drops = sum(r["retries"] for r in counted), sum(r["link_drops"] for r in counted)
    off = [
        f"{r['loss']:g}%: {r['retries']} retries, {r['link_drops']} drops"
        for r in counted
        if r["retries"] != r["link_drops"]
    ]
    if not off:
        return Check(
            f"Every retry is a drop the link counted ({retries} retries, {drops} drops): the attempts and outcomes "
            "are the seeded link's decisions, not timing, and repeat with the same seed.",
            True,
        )
    return Check(
        f"Retries and link drops differ ({'; '.join(off)}): some answers came after the client's 0.1 s timeout, "
        "so timing decided those rows; the machine was too busy: lower measure parallel and run again.",
        False,
    )


def analyze(experiment: Experiment, rows: Sequence[Row], metadata: dict) -> Analysis:
    analysis = Analysis("udp-backoff")
    rtt = first_answer_seconds(rows)
    drops = metadata.get("link_drops", {})
    for point, group in by_point(experiment, rows):
        loss = float(point["loss"])
        p = loss / 100
        index = experiment.points.index(point)
        attempts = numbers(group, "attempts")
        latency = numbers(group, "latency_s")
        expected = model.mean_attempts(p)
        give_up = sum(row["outcome"] == "gave-up" for row in group) / len(group)
        analysis.records.append(
            {
                "loss": loss,
                "trials": len(group),
                "mean_attempts": float(attempts.mean()),
                "ci95_attempts": float(1.96 * attempts.std(ddof=1) / math.sqrt(len(attempts)))
                if len(attempts) > 1
                else math.nan,
                "model_attempts": expected,
                "error": relative_error(float(attempts.mean()), expected),
                "give_up": give_up,
                "ci95_give_up": 1.96 * math.sqrt(give_up * (1 - give_up) / len(group)),
                "model_give_up": model.give_up_probability(p),
                **{f"p{q}_ms": float(np.percentile(latency, q, method="inverted_cdf")) * 1000 for q in (50, 90, 99)},
                **{f"model_p{q}_ms": model.latency_quantile(p, q / 100, rtt) * 1000 for q in (50, 90, 99)},
                "rtt_ms": rtt * 1000,
                "retries": int(attempts.sum()) - sum(row["outcome"] == "answered" for row in group),
                "link_drops": drops.get(str(index)),
            }
        )
    analysis.checks.append(retries_check(analysis.records))
    checked = [r for r in analysis.records if r["loss"] <= CHECK_LOSS and r["trials"] >= CHECK_TRIALS]
    if checked:
        worst = max(checked, key=lambda r: abs(r["error"]))
        passed = all(abs(r["error"]) <= CHECK_TOLERANCE for r in checked)
        verdict = "within" if passed else "NOT within"
        analysis.checks.append(
            Check(
                f"Mean attempts {verdict} {CHECK_TOLERANCE:.0%} of the model at every loss level up to {CHECK_LOSS:g}% "
                f"({len(checked)} levels, {min(r['trials'] for r in checked)}+ trials each; largest deviation "
                f"{worst['error']:+.1%} at {worst['loss']:g}% loss).",
                passed,
            )
        )
    else:
        analysis.checks.append(
            Check(
                f"Model check not made: it needs {CHECK_TRIALS} trials per point at loss levels up to {CHECK_LOSS:g}%.",
                None,
            )
        )
    analysis.notes.append(
        f"The latency model is the send time of the answered attempt (0, 0.1, 0.3, 0.7 or 1.5 s) plus the round trip "
        f"of a first-attempt answer measured here ({rtt * 1000:.1f} ms median), or 3.1 s for a request given up on."
    )
    return analysis


def plot(experiment: Experiment, analysis: Analysis, out: Path) -> list[Path]:
    records = analysis.records
    loss = np.array([r["loss"] for r in records])
    curve = np.linspace(0, max(loss.max(), 1), 200)
    rtt = records[0]["rtt_ms"] / 1000
    figure = plots.figure(15, 4.6)
    attempts, give_up, latency = figure.subplots(1, 3)

    attempts.plot(
        curve, [model.mean_attempts(p / 100) for p in curve], color="black", label="model: (1-(1-q)^5)/q, q = (1-p)^2"
    )
    attempts.errorbar(
        loss,
        [r["mean_attempts"] for r in records],
        yerr=[r["ci95_attempts"] for r in records],
        fmt="o",
        color="tab:blue",
        capsize=3,
        label="measured mean (95% CI)",
    )
    attempts.axhline(5, color="grey", linestyle=":")
    attempts.annotate(
        "the client gives up after 5 sends",
        (0.98, 5),
        xycoords=("axes fraction", "data"),
        xytext=(0, -12),
        textcoords="offset points",
        ha="right",
        color="grey",
        fontsize="small",
    )
    attempts.set(
        title="Attempts per request",
        xlabel="loss p in each direction (%)",
        ylabel="mean attempts (datagrams sent)",
        ylim=(0.8, 5.3),
    )

    give_up.plot(
        curve, [100 * model.give_up_probability(p / 100) for p in curve], color="black", label="model: (1-q)^5"
    )
    give_up.errorbar(
        loss,
        [100 * r["give_up"] for r in records],
        yerr=[100 * r["ci95_give_up"] for r in records],
        fmt="o",
        color="tab:red",
        capsize=3,
        label="measured share (95% CI)",
    )
    give_up.set(
        title='Requests given up ("server seems down")',
        xlabel="loss p in each direction (%)",
        ylabel="requests given up (%)",
    )

    for quantile, colour in ((50, "tab:blue"), (90, "tab:orange"), (99, "tab:red")):
        latency.step(
            curve,
            [1000 * model.latency_quantile(p / 100, quantile / 100, rtt) for p in curve],
            where="post",
            color=colour,
            linestyle="--",
            alpha=0.8,
            label=f"p{quantile} model",
        )
        latency.plot(
            loss, [max(r[f"p{quantile}_ms"], 0.1) for r in records], "o", color=colour, label=f"p{quantile} measured"
        )
    latency.set(
        title="Request latency, first send to answer or giving up",
        xlabel="loss p in each direction (%)",
        ylabel="latency (ms, log scale)",
        yscale="log",
        ylim=(0.1, 6000),
    )  # room for the legend below 1 ms
    for axes, corner, columns in (
        (attempts, "lower right", 1),
        (give_up, "upper left", 1),
        (latency, "lower right", 2),
    ):
        plots.grid(axes)
        axes.legend(fontsize="small", loc=corner, ncols=columns)
    figure.suptitle(
        f"The lecture's UDP client with backoff through a lossy link ({plots.subtitle(experiment, records)})"
    )
    path = out / "udp-backoff.png"
    figure.savefig(path)
    return [path]


def tables(analysis: Analysis) -> list[tuple[str, Table]]:
    columns = [
        "loss (%)",
        "trials",
        "mean attempts",
        "model",
        "error",
        "given up",
        "model",
        "p50 (ms)",
        "p90 (ms)",
        "p99 (ms)",
        "model p50/p90/p99 (ms)",
        "retries / link drops",
    ]
    rows = [
        [
            number(r["loss"], 0),
            str(r["trials"]),
            number(r["mean_attempts"], 3) + " ± " + number(r["ci95_attempts"], 3),
            number(r["model_attempts"], 3),
            percent(r["error"], signed=True),
            percent(r["give_up"]) + " ± " + percent(r["ci95_give_up"]),
            percent(r["model_give_up"]),
            number(r["p50_ms"], 1),
            number(r["p90_ms"], 1),
            number(r["p99_ms"], 1),
            "/".join(number(r[f"model_p{q}_ms"], 0) for q in (50, 90, 99)),
            f"{r['retries']} / {'—' if r['link_drops'] is None else r['link_drops']}",
        ]
        for r in analysis.records
    ]
    return [("Attempts, give-ups and latency per loss level (mean ± 95% CI)", (columns, rows))]


KIND = register(
    Kind(
        name="udp-backoff",
        command="udp-backoff",
        columns=("attempts", "outcome", "latency_s"),
        requires=("loss",),
        parallel=True,
        flows=True,
        trial_seconds=lambda options: model.LECTURE_GIVE_UP_S + 2,
        analyze=analyze,
        plot=plot,
        tables=tables,
        deterministic=("attempts", "outcome"),
    )
)
