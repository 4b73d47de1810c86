"""Grading a class as ``socklab grade --roster --secret`` does, in real
sandboxed labs: each student's own variant, a copied submission, a missing
student, regrading only what changed, and the class report opened in a real
headless browser. A student's version of a lab comes up with ``socklab up
--student``.
"""

from __future__ import annotations

import csv
import os
import shutil
import subprocess
from pathlib import Path
from types import SimpleNamespace

import pytest

from socklab.cli import main
from socklab.console import Output
from socklab.docker_backend import DockerBackend
from socklab.grading import grade_command
from socklab.grading.assignment import load_assignment
from socklab.grading.students import for_student
from socklab.images import ensure_images
from socklab.lab import RunningLab

SECRET = "klass-test-secret-3f9a1c"
ROSTER = (
    "id,name,email,folder\n"
    "s001,Alice Martin,alice@example.edu,\n"
    "s002,Bob Stone,bob@example.edu,bob\n"
    "s003,Carol King,carol@example.edu,\n"
)
SERVER = """import os
from socket import *

serverPort = int(os.environ.get('PORT', 1234))
serverSocket = socket(AF_INET, SOCK_DGRAM)
serverSocket.bind(('', serverPort))
while True:
    message, clientAddress = serverSocket.recvfrom(65535)
    modifiedMessage = '{prefix} ' + message.decode('utf-8', errors='replace').upper()
    serverSocket.sendto(modifiedMessage.encode('utf-8'), clientAddress)
"""
CLIENT = """import os
import sys
from socket import *

serverName = os.environ['SERVER_HOST']
serverPort = int(os.environ['SERVER_PORT'])
clientSocket = socket(AF_INET, SOCK_DGRAM)
message = input().encode('utf-8')
delay = {initial_timeout}
while True:
    clientSocket.sendto(message, (serverName, serverPort))
    clientSocket.settimeout(delay)
    try:
        modifiedMessage, serverAddress = clientSocket.recvfrom(65535)
    except timeout:
        delay *= 2
        if delay > {give_up}:
            print('server seems down')
            sys.exit(1)
    else:
        break
print(modifiedMessage.decode('utf-8'))
"""
LECTURE_SERVER = Path(__file__).parent / "submissions" / "udp-server" / "correct"
BROWSERS = ("chromium", "chromium-browser", "google-chrome")


def _grade(klass: SimpleNamespace, force: bool = False) -> int:
    return grade_command(
        "udp-server",
        [klass.folder],
        klass.out,
        jobs=3,
        output=Output(quiet=True),
        roster=klass.roster,
        secret=klass.secret,
        force=force,
    )


@pytest.fixture(scope="module")
def klass(tmp_path_factory: pytest.TempPathFactory) -> SimpleNamespace:
    """Alice wrote her server for her variant, Bob copied it, Carol sent
    nothing, and a submission no roster line owns came in too."""
    ensure_images(DockerBackend().client)
    root = tmp_path_factory.mktemp("class")
    (root / "secret").write_text(SECRET + "\n")
    (root / "roster.csv").write_text(ROSTER)
    spec = load_assignment("udp-server")
    alice = for_student(spec, SECRET.encode(), "s001")[1]
    bob = for_student(spec, SECRET.encode(), "s002")[1]
    assert alice["prefix"] != bob["prefix"] and alice["port"] != bob["port"]
    folder = root / "submissions"
    for name in ("s001", "bob"):
        (folder / name).mkdir(parents=True)
        (folder / name / "main.py").write_text(SERVER.format(prefix=alice["prefix"]))
    shutil.copytree(LECTURE_SERVER, folder / "stranger")
    klass = SimpleNamespace(
        root=root,
        folder=folder,
        out=root / "out",
        roster=root / "roster.csv",
        secret=root / "secret",
        spec=spec,
        alice=alice,
        bob=bob,
    )
    klass.status = _grade(klass)
    return klass


def _results(klass: SimpleNamespace, name: str) -> dict:
    import json

    return json.loads((klass.out / name / "results.json").read_text())


def _rows(path: Path) -> list[dict]:
    with path.open(newline="") as file:
        return list(csv.DictReader(file))


def test_each_submission_is_graded_against_its_own_students_variant(klass: SimpleNamespace) -> None:
    assert klass.status == 0
    alice = _results(klass, "s001")
    assert alice["score"] == alice["max_score"] == klass.spec.max_score, [t["output"] for t in alice["tests"]]
    assert alice["extra_data"]["student"] == "s001" and alice["extra_data"]["variant"] == {
        "port": klass.alice["port"],
        "prefix": klass.alice["prefix"],
    }


