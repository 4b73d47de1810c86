"""Automated grading of student submissions: ``socklab grade``.

A submission (a directory with a Dockerfile or a main.py) takes the place
of one node of an assignment's lab, boxed in (``sandbox``), and is graded by
the assignment's checks (``checks``), which measure it as the behaviour
suite does; out come Gradescope results, a readable report and a gradebook
(``report``). ``runner`` grades a batch N at a time; ``command`` is the
CLI's entry point.
"""

from .command import grade_command

__all__ = ["grade_command"]
