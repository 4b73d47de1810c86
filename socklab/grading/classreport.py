"""The class report an instructor looks at: ``DIR/index.html``.

Where the class struggles, in static files that open offline from the
folder (no server, no script, nothing fetched): the score distribution,
each check's pass rate (the ones most of the class fails first), the
failure feedback given most often, the slowest submissions, and every
student with a link to their own ``report.html``. The pictures are PNGs
drawn with matplotlib's object API on the Agg canvas, as the experiment
plots are.
"""

from __future__ import annotations

import html
import re
import statistics
from collections import Counter
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Optional, Sequence

from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure

from .assignment import Assignment
from .gradebook import MISSING, UNROSTERED
from .report import _write, points
from .results import SubmissionResult
from .roster import Roster

TOP = 10  # failure messages and slowest submissions shown
NUMBER = re.compile(r"(?<![\w-])\d+(\.\d+)?(?![\w-])")  # a port or a size, not the 8 of UTF-8
STYLE = """
body { font-family: sans-serif; margin: 2em auto; max-width: 70em; color: #222; }
table { border-collapse: collapse; margin: 1em 0; }
th, td { border: 1px solid #ccc; padding: 0.25em 0.6em; text-align: left; vertical-align: top; }
td.num { text-align: right; }
.missing, .unrostered { color: #a40; }
pre { white-space: pre-wrap; background: #f6f6f6; padding: 0.6em; }
img { max-width: 100%; }
"""


@dataclass(frozen=True)
class Row:
    """One line of the class list: a rostered student, or a submission nobody on the roster owns."""

    id: str
    name: str
    folder: str
    result: Optional[SubmissionResult]
    status: str


def class_rows(results: Sequence[SubmissionResult], roster: Optional[Roster]) -> list[Row]:
    by_folder = {r.name: r for r in results}
    if roster is None:
        return [Row(r.extra.get("student", r.name), "", r.name, r, r.status) for r in results]
    rows = [
        Row(
            s.id,
            s.name,
            s.folder,
            by_folder.get(s.folder),
            by_folder[s.folder].status if s.folder in by_folder else MISSING,
        )
        for s in roster
    ]
    rostered = {s.folder for s in roster}
    rows += [Row(r.extra.get("student", r.name), "", r.name, r, UNROSTERED) for r in results if r.name not in rostered]
    return rows


def write_class_report(
    out: Path,
    assignment: Assignment,
    results: Sequence[SubmissionResult],
    roster: Optional[Roster] = None,
    reused: int = 0,
) -> Path:
    """index.html, its pictures, and each submission's report.html."""
    rows = class_rows(results, roster)
    for result in results:
        _write(out / result.name / "report.html", student_page(result))
    graded = list(results)
    _distribution(out / "score-distribution.png", [r.score for r in graded], assignment.max_score)
    rates = pass_rates(assignment, graded)
    _rates_chart(out / "check-pass-rates.png", rates)
    _write(out / "index.html", index_page(assignment, rows, graded, rates, reused))
    return out / "index.html"


def pass_rates(assignment: Assignment, results: Sequence[SubmissionResult]) -> list[tuple[str, float, int, int]]:
    """(check, points, passed, graded) per check, the least passed first."""
    rates = []
    for spec in assignment.checks:
        outcomes = [t.passed for r in results for t in r.tests if t.name == spec.name]
        rates.append((spec.name, spec.points, sum(outcomes), len(outcomes)))
    return sorted(rates, key=lambda r: (r[2] / r[3] if r[3] else 1.0, r[0]))