def test_a_copied_submission_fails_the_variant_checks_saying_what_was_expected(klass: SimpleNamespace) -> None:
    bob = _results(klass, "bob")
    tests = {t["name"]: t for t in bob["tests"]}
    variant = tests["your variant's word in front"]
    assert variant["status"] == "failed" and variant["score"] == 0
    assert (
        f"expected '{klass.bob['prefix']} WHICH VARIANT?', got '{klass.alice['prefix']} WHICH VARIANT?'"
        in variant["output"]
    )
    assert f"Your variant: port {klass.bob['port']}, word '{klass.bob['prefix']}'" in variant["output"]
    assert f"to UDP port {klass.bob['port']}" in tests["answers upper-cased"]["output"]
    assert bob["score"] == 0 and bob["extra_data"]["student"] == "s002"


def test_the_secret_is_in_no_result_or_report(klass: SimpleNamespace) -> None:
    files = [p for p in klass.out.rglob("*") if p.is_file()]
    assert len(files) > 10
    assert not [p for p in files if SECRET.encode() in p.read_bytes()]


def test_a_missing_student_has_a_row_and_an_unrostered_submission_is_reported(klass: SimpleNamespace) -> None:
    book = {row["id"]: row for row in _rows(klass.out / "gradebook.csv")}
    assert book["s003"]["status"] == "missing" and book["s003"]["score"] == "0"
    assert book["s001"]["score"] == str(int(klass.spec.max_score)) and book["s002"]["folder"] == "bob"
    assert book["stranger"]["status"] == "not on the roster"
    canvas = {row["SIS User ID"]: row for row in _rows(klass.out / "canvas.csv") if row["Student"] != "Points Possible"}
    assert set(canvas) == {"s001", "s002", "s003"} and canvas["s003"]["socklab udp-server"] == "0"
    assert {row["Email address"] for row in _rows(klass.out / "moodle.csv")} == {
        "alice@example.edu",
        "bob@example.edu",
        "carol@example.edu",
    }
    grades = _rows(klass.out / "grades.csv")
    assert list(grades[0]) == ["submission", "score", "max_score"] and {g["submission"] for g in grades} == {
        "s001",
        "bob",
        "stranger",
    }


def _browser() -> str:
    found = next((shutil.which(b) for b in BROWSERS if shutil.which(b)), None)
    if found is None:
        pytest.skip(f"no headless browser here (none of {', '.join(BROWSERS)} on PATH): apt-get install chromium")
    return found


def _headless(browser: str, *args: str) -> subprocess.CompletedProcess:
    flags = ["--headless", "--disable-gpu", "--no-first-run", "--allow-file-access-from-files"]
    if os.geteuid() == 0:
        flags.append("--no-sandbox")  # Chromium refuses root otherwise
    return subprocess.run([browser, *flags, *args], capture_output=True, text=True, timeout=120)


def test_the_class_report_opens_in_a_browser_and_shows_the_distribution_and_rates(klass: SimpleNamespace) -> None:
    from PIL import Image

    browser = _browser()
    index = (klass.out / "index.html").resolve()
    dom = _headless(browser, "--dump-dom", index.as_uri())
    assert dom.returncode == 0, dom.stderr[-2000:]
    page = dom.stdout
    assert '<h2 id="distribution">Score distribution</h2>' in page and 'src="score-distribution.png"' in page
    for check in klass.spec.checks:
        assert (
            f"<tr><td>{check.name.replace(chr(39), '&#x27;')}</td>" in page or f"<tr><td>{check.name}</td>" in page
        ), check.name
    assert '1 / 3</td><td class="num">33%</td>' in page  # each check passed by Alice only
    assert '<a href="s001/report.html">s001</a>' in page and "missing" in page
    shot = klass.root / "screenshot.png"
    taken = _headless(browser, f"--screenshot={shot}", "--window-size=1200,1800", index.as_uri())
    assert taken.returncode == 0 and shot.is_file(), taken.stderr[-2000:]
    pixels = Image.open(shot).convert("RGB")
    colours = {colour: n for n, colour in pixels.getcolors(maxcolors=1 << 24)}
    counts = {
        colour: colours.get(colour, 0) for colour in ((31, 119, 180), (44, 160, 44))
    }  # the histogram's blue, the rates' green
    assert all(n > 500 for n in counts.values()), f"the pictures did not render: {counts}"
    student = _headless(browser, "--dump-dom", (klass.out / "bob" / "report.html").resolve().as_uri())
    assert (
        "your variant&#x27;s word in front: failed" in student.stdout
        or "your variant's word in front: failed" in student.stdout
    )


