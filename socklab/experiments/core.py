"""What an experiment is: its kind, the experiment a file describes, and the
analysis of its rows.

A kind says what ``experiment-client`` command measures one trial, the
columns it reports, the sweep parameters it needs, and how its rows are
analysed, drawn and summarised. Each kind is one module of
``socklab/experiments/kinds/``, which registers it here with :func:`register`.
"""

from __future__ import annotations

import hashlib
import itertools
import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Mapping, Optional, Sequence

from ..impairment import IMPAIRMENT_KEYS, impairment_changes
from ..model import Lab

Row = dict[str, str]
"""One trial as results.csv holds it."""
Table = tuple[list[str], list[list[str]]]
"""A summary table: its columns and rows of text."""


@dataclass(frozen=True)
class Kind:
    name: str
    command: str  # the experiment-client subcommand
    columns: tuple[str, ...]  # what it measures, in CSV order
    requires: tuple[str, ...]  # sweep parameters the analysis needs
    parallel: bool  # trials are independent flows and may run side by side
    flows: bool  # trial t sends from a fixed source port (--first-port)
    trial_seconds: Callable[[Mapping[str, str]], float]  # the longest one trial can take
    analyze: Callable[[Experiment, Sequence[Row], dict], Analysis]  # rows (and the link's counts) to records
    plot: Callable[[Experiment, Analysis, Path], list[Path]]  # records to figures in a folder
    tables: Callable[[Analysis], list[tuple[str, Table]]]  # records to summary.md's titled tables
    deterministic: tuple[str, ...] = ()  # columns the seeded link alone decides


KINDS: dict[str, Kind] = {}
"""Every kind by name, in the order they were registered."""


def register(kind: Kind) -> Kind:
    if kind.name in KINDS:
        raise ValueError(f"experiment kind {kind.name!r} registered twice")
    KINDS[kind.name] = kind
    return kind


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


Point = dict[str, str]
"""One combination of sweep values, by parameter name, as written to results.csv."""


@dataclass(frozen=True)
class Measure:
    """Where and how the trials run: ``experiment-client KIND --option value ...`` in ``node``."""

    node: str
    parallel: int
    first_port: int
    options: dict[str, str]


@dataclass(frozen=True)
class Experiment:
    name: str
    path: Path
    description: str
    kind: Kind
    lab: Lab
    link: Optional[str]
    link_settings: dict[str, str]  # fixed for the whole run, e.g. {"delay": "10ms"}
    seed: int
    trials: int
    sweep: dict[str, tuple[str, ...]]  # in file order: the first parameter varies slowest
    measure: Measure
    points: tuple[Point, ...] = field(init=False)

    def __post_init__(self) -> None:
        names = list(self.sweep)
        combos = itertools.product(*(self.sweep[name] for name in names))
        object.__setattr__(self, "points", tuple(dict(zip(names, combo)) for combo in combos))

    @property
    def columns(self) -> list[str]:
        """results.csv's header: the sweep parameters, the trial, the measured values."""
        return [*self.sweep, "trial", *self.kind.columns]

    def point_seed(self, point: Point) -> int:
        """The link's seed for one point: independent draws at each point, the
        same ones run after run, whatever the order points are run in."""
        data = json.dumps(point, sort_keys=True).encode()
        return int.from_bytes(hashlib.blake2b(data, key=str(self.seed).encode(), digest_size=8).digest(), "big")

    def first_port(self, index: int) -> int:
        """Source port of trial 0 at point ``index``: every (point, trial) is a
        flow of its own, so no TCP connection meets one in TIME_WAIT."""
        return self.measure.first_port + index * self.trials

    def link_changes(self, point: Point) -> dict[str, Any]:
        """Impairment field values for this point: the fixed settings, then the swept ones."""
        values = {**self.link_settings, **{k: v for k, v in point.items() if k in IMPAIRMENT_KEYS}}
        return impairment_changes(values)

    def identity(self) -> dict:
        """Everything that decides the numbers; a run resumes only into the same identity."""
        return {
            "experiment": self.name,
            "kind": self.kind.name,
            "lab": self.lab.name,
            "link": self.link,
            "link_settings": self.link_settings,
            "seed": self.seed,
            "trials": self.trials,
            "sweep": {name: list(values) for name, values in self.sweep.items()},
            "measure": {
                "node": self.measure.node,
                "parallel": self.measure.parallel,
                "first_port": self.measure.first_port,
                "options": self.measure.options,
            },
        }
