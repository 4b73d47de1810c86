"""Every exercise sheet's "you should see" blocks, run in the sheet's lab:
each command's real output must be what the sheet promises
(:mod:`socklab.sheets` says how a block is written), so that a sheet
cannot drift from the code."""

from __future__ import annotations

import shlex
import subprocess
import sys
from pathlib import Path
from typing import Iterator

import pytest

from socklab.labfile import labs_dir, load_lab
from socklab.sheets import Block, blocks, matches

SHEETS = sorted(p for p in labs_dir().glob("*.md"))
BLOCKS = [block for sheet in SHEETS for block in blocks(sheet)]
SOCKLAB = Path(sys.executable).with_name("socklab")


def test_every_sheet_has_checked_output() -> None:
    assert {b.sheet.stem for b in BLOCKS} == {s.stem for s in SHEETS}
    for sheet in SHEETS:
        assert load_lab(sheet.stem).path.parent == labs_dir(), f"{sheet.name} has no lab of its name"


@pytest.fixture(scope="module")
def labs(socklab_pool) -> Iterator[dict]:
    """Each sheet's lab, brought up by its first block and taken down after its last."""
    running: dict = {}
    yield running
    for lab in running.values():
        socklab_pool.release(lab)


def _address(lab, kind: str, name: str) -> str:
    return lab.address(name) if kind == "address" else str(lab.subnet(name).broadcast_address)


def _run(lab, step, address: dict[tuple[str, str], str]) -> str:
    command = step.with_addresses(address)
    if step.node:
        return lab.exec(step.node, command, timeout=60).output
    argv = shlex.split(command)
    assert argv[0] == "socklab", f"a host command must be socklab's, not {argv[0]!r}"
    result = subprocess.run(
        [str(SOCKLAB), *argv[1:], "--instance", lab.instance], capture_output=True, text=True, timeout=60
    )
    return result.stdout + result.stderr


@pytest.mark.parametrize("block", BLOCKS, ids=[b.name for b in BLOCKS])
def test_sheet_shows_what_the_lab_prints(socklab_pool, labs: dict, block: Block) -> None:
    name = block.sheet.stem
    if name not in labs:
        for other in [n for n in labs if n != name]:
            socklab_pool.release(labs.pop(other))  # one sheet's lab at a time
        labs[name] = socklab_pool.bring_up(name)
    lab = labs[name]
    for step in block.steps:
        address = {(kind, name): _address(lab, kind, name) for kind, name in step.addresses()}
        output = _run(lab, step, address)
        expected = "\n".join(step.expected)
        assert matches(step.expected, output), (
            f"{block.name}: {step.node}$ {step.command}\nthe sheet says:\n{expected}\nthe lab printed:\n{output}"
        )
