"""results.csv and resuming: rows are appended as batches finish, so an
interrupted run keeps what it measured, and a new run into the same folder
picks up the (point, trial) pairs that are missing, but only if everything
that decides the numbers (seed, sweep, trials, measurement) is the same.
"""

from __future__ import annotations

import csv
import json
import os
from pathlib import Path
from typing import Iterable, Optional, Sequence

from ..errors import BadInput

RESULTS = "results.csv"
METADATA = "metadata.json"


class ResultsFile:
    """One row per trial, header first; a row cut short by a crash is dropped."""

    def __init__(self, path: Path, columns: Sequence[str]) -> None:
        self.path = path
        self.columns = list(columns)

    def read(self) -> list[dict[str, str]]:
        if not self.path.is_file():
            return []
        with self.path.open(newline="", encoding="utf-8") as handle:
            reader = csv.reader(handle)
            header = next(reader, None)
            if header is None:
                return []
            if header != self.columns:
                raise BadInput(
                    f"{self.path}: columns {','.join(header)} are not this experiment's {','.join(self.columns)}"
                )
            return [dict(zip(header, row)) for row in reader if len(row) == len(header)]

    def rewrite(self, rows: Iterable[dict[str, str]]) -> None:
        """Write the whole file anew (atomically: a crash leaves the old one)."""
        partial = self.path.with_name(self.path.name + ".partial")
        with partial.open("w", newline="", encoding="utf-8") as handle:
            writer = csv.DictWriter(handle, self.columns, lineterminator="\n")
            writer.writeheader()
            writer.writerows(rows)
        os.replace(partial, self.path)

    def append(self, rows: Iterable[dict[str, str]]) -> None:
        with self.path.open("a", newline="", encoding="utf-8") as handle:
            csv.DictWriter(handle, self.columns, lineterminator="\n").writerows(rows)
            handle.flush()
            os.fsync(handle.fileno())


def previous_run(out: Path, identity: dict) -> Optional[dict]:
    """The metadata of an earlier run into ``out`` that this one may resume,
    None for a fresh folder; BadInput when the earlier run measured something
    else, since mixing its rows with ours would mix two experiments."""
    metadata_path, results_path = out / METADATA, out / RESULTS
    if not metadata_path.is_file():
        if results_path.is_file():
            raise BadInput(
                f"{results_path} exists without {METADATA}: its provenance is unknown, "
                "so it cannot be resumed; use another --out"
            )
        return None
    try:
        previous = json.loads(metadata_path.read_text(encoding="utf-8"))
        earlier = previous["parameters"]
    except (OSError, ValueError, KeyError, TypeError) as err:
        raise BadInput(f"{metadata_path}: unreadable ({err}); use another --out") from None
    differences = [
        f"{key} {_short(earlier.get(key))} there, {_short(value)} now"
        for key, value in identity.items()
        if earlier.get(key) != value
    ]
    if differences:
        raise BadInput(
            f"{out} holds a run with other parameters ({'; '.join(differences)}): "
            "rows of different runs are never mixed; use another --out, or the same parameters to resume it"
        )
    return previous


def _short(value: object) -> str:
    text = json.dumps(value, sort_keys=True)
    return text if len(text) <= 80 else text[:77] + "..."
