"""docs/coverage.md stays true: every file, sheet section, test and
assignment a row names exists, and an empty cell says why in a note."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
TABLE = ROOT / "docs" / "coverage.md"
COLUMNS = ["concept", "slides", "service", "lab and sheet section", "test", "assignment"]


def _rows() -> list[dict[str, str]]:
    lines = [line for line in TABLE.read_text(encoding="utf-8").splitlines() if line.startswith("|")]
    header = [cell.strip() for cell in lines[0].strip("|").split("|")]
    assert header == COLUMNS, header
    return [dict(zip(header, (cell.strip() for cell in line.strip("|").split("|")))) for line in lines[2:]]


def _notes() -> set[str]:
    text = TABLE.read_text(encoding="utf-8").split("## Notes", 1)[1]
    return set(re.findall(r"^(\d+)\. ", text, re.MULTILINE))


def _slug(heading: str) -> str:
    """A Markdown heading's anchor, as GitHub makes it."""
    return re.sub(r"[^\w\- ]", "", heading.strip().lower()).replace(" ", "-")


def _anchors(sheet: Path) -> set[str]:
    return {_slug(line.lstrip("#")) for line in sheet.read_text(encoding="utf-8").splitlines() if line.startswith("#")}


def _code(cell: str) -> str:
    match = re.fullmatch(r"`([^`]+)`", cell)
    assert match, f"expected one `path` in the cell, got {cell!r}"
    return match.group(1)


ROWS = _rows()


def test_the_table_has_rows() -> None:
    assert len(ROWS) >= 20


@pytest.mark.parametrize("row", ROWS, ids=[r["concept"] for r in ROWS])
def test_every_cell_points_at_something_that_exists(row: dict[str, str]) -> None:
    notes = _notes()
    for column in COLUMNS[1:]:
        cell = row[column]
        assert cell, f"{row['concept']}: {column} is empty"
        if cell.startswith("—"):
            note = re.fullmatch(r"— \(note (\d+)\)", cell)
            assert note and note.group(1) in notes, f"{row['concept']}: an empty {column} needs '— (note N)' and note N"
            continue
        if column == "slides":
            continue
        target = _code(cell)
        if column == "service":
            assert (ROOT / target).is_file(), f"{row['concept']}: no {target}"
        elif column == "lab and sheet section":
            path, _, anchor = target.partition("#")
            assert (ROOT / path).is_file(), f"{row['concept']}: no {path}"
            assert not anchor or anchor in _anchors(ROOT / path), (
                f"{row['concept']}: {path} has no section #{anchor} (it has {sorted(_anchors(ROOT / path))})"
            )
        elif column == "test":
            path, _, name = target.partition("::")
            assert (ROOT / path).is_file(), f"{row['concept']}: no {path}"
            assert re.search(rf"^def {re.escape(name)}\(", (ROOT / path).read_text(encoding="utf-8"), re.MULTILINE), (
                f"{row['concept']}: {path} has no {name}"
            )
        elif column == "assignment":
            assert (ROOT / "labs" / "assignments" / f"{target}.yaml").is_file(), (
                f"{row['concept']}: no assignment {target}"
            )


def test_every_assignment_is_in_the_table() -> None:
    named = {_code(r["assignment"]) for r in ROWS if not r["assignment"].startswith("—")}
    assert named == {p.stem for p in (ROOT / "labs" / "assignments").glob("*.yaml")}
