"""Grading the test submissions of every assignment, as ``socklab grade`` does.

Each submission under ``submissions/ASSIGNMENT/`` is graded once, in its own
sandboxed lab (two assignments at a time, three submissions each). A
correct one gets full marks; a buggy one loses exactly the points of the
checks it breaks; each failure mode gets a clear failing result in a
complete gradebook; nothing graded leaves a container, network or image.
The checks themselves give full marks to the reference services, in labs
from the pytest plugin.
"""

from __future__ import annotations

import csv
import json
import os
import re
import time
import xml.etree.ElementTree as ET
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Optional

import pytest

from socklab import labels as L
from socklab.console import Output
from socklab.docker_backend import DockerBackend
from socklab.errors import BadInput, LabFileError
from socklab.grading import grade_command
from socklab.grading.assignment import assignments_dir, load_assignment
from socklab.grading.runner import run_checks, target
from socklab.images import ensure_images

SUBMISSIONS = Path(__file__).parent / "submissions"
ALL = "every check"

# The checks each submission fails; it passes every other one, with its points.
EXPECTED: dict[str, dict[str, object]] = {
    "udp-server": {
        "correct": set(),
        "correct-dockerfile": set(),
        "no-upper": {"answers upper-cased", "non-ASCII letters"},
        "bytes-upper": {"non-ASCII letters"},
        "crash-invalid-utf8": {"survives invalid UTF-8"},
        "small-buffer": {"a 3000-byte datagram"},
        "bad-dockerfile": ALL,
        "syntax-error": ALL,
        "crash-at-start": ALL,
        "never-ready": ALL,
        "wrong-port": ALL,
        "fork-bomb": ALL,
        "memory-hog": ALL,
        "flood-output": ALL,
        "reach-outside": ALL,
    },
    "udp-client": {
        "correct": set(),
        "no-backoff": {"backs off, doubling its timeout"},
        "prints-bytes": {"prints the answer"},
        "never-gives-up": {"gives up past its limit"},
        "slide-timeout": {"backs off, doubling its timeout", "gives up past its limit"},
    },
    "tcp-sequential": {
        "correct": set(),
        "slide": {"next clients are served"},
        "no-upper": {"answers upper-cased"},
    },
    "tcp-threaded": {
        "correct": set(),
        "sequential": {"serves clients at once"},
        "crash-invalid-utf8": {"survives invalid UTF-8"},
        "hangs-mid-conversation": {
            "answers upper-cased",
            "several messages on one connection",
            "serves clients at once",
        },
    },
    "tcp-pool": {
        "correct": set(),
        "slide": {"serves clients one after the other"},
        "thread-per-connection": {"a pool of four threads"},
    },
    "tcp-poll": {
        "correct": set(),
        "slide": {"next clients are served", "survives invalid UTF-8"},
        "blocking": {"serves clients at once"},
    },
    "blocks": {
        "correct": set(),
        "single-recv": {"a 300 kB block in pieces"},
        "one-block": {"several blocks on one connection"},
        "crash-invalid-utf8": {"survives invalid UTF-8"},
        "native-order": ALL,
    },
    "broadcast": {
        "correct": set(),
        "single-recvfrom": {"hears every responder"},
        "prints-bytes": {"prints an answer"},
        "no-timeout": {"stops after the answers", "nobody answers"},
    },
    "tcp-asyncio": {
        "correct": set(),
        "blocking-recv": {"serves clients at once"},
    },
    "tcp-client": {
        "correct": set(),
        "slide": {"a 10000-character line", "nobody listens"},
    },
    "send-all": {
        "correct": set(),
        "send-loop": set(),
        "single-send": {"a 5 MB line, whole"},
    },
    "names": {
        "correct": set(),
        "ipv4-only": {"an IPv6-only server by name"},
        "first-address-only": {"an IPv4-only server by name"},
    },
    "wireshark": {
        "correct": set(),
        "no-backoff": {"your capture shows the backoff", "your program backs off"},
        "no-capture": {"your capture shows the backoff"},
    },
    "xmlrpc": {
        "correct": set(),
        "slide-quadratic": {"quadratic"},
        "sum-strings": {"addtogether of strings"},
        "no-introspection": {"introspection"},
        "localhost-only": ALL,
    },
}

