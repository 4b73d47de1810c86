"""Printing while guests run: step lines as they finish, live output, the final table."""

from __future__ import annotations

import sys
import threading
from pathlib import Path
from typing import Callable

from session import MachineRun

_PRINT = threading.Lock()


def say(line: str) -> None:
    with _PRINT:
        print(line, file=sys.stderr, flush=True)


def step_lines(machine: str) -> Callable[[Path], None]:
    """A watcher printing each step of ``machine`` as it finishes (from out/steps.tsv)."""
    seen: set[str] = set()

    def watch(folder: Path) -> None:
        tsv = folder / "out" / "steps.tsv"
        for line in tsv.read_text().splitlines() if tsv.exists() else ():
            if line not in seen:
                seen.add(line)
                name, status, seconds = line.split("\t")
                say(f"{machine}: {name}: exit {status} after {float(seconds):.0f} s")

    return watch


def live_output(step: str) -> Callable[[Path], None]:
    """A watcher copying the output of ``step`` to stdout as the guest writes it."""
    offset = 0

    def watch(folder: Path) -> None:
        nonlocal offset
        log = folder / "out" / f"{step}.log"
        if log.exists():
            with open(log, "rb") as handle:
                handle.seek(offset)
                chunk = handle.read()
            offset += len(chunk)
            with _PRINT:
                sys.stdout.buffer.write(chunk)
                sys.stdout.flush()

    return watch


def table(run: MachineRun) -> str:
    """The table of one machine: step, result, seconds, detail; its versions and times above."""
    info = run.info
    packages = info.get("packages", {})
    head = (
        f"{run.machine.name} ({run.machine.suite}): kernel {info.get('kernel')}, {info.get('python3')},"
        f" docker.io {packages.get('docker.io')}, docker-compose {packages.get('docker-compose', '-')}"
    )
    times = (
        f"image: {'built in %.0f s' % run.build_seconds if run.build_seconds else 'cached'};"
        f" boot to job: {'%.0f s' % run.boot_seconds if run.boot_seconds else '?'};"
        f" guest total: {'%.0f s' % run.outcome.seconds if run.outcome else '?'}"
    )
    rows = [("step", "result", "seconds", "detail")]
    rows += [(r.name, r.result, "-" if r.seconds is None else f"{r.seconds:.0f}", r.detail) for r in run.results]
    widths = [max(len(row[i]) for row in rows) for i in range(3)]
    lines = [head, times]
    for i, row in enumerate(rows):
        lines.append("  ".join(cell.ljust(width) for cell, width in zip(row, widths)) + "  " + row[3])
        if i == 0:
            lines.append("  ".join("-" * w for w in widths) + "  " + "-" * 6)
    return "\n".join(lines)
