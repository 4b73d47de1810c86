"""The grader against a determined student (issue 16).

Every attack under ``submissions/hostile/`` once got through; here they are
graded the way ``socklab grade`` grades a class: the server ones in one
batch of four jobs beside a correct submission, the client ones beside
theirs (in parallel, to keep the suite short), and each is asserted to be
contained: its score, the size and shape of its report, nothing fetched,
nothing deleted, nothing left behind, and every batch complete.
"""

from __future__ import annotations

import http.server
import io
import json
import os
import shutil
import socket
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Callable, Iterator

import docker
import pytest
from rich.console import Console

from socklab import labels as L
from socklab.console import Output
from socklab.docker_backend import DockerBackend
from socklab.grading import grade_command
from socklab.grading.assignment import Assignment, load_assignment
from socklab.grading.program import run_once
from socklab.grading.results import BUILD_FAILED, GRADER_ERROR
from socklab.grading.runner import Batch
from socklab.grading.sandbox import HOLDER, STUDENT, fence, sandboxed_lab
from socklab.grading.submissions import Submission
from socklab.images import BASE_IMAGE, ensure_images
from socklab.lab import Options, up

SUBMISSIONS = Path(__file__).parent / "submissions"
HOSTILE = SUBMISSIONS / "hostile"
ALL = "every check"
NESTING = 1100  # folders deep, for deep-folders: past Python's recursion limit
SLOW = "slow-build"  # graded on its own, with a short deadline
BUILD_REFUSED = "Cannot fork"  # what build-fork-bomb is told where its build has a process limit
# The batches below grade eight submissions at once on CI's two cores, beside
# builds: at the file's 10 s, deep-folders (1,100 folders unpacked at half a
# CPU) was twice not seen ready on a loaded CI machine. The grader's answer to
# a loaded machine is --patience; it lengthens waits, never a limit a check
# judges (the output cap, the fence, the process and memory limits).
PATIENCE = 3.0

# The checks each hostile submission fails (the correct ones beside them fail none).
SERVER: dict[str, object] = {
    "correct": set(),
    "write-past-the-cap": ALL,
    "replaces-python": set(),
    "add-url": ALL,
    "foreign-from": ALL,
    "fake-layer-ids": ALL,
    "build-fork-bomb": ALL,
    "forged-report": ALL,
    "deep-folders": set(),
    "fills-shm": set(),
    "knows-graded": set(),
    "[blink]markup-name": set(),
}
CLIENT: dict[str, object] = {
    "correct": set(),
    "never-sends": ALL,
    "floods-output": ALL,
    "fake-ip": set(),
}


class _Recorder(http.server.BaseHTTPRequestHandler):
    """A web server on the host's loopback: every request it gets is a leak."""

    requests: list[str] = []

    def do_GET(self) -> None:  # noqa: N802 (http.server's name)
        self.requests.append(self.path)
        self.send_response(200)
        self.end_headers()
        self.wfile.write(b"a secret of the host\n")

    def log_message(self, format: str, *args: object) -> None:
        pass


def _victim(client: docker.DockerClient) -> str:
    """An image the grader did not build, for fake-layer-ids to aim at."""
    dockerfile = io.BytesIO(f"FROM {BASE_IMAGE}\nLABEL victim=1\n".encode())
    labels = {L.PROJECT: "1", L.IMAGE_ROLE: "test-victim", L.PID: str(os.getpid()), L.OWNER: L.owner()}
    image, _ = client.images.build(fileobj=dockerfile, labels=labels, network_mode="none", rm=True)
    return str(image.id)


def _nest(folder: Path, depth: int) -> None:
    """``depth`` folders, one in the other, made without recursion
    (``mkdir(parents=True)`` recurses)."""
    for _ in range(depth):
        folder = folder / "d"
        folder.mkdir()


def _unnest(folder: Path, depth: int) -> None:
    for level in range(depth, 0, -1):
        (folder / "/".join(["d"] * level)).rmdir()


def _containers(client: docker.DockerClient) -> set[str]:
    return {c["Id"] for c in client.api.containers(all=True)}


