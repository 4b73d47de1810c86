"""Exercise sheets' "you should see" blocks: the commands a step runs and the
output it promises, so that a test can run them in the lab and hold the
sheet to what the code really prints.

A block is a fenced ``console`` block right after a line that ends with
"You should see:". In it, a line ``NODE$ COMMAND`` runs COMMAND with ``sh -c``
in NODE of the sheet's lab, and a line ``$ socklab COMMAND...`` runs socklab
on the host; the lines that follow, up to the next command, are its output
(standard output then standard error). In a command, ``<address of NODE>``
stands for that node's IPv4 address (``socklab status LAB`` lists them), and
``<broadcast address of NETWORK>`` for that network's. In
the output, where it varies from run to run:

* a line ``...`` stands for any number of lines, none included;
* ``<IPv4>``, ``<IPv6>``, ``<number>`` (``12``, ``0.103``), ``<hex>`` and
  ``<any>`` (anything on the rest of the line) stand for part of a line.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

MARKER = "You should see:"
PLACEHOLDERS = {
    "<IPv4>": r"\d{1,3}(?:\.\d{1,3}){3}",
    "<IPv6>": r"[0-9a-f:]*:[0-9a-f:]+",
    "<number>": r"-?\d+(?:\.\d+)?",
    "<hex>": r"[0-9a-f]+",
    "<any>": r".*",
}
_PLACEHOLDER = re.compile("|".join(re.escape(p) for p in PLACEHOLDERS))
_COMMAND = re.compile(r"^(?P<node>[a-z0-9][a-z0-9-]*)?\$ (?P<command>.+)$")
_ADDRESS = re.compile(r"<((?:broadcast )?address) of ([a-z0-9-]+)>")


@dataclass(frozen=True)
class Step:
    """One command of a block and the lines it must print."""

    node: str  # "" for a host command
    command: str
    expected: tuple[str, ...]

    def addresses(self) -> list[tuple[str, str]]:
        """What the command names by address: ("address", NODE) or ("broadcast address", NETWORK)."""
        return _ADDRESS.findall(self.command)

    def with_addresses(self, address: dict[tuple[str, str], str]) -> str:
        return _ADDRESS.sub(lambda m: address[(m.group(1), m.group(2))], self.command)


@dataclass(frozen=True)
class Block:
    sheet: Path
    line: int  # of the opening fence, 1-based
    steps: tuple[Step, ...]

    @property
    def name(self) -> str:
        return f"{self.sheet.stem}:{self.line}"


class SheetError(ValueError):
    """A sheet that breaks its own format: a marker with no block, or a block with no command."""


def blocks(sheet: Path) -> list[Block]:
    """The "you should see" blocks of a sheet, in order."""
    lines = sheet.read_text(encoding="utf-8").splitlines()
    found = []
    index = 0
    while index < len(lines):
        text = lines[index].strip()
        if text.endswith(MARKER):
            opening = index + 1
            while opening < len(lines) and not lines[opening].strip():
                opening += 1
            if opening >= len(lines) or lines[opening].strip() != "```console":
                raise SheetError(f"{sheet}:{index + 1}: {MARKER!r} is not followed by a ```console block")
            indent = len(lines[opening]) - len(lines[opening].lstrip())
            closing = opening + 1
            while closing < len(lines) and lines[closing].strip() != "```":
                closing += 1
            body = [line[indent:] for line in lines[opening + 1 : closing]]
            found.append(Block(sheet, opening + 1, _steps(body, sheet, opening + 1)))
            index = closing
        elif text == "```console":
            raise SheetError(f"{sheet}:{index + 1}: a ```console block without {MARKER!r} on the line before it")
        index += 1
    return found


def _steps(body: list[str], sheet: Path, line: int) -> tuple[Step, ...]:
    steps: list[Step] = []
    for text in body:
        match = _COMMAND.match(text)
        if match:
            steps.append(Step(match["node"] or "", match["command"], ()))
        elif not steps:
            raise SheetError(f"{sheet}:{line}: the block's first line is not a command (NODE$ ... or $ socklab ...)")
        else:
            last = steps[-1]
            steps[-1] = Step(last.node, last.command, last.expected + (text.rstrip(),))
    if not steps:
        raise SheetError(f"{sheet}:{line}: an empty ```console block")
    return tuple(steps)


def _line_pattern(expected: str) -> re.Pattern:
    parts = []
    position = 0
    for match in _PLACEHOLDER.finditer(expected):
        parts.append(re.escape(expected[position : match.start()]))
        parts.append(PLACEHOLDERS[match.group()])
        position = match.end()
    parts.append(re.escape(expected[position:]))
    return re.compile("".join(parts))


def matches(expected: tuple[str, ...] | list[str], output: str) -> bool:
    """Whether ``output`` is what the expected lines promise, line by line."""
    got = [line.rstrip() for line in output.rstrip("\n").splitlines()]
    return _match(list(expected), got)


def _match(expected: list[str], got: list[str]) -> bool:
    if not expected:
        return not got
    if expected[0] == "...":
        return any(_match(expected[1:], got[skip:]) for skip in range(len(got) + 1))
    return bool(got) and bool(_line_pattern(expected[0]).fullmatch(got[0])) and _match(expected[1:], got[1:])