def frequent_failures(results: Sequence[SubmissionResult]) -> list[tuple[str, str, int]]:
    """(check, message, how many) of the failure messages given most often.
    A student's own values (their word, their port) and other numbers are
    masked, so that one message is not split by every student's variant."""
    counts: Counter[tuple[str, str]] = Counter()
    for result in results:
        own = {str(v): f"<{k}>" for k, v in result.extra.get("variant", {}).items() if isinstance(v, str) and v}
        for test in result.tests:
            if not test.passed:
                first = test.output.strip().splitlines()[0] if test.output.strip() else "failed"
                for value, name in own.items():
                    first = first.replace(value, name)
                counts[test.name, NUMBER.sub("N", first)[:240]] += 1
    return [(check, message, n) for (check, message), n in counts.most_common(TOP)]


def _distribution(path: Path, scores: list[float], max_score: float) -> None:
    figure = Figure(figsize=(7, 3.2), dpi=100)
    axes = figure.add_subplot()
    top = int(max_score)
    axes.hist(scores, bins=[b - 0.5 for b in range(top + 2)], color="#1f77b4", edgecolor="white")
    axes.set_xlabel(f"score (of {points(max_score)})")
    axes.set_ylabel("submissions")
    axes.set_xlim(-0.5, top + 0.5)
    axes.set_title("Score distribution")
    figure.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    FigureCanvasAgg(figure).print_png(str(path))


def _rates_chart(path: Path, rates: list[tuple[str, float, int, int]]) -> None:
    figure = Figure(figsize=(7, 0.5 + 0.45 * max(1, len(rates))), dpi=100)
    axes = figure.add_subplot()
    names = [name for name, *_ in rates][::-1]
    values = [100 * passed / graded if graded else 0 for _, _, passed, graded in rates][::-1]
    axes.barh(names, values, color="#2ca02c")
    axes.set_xlim(0, 100)
    axes.set_xlabel("% of submissions passing")
    axes.set_title("Pass rate per check")
    figure.tight_layout()
    FigureCanvasAgg(figure).print_png(str(path))


def _e(text: object) -> str:
    return html.escape(str(text))


def _tr(*cells: str, css: str = "") -> str:
    """A table row of cells given as HTML (a numeric one from _num)."""
    return f"<tr{css}>" + "".join(c if c.startswith("<td") else f"<td>{c}</td>" for c in cells) + "</tr>"


def _num(text: str) -> str:
    return f"<td class=num>{_e(text)}</td>"


def _link(folder: str) -> str:
    return f'<a href="{_e(folder)}/report.html">{_e(folder)}</a>'


