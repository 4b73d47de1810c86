"""Lab files: every error names the file and the line, and exits 2 from the CLI."""

from __future__ import annotations

import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from socklab.errors import LabFileError
from socklab.labfile import labs_dir, load_lab, parse_lab

GOOD = """\
networks:
  lan:
    subnet: 10.10.1.0/24
nodes:
  server:
    service: udp-server
    networks:
      lan: {address: 10.10.1.10}
  client:
    service: client
    networks: [lan]
links:
  wan:
    between: [client, server]
    loss: 10%
    delay: 50ms
    reverse: {loss: 0%}
"""


def parse(text: str) -> object:
    return parse_lab(textwrap.dedent(text), Path("lab.yaml"))


def error_of(text: str) -> LabFileError:
    with pytest.raises(LabFileError) as info:
        parse(text)
    return info.value


def test_good_lab_parses_with_per_direction_impairment() -> None:
    lab = parse(GOOD)
    assert set(lab.nodes) == {"server", "client"}
    link = lab.links["wan"]
    assert (link.forward.loss, link.forward.delay_ms) == (10.0, 50.0)
    assert (link.reverse.loss, link.reverse.delay_ms) == (0.0, 50.0)
    assert (link.seed, link.backend, link.line) == (None, "auto", 13)


@pytest.mark.parametrize(
    "text, line, words",
    [
        ("networks: {lan: {subnet: 10.0.0.0/24}\nnodes: [", 2, "invalid YAML"),
        (GOOD.replace("    service: client\n", "    service: client\n    colour: red\n"), 11, "unknown key 'colour'"),
        (GOOD.replace("networks: [lan]", "networks: [wan]"), 11, "network 'wan', which is not declared"),
        (GOOD.replace("address: 10.10.1.10", "address: 10.10.2.10"), 8, "outside 'lan'"),
        (GOOD.replace("  client:\n", "  server:\n"), 9, "duplicated name 'server'"),
        (GOOD.replace("loss: 10%", "loss: 120%"), 15, "outside 0%..100%"),
        (GOOD.replace("between: [client, server]", "between: [client, nowhere]"), 14, "neither a node nor a network"),
        (GOOD.replace("service: udp-server", "service: ftp"), 6, "unknown service 'ftp'"),
        (GOOD.replace("delay: 50ms", "delay: soon"), 16, "not a duration"),
        (GOOD.replace("address: 10.10.1.10", "address: 10.10.1.1"), 8, "reserved"),
        (
            GOOD.replace("    loss: 10%\n", "    backend: netem\n    seed: 3\n    loss: 10%\n"),
            15,
            "backend netem cannot replay a seed",
        ),
        (
            GOOD.replace("    loss: 10%\n", "    seed: -1\n    loss: 10%\n"),
            15,
            "seed must be a whole number in 0..2**64-1",
        ),
        (
            GOOD.replace("    delay: 50ms\n", "    reorder: 10%\n"),
            15,
            "reorder sends some packets ahead of the delayed ones",
        ),
        (GOOD.replace("    loss: 10%\n", "    loss: {model: gilbert-elliott, q: 1%}\n"), 15, "unknown key 'q'"),
    ],
    ids=[
        "bad-yaml",
        "unknown-key",
        "undeclared-network",
        "address-outside",
        "duplicate-name",
        "bad-percent",
        "bad-link-end",
        "unknown-service",
        "bad-duration",
        "gateway-address",
        "netem-with-seed",
        "bad-seed",
        "reorder-without-delay",
        "bad-ge-key",
    ],
)
def test_errors_name_the_line(text: str, line: int, words: str) -> None:
    error = error_of(text)
    assert words in error.problem
    assert error.line == line, str(error)
    assert str(error).startswith(f"lab.yaml:{line}: ")


def test_shipped_labs_all_validate() -> None:
    labs = sorted(labs_dir().glob("*.yaml"))
    assert labs, "no lab shipped"
    for path in labs:
        assert load_lab(path).nodes


def test_cli_validate_bad_file_is_one_line_exit_2(tmp_path: Path) -> None:
    bad = tmp_path / "bad.yaml"
    bad.write_text(GOOD.replace("networks: [lan]", "networks: [wan]"))
    done = subprocess.run([sys.executable, "-m", "socklab.cli", "validate", str(bad)], capture_output=True, text=True)
    assert done.returncode == 2
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1 and f"{bad}:11:" in lines[0], done.stderr


def test_cli_unknown_lab_and_bad_option_exit_2() -> None:
    done = subprocess.run(
        [sys.executable, "-m", "socklab.cli", "validate", "no-such-lab"], capture_output=True, text=True
    )
    assert done.returncode == 2 and "unknown lab 'no-such-lab'" in done.stderr
    done = subprocess.run(
        [sys.executable, "-m", "socklab.cli", "up", "udp-echo", "--colour"], capture_output=True, text=True
    )
    assert done.returncode == 2 and len(done.stderr.strip().splitlines()) == 1
