"""Running a class, without Docker: variants, roster, gradebooks, cache.

The graded class itself (copied submissions, missing students, regrading,
the class report in a browser) is in tests/grading/test_class.py.
"""

from __future__ import annotations

import csv
import json
from pathlib import Path

import pytest

from socklab.errors import BadInput, LabFileError
from socklab.grading import cache
from socklab.grading.assignment import load_assignment, parse_assignment
from socklab.grading.gradebook import (
    CANVAS_POINTS_ROW,
    CANVAS_REQUIRED,
    MOODLE_IDENTITY,
    assignment_column,
    write_gradebooks,
)
from socklab.grading.results import SubmissionResult
from socklab.grading.results import TestResult as CheckResult
from socklab.grading.roster import load_roster
from socklab.grading.students import for_student, student_lab
from socklab.grading.variants import backoff, course_secret
from socklab.labfile import load_lab

SECRET = b"a course secret nobody guesses"


def test_the_same_secret_and_id_give_the_same_values_and_two_students_differ() -> None:
    for name in ("udp-server", "udp-client"):
        spec = load_assignment(name)
        alice = for_student(spec, SECRET, "s001")[1]
        assert for_student(spec, SECRET, "s001")[1] == alice
        bob = for_student(spec, SECRET, "s002")[1]
        declared = [p.name for p in spec.variants]
        assert {k: alice[k] for k in declared} != {k: bob[k] for k in declared}
        assert alice["port"] != bob["port"] and alice["prefix"] != bob["prefix"]
        assert for_student(spec, b"another course", "s001")[1] != alice
    # one student has one port and one word across the server and client assignments
    server = for_student(load_assignment("udp-server"), SECRET, "s001")[1]
    client = for_student(load_assignment("udp-client"), SECRET, "s001")[1]
    assert (server["port"], server["prefix"]) == (client["port"], client["prefix"])


def test_a_students_assignment_carries_their_values_and_the_lecture_keeps_its_own() -> None:
    spec = load_assignment("udp-client")
    lecture = {c.name: c.params for c in spec.checks}
    assert lecture["backs off, doubling its timeout"]["schedule"] == [0.0, 0.1, 0.3, 0.7, 1.5]
    assert lecture["prints the answer"]["prefix"] == "" and spec.port == 1234
    mine, values = for_student(spec, SECRET, "s001")
    checks = {c.name: c for c in mine.checks}
    assert mine.port == values["port"]
    assert (
        checks["backs off, doubling its timeout"].params["schedule"]
        == backoff(values["initial_timeout"], values["give_up"])[0]
    )
    assert checks["prints the answer"].params["prefix"] == values["prefix"]
    assert f"over {values['give_up']:g} s" in checks["gives up past its limit"].feedback
    assert mine.lab.links["wan"].seed == values["seed"]
    server = mine.lab.nodes["server"]
    assert server.environment == {"PORT": str(values["port"]), "PREFIX": values["prefix"]}
    assert server.ready.log == f"ready udp/{values['port']}"
    assert "${" not in json.dumps([c.params for c in mine.checks]) + "".join(c.feedback for c in mine.checks)


def test_backoff_schedule_is_the_lectures_loop() -> None:
    assert backoff(0.1, 2.0) == ([0.0, 0.1, 0.3, 0.7, 1.5], 3.1)
    assert backoff(0.25, 3.0) == ([0.0, 0.25, 0.75, 1.75], 3.75)