@pytest.fixture(scope="module")
def hostile(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict]:
    backend = DockerBackend()
    ensure_images(backend.client)
    work = tmp_path_factory.mktemp("hostile")
    servers = work / "udp-server"
    shutil.copytree(HOSTILE / "udp-server", servers, ignore=shutil.ignore_patterns(SLOW))
    short = work / "udp-server-short.yaml"  # slow-build's: an 8 s deadline
    short.write_text(load_assignment("udp-server").path.read_text().replace("timeout: 90", "timeout: 8"))
    out = work / "out"
    table = Output(quiet=True)
    table.out = Console(record=True, width=200, file=io.StringIO())

    def grade(assignment: str, paths: list[Path], jobs: int, output: Output, patience: float) -> tuple[int, float]:
        began = time.monotonic()
        status = grade_command(
            assignment, paths, out / Path(assignment).stem, jobs=jobs, output=output, patience=patience
        )
        return status, time.monotonic() - began

    victim = _victim(backend.client)
    try:
        yield _graded(backend, servers, short, victim, grade, table)
    finally:
        backend.client.api.remove_image(victim, force=True)


Grade = Callable[[str, list[Path], int, Output, float], tuple[int, float]]  # (status, seconds) of a grade_command


def _graded(backend: DockerBackend, servers: Path, short: Path, victim: str, grade: Grade, table: Output) -> dict:
    """Grade the hostile batches, the slow build and the link-local probe side by side."""
    out = servers.parent / "out"
    web = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Recorder)  # where add-url's ADD points
    threading.Thread(target=web.serve_forever, daemon=True).start()
    port = web.server_address[1]
    _nest(servers / "deep-folders", NESTING)
    try:
        for name, placeholder, value in (
            ("fake-layer-ids", "VICTIM", victim.split(":")[1][:12]),
            ("add-url", "HOST_PORT", str(port)),
        ):
            dockerfile = servers / name / "Dockerfile"
            dockerfile.write_text(dockerfile.read_text().replace(placeholder, value))
        before = _containers(backend.client)
        with ThreadPoolExecutor(max_workers=4) as pool:  # side by side: one's waits fill another's gaps
            server = pool.submit(
                grade, "udp-server", [servers, SUBMISSIONS / "udp-server" / "correct"], 4, table, PATIENCE
            )
            client = pool.submit(
                grade,
                "udp-client",
                [HOSTILE / "udp-client", SUBMISSIONS / "udp-client" / "correct"],
                3,
                Output(True),
                PATIENCE,
            )
            slow = pool.submit(grade, str(short), [HOSTILE / "udp-server" / SLOW], 1, Output(True), 1.0)
            link_local = pool.submit(_probe_link_local)
            graded = {
                "statuses": {"udp-server": server.result()[0], "udp-client": client.result()[0]},
                "slow": slow.result(),
                "link_local": link_local.result(),
            }
        graded["new_containers"] = _containers(backend.client) - before
    finally:
        web.shutdown()
        web.server_close()
        _unnest(servers / "deep-folders", NESTING)  # what cleans up tmp_path recurses: it would fail on it
    requests = list(_Recorder.requests)
    return dict(graded, out=out, victim=victim, table=table.out.export_text(), requests=requests, port=port)


def _results(hostile: dict, assignment: str, name: str) -> dict:
    return json.loads((hostile["out"] / assignment / name / "results.json").read_text())


def _report(hostile: dict, assignment: str, name: str) -> str:
    return (hostile["out"] / assignment / name / "report.md").read_text()


CASES = [("udp-server", name, failing) for name, failing in SERVER.items()]
CASES += [("udp-client", name, failing) for name, failing in CLIENT.items()]


@pytest.mark.parametrize("assignment,name,failing", CASES)
def test_each_attack_is_graded_as_the_students_failure(
    hostile: dict, assignment: str, name: str, failing: object
) -> None:
    """Correct neighbours and attacks that only hurt themselves keep full
    marks; the others lose exactly their checks, never as a grader error."""
    assert hostile["statuses"][assignment] == 0, f"{assignment}: the batch did not grade everyone"
    results = _results(hostile, assignment, name)
    spec = load_assignment(assignment)
    expected = {c.name for c in spec.checks} if failing == ALL else failing
    got = {t["name"] for t in results["tests"] if t["status"] == "failed"}
    outputs = "\n".join(f"  {t['name']}: {t['output'][:300]}" for t in results["tests"])
    verdict = f"{name}: failed {sorted(got)}, expected {sorted(expected)}"
    assert got == expected, f"{verdict}\n{outputs}\n{results['output']}"
    assert GRADER_ERROR not in _report(hostile, assignment, name).splitlines()[2]


