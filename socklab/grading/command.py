"""``socklab grade ASSIGNMENT SUBMISSION_DIR... --out DIR [--jobs N]``.

Bad input (an unknown assignment, an invalid assignment file, a path that
does not exist) is found before anything starts and raised as BadInput
(exit status 2). Then every submission is graded, its report written as
soon as it is done, with a progress bar; at the end come the gradebook, a
JUnit file and a summary table. The exit status is 0 when every submission
was graded, whatever the scores, and 1 when the grader itself failed on one.

For a class (``--roster``, ``--secret``, ``--force``): each submission is
graded against its own student's variant (variants.py), a submission whose
files, assignment and socklab are unchanged since the last run into the
same folder is taken from it (cache.py), and besides grades.csv come the
roster's gradebooks (gradebook.py) and the class report (classreport.py).
"""

from __future__ import annotations

from pathlib import Path
from typing import Optional, Sequence

from rich.markup import escape
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from .. import labels as L
from ..console import Output
from ..docker_backend import DockerBackend
from ..errors import BadInput
from ..images import ensure_images
from ..lab import remove_stale
from .assignment import load_assignment
from .build import remove_images
from .course import Course
from .report import points, shown, write_gradebook, write_junit, write_submission
from .results import SubmissionResult
from .roster import load_roster
from .runner import Batch
from .submissions import find_submissions
from .variants import SECRET_ENV, course_secret


def grade_command(
    assignment: str,
    submissions: Sequence[Path],
    out: Path,
    jobs: int = 1,
    output: Optional[Output] = None,
    roster: Optional[Path] = None,
    secret: Optional[Path] = None,
    force: bool = False,
    patience: float = 1.0,
) -> int:
    """Grade submissions into ``out``; the CLI's ``socklab grade``."""
    output = output or Output()
    if not 1.0 <= patience <= 100.0:
        raise BadInput(f"--patience must be from 1 to 100, not {patience:g}")
    spec = load_assignment(assignment).with_patience(patience)
    found = find_submissions(submissions)
    if jobs < 1:
        raise BadInput(f"--jobs must be 1 or more, not {jobs}")
    if out.exists() and not out.is_dir():
        raise BadInput(f"--out {out}: exists and is not a directory")
    course = Course.prepare(spec, found, out, load_roster(roster) if roster else None, course_secret(secret), force)
    if spec.variants and course.secret is None:
        output.progress(
            f"no course secret ({SECRET_ENV} or --secret FILE): every student gets the lecture's values of {spec.name}"
        )
    found = course.to_grade
    backend = DockerBackend()
    remove_stale(backend)
    remove_stale_images(backend)
    ensure_images(backend.client, output.progress)
    out.mkdir(parents=True, exist_ok=True)
    if course.reused:
        output.progress(
            f"{len(course.reused)} submission(s) unchanged since the last run into {out}: "
            "their results are reused (--force grades them again)"
        )
    output.progress(
        f"grading {len(found)} submission(s) of {spec.name} ({points(spec.max_score)} points), {jobs} at a time"
    )
    columns = (TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn())
    with Progress(*columns, console=output.err, disable=output.quiet) as progress:
        task = progress.add_task(f"grading {spec.name}", total=len(found))

        def done(result: SubmissionResult) -> None:
            course.record(result)
            write_submission(out, result)
            progress.advance(task)
            progress.update(task, description=f"graded {_name(result.name)}")

        batch = Batch(spec, jobs, course.assignment_of)
        graded = batch.grade(found, done)
    if batch.leftovers:
        output.error(f"could not remove (a later run removes them): {'; '.join(batch.leftovers)}")
    results = sorted(graded + course.reused, key=lambda r: r.name)
    write_gradebook(out, results)
    write_junit(out, results)
    course.write(results, output)
    output.table(
        f"{spec.name}: {len(results)} submission(s)"
        + (f", {len(course.reused)} unchanged and reused" if course.reused else "")
        + f", reports in {out}",
        ["submission", "score", "max", "checks passed", "status", "time"],
        [
            (
                _name(r.name),
                points(r.score),
                points(r.max_score),
                f"{sum(t.passed for t in r.tests)}/{len(r.tests)}",
                r.status,
                f"{r.execution_time:.1f} s",
            )
            for r in results
        ],
    )
    ungraded = [r.name for r in results if not r.graded]
    if ungraded:
        names = ", ".join(_name(name) for name in ungraded)
        output.error(f"the grader failed on {len(ungraded)} submission(s): {names} (see their report.md)")
        return 1
    return 0


def _name(folder: str) -> str:
    """A submission's folder name as the terminal shows it: as text, never as
    rich markup or escape sequences (a student may choose it)."""
    return escape(shown(folder, newlines=False))


def remove_stale_images(backend: DockerBackend) -> None:
    """Submission images (intermediate ones too) left by a grader that was killed."""
    images = backend.api.images(all=True, filters={"label": [f"{L.PROJECT}=1", f"{L.IMAGE_ROLE}=submission"]})
    stale = {(i.get("Labels") or {}).get(L.LAB) for i in images if not L.process_alive(i.get("Labels") or {})}
    for instance in sorted(name for name in stale if name):
        remove_images(backend.client, {L.LAB: instance})
