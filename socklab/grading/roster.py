"""A class list: who the students are and which submission folder is whose.

``--roster roster.csv`` has the header ``id,name,email,folder`` (other
columns, as a learning platform's export has, are ignored). An empty
``folder`` means the folder is named by the id. A mistake is reported with
its file and line, and nothing is graded.
"""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass
from pathlib import Path
from typing import Iterator, Optional

from ..errors import LabFileError

COLUMNS = ("id", "name", "email", "folder")


@dataclass(frozen=True)
class Student:
    id: str
    name: str
    email: str
    folder: str  # the submission folder's name


@dataclass(frozen=True)
class Roster:
    path: Path
    students: tuple[Student, ...]

    def by_folder(self) -> dict[str, Student]:
        return {s.folder: s for s in self.students}

    def __iter__(self) -> Iterator[Student]:
        return iter(self.students)


def load_roster(path: Path) -> Roster:
    try:
        text = path.read_text(encoding="utf-8-sig")  # a spreadsheet's export may start with a byte-order mark
    except FileNotFoundError:
        raise LabFileError(path, None, "no such roster file") from None
    except (OSError, UnicodeDecodeError) as err:
        raise LabFileError(path, None, f"cannot read the roster (it must be UTF-8 text): {err}") from None
    return parse_roster(text, path)


def parse_roster(text: str, path: Path) -> Roster:
    reader = csv.reader(io.StringIO(text, newline=""), strict=True)
    try:
        header = [column.strip().lower() for column in next(reader)]
    except StopIteration:
        raise LabFileError(
            path, 1, f"the roster is empty: its first line must be the header {','.join(COLUMNS)}"
        ) from None
    except csv.Error as err:
        raise LabFileError(path, 1, f"not CSV: {err}") from None
    missing = [c for c in COLUMNS if c not in header]
    if missing:
        raise LabFileError(
            path,
            1,
            f"the header lacks {', '.join(missing)}: it must name {','.join(COLUMNS)} (found {','.join(header)})",
        )
    repeated = sorted({c for c in header if header.count(c) > 1 and c in COLUMNS})
    if repeated:
        raise LabFileError(path, 1, f"the header names {', '.join(repeated)} twice")
    where = {c: header.index(c) for c in COLUMNS}
    students: list[Student] = []
    ids: dict[str, int] = {}
    folders: dict[str, int] = {}
    while True:
        try:
            row = next(reader)
        except StopIteration:
            break
        except csv.Error as err:
            raise LabFileError(path, reader.line_num, f"not CSV: {err}") from None
        line = reader.line_num
        if not any(cell.strip() for cell in row):
            continue
        if len(row) != len(header):
            raise LabFileError(path, line, f"{len(row)} columns where the header has {len(header)}")
        student = _student(row, where, path, line)
        for key, seen, what in ((student.id, ids, "id"), (student.folder, folders, "folder")):
            if key in seen:
                raise LabFileError(path, line, f"{what} {key!r} is already on line {seen[key]}")
            seen[key] = line
        students.append(student)
    if not students:
        raise LabFileError(path, 2, "the roster lists no student")
    return Roster(path, tuple(students))


def _student(row: list[str], where: dict[str, int], path: Path, line: int) -> Student:
    values = {c: row[i].strip() for c, i in where.items()}
    if not values["id"]:
        raise LabFileError(path, line, "the id is empty")
    email: Optional[str] = values["email"]
    if email and ("@" not in email or " " in email):
        raise LabFileError(path, line, f"email {email!r} is not an e-mail address")
    folder = values["folder"] or values["id"]
    if "/" in folder or folder.startswith("."):
        raise LabFileError(path, line, f"folder {folder!r} must be a folder's name, not a path")
    return Student(values["id"], values["name"], values["email"], folder)
