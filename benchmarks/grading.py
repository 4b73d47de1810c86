"""Submissions graded per minute with ``--jobs`` 1, 2 and 4.

For ``udp-server`` and ``tcp-threaded``, a correct test submission is copied
N times into a class folder and graded as ``socklab grade`` does, each copy
in its own sandboxed lab; the table gives the wall-clock time and the rate.
Then a class of 100 ``udp-server`` submissions is graded with the fastest
setting, against the goal of 5 minutes.

    python benchmarks/grading.py [--count 16] [--class-size 100]
"""

from __future__ import annotations

import argparse
import io
import shutil
import sys
import tempfile
import time
from pathlib import Path

from rich.console import Console
from rich.table import Table

from socklab.console import Output
from socklab.docker_backend import DockerBackend
from socklab.grading import grade_command
from socklab.images import ensure_images

SUBMISSIONS = Path(__file__).resolve().parent.parent / "tests" / "grading" / "submissions"
ASSIGNMENTS = ("udp-server", "tcp-threaded")
JOBS = (1, 2, 4)
GOAL = 300.0  # seconds for a class of 100 udp-server submissions


def grade_class(assignment: str, count: int, jobs: int) -> float:
    """Seconds to grade ``count`` copies of the correct submission; fails
    loudly if any copy does not get full marks."""
    with tempfile.TemporaryDirectory(prefix="socklab-bench-") as tmp:
        folder = Path(tmp) / "class"
        for index in range(count):
            shutil.copytree(SUBMISSIONS / assignment / "correct", folder / f"student-{index:03d}")
        started = time.monotonic()
        output = Output(quiet=True)
        output.out = Console(file=io.StringIO())  # the summary table of each run: the benchmark prints its own
        status = grade_command(assignment, [folder], Path(tmp) / "out", jobs=jobs, output=output)
        seconds = time.monotonic() - started
        grades = (Path(tmp) / "out" / "grades.csv").read_text().splitlines()[1:]
    full = [line for line in grades if line.split(",")[1] == line.split(",")[2]]
    if status != 0 or len(full) != count:
        raise SystemExit(f"{assignment}: {len(full)} of {count} copies got full marks (status {status})")
    return seconds


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--count", type=int, default=16, help="copies graded per setting")
    parser.add_argument("--class-size", type=int, default=100, help="udp-server submissions in the final run (0: skip it)")
    args = parser.parse_args()
    ensure_images(DockerBackend().client)
    console = Console()
    table = Table(title=f"socklab grade: {args.count} correct submissions per setting", title_justify="left", header_style="bold")
    for column in ("assignment", "jobs", "seconds", "per submission", "submissions / minute"):
        table.add_column(column, justify="left" if column == "assignment" else "right")
    rates: dict[tuple[str, int], float] = {}
    for assignment in ASSIGNMENTS:
        for jobs in JOBS:
            seconds = grade_class(assignment, args.count, jobs)
            rates[assignment, jobs] = args.count / seconds * 60
            table.add_row(assignment, str(jobs), f"{seconds:.1f}", f"{seconds / args.count:.2f} s", f"{rates[assignment, jobs]:.1f}")
            console.print(f"{assignment} --jobs {jobs}: {seconds:.1f} s", style="dim")
    console.print(table)
    if not args.class_size:
        return 0
    jobs = max(JOBS, key=lambda j: rates["udp-server", j])
    seconds = grade_class("udp-server", args.class_size, jobs)
    verdict = "within" if seconds <= GOAL else "OVER"
    console.print(f"a class of {args.class_size} udp-server submissions, --jobs {jobs}: {seconds:.0f} s ({args.class_size / seconds * 60:.1f} per minute), {verdict} the {GOAL / 60:.0f}-minute goal")
    return 0 if seconds <= GOAL else 1


if __name__ == "__main__":
    sys.exit(main())