def test_output_written_past_the_cap_is_cut_and_said(hostile: dict) -> None:
    results = _results(hostile, "udp-server", "write-past-the-cap")
    assert "printed more than 1048576 bytes and was stopped" in results["output"]
    folder = hostile["out"] / "udp-server" / "write-past-the-cap"
    assert (folder / "report.md").stat().st_size < 64_000
    assert (folder / "results.json").stat().st_size < 64_000


def test_a_client_flooding_its_output_is_cut_at_the_cap(hostile: dict) -> None:
    results = _results(hostile, "udp-client", "floods-output")
    assert "printed more than 1048576 bytes and was stopped" in results["tests"][0]["output"]
    assert (hostile["out"] / "udp-client" / "floods-output" / "results.json").stat().st_size < 64_000


def test_a_build_fetches_nothing_and_says_which_line(hostile: dict) -> None:
    assert hostile["requests"] == [], "the daemon fetched from the host's loopback"
    added = _results(hostile, "udp-server", "add-url")
    assert f"Dockerfile:3: ADD http://127.0.0.1:{hostile['port']}/secret.txt" in added["output"]
    foreign = _results(hostile, "udp-server", "foreign-from")
    assert "Dockerfile:2: FROM debian:bookworm-slim: a submission builds on socklab/base only" in foreign["output"]
    for name in ("add-url", "foreign-from"):
        assert f"({BUILD_FAILED}," in _report(hostile, "udp-server", name)


def test_build_output_cannot_name_what_the_grader_removes(hostile: dict) -> None:
    client = docker.from_env()
    client.images.get(hostile["victim"])  # still there: NotFound otherwise
    base = client.images.get(BASE_IMAGE).id.split(":")[1][:12]
    report = _report(hostile, "udp-server", "fake-layer-ids")
    assert "does not build" in report and base not in report


def _outside_code(markdown: str) -> list[str]:
    """The lines of a Markdown text outside its fenced code blocks, as
    CommonMark reads them: a block ends at a fence at least as long as its own."""
    outside, opened = [], 0
    for line in markdown.splitlines():
        fence = len(line) if line and set(line) == {"`"} and len(line) >= 3 else 0
        if opened:
            opened = 0 if fence >= opened else opened
        elif fence:
            opened = fence
        else:
            outside.append(line)
    return outside


def test_a_build_step_is_held_to_its_process_limit_where_the_host_allows(hostile: dict) -> None:
    """Where the grader can give a build a cgroup parent with a process
    limit (Docker's cgroupfs driver on cgroup v1, and root: CI), the 300
    processes of build-fork-bomb's step are refused; elsewhere only its
    memory and deadline bound it, and it fails on its own CMD."""
    results = _results(hostile, "udp-server", "build-fork-bomb")
    pids = Path("/sys/fs/cgroup/pids")
    if (pids / "docker").is_dir() and os.access(pids, os.W_OK):
        assert BUILD_REFUSED in results["output"], results["output"]
        assert not list(Path("/sys/fs/cgroup").glob("*/socklab-builds/grade-*")), "a build's cgroup is left"
    else:
        assert results["score"] == 0


def test_a_forged_report_stays_inside_its_code_block(hostile: dict) -> None:
    report = _report(hostile, "udp-server", "forged-report")
    outside = _outside_code(report)
    assert [line for line in outside if line.startswith("**Score:")] == [report.splitlines()[2]]
    assert report.splitlines()[2].startswith("**Score: 0 / 12**")
    assert [line for line in outside if line.startswith("#")] == [
        "# udp-server: forged-report",
        "## Overall",
        *(f"## {check.name}: failed" for check in load_assignment("udp-server").checks),
    ]
    assert "**Score: 12 / 12** (graded, 1.0 s)" in report  # shown, as text
    assert "\x1b" not in report and "\u202e" not in report and "\x07" not in report
    assert "\\x1b[2J" in report


def test_folder_names_are_shown_as_text(hostile: dict) -> None:
    assert "[blink]markup-name" in hostile["table"]


def test_a_client_that_never_asked_is_told_so(hostile: dict) -> None:
    tests = {t["name"]: t for t in _results(hostile, "udp-client", "never-sends")["tests"]}
    assert "the server's answer never reached it" in tests["prints the answer"]["output"]


