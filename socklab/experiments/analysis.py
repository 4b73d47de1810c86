"""From trial rows to one record per point, measured next to the model.

Plots and the summary both read these records, so that a number in the
summary and the point drawn for it are the same number. Each kind's own
analysis is in its module (``kinds/``); these are the parts they share.
"""

from __future__ import annotations

import math
from typing import Sequence

import numpy as np

from .core import Analysis, Check, Experiment, Point, Row

__all__ = ["Analysis", "Check", "analyze", "by_point", "numbers", "relative_error", "rtt_seconds"]


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
    return (link.forward.updated(changes).delay_ms + link.reverse.updated(changes).delay_ms) / 1000


def analyze(experiment: Experiment, rows: Sequence[Row], metadata: dict) -> Analysis:
    """Records and checks for an experiment's rows; ``metadata`` brings what
    the link counted (its drops per point)."""
    return experiment.kind.analyze(experiment, rows, metadata)
