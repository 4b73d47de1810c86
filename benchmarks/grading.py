"""Submissions graded per minute with ``--jobs`` 1, 2 and 4.

For ``udp-server`` and ``tcp-threaded``, a correct test submission is copied
N times into a class folder and graded as ``socklab grade`` does, each copy
in its own sandboxed lab; the table gives the wall-clock time and the rate.
Then a class of 100 ``udp-server`` submissions is graded with the fastest
setting, against the goal of 5 minutes.

Then a class as an instructor runs it: a roster of 100 students and a
course secret, each student's submission written for their own variant
(their word in front of each answer), graded with ``--jobs 4`` (goal: 5
minutes); then 3 submissions change and the class is graded again into the
same folder (goal: 20 s, the 97 others reused). The load average is printed
with each figure: the machine may be shared.

    python benchmarks/grading.py [--count 16] [--class-size 100] [--roster-size 100] [--only-roster]
"""

from __future__ import annotations

import argparse
import csv
import io
import json
import os
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
from socklab.grading.assignment import load_assignment
from socklab.grading.students import for_student
from socklab.images import ensure_images

SUBMISSIONS = Path(__file__).resolve().parent.parent / "tests" / "grading" / "submissions"
ASSIGNMENTS = ("udp-server", "tcp-threaded")
JOBS = (1, 2, 4)
GOAL = 300.0  # seconds for a class of 100 udp-server submissions
REGRADE_GOAL = 20.0  # seconds to grade a class again with 3 changed submissions
CHANGED = 3
SERVER = """import os
from socket import *

serverPort = int(os.environ.get('PORT', 1234))
serverSocket = socket(AF_INET, SOCK_DGRAM)
serverSocket.bind(('', serverPort))
while True:
    message, clientAddress = serverSocket.recvfrom(65535)
    modifiedMessage = '{prefix} ' + message.decode('utf-8', errors='replace').upper()
    serverSocket.sendto(modifiedMessage.encode('utf-8'), clientAddress)
"""


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


def _quiet() -> Output:
    output = Output(quiet=True)
    output.out = Console(file=io.StringIO())
    output.err = Console(file=io.StringIO())
    return output


def _load() -> str:
    return "load average " + " ".join(f"{x:.2f}" for x in os.getloadavg())


