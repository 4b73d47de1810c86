"""The errors socklab reports to people, each mapped to an exit status."""

from __future__ import annotations

from pathlib import Path
from typing import Optional


class SocklabError(Exception):
    """A failure to report on one line, without a traceback."""

    exit_status = 1


class BadInput(SocklabError):
    """Bad input from the user: nothing was started (exit status 2)."""

    exit_status = 2


class LabFileError(BadInput):
    """A problem in a lab file, located by file and line."""

    def __init__(self, path: Path | str, line: Optional[int], problem: str) -> None:
        self.path = Path(path)
        self.line = line
        self.problem = problem
        where = f"{self.path}:{line}" if line else str(self.path)
        super().__init__(f"{where}: {problem}")


class UnknownKey(BadInput):
    """A key that is not one of those allowed; ``key`` names it, for the
    reader that knows where it stands to say so."""

    def __init__(self, key: str, allowed: tuple[str, ...] | set[str]) -> None:
        self.key = key
        self.allowed = tuple(sorted(allowed))
        super().__init__(f"unknown key {key!r} (allowed: {', '.join(self.allowed)})")


class LabNotRunning(BadInput):
    """The named lab instance has no objects in Docker."""


class NodeNotReady(SocklabError):
    """A node did not become ready in time; carries its last log lines."""

    def __init__(self, node: str, reason: str, last_logs: str) -> None:
        self.node = node
        self.reason = reason
        self.last_logs = last_logs
        tail = "\n".join("    " + line for line in last_logs.splitlines()[-10:])
        super().__init__(
            f"node {node!r} did not become ready: {reason}" + (f"\n  last log lines:\n{tail}" if tail else "")
        )
