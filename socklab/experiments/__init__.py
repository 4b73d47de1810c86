"""Reproducible loss experiments: sweeps of link parameters, repeated
trials with seeds, results with provenance, plots and a summary.

The command line calls :func:`run_command`. ``core`` says what an
experiment and a kind are, ``spec`` reads experiment files, and each kind
(what it measures, its analysis, figures and summary tables) is one module
of ``kinds/``; ``runner`` runs them, ``measure`` drives the trials inside a
lab node, ``results`` keeps results.csv resumable and ``provenance`` fills
metadata.json; ``model`` holds the analytic models, and ``analysis``,
``plots`` and ``report`` hold what the kinds share and call the kind's own.
"""

from .runner import run_command

__all__ = ["run_command"]
