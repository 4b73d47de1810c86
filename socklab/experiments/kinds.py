"""The experiments socklab knows how to measure and explain.

A kind ties an experiment file to the ``experiment-client`` command that
measures one trial, the columns that command reports, and the sweep
parameters its model and plots need. The analysis, plots and summary are
looked up by the kind's name in their own modules.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Callable, Mapping

from .model import LECTURE_GIVE_UP_S


@dataclass(frozen=True)
class Kind:
    name: str
    command: str  # the experiment-client subcommand
    columns: tuple[str, ...]  # what it measures, in CSV order
    requires: tuple[str, ...]  # sweep parameters the analysis needs
    parallel: bool  # trials are independent flows and may run side by side
    flows: bool  # trial t sends from a fixed source port (--first-port)
    trial_seconds: Callable[[Mapping[str, str]], float]  # the longest one trial can take
    deterministic: tuple[str, ...] = ()  # columns the seeded link alone decides


def _transfer_seconds(options: Mapping[str, str]) -> float:
    chunks = math.ceil(int(options.get("bytes", 65536)) / int(options.get("chunk", 1024)))
    return max(float(options.get("timeout", 60)), chunks * LECTURE_GIVE_UP_S) + 5


KINDS: dict[str, Kind] = {
    kind.name: kind
    for kind in (
        Kind(
            name="udp-backoff",
            command="udp-backoff",
            columns=("attempts", "outcome", "latency_s"),
            requires=("loss",),
            parallel=True,
            flows=True,
            trial_seconds=lambda options: LECTURE_GIVE_UP_S + 2,
            deterministic=("attempts", "outcome"),
        ),
        Kind(
            name="server-models",
            command="requests",
            columns=("requests", "throughput_rps", "mean_ms", "p50_ms", "p99_ms", "errors"),
            requires=("server", "clients"),
            parallel=False,
            flows=False,
            trial_seconds=lambda options: float(options.get("duration", 3)) + float(options.get("timeout", 30)) + 5,
        ),
        Kind(
            name="tcp-under-loss",
            command="transfer",
            columns=("bytes", "seconds", "goodput_kBps", "outcome"),
            requires=("loss", "protocol"),
            parallel=True,
            flows=True,
            trial_seconds=_transfer_seconds,
        ),
    )
}
