"""Terminal output: progress lines, tables, one-line errors.

rich decides colours itself: on a terminal they show, in a pipe or a CI log
they do not. ``--quiet`` silences progress but never results or errors.
rich is imported on first output, not with the command line.
"""

from __future__ import annotations

import json
import sys
from functools import cached_property
from typing import TYPE_CHECKING, Any, Iterable, Sequence

if TYPE_CHECKING:
    from rich.console import Console


class Output:
    def __init__(self, quiet: bool = False, as_json: bool = False) -> None:
        self.quiet = quiet
        self.as_json = as_json

    @cached_property
    def out(self) -> Console:
        from rich.console import Console

        return Console(highlight=False, soft_wrap=True)

    @cached_property
    def err(self) -> Console:
        from rich.console import Console

        return Console(stderr=True, highlight=False, soft_wrap=True)

    def progress(self, message: str) -> None:
        if not self.quiet:
            self.err.print(f"[dim]·[/dim] {message}")

    def error(self, message: str) -> None:
        first, *rest = str(message).splitlines() or [""]
        self.err.print(f"[bold red]socklab: error:[/bold red] {first}", markup=True)
        for line in rest:
            self.err.print(line, markup=False)

    def print(self, text: str = "") -> None:
        self.out.print(text, markup=False)

    def data(self, value: Any) -> None:
        """Machine-readable output for ``--json``."""
        sys.stdout.write(json.dumps(value, indent=2, default=str) + "\n")

    def table(self, title: str | None, columns: Sequence[str], rows: Iterable[Sequence[Any]]) -> None:
        from rich.table import Table

        table = Table(title=title, title_justify="left", header_style="bold")
        for column in columns:
            table.add_column(column, overflow="fold")
        for row in rows:
            table.add_row(*(str(cell) for cell in row))
        self.out.print(table)
