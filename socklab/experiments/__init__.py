"""Reproducible loss experiments: sweeps of link parameters, repeated
trials with seeds, results with provenance, plots and a summary.

The command line calls :func:`run_command`; ``spec`` reads experiment
files, ``runner`` runs them, ``measure`` drives the trials inside a lab
node, ``model`` holds the analytic models, ``analysis``, ``plots`` and
``report`` turn rows into records, figures and summary.md.
"""

from .runner import run_command

__all__ = ["run_command"]
