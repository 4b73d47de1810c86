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
    lines = [
        f"# {result.assignment}: {result.name}",
        "",
        f"**Score: {points(result.score)} / {points(result.max_score)}** ({result.status}, {result.execution_time:.1f} s)",
        "",
        "| Check | Points | Result | Visibility |",
        "|---|---|---|---|",
    ]
    for test in result.tests:
        lines.append(
            f"| {test.name} | {points(test.score)} / {points(test.max_score)} | {'passed' if test.passed else 'failed'} | {test.visibility} |"
        )
    if result.output:
        lines += ["", "## Overall", "", *_fenced(result.output)]
    for test in result.tests:
        lines += ["", f"## {test.name}: {'passed' if test.passed else 'failed'}", "", *_fenced(test.output)]
    return "\n".join(lines) + "\n"


def _fenced(text: str) -> list[str]:
    fence = "````" if "```" in text else "```"
    return [fence, text.rstrip(), fence]


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