# What the student reads about each failure mode, at the top of results.json.
FAILURE_OUTPUT = {
    "bad-dockerfile": "could not be built: the Dockerfile does not build",
    "syntax-error": "SyntaxError",
    "crash-at-start": "TypeError: socket.bind() takes exactly one argument",
    "never-ready": "never became ready",
    "wrong-port": "bound to UDP port 1234",
    "fork-bomb": "processes and threads at once, its limit",
    "memory-hog": "it used more than its 128 MiB of memory",
    "flood-output": "printed more than 1048576 bytes and was stopped",
    "reach-outside": "OSError: [Errno 101] Network is unreachable",
}
CASES = [(a, s) for a, subs in EXPECTED.items() for s in subs]
CPU_LIMIT = 0.5  # the student's container's, sandbox.STUDENT
# How long past its deadline a submission may take: the watchdog's taking
# its lab down. A bound on the deadline, not on the machine's speed.
DEADLINE_GRACE = 20.0


def cpu_used(output: str) -> Optional[float]:
    """The CPU a program used on average, as the grader told the student (None: not told)."""
    told = re.search(r"never stopped asking for the CPU: .*, (\d+\.\d+) CPU of its ([\d.]+)", output)
    return float(told.group(1)) if told and float(told.group(2)) == CPU_LIMIT else None


def _dangling(backend: DockerBackend) -> set[str]:
    """Untagged images carrying socklab's labels that a build could leave."""
    images = backend.client.images.list(filters={"dangling": True, "label": L.PROJECT})
    return {i.id for i in images if (i.labels or {}).get(L.IMAGE_ROLE) in ("base", "submission")}


@pytest.fixture(scope="module")
def graded(tmp_path_factory: pytest.TempPathFactory) -> dict:
    """Every assignment graded into its own folder: {assignment: (status, folder, seconds)}."""
    backend = DockerBackend()
    ensure_images(backend.client)
    before = _dangling(backend)
    out = tmp_path_factory.mktemp("graded")

    def grade(assignment: str) -> tuple[int, Path, float]:
        started = time.monotonic()
        status = grade_command(
            assignment, [SUBMISSIONS / assignment], out / assignment, jobs=3, output=Output(quiet=True)
        )
        return status, out / assignment, time.monotonic() - started

    with ThreadPoolExecutor(max_workers=2) as pool:
        results = dict(zip(EXPECTED, pool.map(grade, EXPECTED)))
    results["_dangling_before"] = before
    return results


def _results(graded: dict, assignment: str, submission: str) -> dict:
    return json.loads((graded[assignment][1] / submission / "results.json").read_text())


@pytest.mark.parametrize("assignment", EXPECTED)
def test_every_submission_is_graded_into_a_complete_gradebook(graded: dict, assignment: str) -> None:
    status, folder, _ = graded[assignment]
    assert status == 0, f"{assignment}: exit status {status}"
    with (folder / "grades.csv").open() as gradebook:
        rows = list(csv.reader(gradebook))
    assert rows[0] == ["submission", "score", "max_score"]
    assert sorted(r[0] for r in rows[1:]) == sorted(EXPECTED[assignment])
    suites = ET.parse(folder / "junit.xml").getroot()
    assert sorted(s.get("name") for s in suites) == sorted(EXPECTED[assignment])
    deadline = load_assignment(assignment).timeout + DEADLINE_GRACE
    for submission in EXPECTED[assignment]:
        assert (folder / submission / "report.md").read_text().startswith(f"# {assignment}: {submission}")
        took = _results(graded, assignment, submission)["execution_time"]
        assert took <= deadline, f"{assignment}/{submission} ran {took:.0f} s, past its deadline of {deadline:g} s"


