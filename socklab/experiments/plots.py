"""The figures of each experiment, measurement against model, as PNG.

Figures are made with matplotlib's object API on the Agg canvas, never
through pyplot, so that no display is needed and no global state is shared.
Measured values are markers (with their 95% confidence interval where it
means something), models are lines; every axis says its unit. Each kind
draws its own figures (``kinds/``) with these helpers.
"""

from __future__ import annotations

from pathlib import Path

from matplotlib.axes import Axes
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure
from matplotlib.ticker import FuncFormatter, LogLocator, NullFormatter

from .core import Analysis, Experiment

DPI = 120


def figure(width: float, height: float) -> Figure:
    figure = Figure(figsize=(width, height), dpi=DPI, layout="constrained")
    FigureCanvasAgg(figure)
    return figure


def grid(axes: Axes) -> None:
    """A light grid; log axes labelled 0.1, 1, 10 rather than 10^-1, 10^0, 10^1."""
    axes.grid(True, which="major", alpha=0.3)
    if axes.get_yscale() == "log":
        axes.yaxis.set_major_locator(LogLocator(subs=(1.0, 2.0, 5.0)))
        axes.yaxis.set_major_formatter(FuncFormatter(lambda value, _: f"{value:g}"))
        axes.yaxis.set_minor_formatter(NullFormatter())


def subtitle(experiment: Experiment, records: list[dict]) -> str:
    trials = sorted({r["trials"] for r in records})
    per_point = f"{trials[0]}" if len(trials) == 1 else f"{trials[0]}-{trials[-1]}"
    return f"{experiment.name}: {per_point} trial{'s' if trials[-1] > 1 else ''} per point, seed {experiment.seed}"


def plot(experiment: Experiment, analysis: Analysis, out: Path) -> list[Path]:
    """Draw the experiment's figures into ``out``; returns their paths."""
    if not analysis.records:
        return []
    return experiment.kind.plot(experiment, analysis, out)