def index_page(
    assignment: Assignment,
    rows: list[Row],
    graded: list[SubmissionResult],
    rates: list[tuple[str, float, int, int]],
    reused: int,
) -> str:
    scores = [r.score for r in graded]
    missing = sum(1 for r in rows if r.status == MISSING)
    unrostered = [r for r in rows if r.status == UNROSTERED]
    summary = f"{len(graded)} submission(s) graded" + (
        f" ({reused} unchanged, taken from the previous run)" if reused else ""
    )
    summary += f", {missing} student(s) missing" if missing else ""
    if scores:
        median = points(statistics.median(scores))
        summary += f"; mean {statistics.mean(scores):.1f}, median {median} of {points(assignment.max_score)} points"
    parts = [
        "<!DOCTYPE html>",
        '<html lang="en"><head><meta charset="utf-8">',
        f"<title>{_e(assignment.name)}: class report</title><style>{STYLE}</style></head><body>",
        f"<h1>{_e(assignment.name)}: class report</h1>",
        f"<p>{_e(assignment.description)}</p>",
        f'<p id="summary">{_e(summary)}. Made {datetime.now(timezone.utc):%Y-%m-%d %H:%M} UTC.</p>',
    ]
    if unrostered:
        names = ", ".join(r.folder for r in unrostered)
        parts.append(
            f'<p class="unrostered" id="unrostered">{len(unrostered)} submission(s) not on the roster'
            f" (graded, but in no platform gradebook): {_e(names)}</p>"
        )
    histogram = Counter(round(s) for s in scores)
    parts += [
        '<h2 id="distribution">Score distribution</h2>',
        '<img src="score-distribution.png" alt="histogram of the scores">',
        '<table id="distribution-table"><tr><th>score</th>'
        + "".join(f"<td class=num>{s}</td>" for s in range(int(assignment.max_score) + 1))
        + "</tr>",
        "<tr><th>submissions</th>"
        + "".join(f"<td class=num>{histogram.get(s, 0)}</td>" for s in range(int(assignment.max_score) + 1))
        + "</tr></table>",
        '<h2 id="checks">Pass rate per check</h2>',
        "<p>The checks most of the class fails come first.</p>",
        '<img src="check-pass-rates.png" alt="pass rate of each check">',
        '<table id="rates"><tr><th>check</th><th>points</th><th>passed</th><th>pass rate</th></tr>',
    ]
    for name, worth, passed, total in rates:
        rate = f"{100 * passed / total:.0f}%" if total else "-"
        parts.append(_tr(_e(name), _num(points(worth)), _num(f"{passed} / {total}"), _num(rate)))
    parts += [
        "</table>",
        '<h2 id="failures">Failure feedback given most often</h2>',
        "<table><tr><th>times</th><th>check</th>"
        "<th>what the students read (numbers as N, each student&#39;s own values as &lt;name&gt;)</th></tr>",
    ]
    for check, message, count in frequent_failures(graded):
        parts.append(f"<tr><td class=num>{count}</td><td>{_e(check)}</td><td>{_e(message)}</td></tr>")
    parts += [
        "</table>",
        '<h2 id="slowest">Slowest submissions</h2>',
        "<table><tr><th>submission</th><th>time</th><th>status</th></tr>",
    ]
    for result in sorted(graded, key=lambda r: -r.execution_time)[:TOP]:
        parts.append(_tr(_link(result.name), _num(f"{result.execution_time:.1f} s"), _e(result.status)))
    parts += [
        "</table>",
        '<h2 id="students">Students</h2>',
        "<table><tr><th>id</th><th>name</th><th>folder</th><th>score</th><th>status</th></tr>",
    ]
    for row in rows:
        link = _link(row.folder) if row.result else _e(row.folder)
        score = (
            f"{points(row.result.score)} / {points(row.result.max_score)}"
            if row.result
            else f"0 / {points(assignment.max_score)}"
        )
        css = (
            ' class="missing"' if row.status == MISSING else (' class="unrostered"' if row.status == UNROSTERED else "")
        )
        parts.append(_tr(_e(row.id), _e(row.name), link, _num(score), _e(row.status), css=css))
    parts += ["</table>", "</body></html>"]
    return "\n".join(parts) + "\n"


def student_page(result: SubmissionResult) -> str:
    """One submission's report, as report.md says it, for the browser."""
    parts = [
        "<!DOCTYPE html>",
        '<html lang="en"><head><meta charset="utf-8">',
        f"<title>{_e(result.assignment)}: {_e(result.name)}</title><style>{STYLE}</style></head><body>",
        '<p><a href="../index.html">class report</a></p>',
        f"<h1>{_e(result.assignment)}: {_e(result.name)}</h1>",
        f"<p><strong>Score: {points(result.score)} / {points(result.max_score)}</strong>"
        f" ({_e(result.status)}, {result.execution_time:.1f} s)</p>",
        "<table><tr><th>check</th><th>points</th><th>result</th><th>visibility</th></tr>",
    ]
    for test in result.tests:
        parts.append(
            _tr(
                _e(test.name),
                _num(f"{points(test.score)} / {points(test.max_score)}"),
                "passed" if test.passed else "failed",
                _e(test.visibility),
            )
        )
    parts.append("</table>")
    if result.output:
        parts += ["<h2>Overall</h2>", f"<pre>{_e(result.output)}</pre>"]
    for test in result.tests:
        parts += [f"<h2>{_e(test.name)}: {'passed' if test.passed else 'failed'}</h2>", f"<pre>{_e(test.output)}</pre>"]
    parts.append("</body></html>")
    return "\n".join(parts) + "\n"
