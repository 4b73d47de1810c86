"""A class being graded: whose each submission is, which version of the
assignment it is graded against, which earlier results still hold, and what
is written for the class at the end.

It ties the roster (roster.py), the variants (variants.py), the cache
(cache.py), the gradebooks (gradebook.py) and the class report
(classreport.py) to ``socklab grade``; the batch itself is the runner's.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Optional, Sequence

from ..console import Output
from . import cache
from .assignment import Assignment
from .classreport import write_class_report
from .gradebook import write_gradebooks
from .results import SubmissionResult
from .roster import Roster
from .students import for_student
from .submissions import Submission
from .variants import shown


@dataclass
class Course:
    assignment: Assignment
    out: Path
    roster: Optional[Roster]
    secret: Optional[bytes]
    versions: dict[str, Assignment] = field(default_factory=dict)  # submission -> its student's assignment
    provenance: dict[str, dict[str, Any]] = field(default_factory=dict)
    to_grade: list[Submission] = field(default_factory=list)
    reused: list[SubmissionResult] = field(default_factory=list)

    @classmethod
    def prepare(
        cls,
        assignment: Assignment,
        submissions: Sequence[Submission],
        out: Path,
        roster: Optional[Roster],
        secret: Optional[bytes],
        force: bool,
    ) -> "Course":
        course = cls(assignment, out, roster, secret)
        owners = roster.by_folder() if roster else {}
        for submission in submissions:
            student = owners[submission.name].id if submission.name in owners else submission.name
            version, values = for_student(assignment, secret, student)
            course.versions[submission.name] = version
            course.provenance[submission.name] = cache.provenance(
                submission.path, version, student, shown(assignment.variants, values)
            )
            earlier = None if force else cache.previous(out, submission.name, course.provenance[submission.name])
            if earlier is None:
                course.to_grade.append(submission)
            else:
                course.reused.append(earlier)
        return course

    def assignment_of(self, submission: Submission) -> Assignment:
        return self.versions[submission.name]

    def record(self, result: SubmissionResult) -> None:
        """Put what it was graded from in the result, for the next run."""
        result.extra = dict(self.provenance[result.name], status=result.status, assignment=result.assignment)

    def write(self, results: Sequence[SubmissionResult], output: Output) -> None:
        """The roster's gradebooks, the class report, and what an instructor must hear."""
        if self.roster is not None:
            write_gradebooks(self.out, self.roster, self.assignment.name, self.assignment.max_score, results)
            names = {r.name for r in results}
            missing = [s.folder for s in self.roster if s.folder not in names]
            unrostered = [r.name for r in results if r.name not in self.roster.by_folder()]
            if missing:
                output.progress(
                    f"{len(missing)} rostered student(s) submitted nothing (0, marked missing): {', '.join(missing)}"
                )
            if unrostered:
                output.error(
                    f"{len(unrostered)} submission(s) are on no roster line (graded, in gradebook.csv and the class"
                    f" report, not in canvas.csv or moodle.csv): {', '.join(unrostered)}"
                )
        index = write_class_report(self.out, self.assignment, results, self.roster, len(self.reused))
        output.progress(
            f"class report: {index}"
            + (f"; gradebooks: {self.out / 'gradebook.csv'}, canvas.csv, moodle.csv" if self.roster else "")
        )
