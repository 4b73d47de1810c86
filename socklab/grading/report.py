"""Writing grades down: per submission ``results.json`` (Gradescope) and
``report.md`` (to read), for the batch ``grades.csv`` and ``junit.xml``.

Each file is written whole to a temporary name, then renamed, so that an
interrupted run never leaves a half-written report that looks complete.
"""

from __future__ import annotations

import csv
import io
import json
import os
import re
import xml.etree.ElementTree as ET
from pathlib import Path
from typing import Sequence

from .results import SubmissionResult

GRADEBOOK_HEADER = ("submission", "score", "max_score")
_NOT_XML = re.compile("[^\t\n\r\x20-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]")
# What a terminal or a Markdown viewer would act on rather than show: control
# characters (escape sequences start with one), and the invisible marks that
# reorder or hide text.
_CONTROL = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f\u200b-\u200f\u2028-\u202e\u2060-\u2069\ufeff]")
_BACKTICKS = re.compile("`+")


def _write(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    partial = path.with_name(path.name + ".partial")
    partial.write_text(text, encoding="utf-8", errors="backslashreplace")  # a student's stray surrogates
    os.replace(partial, path)


def points(value: float) -> str:
    return f"{value:g}"


def write_submission(out: Path, result: SubmissionResult) -> Path:
    """``out/NAME/results.json`` and ``out/NAME/report.md``; returns the folder."""
    folder = out / result.name
    _write(folder / "results.json", json.dumps(result.to_gradescope(), indent=2, ensure_ascii=False) + "\n")
    _write(folder / "report.md", markdown(result))
    return folder


def markdown(result: SubmissionResult) -> str:
    """The report a student reads; what their program printed can only appear
    inside its fenced blocks, shown as text."""
    score = f"{points(result.score)} / {points(result.max_score)}"
    lines = [
        f"# {result.assignment}: {shown(result.name, newlines=False)}",
        "",
        f"**Score: {score}** ({result.status}, {result.execution_time:.1f} s)",
        "",
        "| Check | Points | Result | Visibility |",
        "|---|---|---|---|",
    ]
    for test in result.tests:
        verdict = "passed" if test.passed else "failed"
        lines.append(
            f"| {test.name} | {points(test.score)} / {points(test.max_score)} | {verdict} | {test.visibility} |"
        )
    if result.output:
        lines += ["", "## Overall", "", *_fenced(result.output)]
    for test in result.tests:
        lines += ["", f"## {test.name}: {'passed' if test.passed else 'failed'}", "", *_fenced(test.output)]
    return "\n".join(lines) + "\n"


def _fenced(text: str) -> list[str]:
    """A code block no line of ``text`` can close: its fence is longer than
    the longest run of backticks in it."""
    text = shown(text.rstrip())
    fence = "`" * max(3, 1 + max((len(run) for run in _BACKTICKS.findall(text)), default=0))
    return [fence, text, fence]


def shown(text: str, newlines: bool = True) -> str:
    """``text`` with its control characters written out (``\\x1b``), as text."""

    def escape(match: re.Match) -> str:
        code = ord(match.group())
        return f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}"

    text = _CONTROL.sub(escape, text)
    return text if newlines else text.replace("\n", "\\n")


def write_gradebook(out: Path, results: Sequence[SubmissionResult]) -> Path:
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(GRADEBOOK_HEADER)
    for result in sorted(results, key=lambda r: r.name):
        writer.writerow((result.name, points(result.score), points(result.max_score)))
    path = out / "grades.csv"
    _write(path, buffer.getvalue())
    return path


def write_junit(out: Path, results: Sequence[SubmissionResult]) -> Path:
    """One test suite per submission, one test case per check, for CI systems."""
    suites = ET.Element("testsuites", name="socklab grade")
    for result in sorted(results, key=lambda r: r.name):
        failures = sum(1 for t in result.tests if not t.passed)
        suite = ET.SubElement(
            suites,
            "testsuite",
            name=result.name,
            tests=str(len(result.tests)),
            failures=str(failures),
            time=f"{result.execution_time:.2f}",
        )
        for test in result.tests:
            case = ET.SubElement(suite, "testcase", classname=f"{result.assignment}.{result.name}", name=test.name)
            if not test.passed:
                failure = ET.SubElement(
                    case, "failure", message=_xml(test.output.splitlines()[0] if test.output else "failed")
                )
                failure.text = _xml(test.output)
        if result.output:
            ET.SubElement(suite, "system-out").text = _xml(result.output)
    path = out / "junit.xml"
    _write(path, ET.tostring(suites, encoding="unicode", xml_declaration=True) + "\n")
    return path


def _xml(text: str) -> str:
    """Text XML 1.0 can hold: a program's output may carry control characters."""
    return _NOT_XML.sub("\ufffd", text)