@pytest.mark.parametrize("assignment,submission", CASES)
def test_expected_verdict_per_check(graded: dict, assignment: str, submission: str) -> None:
    results = _results(graded, assignment, submission)
    spec = load_assignment(assignment)
    expected = EXPECTED[assignment][submission]
    failing = {c.name for c in spec.checks} if expected == ALL else expected
    got = {t["name"] for t in results["tests"] if t["status"] == "failed"}
    outputs = "\n".join(f"  {t['name']}: {t['output']}" for t in results["tests"])
    assert got == failing, (
        f"{assignment}/{submission}: failed {sorted(got)}, expected {sorted(failing)}\n{outputs}\n{results['output']}"
    )
    assert [t["name"] for t in results["tests"]] == [c.name for c in spec.checks]
    for test, check in zip(results["tests"], spec.checks):
        assert set(test) == {"name", "score", "max_score", "status", "output", "visibility"}
        assert test["max_score"] == check.points and test["visibility"] == check.visibility
        assert test["score"] == (0 if test["name"] in failing else check.points)
        assert test["output"], f"{test['name']}: no output"
    assert results["max_score"] == spec.max_score
    assert results["score"] == spec.max_score - sum(c.points for c in spec.checks if c.name in failing)


def test_a_busy_waiting_server_is_held_to_its_cpu_limit_and_told(graded: dict, tmp_path: Path) -> None:
    """Graded alone, after the batch: it burns half a CPU, which would slow the
    batch's timing checks. Read by the grader from its cgroup: it gets its
    marks (it works) and never more than its half CPU (a quota overshoots by
    at most a period in a run of seconds); on a busy host it gets less, and is
    told all the same, since it was ready to run all the time. A server that
    waits in recvfrom is told nothing."""
    status = grade_command(
        "udp-server", [SUBMISSIONS / "cpu-burners" / "udp-server" / "busy-wait"], tmp_path, output=Output(quiet=True)
    )
    results = json.loads((tmp_path / "busy-wait" / "results.json").read_text())
    output = results["output"]
    used = cpu_used(output)
    assert status == 0 and results["score"] == results["max_score"], results
    assert used is not None and used <= 1.1 * CPU_LIMIT, output
    assert "non-blocking socket" in output, output
    assert _results(graded, "udp-server", "correct")["output"] == ""


@pytest.mark.parametrize("submission", FAILURE_OUTPUT)
def test_failure_mode_says_what_went_wrong(graded: dict, submission: str) -> None:
    results = _results(graded, "udp-server", submission)
    assert FAILURE_OUTPUT[submission] in results["output"], results["output"]
    assert results["execution_time"] < 60


def test_a_failing_check_says_what_was_sent_expected_and_received(graded: dict) -> None:
    tests = {t["name"]: t for t in _results(graded, "xmlrpc", "slide-quadratic")["tests"]}
    assert (
        "called quadratic(2, -4, 0), expected [0.0, 2.0] in any order, got [0.0, 8.0]" in tests["quadratic"]["output"]
    )
    assert "write / (2.0 * a)" in tests["quadratic"]["output"]  # the assignment's feedback


def test_a_server_on_loopback_only_is_told_so(graded: dict) -> None:
    tests = {t["name"]: t for t in _results(graded, "xmlrpc", "localhost-only")["tests"]}
    assert "your server listens on 127.0.0.1 only" in tests["listens on every address"]["output"]
    assert "Bind ('', 7001)" in tests["listens on every address"]["output"]  # the assignment's feedback


def test_nothing_is_left_behind(graded: dict) -> None:
    backend = DockerBackend()
    mine = {L.PID: str(os.getpid())}
    left = [c.name for c in backend.containers(mine) if c.labels.get(L.LAB, "").startswith("grade-")]
    left += [n.name for n in backend.networks(mine) if n.attrs["Labels"].get(L.LAB, "").startswith("grade-")]
    left += [
        i.id
        for i in backend.client.images.list(filters={"label": [f"{L.IMAGE_ROLE}=submission", f"{L.PID}={os.getpid()}"]})
    ]
    assert not left, f"left behind: {left}"
    assert _dangling(backend) <= graded["_dangling_before"], "a submission's build left untagged images"