def test_nothing_is_left_behind(hostile: dict) -> None:
    backend = DockerBackend()
    mine = {L.PID: str(os.getpid())}
    left = [c.name for c in backend.containers(mine) if c.labels.get(L.LAB, "").startswith("grade-")]
    left += [n.name for n in backend.networks(mine) if n.attrs["Labels"].get(L.LAB, "").startswith("grade-")]
    images = backend.api.images(all=True, filters={"label": [f"{L.IMAGE_ROLE}=submission", f"{L.PID}={os.getpid()}"]})
    left += [i["Id"] for i in images]
    # a build's step containers carry no labels: any still there was made from an image id
    for container_id in hostile["new_containers"]:
        try:
            info = backend.api.inspect_container(container_id)
        except docker.errors.NotFound:
            continue
        if info["Config"]["Image"].startswith("sha256:") and not (info["Config"]["Labels"] or {}).get(L.PROJECT):
            left.append(info["Name"])
    assert not left, f"left behind: {left}"


def test_a_build_past_its_deadline_is_stopped_mid_step(hostile: dict) -> None:
    """slow-build's one step sleeps 1000 s beside 100 processes, printing
    nothing: the deadline (8 s here) still stops it, and its step container
    with it (see test_nothing_is_left_behind)."""
    status, seconds = hostile["slow"]
    assert status == 0 and seconds < 30
    results = _results(hostile, "udp-server-short", SLOW)
    assert "the build took more than 8 s" in results["output"] and results["score"] == 0


def test_a_grader_failure_on_one_submission_is_its_result() -> None:
    """What raises while one submission is graded (here its variant) is
    that submission's grader error; the batch goes on with the others."""
    spec = load_assignment("udp-server")

    def variant(submission: Submission) -> Assignment:
        if submission.name == "broken":
            raise RuntimeError("no variant for you")
        return spec

    # "other" holds neither a Dockerfile nor a main.py: graded at once, to 0
    results = Batch(spec, 2, variant).grade([Submission("broken", HOSTILE), Submission("other", HOSTILE)])
    assert [r.status for r in results] == [GRADER_ERROR, BUILD_FAILED]
    assert "RuntimeError: no variant for you" in results[0].output and results[0].score == 0


# Connects to the host's link-local addresses on the lab's bridge (Docker
# gives an IPv6 bridge fe80::1) at a port the test listens on, on every
# interface: prints what each attempt gave.
LINK_LOCAL = """
import socket, sys
for index, name in socket.if_nameindex():
    if name == "lo":
        continue
    probe = socket.socket(socket.AF_INET6)
    probe.settimeout(2)
    try:
        probe.connect(("fe80::1", int(sys.argv[1]), 0, index))
        print(name, "connected")
    except OSError as error:
        print(name, "refused:", error)
"""


def _probe_link_local() -> tuple[str, bool]:
    """A program beside a fenced holder, on a lab network with IPv6 (the
    names assignment's), tries the host's link-local address on a port the
    host listens on: (what it printed, whether the host was reached)."""
    spec = load_assignment("names")
    backend = DockerBackend()
    host = socket.create_server(("::", 0), family=socket.AF_INET6, dualstack_ipv6=True)
    host.settimeout(0.1)
    instance = f"grade-fence-{os.getpid()}"
    running = up(
        sandboxed_lab(spec), backend, Options(instance=instance, ephemeral=True, sandboxes={spec.node: HOLDER})
    )
    try:
        holder = running.container(spec.node)
        fence(running, spec.node)
        labels = dict(holder.labels, **{L.ROLE: "program"})
        command = ["python3", "-c", LINK_LOCAL, str(host.getsockname()[1])]
        result = run_once(backend, holder.id, f"{holder.name}-probe", BASE_IMAGE, command, {}, labels, STUDENT, "", 15)
        try:
            host.accept()[0].close()
            reached = True
        except socket.timeout:
            reached = False
        return result.stdout + result.stderr, reached
    finally:
        backend.remove({L.LAB: instance})
        host.close()


def test_the_fence_covers_the_hosts_link_local_addresses(hostile: dict) -> None:
    """On a lab network with IPv6, the host's bridge answers at fe80::1:
    the fence rejects link-local addresses (neighbour discovery aside),
    not only the gateways' global ones."""
    printed, reached = hostile["link_local"]
    assert "refused:" in printed and "connected" not in printed and not reached, printed
