"""A class's gradebook from a roster: every rostered student on a row, the
ones who submitted nothing included (score 0, marked missing), and the same
scores in the CSV formats Canvas and Moodle import.

``gradebook.csv`` (``id,name,email,folder,score,max_score,status``) is
ours: it also lists, as ``not on the roster``, submissions nobody on the
roster owns, which the platforms' files leave out (they have no one to put
the score on).

Canvas (Grades > Import, "How do I import grades in the Gradebook?" in the
Canvas Instructor Guide; universities' guides say the same): a CSV whose
header has ``Student``, ``ID``, ``SIS User ID``, ``SIS Login ID`` and
``Section``, then one column per assignment; Canvas finds a student by ID,
SIS User ID or SIS Login ID, and a row starting ``Points Possible`` gives
each assignment's maximum. Our ID (Canvas's own number) is empty: Canvas
matches the SIS User ID (the roster's id) and the SIS Login ID (its e-mail).

Moodle (Grades > Import > CSV file, "Grade import" in MoodleDocs): any
header, each column mapped on import; one column identifies the user ("Map
from" ``Email address`` to ``useremail``, or ``ID number`` to
``useridnumber``), each other one a grade item. Ours names the columns as
Moodle's own grade export does.
"""

from __future__ import annotations

import csv
import io
from pathlib import Path
from typing import Optional, Sequence

from .report import _write, points
from .results import SubmissionResult
from .roster import Roster

GRADEBOOK_COLUMNS = ("id", "name", "email", "folder", "score", "max_score", "status")
MISSING = "missing"
UNROSTERED = "not on the roster"
CANVAS_REQUIRED = ("Student", "ID", "SIS User ID", "SIS Login ID", "Section")  # then one column per assignment
CANVAS_POINTS_ROW = "Points Possible"
MOODLE_IDENTITY = ("Email address", "ID number")  # one of them is mapped to identify the user
MOODLE_COLUMNS = ("First name", "Last name", "ID number", "Email address")  # as Moodle's plain-text export names them


def assignment_column(assignment: str) -> str:
    return f"socklab {assignment}"


def write_gradebooks(
    out: Path, roster: Roster, assignment: str, max_score: float, results: Sequence[SubmissionResult]
) -> list[Path]:
    """gradebook.csv, canvas.csv and moodle.csv in ``out``."""
    by_folder = {r.name: r for r in results}
    rows: list[tuple[str, str, str, str, Optional[SubmissionResult]]] = [
        (s.id, s.name, s.email, s.folder, by_folder.get(s.folder)) for s in roster
    ]
    rostered = {s.folder for s in roster}
    column = assignment_column(assignment)

    ours = _Table(GRADEBOOK_COLUMNS)
    for sid, name, email, folder, result in rows:
        ours.writerow(
            (
                sid,
                name,
                email,
                folder,
                points(result.score if result else 0),
                points(max_score),
                result.status if result else MISSING,
            )
        )
    for result in sorted(results, key=lambda r: r.name):
        if result.name not in rostered:
            ours.writerow(
                (
                    result.extra.get("student", result.name),
                    "",
                    "",
                    result.name,
                    points(result.score),
                    points(result.max_score),
                    UNROSTERED,
                )
            )

    canvas = _Table((*CANVAS_REQUIRED, column))
    canvas.writerow((CANVAS_POINTS_ROW, "", "", "", "", points(max_score)))
    for sid, name, email, _, result in rows:
        canvas.writerow((name or sid, "", sid, email, "", points(result.score if result else 0)))

    moodle = _Table((*MOODLE_COLUMNS, column))
    for sid, name, email, _, result in rows:
        first, _, last = name.rpartition(" ") if " " in name else (name, "", "")
        moodle.writerow((first, last, sid, email, points(result.score if result else 0)))

    written = []
    for file, table in (("gradebook.csv", ours), ("canvas.csv", canvas), ("moodle.csv", moodle)):
        _write(out / file, table.buffer.getvalue())
        written.append(out / file)
    return written


class _Table:
    """A CSV being written to a string, its header first."""

    def __init__(self, header: Sequence[str]) -> None:
        self.buffer = io.StringIO()
        self.writer = csv.writer(self.buffer, lineterminator="\n")
        self.writer.writerow(header)

    def writerow(self, row: Sequence[str]) -> None:
        self.writer.writerow(row)
