"""Grading a class again: only what changed.

Each ``results.json`` records, in Gradescope's ``extra_data``, the hash of
the submission's files, the hash of the assignment as its student has it
(its file, its lab's file, the student's variant values) and socklab's
version (its release and a hash of its code and reference services). A
later run into the same folder takes the earlier result of a submission
whose three are unchanged instead of grading it again, unless ``--force``.
A result the grader itself failed on is never taken again.
"""

from __future__ import annotations

import hashlib
import json
from functools import lru_cache
from pathlib import Path
from typing import Any, Optional

from .. import __version__
from ..images import ROOT
from .assignment import Assignment
from .results import GRADER_ERROR, SubmissionResult, TestResult
from .submissions import walk

CHUNK = 1 << 16


def submission_hash(path: Path) -> str:
    """Every file's relative path and bytes, in a fixed order; a symbolic
    link counts by where it points (it is never followed)."""
    digest = hashlib.sha256()
    for file in (p for p in walk(path) if not p.is_dir() or p.is_symlink()):
        relative = file.relative_to(path).as_posix()
        digest.update(relative.encode("utf-8", "surrogateescape") + b"\0")
        if file.is_symlink():
            digest.update(b"link\0" + str(file.readlink()).encode("utf-8", "surrogateescape"))
        else:
            with file.open("rb") as data:
                for chunk in iter(lambda: data.read(CHUNK), b""):
                    digest.update(chunk)
        digest.update(b"\0")
    return digest.hexdigest()


def assignment_hash(assignment: Assignment, variant: dict[str, Any]) -> str:
    digest = hashlib.sha256()
    for path in (assignment.path, assignment.lab.path):
        digest.update(path.read_bytes() + b"\0")
    digest.update(json.dumps(variant, sort_keys=True).encode())
    if assignment.patience != 1.0:  # longer limits can change a verdict: a result of other limits is not reused
        digest.update(f"patience {assignment.patience:g}".encode())
    return digest.hexdigest()


@lru_cache(maxsize=1)
def version() -> str:
    """socklab's release and a hash of the code that grades: a change to a
    check or a reference service grades again, even within one release."""
    digest = hashlib.sha256()
    for folder in ("socklab", "services"):
        for file in sorted((ROOT / folder).rglob("*.py")):
            digest.update(file.relative_to(ROOT).as_posix().encode() + b"\0" + file.read_bytes())
    return f"{__version__}+{digest.hexdigest()[:12]}"


def provenance(submission: Path, assignment: Assignment, student: str, variant: dict[str, Any]) -> dict[str, Any]:
    """What a result was graded from, for its ``extra_data``."""
    return {
        "student": student,
        "variant": variant,
        "submission_hash": submission_hash(submission),
        "assignment_hash": assignment_hash(assignment, variant),
        "socklab_version": version(),
    }


def previous(out: Path, name: str, wanted: dict[str, Any]) -> Optional[SubmissionResult]:
    """The earlier result of this submission in ``out``, if it was graded
    from the same files, assignment and socklab; otherwise None."""
    try:
        data = json.loads((out / name / "results.json").read_text(encoding="utf-8"))
        extra = data["extra_data"]
        if any(
            extra.get(key) != wanted[key]
            for key in ("submission_hash", "assignment_hash", "socklab_version", "student")
        ):
            return None
        if extra["status"] == GRADER_ERROR:
            return None
        tests = [
            TestResult(t["name"], t["score"], t["max_score"], t["status"] == "passed", t["output"], t["visibility"])
            for t in data["tests"]
        ]
        return SubmissionResult(
            name,
            extra["assignment"],
            extra["status"],
            tests,
            data.get("output", ""),
            data.get("execution_time", 0.0),
            dict(extra),
        )
    except (OSError, ValueError, KeyError, TypeError):
        return None
