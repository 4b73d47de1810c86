"""A submission's grade, shaped as Gradescope reads it.

``to_gradescope`` gives the ``results.json`` of Gradescope's autograder
specification: ``score``, ``max_score``, ``execution_time``, ``output`` and
``tests[]`` with ``name``, ``score``, ``max_score``, ``status``, ``output``
and ``visibility``.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from .assignment import Assignment, CheckSpec

GRADED = "graded"
BUILD_FAILED = "build failed"
NOT_STARTED = "did not start"
NOT_READY = "never ready"
TIMED_OUT = "timed out"
GRADER_ERROR = "grader error"  # ours, not the student's: the submission is not graded


@dataclass(frozen=True)
class TestResult:
    name: str
    score: float
    max_score: float
    passed: bool
    output: str
    visibility: str

    @classmethod
    def not_run(cls, spec: CheckSpec, reason: str) -> "TestResult":
        return cls(spec.name, 0.0, spec.points, False, f"not run: {reason}", spec.visibility)

    def to_gradescope(self) -> dict:
        return {
            "name": self.name,
            "score": self.score,
            "max_score": self.max_score,
            "status": "passed" if self.passed else "failed",
            "output": self.output,
            "visibility": self.visibility,
        }


@dataclass
class SubmissionResult:
    name: str
    assignment: str
    status: str
    tests: list[TestResult] = field(default_factory=list)
    output: str = ""  # for the student, above the tests: why nothing ran, their program's last lines
    execution_time: float = 0.0
    extra: dict = field(default_factory=dict)  # Gradescope's extra_data: what was graded, with what (cache.py)

    @classmethod
    def unrun(cls, name: str, assignment: Assignment, status: str, reason: str, output: str) -> "SubmissionResult":
        """A submission none of whose checks could run: each scores 0, saying why."""
        return cls(
            name, assignment.name, status, [TestResult.not_run(spec, reason) for spec in assignment.checks], output
        )

    @property
    def score(self) -> float:
        return sum(t.score for t in self.tests)

    @property
    def max_score(self) -> float:
        return sum(t.max_score for t in self.tests)

    @property
    def graded(self) -> bool:
        return self.status != GRADER_ERROR

    def to_gradescope(self) -> dict:
        return {
            "score": self.score,
            "max_score": self.max_score,
            "execution_time": round(self.execution_time, 2),
            "output": self.output,
            "tests": [t.to_gradescope() for t in self.tests],
            **({"extra_data": self.extra} if self.extra else {}),
        }
