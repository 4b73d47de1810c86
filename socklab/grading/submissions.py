"""What a submission is (a directory with a Dockerfile or a main.py) and
finding them among the paths an instructor gives.

A directory that is not a submission itself but holds directories is a
class folder: each directory in it is a submission. A submission without
either file is still graded (to 0, saying why), since one student's mistake
must not stop the batch; a path that does not exist is bad input.
"""

from __future__ import annotations

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
                f"two submissions are named {submission.name!r} ({seen[submission.name]} and {submission.path}); their reports would overwrite each other"
            )
        seen[submission.name] = submission.path
    if not found:
        raise BadInput("no submissions given")
    return found


def _is_class_folder(path: Path) -> bool:
    entries = [p for p in path.iterdir() if not p.name.startswith(".")]
    return bool(entries) and all(p.is_dir() for p in entries)