def test_up_with_a_student_sets_the_reference_services() -> None:
    lab, shown = student_lab(load_lab("udp-loss"), "s001", SECRET)
    values = for_student(load_assignment("udp-client"), SECRET, "s001")[1]
    assert shown == {k: values[k] for k in ("port", "prefix", "initial_timeout", "give_up", "seed")}
    assert lab.nodes["client"].environment["INITIAL_TIMEOUT"] == f"{values['initial_timeout']:g}"
    assert lab.nodes["client"].environment["SERVER_PORT"] == str(values["port"])
    assert lab.links["wan"].seed == values["seed"]
    echo, shown = student_lab(load_lab("udp-echo"), "s001", SECRET)  # udp-client is practised there too
    assert echo.nodes["udp-server"].environment["PREFIX"] == values["prefix"] and "seed" not in shown
    with pytest.raises(BadInput, match="needs the course secret"):
        student_lab(load_lab("udp-echo"), "s001", None)
    with pytest.raises(BadInput, match="no assignment on lab 'tcp-models' declares variants"):
        student_lab(load_lab("tcp-models"), "s001", SECRET)


def test_the_secret_comes_from_a_file_or_the_environment(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("SOCKLAB_COURSE_SECRET", raising=False)
    assert course_secret(None) is None
    monkeypatch.setenv("SOCKLAB_COURSE_SECRET", "from-env")
    assert course_secret(None) == b"from-env"
    (tmp_path / "secret").write_text("from-file\n")
    assert course_secret(tmp_path / "secret") == b"from-file"
    (tmp_path / "empty").write_text("\n")
    with pytest.raises(BadInput, match="empty"):
        course_secret(tmp_path / "empty")


@pytest.mark.parametrize(
    "variants,problem",
    [
        ("  colour: {range: [1, 2]}", r"unknown variant 'colour'"),
        ("  port: {range: [80, 90]}", r"variant 'port' range must be 1024 <= LOW < HIGH <= 65535, not \[80, 90\]"),
        ("  port: {words: [A, B]}", r"unknown key 'words' in variant 'port'"),
        ("  prefix: {words: [alpha, BRAVO]}", r"'alpha' must be 2 to 12 upper-case letters"),
        ("  prefix: {words: [ALPHA]}", r"needs at least two"),
        ("  give_up: {choices: [1, 2]}", r"variant 'give_up' is a client's: this is a server assignment"),
        ("  seed: {range: [1, 9]}", r"variant 'seed' sets the seed of the lab's lossy links, and this lab has none"),
    ],
)
def test_bad_variant_declarations_are_located(tmp_path: Path, variants: str, problem: str) -> None:
    text = load_assignment("udp-server").path.read_text()
    start = text.index("variants:\n")
    end = text.index("timeout: 90")
    bad = text[:start] + "variants:\n" + variants + "\n" + text[end:]
    line = bad[: bad.index(variants)].count("\n") + 1
    with pytest.raises(LabFileError, match=rf"broken.yaml:{line}: .*{problem}"):
        parse_assignment(bad, tmp_path / "broken.yaml")


def test_also_in_names_a_lab(tmp_path: Path) -> None:
    text = load_assignment("udp-client").path.read_text().replace("also_in: [udp-echo]", "also_in: [udp-ehco]")
    with pytest.raises(LabFileError, match=r"broken.yaml:\d+: also_in: no lab 'udp-ehco'"):
        parse_assignment(text, tmp_path / "broken.yaml")


def test_bad_placeholders_are_located(tmp_path: Path) -> None:
    text = load_assignment("udp-server").path.read_text()
    unknown = text.replace(
        'with: {message: hello world, prefix: "${prefix}"}', 'with: {message: hello world, prefix: "${word}"}'
    )
    with pytest.raises(
        LabFileError,
        match=r"broken.yaml:\d+: check 'answers upper-cased': prefix names unknown variant values \['word'\]",
    ):
        parse_assignment(unknown, tmp_path / "broken.yaml")
    mistyped = text.replace(
        'with: {size: 3000, ignore_case: true, prefix: "${prefix}"}', 'with: {size: "${prefix}", ignore_case: true}'
    )
    with pytest.raises(
        LabFileError, match=r"broken.yaml:\d+: check 'a 3000-byte datagram': size cannot be \$\{prefix\} \(a str\)"
    ):
        parse_assignment(mistyped, tmp_path / "broken.yaml")


def _roster(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "roster.csv"
    path.write_text(text, encoding="utf-8")
    return path


def test_a_roster_maps_folders_to_students(tmp_path: Path) -> None:
    roster = load_roster(
        _roster(
            tmp_path,
            "\ufeffid,name,email,folder,section\n"
            's001,Alice Martin,alice@example.edu,,A\ns002,"Stone, Bob",bob@example.edu,bob,B\n\n',
        )
    )
    assert [(s.id, s.name, s.folder) for s in roster] == [
        ("s001", "Alice Martin", "s001"),
        ("s002", "Stone, Bob", "bob"),
    ]


@pytest.mark.parametrize(
    "text,line,problem",
    [
        ("", 1, "the roster is empty"),
        ("id,name,mail,folder\ns1,A,a@x,\n", 1, "the header lacks email"),
        ("id,name,email,folder\ns1,A,a@x,\ns1,B,b@x,\n", 3, "id 's1' is already on line 2"),
        ("id,name,email,folder\ns1,A,a@x,f\ns2,B,b@x,f\n", 3, "folder 'f' is already on line 2"),
        ("id,name,email,folder\ns1,A,a@x\n", 2, "3 columns where the header has 4"),
        ("id,name,email,folder\n,A,a@x,\n", 2, "the id is empty"),
        ("id,name,email,folder\ns1,A,not-an-address,\n", 2, "is not an e-mail address"),
        ("id,name,email,folder\ns1,A,a@x,../elsewhere\n", 2, "must be a folder's name"),
        ("id,name,email,folder\n", 2, "lists no student"),
        ('id,name,email,folder\ns1,"A,a@x,\n', 2, "not CSV: unexpected end of data"),
    ],
)
def test_a_bad_roster_is_located(tmp_path: Path, text: str, line: int, problem: str) -> None:
    with pytest.raises(LabFileError, match=rf"roster.csv:{line}: .*{problem}"):
        load_roster(_roster(tmp_path, text))


def _result(name: str, score: float, student: str = "") -> SubmissionResult:
    tests = [CheckResult("answers", score, 10, score == 10, "sent ...", "visible")]
    return SubmissionResult(name, "udp-server", "graded", tests, extra={"student": student or name})


def _rows(path: Path) -> list[list[str]]:
    with path.open(newline="", encoding="utf-8") as file:
        return list(csv.reader(file))


def test_gradebooks_have_every_student_and_the_columns_each_platform_requires(tmp_path: Path) -> None:
    roster = load_roster(
        _roster(
            tmp_path,
            "id,name,email,folder\n"
            "s001,Alice Martin,alice@example.edu,\n"
            "s002,Bob Stone,bob@example.edu,bob\n"
            "s003,Carol King,carol@example.edu,\n",
        )
    )
    results = [_result("s001", 10), _result("bob", 4, "s002"), _result("stranger", 7)]
    write_gradebooks(tmp_path, roster, "udp-server", 10, results)

    ours = _rows(tmp_path / "gradebook.csv")
    assert ours[0] == ["id", "name", "email", "folder", "score", "max_score", "status"]
    assert ours[1:] == [
        ["s001", "Alice Martin", "alice@example.edu", "s001", "10", "10", "graded"],
        ["s002", "Bob Stone", "bob@example.edu", "bob", "4", "10", "graded"],
        ["s003", "Carol King", "carol@example.edu", "s003", "0", "10", "missing"],
        ["stranger", "", "", "stranger", "7", "10", "not on the roster"],
    ]

    canvas = _rows(tmp_path / "canvas.csv")
    header = canvas[0]
    assert all(column in header for column in CANVAS_REQUIRED), header
    assert header[len(CANVAS_REQUIRED) :] == [assignment_column("udp-server")]  # one column per assignment after them
    assert canvas[1][0] == CANVAS_POINTS_ROW and canvas[1][-1] == "10"
    by_sis = {row[header.index("SIS User ID")]: row for row in canvas[2:]}
    assert set(by_sis) == {"s001", "s002", "s003"}  # the unrostered one has no one to be in Canvas
    assert by_sis["s003"][-1] == "0" and by_sis["s002"][header.index("SIS Login ID")] == "bob@example.edu"

    moodle = _rows(tmp_path / "moodle.csv")
    assert any(column in moodle[0] for column in MOODLE_IDENTITY) and assignment_column("udp-server") in moodle[0]
    emails = {row[moodle[0].index("Email address")]: row[-1] for row in moodle[1:]}
    assert emails == {"alice@example.edu": "10", "bob@example.edu": "4", "carol@example.edu": "0"}


def test_a_result_is_reused_only_when_nothing_it_came_from_changed(tmp_path: Path) -> None:
    spec = load_assignment("udp-server")
    submission = tmp_path / "class" / "s001"
    submission.mkdir(parents=True)
    (submission / "main.py").write_text("print('v1')\n")
    wanted = cache.provenance(submission, spec, "s001", {"port": 20001, "prefix": "KILO"})
    result = _result("s001", 10)
    result.extra = dict(wanted, status="graded", assignment="udp-server")
    (tmp_path / "out" / "s001").mkdir(parents=True)
    (tmp_path / "out" / "s001" / "results.json").write_text(json.dumps(result.to_gradescope()))

    again = cache.previous(tmp_path / "out", "s001", wanted)
    assert again is not None and again.score == 10 and again.tests == result.tests
    assert (
        cache.previous(
            tmp_path / "out", "s001", cache.provenance(submission, spec, "s001", {"port": 20002, "prefix": "KILO"})
        )
        is None
    )
    (submission / "main.py").write_text("print('v2')\n")
    assert (
        cache.previous(
            tmp_path / "out", "s001", cache.provenance(submission, spec, "s001", {"port": 20001, "prefix": "KILO"})
        )
        is None
    )
    assert set(wanted) >= {"submission_hash", "assignment_hash", "socklab_version"}


def test_a_bad_roster_stops_socklab_grade_before_anything_starts(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    from socklab.cli import main

    submission = Path(__file__).parent.parent / "grading" / "submissions" / "udp-server" / "correct"
    roster = _roster(tmp_path, "id,name,email,folder\ns1,A,a@x,\ns1,B,b@x,\n")
    status = main(["grade", "udp-server", str(submission), "--out", str(tmp_path / "out"), "--roster", str(roster)])
    assert status == 2
    assert capsys.readouterr().err.strip() == f"socklab: error: {roster}:3: id 's1' is already on line 2"
    assert not (tmp_path / "out").exists()


def test_patience_lengthens_the_waits_not_what_is_judged() -> None:
    """``socklab grade --patience 3`` on a slow machine: readiness, each
    check's cap and the submission's cap triple; a check's parameters (a
    backoff's schedule and tolerance) do not, and earlier results are not
    reused across patience."""
    spec = load_assignment("udp-client")
    patient = spec.with_patience(3.0)
    assert (patient.ready_timeout, patient.timeout) == (3 * spec.ready_timeout, 3 * spec.timeout)
    assert [c.timeout for c in patient.checks] == [3 * c.timeout for c in spec.checks]
    assert [c.params for c in patient.checks] == [c.params for c in spec.checks]
    assert [c.timeout for c in patient.templates] == [3 * c.timeout for c in spec.templates]
    assert spec.with_patience(1.0) is spec
    assert cache.assignment_hash(patient, {}) != cache.assignment_hash(spec, {})


@pytest.mark.parametrize("patience", ["0.5", "nan", "1000"])
def test_patience_out_of_range_is_refused(tmp_path: Path, patience: str, capsys: pytest.CaptureFixture) -> None:
    from socklab.cli import main

    status = main(["grade", "udp-server", str(tmp_path), "--out", str(tmp_path / "out"), "--patience", patience])
    assert status == 2 and "--patience must be from 1 to 100" in capsys.readouterr().err
    assert not (tmp_path / "out").exists()