def test_a_submission_past_its_time_is_stopped_and_still_graded(tmp_path: Path) -> None:
    short = tmp_path / "tcp-threaded-short.yaml"
    short.write_text(load_assignment("tcp-threaded").path.read_text().replace("timeout: 90", "timeout: 4"))
    started = time.monotonic()
    status = grade_command(
        str(short),
        [SUBMISSIONS / "tcp-threaded" / "hangs-mid-conversation"],
        tmp_path / "out",
        output=Output(quiet=True),
    )
    assert status == 0 and time.monotonic() - started < 4 + DEADLINE_GRACE
    assert (tmp_path / "out" / "grades.csv").read_text().splitlines()[1] == "hangs-mid-conversation,0,10"
    report = (tmp_path / "out" / "hangs-mid-conversation" / "report.md").read_text()
    assert "(timed out," in report and "not run: the submission ran past its 4 s" in report


def test_bad_input_starts_nothing(tmp_path: Path) -> None:
    with pytest.raises(BadInput, match="unknown assignment 'udp-servr'"):
        grade_command("udp-servr", [SUBMISSIONS / "udp-server" / "correct"], tmp_path / "out")
    with pytest.raises(BadInput, match="no such submission directory"):
        grade_command("udp-server", [tmp_path / "missing"], tmp_path / "out")
    broken = tmp_path / "broken.yaml"
    broken.write_text(load_assignment("udp-server").path.read_text().replace("run: udp-survives", "run: udp-survive"))
    with pytest.raises(
        LabFileError, match=r"broken.yaml:\d+: check 'survives invalid UTF-8': unknown check 'udp-survive'"
    ):
        grade_command(str(broken), [SUBMISSIONS / "udp-server" / "correct"], tmp_path / "out")
    assert not (tmp_path / "out").exists()


@pytest.fixture(scope="module")
def lecture(socklab_pool):
    """Every reference server under the node name its assignment replaces,
    and a client to measure them from."""
    running = socklab_pool.bring_up("lecture")
    yield running
    socklab_pool.release(running)


SERVERS = [a for a in EXPECTED if load_assignment(a).kind == "server"]
# Each client assignment and the reference program that answers it.
REFERENCE_CLIENTS = {
    "udp-client": "udp-client",
    "broadcast": "broadcast-client",
    "tcp-client": "tcp-client",
    "send-all": "tcp-client",
    "names": "tcp-client",
}
# Client assignments with no reference program: wireshark grades a capture
# the student made (a reference has none); its other checks are udp-client's.
NO_REFERENCE = {"wireshark"}


def test_every_assignment_has_test_submissions_and_a_reference() -> None:
    """A new assignment is graded here, and its reference below, or this fails."""
    assert set(EXPECTED) == {p.stem for p in assignments_dir().glob("*.yaml")}
    assert set(REFERENCE_CLIENTS) | NO_REFERENCE == {a for a in EXPECTED if a not in SERVERS}


@pytest.mark.parametrize("assignment", SERVERS)
def test_reference_servers_get_full_marks(lecture, assignment: str) -> None:
    spec = load_assignment(assignment)
    results = run_checks(spec, lecture, target(spec))
    assert all(r.passed for r in results), [(r.name, r.output) for r in results if not r.passed]


@pytest.mark.parametrize("assignment", REFERENCE_CLIENTS)
def test_reference_clients_get_full_marks(socklab_pool, assignment: str) -> None:
    spec = load_assignment(assignment)
    running = socklab_pool.bring_up(spec.lab.name)
    try:
        results = run_checks(spec, running, target(spec, (REFERENCE_CLIENTS[assignment],)))
    finally:
        socklab_pool.release(running)
    assert all(r.passed for r in results), [(r.name, r.output) for r in results if not r.passed]