def test_grading_again_reuses_unchanged_results_and_grades_a_changed_one(klass: SimpleNamespace) -> None:
    stamp = {name: (klass.out / name / "results.json").stat().st_mtime_ns for name in ("s001", "bob", "stranger")}
    assert _grade(klass) == 0
    assert "3 unchanged, taken from the previous run" in (klass.out / "index.html").read_text()
    assert all((klass.out / n / "results.json").stat().st_mtime_ns == t for n, t in stamp.items())

    (klass.folder / "bob" / "main.py").write_text(SERVER.format(prefix=klass.bob["prefix"]))  # Bob fixes his word
    assert _grade(klass) == 0
    assert "2 unchanged, taken from the previous run" in (klass.out / "index.html").read_text()
    bob = _results(klass, "bob")
    assert bob["score"] == bob["max_score"], [t["output"] for t in bob["tests"]]
    assert (klass.out / "s001" / "results.json").stat().st_mtime_ns == stamp["s001"]
    assert (klass.out / "bob" / "results.json").stat().st_mtime_ns != stamp["bob"]

    assert _grade(klass, force=True) == 0
    assert "unchanged" not in (klass.out / "index.html").read_text()
    assert (klass.out / "s001" / "results.json").stat().st_mtime_ns != stamp["s001"]


def test_a_copied_client_fails_the_backoff_of_its_students_variant(tmp_path: Path) -> None:
    """Without a roster a submission's folder names its student."""
    spec = load_assignment("udp-client")
    values = {sid: for_student(spec, SECRET.encode(), sid)[1] for sid in (f"c{n:03d}" for n in range(20))}
    first = "c000"
    other = next(sid for sid, v in values.items() if v["backoff"] != values[first]["backoff"])
    for sid in (first, other):
        (tmp_path / "class" / sid).mkdir(parents=True)
        (tmp_path / "class" / sid / "main.py").write_text(
            CLIENT.format(**{k: values[first][k] for k in ("initial_timeout", "give_up")})
        )
    (tmp_path / "secret").write_text(SECRET)
    status = grade_command(
        "udp-client",
        [tmp_path / "class"],
        tmp_path / "out",
        jobs=2,
        output=Output(quiet=True),
        secret=tmp_path / "secret",
    )
    assert status == 0
    import json

    own = json.loads((tmp_path / "out" / first / "results.json").read_text())
    assert own["score"] == own["max_score"], [t["output"] for t in own["tests"]]
    copied = {t["name"]: t for t in json.loads((tmp_path / "out" / other / "results.json").read_text())["tests"]}
    backoff = copied["backs off, doubling its timeout"]
    assert backoff["status"] == "failed", backoff["output"]
    assert (
        f"expected sends at {values[other]['backoff']} s" in backoff["output"]
        or f"expected {len(values[other]['backoff'])} sends at {values[other]['backoff']} s" in backoff["output"]
    ), backoff["output"]
    assert (
        f"a first timeout of {values[other]['initial_timeout']} s, given up past {values[other]['give_up']} s"
        in backoff["output"]
    )
    assert copied["prints the answer"]["status"] == "passed"  # it prints what its server says, word included


def test_up_with_a_student_brings_up_their_version(capsys: pytest.CaptureFixture) -> None:
    instance = f"klass-up-{os.getpid()}"
    os.environ["SOCKLAB_COURSE_SECRET"] = SECRET
    try:
        assert main(["up", "udp-echo", "--instance", instance, "--student", "s001"]) == 0
        values = for_student(load_assignment("udp-server"), SECRET.encode(), "s001")[1]
        assert f"student s001: port {values['port']}, prefix {values['prefix']}" in capsys.readouterr().out
        running = RunningLab.attach(DockerBackend(), instance)
        answer = running.exec("client", ["udp-client", "--host", "udp-server", "--message", "hello"], timeout=20)
        assert answer.stdout.strip() == f"{values['prefix']} HELLO", answer
    finally:
        del os.environ["SOCKLAB_COURSE_SECRET"]
        main(["down", "udp-echo", "--instance", instance])
