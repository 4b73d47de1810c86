"""What a submission is (a directory with a Dockerfile or a main.py) and
finding them among the paths an instructor gives.

A directory that is not a submission itself but holds directories is a
class folder: each directory in it is a submission. A submission without
either file is still graded (to 0, saying why), since one student's mistake
must not stop the batch; a path that does not exist is bad input.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import Iterable, Optional

from ..errors import BadInput


@dataclass(frozen=True)
class Submission:
    name: str
    path: Path

    @property
    def kind(self) -> Optional[str]:
        """ "dockerfile", "main.py", or None when it has neither."""
        if (self.path / "Dockerfile").is_file():
            return "dockerfile"
        if (self.path / "main.py").is_file():
            return "main.py"
        return None


SKIPPED = ("__pycache__", ".git")  # never part of what is graded


def walk(folder: Path) -> list[Path]:
    """Everything under a submission's folder, sorted, as ``rglob("*")``
    lists it but without recursion (a student can nest folders a thousand
    deep) and without following symbolic links; ``SKIPPED`` folders left out."""
    found: list[Path] = []
    pending = [folder]
    while pending:
        directory = pending.pop()
        try:
            entries = list(os.scandir(directory))
        except OSError:
            continue  # unreadable: left out, as rglob does
        for entry in entries:
            if entry.name in SKIPPED:
                continue
            path = Path(entry.path)
            found.append(path)
            if entry.is_dir(follow_symlinks=False):
                pending.append(path)
    return sorted(found, key=lambda p: p.relative_to(folder).parts)


def find_submissions(paths: Iterable[Path]) -> list[Submission]:
    found: list[Submission] = []
    for path in paths:
        if not path.exists():
            raise BadInput(f"{path}: no such submission directory")
        if not path.is_dir():
            raise BadInput(f"{path}: a submission is a directory (with a Dockerfile or a main.py)")
        if Submission(path.name, path).kind is None and _is_class_folder(path):
            found.extend(
                Submission(p.name, p) for p in sorted(path.iterdir()) if p.is_dir() and not p.name.startswith(".")
            )
        else:
            found.append(Submission(path.resolve().name, path))
    seen: dict[str, Path] = {}
    for submission in found:
        if submission.name in seen:
            raise BadInput(
                f"two submissions are named {submission.name!r} ({seen[submission.name]} and {submission.path}); "
                "their reports would overwrite each other"
            )
        seen[submission.name] = submission.path
    if not found:
        raise BadInput("no submissions given")
    return found


def _is_class_folder(path: Path) -> bool:
    entries = [p for p in path.iterdir() if not p.name.startswith(".")]
    return bool(entries) and all(p.is_dir() for p in entries)
