"""Reproducible loss experiments: sweeps of link parameters, repeated
trials with seeds, results with provenance, plots and a summary.

The command line calls :func:`run_command`. ``spec`` reads experiment
files and ``kinds`` says what each kind measures; ``runner`` runs them,
``measure`` drives the trials inside a lab node, ``results`` keeps
results.csv resumable and ``provenance`` fills metadata.json; ``model``
holds the analytic models, and ``analysis``, ``plots`` and ``report`` turn
rows into per-point records, figures and summary.md.
"""

from .runner import run_command

__all__ = ["run_command"]
