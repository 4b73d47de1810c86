"""The error contract under random damage: every mutation of a shipped lab,
assignment or experiment file is either still valid or reported as bad input
(exit status 2) on one line naming the file and line, never a traceback.

Seeded and bounded: the same CASES mutations every run, in a few seconds.
A failure names the case; rerun it alone with ``-k`` and the printed seed.
"""

from __future__ import annotations

import random
import re
import shutil
from pathlib import Path
from typing import Callable

import pytest

from socklab.cli import main
from socklab.errors import SocklabError
from socklab.experiments.spec import load_experiment
from socklab.grading.assignment import load_assignment
from socklab.labfile import labs_dir, load_lab

SEED = 15
CASES = 400
CONTROL = ["\x00", "\x01", "\x07", "\x08", "\x0b", "\x0c", "\x1b", "\x7f", "\x85", "\ufffe", "\ud800"]
SWAPS = [
    "[1, 2]",
    "{a: 1}",
    "42",
    "-1",
    "0",
    "3.5",
    "true",
    "~",
    "''",
    "99999999999999999999999",
    "x" * 200,
    "[]",
    "{}",
    "'10%'",
    "-",
    "2020-13-45",
    "!!int x",
    "!!binary '@'",
    "*nowhere",
    "&a [*a]",
    "!!python/object:os.system x",
    ".nan",
    "0x1F",
    "1e400",
]
LOADERS: dict[str, Callable[[Path], object]] = {
    "lab": load_lab,
    "assignment": load_assignment,
    "experiment": load_experiment,
}
LOCATED = re.compile(r"^\S+\.ya?ml:\d+: \S")


def shipped(root: Path) -> list[tuple[str, Path]]:
    files = [("lab", p) for p in sorted(root.glob("*.yaml"))]
    files += [("assignment", p) for p in sorted((root / "assignments").glob("*.yaml"))]
    files += [
        ("experiment" if not p.name.endswith(".lab.yaml") else "lab", p)
        for p in sorted((root / "experiments").glob("*.yaml"))
    ]
    return files


def mutate(data: bytes, rng: random.Random) -> tuple[str, bytes]:
    """One random damage to a file, and what it was."""
    lines = data.splitlines(keepends=True)
    kind = rng.choice(["flip", "delete", "control", "duplicate", "truncate", "swap", "swap-inner", "drop-line"])
    at = rng.randrange(len(data))
    if kind == "flip":
        return f"byte {at} flipped", data[:at] + bytes([data[at] ^ (1 << rng.randrange(8))]) + data[at + 1 :]
    if kind == "delete":
        size = rng.randint(1, 20)
        return f"bytes {at}..{at + size} deleted", data[:at] + data[at + size :]
    if kind == "control":
        char = rng.choice(CONTROL)
        return f"{char!r} inserted at {at}", data[:at] + char.encode("utf-8", "surrogatepass") + data[at:]
    line = rng.randrange(len(lines))
    if kind == "duplicate":
        return f"line {line + 1} duplicated", b"".join(lines[: line + 1] + lines[line:])
    if kind == "drop-line":
        return f"line {line + 1} deleted", b"".join(lines[:line] + lines[line + 1 :])
    if kind == "truncate":
        return f"truncated after line {line}", b"".join(lines[:line])
    inner = list(re.finditer(rb"[{,] *[\w-]+: ([^,{}\[\]\n]+)", data))
    if kind == "swap-inner" and inner:  # a value inside a {flow: mapping}
        match, swap = rng.choice(inner), rng.choice(SWAPS)
        return f"inline value at {match.start(1)} swapped for {swap[:20]!r}", data[
            : match.start(1)
        ] + swap.encode() + data[match.end(1) :]
    valued = [i for i, text in enumerate(lines) if re.match(rb"^\s*(- )?[\w-]+: \S", text)]
    line = rng.choice(valued)
    swap = rng.choice(SWAPS)
    swapped = (
        re.sub(rb"^(\s*(?:- )?[\w-]+: ).*", lambda m: m.group(1) + swap.encode(), lines[line].rstrip(b"\n")) + b"\n"
    )
    return f"line {line + 1} value swapped for {swap[:20]!r}", b"".join(lines[:line] + [swapped] + lines[line + 1 :])


@pytest.fixture(scope="module")
def labs(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A copy of the shipped files, which the cases damage one at a time."""
    copy = tmp_path_factory.mktemp("fuzz") / "labs"
    shutil.copytree(labs_dir(), copy)
    return copy


def test_every_mutation_is_valid_or_a_located_bad_input(labs: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SOCKLAB_LABS", str(labs))
    files = shipped(labs)
    rng = random.Random(SEED)
    outcomes = {"valid": 0, "bad input": 0}
    for case in range(CASES):
        what, path = rng.choice(files)
        original = path.read_bytes()
        damage, data = mutate(original, rng)
        path.write_bytes(data)
        try:
            LOADERS[what](path)
            outcomes["valid"] += 1
        except SocklabError as err:
            message = str(err)
            context = f"case {case} (seed {SEED}): {path.name}, {damage}: exit {err.exit_status}: {message}"
            assert err.exit_status == 2, context
            assert "\n" not in message, context
            assert LOCATED.match(message), "no file:line in " + context
            outcomes["bad input"] += 1
        finally:
            path.write_bytes(original)
    assert outcomes["bad input"] > CASES // 2, outcomes  # the damage is real, not mostly harmless
    print(f"{CASES} mutations: {outcomes}")


def test_validate_reports_a_nul_character_on_one_line(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "nul.yaml"
    path.write_bytes((labs_dir() / "udp-echo.yaml").read_bytes().replace(b"nodes:", b"nodes:\x00", 1))
    assert main(["validate", str(path)]) == 2
    err = capsys.readouterr().err.strip()
    assert re.match(r"^socklab: error: \S+nul\.yaml:\d+: invalid YAML: character U\+0000", err), err
    assert len(err.splitlines()) == 1, err
