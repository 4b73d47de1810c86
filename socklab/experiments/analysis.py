"""From trial rows to one record per point, measured next to the model.

Plots and the summary both read these records, so that a number in the
summary and the point drawn for it are the same number.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Callable, Optional, Sequence

import numpy as np

from . import model
from .spec import Experiment, Point

Row = dict[str, str]
CHECK_TRIALS = 200  # trials per point before the model check counts
CHECK_LOSS = 40.0  # percent: up to here mean attempts must match the model
CHECK_TOLERANCE = 0.10


@dataclass(frozen=True)
class Check:
    """A stated comparison with the model; ``passed`` None when not enough data to judge."""

    statement: str
    passed: Optional[bool]


@dataclass
class Analysis:
    kind: str
    records: list[dict] = field(default_factory=list)
    checks: list[Check] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)


def by_point(experiment: Experiment, rows: Sequence[Row]) -> list[tuple[Point, list[Row]]]:
    """Rows grouped by point, in sweep order, skipping points without rows."""
    groups: dict[tuple, list[Row]] = {}
    for row in rows:
        groups.setdefault(tuple(row[name] for name in experiment.sweep), []).append(row)
    result = []
    for point in experiment.points:
        key = tuple(point.values())
        if key in groups:
            result.append((point, groups[key]))
    return result


def numbers(rows: Sequence[Row], column: str) -> np.ndarray:
    return np.array([float(row[column]) for row in rows if row[column] not in ("", "nan")], dtype=float)


def relative_error(measured: float, expected: float) -> float:
    return (measured - expected) / expected if expected and math.isfinite(expected) else math.nan


def rtt_seconds(experiment: Experiment, point: Point) -> float:
    """The round trip the link adds at this point: its delays both ways."""
    if experiment.link is None:
        return 0.0
    link = experiment.lab.links[experiment.link]
    changes = experiment.link_changes(point)
    return (link.forward.updated(**changes).delay_ms + link.reverse.updated(**changes).delay_ms) / 1000


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
    off = [f"{r['loss']:g}%: {r['retries']} retries, {r['link_drops']} drops" for r in counted if r["retries"] != r["link_drops"]]
    if not off:
        return Check(f"Every retry is a drop the link counted ({retries} retries, {drops} drops): the attempts and outcomes "
                     "are the seeded link's decisions, not timing, and repeat with the same seed.", True)
    return Check(f"Retries and link drops differ ({'; '.join(off)}): some answers came after the client's 0.1 s timeout, "
                 "so timing decided those rows; the machine was too busy: lower measure parallel and run again.", False)


def udp_backoff(experiment: Experiment, rows: Sequence[Row], metadata: dict) -> Analysis:
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
        analysis.records.append({
            "loss": loss,
            "trials": len(group),
            "mean_attempts": float(attempts.mean()),
            "ci95_attempts": float(1.96 * attempts.std(ddof=1) / math.sqrt(len(attempts))) if len(attempts) > 1 else math.nan,
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
        })
    analysis.checks.append(retries_check(analysis.records))
    checked = [r for r in analysis.records if r["loss"] <= CHECK_LOSS and r["trials"] >= CHECK_TRIALS]
    if checked:
        worst = max(checked, key=lambda r: abs(r["error"]))
        passed = all(abs(r["error"]) <= CHECK_TOLERANCE for r in checked)
        verdict = "within" if passed else "NOT within"
        analysis.checks.append(Check(
            f"Mean attempts {verdict} {CHECK_TOLERANCE:.0%} of the model at every loss level up to {CHECK_LOSS:g}% "
            f"({len(checked)} levels, {min(r['trials'] for r in checked)}+ trials each; largest deviation "
            f"{worst['error']:+.1%} at {worst['loss']:g}% loss).", passed))
    else:
        analysis.checks.append(Check(
            f"Model check not made: it needs {CHECK_TRIALS} trials per point at loss levels up to {CHECK_LOSS:g}%.", None))
    analysis.notes.append(
        f"The latency model is the send time of the answered attempt (0, 0.1, 0.3, 0.7 or 1.5 s) plus the round trip "
        f"of a first-attempt answer measured here ({rtt * 1000:.1f} ms median), or 3.1 s for a request given up on.")
    return analysis


def server_models(experiment: Experiment, rows: Sequence[Row], metadata: dict) -> Analysis:
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
        modelled = slots is not None
        throughput = float(numbers(group, "throughput_rps").mean())
        expected = model.closed_loop_throughput(clients, slots, think, service[server]) if modelled else math.nan
        analysis.records.append({
            "server": server,
            "clients": clients,
            "trials": len(group),
            "throughput_rps": throughput,
            "model_rps": expected,
            "error": relative_error(throughput, expected),
            "mean_ms": mean_s * 1000,
            "model_mean_ms": model.closed_loop_latency(clients, slots, think, service[server]) * 1000 if modelled else math.nan,
            "p50_ms": float(numbers(group, "p50_ms").mean()),
            "p99_ms": float(numbers(group, "p99_ms").mean()),
            "errors": int(numbers(group, "errors").sum()),
        })
    analysis.notes.append(
        f"Each client asks, waits for the answer, then thinks {think * 1000:g} ms while it keeps its connection "
        "(the per-request time a connection is held). Model: a server that serves K connections at once "
        "(sequential 1, pool 4, threaded/poll/asyncio unbounded) delivers min(C, K)/(think + s) requests per second, "
        "s being the per-request time measured with one client; mean latency follows from the response time law, "
        "R = C/X - think.")
    return analysis


def tcp_under_loss(experiment: Experiment, rows: Sequence[Row], metadata: dict) -> Analysis:
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
        analysis.records.append({
            "loss": loss,
            "protocol": protocol,
            "trials": len(group),
            "goodput_kBps": mean,
            "median_kBps": float(np.median(goodput)),
            "ci95_kBps": float(1.96 * goodput.std(ddof=1) / math.sqrt(len(goodput))) if len(goodput) > 1 else math.nan,
            "model_kBps": expected,
            "error": relative_error(mean, expected),
            "padhye_kBps": low,
            "mathis_kBps": high,
            "bracketed": low <= mean <= high if math.isfinite(low) else None,
            "complete": sum(row["outcome"] == "complete" for row in group) / len(group),
            "rtt_ms": rtt * 1000,
        })
    analysis.notes.append(
        "Goodput is bytes upper-cased per second: over TCP one connection streams the bytes to the threaded server "
        "and reads them back; over UDP the lecture's client sends them as datagrams, one at a time, each with its "
        "backoff (a datagram given up on is not counted). UDP model: chunk x P(answered) / E[request time], with the "
        "backoff schedule and the round trip"
        + (f" measured over UDP without loss ({measured_rtt * 1000:.1f} ms: the link's delays and the lab's own time)" if measured_rtt else "")
        + ", used by the TCP models too. TCP has two classic steady-state models, set side by side: "
        "Padhye et al. (Reno with timeouts, pessimistic for a Linux TCP with SACK and RACK) below, Mathis et al. "
        "(fast retransmit only, optimistic) above; without loss a short transfer is bounded by slow start instead.")
    return analysis


ANALYSES: dict[str, Callable[[Experiment, Sequence[Row], dict], Analysis]] = {
    "udp-backoff": udp_backoff,
    "server-models": server_models,
    "tcp-under-loss": tcp_under_loss,
}


def analyze(experiment: Experiment, rows: Sequence[Row], metadata: dict) -> Analysis:
    """Records and checks for an experiment's rows; ``metadata`` brings what
    the link counted (its drops per point)."""
    return ANALYSES[experiment.kind.name](experiment, rows, metadata)
