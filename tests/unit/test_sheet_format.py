"""The format of the sheets' "you should see" blocks, and how output is held to them."""

from __future__ import annotations

from pathlib import Path

import pytest

from socklab.labfile import labs_dir
from socklab.sheets import SheetError, Step, blocks, matches

SHEET = """\
# a sheet

1. Ask the server. You should see:

   ```console
   client$ echo hi | udp-client --host <address of udp-server> <broadcast address of lan>
   HI
   $ socklab logs udp-echo udp-server
   ready udp/1234
   ...
   ```

```sh
not checked
```
"""


def test_a_block_gives_its_commands_and_the_lines_they_print(tmp_path: Path) -> None:
    sheet = tmp_path / "a.md"
    sheet.write_text(SHEET)
    (block,) = blocks(sheet)
    assert block.name == "a:5"
    assert block.steps == (
        Step("client", "echo hi | udp-client --host <address of udp-server> <broadcast address of lan>", ("HI",)),
        Step("", "socklab logs udp-echo udp-server", ("ready udp/1234", "...")),
    )
    assert block.steps[0].addresses() == [("address", "udp-server"), ("broadcast address", "lan")]
    names = {("address", "udp-server"): "10.0.0.2", ("broadcast address", "lan"): "10.0.0.255"}
    assert block.steps[0].with_addresses(names) == "echo hi | udp-client --host 10.0.0.2 10.0.0.255"


@pytest.mark.parametrize(
    "text, error",
    [
        ("You should see:\n\n```sh\nx\n```\n", "is not followed by a ```console block"),
        ("```console\nclient$ true\n```\n", "without 'You should see:'"),
        ("You should see:\n```console\nHI\n```\n", "first line is not a command"),
    ],
)
def test_a_broken_block_is_reported_with_its_line(tmp_path: Path, text: str, error: str) -> None:
    sheet = tmp_path / "b.md"
    sheet.write_text(text)
    with pytest.raises(SheetError, match=error):
        blocks(sheet)


@pytest.mark.parametrize(
    "expected, output, result",
    [
        (("HELLO",), "HELLO\n", True),
        (("HELLO",), "HELLO\nmore\n", False),
        (("HELLO",), "hello\n", False),
        (("<IPv4> responder-a1: HI", "3 answers"), "10.77.6.11 responder-a1: HI\n3 answers\n", True),
        (("sent at <number> s",), "sent at 0.103 s\n", True),
        (("sent at <number> s",), "sent at soon s\n", False),
        (("first", "...", "last"), "first\na\nb\nlast\n", True),
        (("first", "...", "last"), "first\nlast\n", True),
        (("...", "ready <any>"), "x\nready tcp/1234\n", True),
        (("a.b",), "axb\n", False),
    ],
)
def test_output_is_matched_line_by_line_with_placeholders(expected: tuple, output: str, result: bool) -> None:
    assert matches(expected, output) is result


def test_every_sheet_parses() -> None:
    sheets = sorted(labs_dir().glob("*.md"))
    assert sheets
    for sheet in sheets:
        blocks(sheet)