def grade_roster_class(size: int, jobs: int, console: Console, problems: list[str]) -> tuple[float, float]:
    """Seconds to grade a rostered class with variants, then to grade it
    again after CHANGED submissions changed; a submission without full marks
    or a wrong number of reused results goes into ``problems``, with why."""
    secret = "benchmark-course-secret"
    spec = load_assignment("udp-server")
    with tempfile.TemporaryDirectory(prefix="socklab-bench-class-") as tmp:
        root = Path(tmp)
        (root / "secret").write_text(secret)
        ids = [f"s{index:03d}" for index in range(1, size + 1)]
        rows = "".join(f"{i},Student {i},{i}@example.edu,\n" for i in ids)
        (root / "roster.csv").write_text("id,name,email,folder\n" + rows)
        for sid in ids:
            (root / "class" / sid).mkdir(parents=True)
            prefix = for_student(spec, secret.encode(), sid)[1]["prefix"]
            (root / "class" / sid / "main.py").write_text(SERVER.format(prefix=prefix))

        def run() -> float:
            started = time.monotonic()
            status = grade_command(
                "udp-server",
                [root / "class"],
                root / "out",
                jobs=jobs,
                output=_quiet(),
                roster=root / "roster.csv",
                secret=root / "secret",
            )
            seconds = time.monotonic() - started
            book = list(csv.DictReader((root / "out" / "gradebook.csv").open()))
            wrong = [row["id"] for row in book if row["score"] != row["max_score"] or row["status"] != "graded"]
            for sid in wrong:  # each one's first failing check, to tell load from a wrong grade
                results = json.loads((root / "out" / sid / "results.json").read_text())
                failed = next((t for t in results["tests"] if t["status"] == "failed"), None)
                reason = f"{failed['name']}: {failed['output'].splitlines()[0]}" if failed else results["output"]
                console.print(f"  {sid} not full marks: {reason[:200]}", style="yellow")
            if status != 0 or wrong:
                problems.append(f"{len(wrong)} of {size} without full marks (status {status})")
            return seconds

        console.print(f"grading a rostered class of {size} with variants, --jobs {jobs} ({_load()})", style="dim")
        first = run()
        console.print(f"  {first:.1f} s ({_load()})", style="dim")
        for sid in ids[:CHANGED]:
            with (root / "class" / sid / "main.py").open("a") as source:
                source.write("# changed after the first run\n")
        again = run()
        summary = (root / "out" / "index.html").read_text()
        reused = f"{size - CHANGED} unchanged"
        if reused not in summary:
            said = summary[summary.find('id="summary"') :][:200]
            problems.append(f"grading again did not say {reused!r}: {said}")
        console.print(f"  again with {CHANGED} changed: {again:.1f} s ({_load()})", style="dim")
    return first, again


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--count", type=int, default=16, help="copies graded per setting")
    parser.add_argument(
        "--class-size", type=int, default=100, help="udp-server submissions in the final run (0: skip it)"
    )
    parser.add_argument(
        "--roster-size", type=int, default=100, help="students of the rostered class with variants (0: skip it)"
    )
    parser.add_argument("--only-roster", action="store_true", help="only the rostered class with variants")
    args = parser.parse_args()
    ensure_images(DockerBackend().client)
    console = Console()
    verdicts = []
    if args.roster_size:
        problems: list[str] = []
        first, again = grade_roster_class(args.roster_size, 4, console, problems)
        within = "within" if first <= GOAL else "OVER"
        console.print(
            f"a rostered class of {args.roster_size} udp-server submissions with variants, --jobs 4:"
            f" {first:.0f} s, {within} the {GOAL / 60:.0f}-minute goal ({_load()})"
        )
        within = "within" if again <= REGRADE_GOAL else "OVER"
        console.print(
            f"graded again with {CHANGED} changed ({args.roster_size - CHANGED} reused): {again:.1f} s,"
            f" {within} the {REGRADE_GOAL:.0f}-second goal"
        )
        for problem in problems:
            console.print(f"problem: {problem}", style="red")
        verdicts += [first <= GOAL, again <= REGRADE_GOAL, not problems]
    if args.only_roster:
        return 0 if all(verdicts) else 1
    table = Table(
        title=f"socklab grade: {args.count} correct submissions per setting", title_justify="left", header_style="bold"
    )
    for column in ("assignment", "jobs", "seconds", "per submission", "submissions / minute"):
        table.add_column(column, justify="left" if column == "assignment" else "right")
    rates: dict[tuple[str, int], float] = {}
    for assignment in ASSIGNMENTS:
        for jobs in JOBS:
            seconds = grade_class(assignment, args.count, jobs)
            rates[assignment, jobs] = args.count / seconds * 60
            table.add_row(
                assignment,
                str(jobs),
                f"{seconds:.1f}",
                f"{seconds / args.count:.2f} s",
                f"{rates[assignment, jobs]:.1f}",
            )
            console.print(f"{assignment} --jobs {jobs}: {seconds:.1f} s", style="dim")
    console.print(table)
    if not args.class_size:
        return 0 if all(verdicts) else 1
    jobs = max(JOBS, key=lambda j: rates["udp-server", j])
    seconds = grade_class("udp-server", args.class_size, jobs)
    verdict = "within" if seconds <= GOAL else "OVER"
    console.print(
        f"a class of {args.class_size} udp-server submissions, --jobs {jobs}: "
        f"{seconds:.0f} s ({args.class_size / seconds * 60:.1f} per minute), "
        f"{verdict} the {GOAL / 60:.0f}-minute goal"
    )
    return 0 if seconds <= GOAL and all(verdicts) else 1


if __name__ == "__main__":
    sys.exit(main())
