"""Grading: one submission in its own lab instance, and a batch of them, N at a time.

Nothing a submission does can stop the batch: a build that fails, a
container that exits, a server that never answers, a check that hangs all
become a failing result with the reason in it, and a watchdog takes the
lab down when a submission runs past the assignment's wall-clock cap.
Whatever happens, the submission's lab and images are removed.

:func:`run_checks` grades any running lab: the batch uses it on sandboxed
labs, and the tests on reference labs from the pytest plugin.
"""

from __future__ import annotations

import os
import re
import secrets
import subprocess
import threading
import time
from concurrent.futures import ThreadPoolExecutor, as_completed
from typing import Callable, Optional, Sequence

import docker.errors
from docker.models.containers import Container

from .. import labels as L
from ..docker_backend import DockerBackend, ExecResult
from ..errors import NodeNotReady, SocklabError
from ..lab import Options, RunningLab, up
from ..model import Ready
from ..readiness import wait_ready
from .assignment import Assignment, CheckSpec
from .build import BUILD_TIMEOUT, BuildFailed, Runnable, build, remove_images
from .checks import CHECKS, Context, Launch, Target
from .program import Program, run_once
from .results import BUILD_FAILED, GRADED, GRADER_ERROR, NOT_READY, TIMED_OUT, SubmissionResult, TestResult
from .sandbox import HOLDER, STUDENT, fence, program_command, program_environment, readiness, sandboxed_lab
from .submissions import Submission

LOG_LINES = 30  # of a program's output, shown when something failed
TAIL_CHARACTERS = 4000  # at most, of those lines: one line can be a megabyte
SETTLE = 0.25  # seconds a server gets to crash after a check, before the next one
# What a check may meet when the code under test misbehaves: these fail the
# check. Anything else is a bug of ours and stops this submission's grading.
CHECK_FAILURES = (SocklabError, docker.errors.DockerException, OSError, subprocess.SubprocessError)


def run_checks(
    assignment: Assignment,
    running: RunningLab,
    target: Target,
    expired: Callable[[], bool] = lambda: False,
    prepare: Callable[[], str] = lambda: "",
) -> list[TestResult]:
    """Every check of the assignment, in its order, each scored on its own.

    ``prepare`` runs before each check (the batch starts a crashed server
    again there) and returns a note to put before the check's output.
    """
    results = []
    memo: dict = {}
    for spec in assignment.checks:
        if expired():
            results.append(TestResult.not_run(spec, f"the submission ran past its {assignment.timeout:g} s"))
            continue
        started = time.monotonic()
        try:
            note = prepare()
        except CHECK_FAILURES as err:
            note, passed, output = "", False, f"the check could not finish: {err}"
        else:
            passed, output = _attempt(spec, running, target, memo)
            if not passed and not expired():
                # A server still dying from an earlier check's client can fail
                # this one by timing alone: if it had stopped, it is started
                # again and the check runs once more. A crash this check
                # causes happens again and still fails it.
                try:
                    restarted = prepare()
                except CHECK_FAILURES:
                    restarted = ""
                if restarted:
                    started = time.monotonic()
                    note = restarted
                    passed, output = _attempt(spec, running, target, memo)
        if not passed and expired():  # the watchdog took the lab down under it
            results.append(TestResult.not_run(spec, f"the submission ran past its {assignment.timeout:g} s"))
            continue
        output = note + output
        elapsed = time.monotonic() - started
        if passed and elapsed > spec.timeout:
            passed, output = False, f"took {elapsed:.1f} s, more than the {spec.timeout:g} s allowed: {output}"
        if not passed and spec.feedback:
            output = f"{output}\n\n{spec.feedback}"
        results.append(
            TestResult(spec.name, spec.points if passed else 0.0, spec.points, passed, output, spec.visibility)
        )
    return results


def _attempt(spec: CheckSpec, running: RunningLab, target: Target, memo: dict) -> tuple[bool, str]:
    """One run of a check: (passed, output); misbehaviour fails it."""
    try:
        return CHECKS[spec.run](running, Context(running, target, spec.timeout, memo), **spec.params)
    except CHECK_FAILURES as err:
        return False, f"the check could not finish: {err}"


def target(assignment: Assignment, command: tuple[str, ...] = (), launch: Optional[Launch] = None) -> Target:
    """Where the code under test runs: a client is run as ``command`` in its
    node, or by ``launch`` (the grader's: a container of its own per run)."""
    return Target(
        assignment.node, assignment.kind, assignment.port, assignment.measure_from, assignment.server, command, launch
    )


def instance_name(assignment: Assignment, submission: Submission) -> str:
    """Unique per run: two graders (or two runs) never share a lab instance."""
    slug = re.sub(r"[^a-z0-9]+", "-", submission.name.lower()).strip("-")[:20] or "submission"
    return f"grade-{assignment.name}-{slug}-{secrets.token_hex(3)}"


class Watchdog:
    """Calls ``expire`` once ``seconds`` have passed, unless cancelled first."""

    def __init__(self, seconds: float, expire: Callable[[], object]) -> None:
        self.expired = threading.Event()

        def fire() -> None:
            self.expired.set()
            expire()

        self._timer = threading.Timer(seconds, fire)
        self._timer.daemon = True
        self._timer.start()

    def cancel(self) -> None:
        self._timer.cancel()


class Batch:
    """The submissions of one assignment being graded, N at a time.

    It knows which submissions are in flight, so that an interrupted batch
    (Ctrl-C) removes all they created: their labs and images, found by label.
    """

    def __init__(
        self, assignment: Assignment, jobs: int = 1, variant: Optional[Callable[[Submission], Assignment]] = None
    ) -> None:
        self.assignment = assignment
        self.variant = variant  # each submission's own version of the assignment (variants.py)
        self.jobs = jobs
        self.backend = DockerBackend()
        self._lock = threading.Lock()
        self._in_flight: set[str] = set()  # lab instances
        self._stopped = threading.Event()
        self.leftovers: list[str] = []  # what could not be removed, said at the end (stale cleanup gets it later)

    def grade(
        self, submissions: Sequence[Submission], on_done: Callable[[SubmissionResult], None] = lambda r: None
    ) -> list[SubmissionResult]:
        results = []
        pool = ThreadPoolExecutor(max_workers=self.jobs, thread_name_prefix="grade")
        try:
            futures = [pool.submit(self.grade_one, s) for s in submissions]
            for future in as_completed(futures):
                result = future.result()
                on_done(result)
                results.append(result)
        except BaseException:
            self.abort()
            raise
        finally:
            pool.shutdown(wait=not self._stopped.is_set(), cancel_futures=True)
        return sorted(results, key=lambda r: r.name)

    def abort(self) -> None:
        """Stop: remove every lab and image of the submissions in flight."""
        self._stopped.set()
        with self._lock:
            in_flight = set(self._in_flight)
        for instance in in_flight:
            self._clean(instance)

    def _clean(self, instance: str, backend: Optional[DockerBackend] = None) -> None:
        """Remove a submission's lab and images; never raises, since the
        submission's result stands whatever happens here."""
        backend = backend or self.backend
        left = []
        try:
            backend.remove({L.LAB: instance})
        except docker.errors.DockerException as err:
            left.append(f"the lab {instance} ({err})")
        images = remove_images(backend.client, {L.LAB: instance})
        if images:
            left.append(f"{len(images)} image(s) of {instance}")
        with self._lock:
            self.leftovers += left

    def grade_one(self, submission: Submission) -> SubmissionResult:
        """Grade one submission; never raises: whatever happens becomes its
        result, the student's failure or, when it is ours, a grader error."""
        started = time.monotonic()
        try:
            result = self._grade_one(submission)
        except Exception as err:  # before its lab exists: its variant, Docker out of reach...
            reason = f"the grader failed: {type(err).__name__}: {err}"
            result = SubmissionResult.unrun(submission.name, self.assignment, GRADER_ERROR, reason, reason)
        result.execution_time = time.monotonic() - started
        return result

    def _grade_one(self, submission: Submission) -> SubmissionResult:
        assignment = self.variant(submission) if self.variant else self.assignment
        instance = instance_name(assignment, submission)
        with self._lock:
            self._in_flight.add(instance)
        backend = DockerBackend()  # its own connections: the jobs run side by side
        watchdog = Watchdog(assignment.timeout, lambda: self._clean(instance, backend))
        try:
            result = self._grade(backend, assignment, submission, instance, watchdog.expired.is_set)
        except Exception as err:
            status = TIMED_OUT if watchdog.expired.is_set() else GRADER_ERROR
            reason = (
                f"the submission ran past its {assignment.timeout:g} s"
                if status == TIMED_OUT
                else f"the grader failed: {type(err).__name__}: {err}"
            )
            result = SubmissionResult.unrun(submission.name, assignment, status, reason, reason)
        finally:
            watchdog.cancel()
            self._clean(instance, backend)
            with self._lock:
                self._in_flight.discard(instance)
        if watchdog.expired.is_set() and result.status == GRADED:
            result.status = TIMED_OUT
            result.output = f"The submission ran past its {assignment.timeout:g} s: the checks left were not run."
        return result

    def _grade(
        self,
        backend: DockerBackend,
        assignment: Assignment,
        submission: Submission,
        instance: str,
        expired: Callable[[], bool],
    ) -> SubmissionResult:
        node = assignment.node
        labels = {
            L.PROJECT: "1",
            L.IMAGE_ROLE: "submission",
            L.LAB: instance,
            L.OWNER: L.owner(),
            L.PID: str(os.getpid()),
        }
        try:
            runnable = build(
                backend.client,
                submission,
                f"socklab/submission:{instance}",
                labels,
                timeout=min(assignment.timeout, BUILD_TIMEOUT * assignment.patience),
            )
        except BuildFailed as err:
            output = f"The submission could not be built: {err.reason}" + (
                f"\n\nThe build's last lines:\n{_tail(err.log)}" if err.log.strip() else ""
            )
            return SubmissionResult.unrun(
                submission.name, assignment, BUILD_FAILED, f"the submission could not be built ({err.reason})", output
            )
        running = up(
            sandboxed_lab(assignment), backend, Options(instance=instance, ephemeral=True, sandboxes={node: HOLDER})
        )
        holder = running.container(node)
        fence(running, node)  # before the student's program exists
        labels = dict(holder.labels, **{L.ROLE: "program"})
        if assignment.kind == "client":
            launch = Launcher(backend, holder, runnable, labels)
            tests = run_checks(assignment, running, target(assignment, launch=launch), expired)
            return SubmissionResult(submission.name, assignment.name, GRADED, tests)  # its output is in its checks'
        program = Program(
            backend,
            holder.id,
            f"{holder.name}-program",
            runnable.image,
            program_command(runnable),
            program_environment(assignment),
            labels,
            STUDENT,
        )
        program.start()
        try:
            wait_ready(backend, node, holder.id, readiness(assignment), watch=program.id)
        except NodeNotReady as err:
            if expired():
                raise
            return _never_ready(submission, assignment, err, _program_output(program))
        tests = run_checks(
            assignment, running, target(assignment), expired, Revival(running, node, program, readiness(assignment))
        )
        parts = (
            []
            if all(t.passed for t in tests)
            else [f"Your server's last output lines:\n{_program_output(program) or '(nothing)'}"]
        )
        parts += [note for note in (program.cpu_note(),) if note]
        return SubmissionResult(submission.name, assignment.name, GRADED, tests, "\n\n".join(parts))


class Launcher:
    """Runs a client submission for a check, in a new container each time
    (a fresh /tmp: nothing carries over from one run to the next) in the
    fenced holder's network namespace; ``program`` replaces the
    submission's own command (to read one of its files)."""

    def __init__(self, backend: DockerBackend, holder: Container, runnable: Runnable, labels: dict[str, str]) -> None:
        self.backend = backend
        self.holder = holder
        self.runnable = runnable
        self.labels = labels
        self.runs = 0

    def __call__(
        self, program: Optional[Sequence[str]], input: str, environment: dict[str, str], timeout: float
    ) -> ExecResult:
        self.runs += 1
        return run_once(
            self.backend,
            self.holder.id,
            f"{self.holder.name}-run{self.runs}",
            self.runnable.image,
            program_command(self.runnable, program),
            environment,
            self.labels,
            STUDENT,
            input,
            timeout,
        )


class Revival:
    """Starts a server that stopped during a check again before the next one,
    so that one crash costs the checks that cause it, not all that follow.

    A crash comes a moment after the client that caused it has gone: the
    server gets that moment before it is looked at.
    """

    def __init__(self, running: RunningLab, node: str, program: Program, ready: Ready) -> None:
        self.running = running
        self.node = node
        self.program = program
        self.ready = ready
        self.first = True

    def __call__(self) -> str:
        if not self.first:
            time.sleep(SETTLE)
        self.first = False
        if self.program.running():
            return ""
        if self.program.over_limit:
            raise SocklabError(self.program.explain())
        self.program.wait(SETTLE)  # the rest of its output
        # A new network namespace, as a restarted container had: the old
        # one may hold the port in TIME_WAIT, which a server without
        # SO_REUSEADDR cannot bind again for a minute. Fenced again before
        # the program starts.
        holder = self.running.container(self.node)
        self.running.backend.api.restart(holder.id, timeout=1)
        holder.reload()
        fence(self.running, self.node)
        self.program.start()
        try:
            wait_ready(self.running.backend, self.node, holder.id, self.ready, watch=self.program.id)
        except NodeNotReady as err:
            raise SocklabError(f"your server had stopped and did not become ready again: {err}") from None
        return "(Your server had stopped; it was started again for this check.)\n"


def _never_ready(submission: Submission, assignment: Assignment, err: NodeNotReady, output: str) -> SubmissionResult:
    how = f"{'listening on TCP' if assignment.ready == 'tcp' else 'bound to UDP'} port {assignment.port}"
    why = err.reason
    text = f"Your server never became ready: the grader waited {assignment.ready_timeout:g} s for it to be {how}"
    text += (f", but {why}." if "exited" in why else ".") + f"\n\nIts output:\n{output or '(nothing)'}"
    reason = f"the server never became ready ({how} within {assignment.ready_timeout:g} s)"
    return SubmissionResult.unrun(submission.name, assignment, NOT_READY, reason, text)


def _program_output(program: Program) -> str:
    """The last lines of what the program printed, and why it stopped when that is known."""
    program.wait(1.0 if not program.running() else 0)  # an exited program's last lines are on their way
    note = program.explain()
    return _tail(program.output()) + (f"\n{note}" if note else "")


def _tail(text: str, lines: int = LOG_LINES, characters: int = TAIL_CHARACTERS) -> str:
    """The last lines of an output, and no more than ``characters`` of them."""
    tail = "\n".join(text.strip().splitlines()[-lines:])
    return tail if len(tail) <= characters else f"(...)\n{tail[-characters:]}"


def grade_submissions(
    assignment: Assignment,
    submissions: Sequence[Submission],
    jobs: int = 1,
    on_done: Optional[Callable[[SubmissionResult], None]] = None,
) -> list[SubmissionResult]:
    """Grade a batch, ``jobs`` at a time; results sorted by submission name."""
    return Batch(assignment, jobs).grade(submissions, on_done or (lambda r: None))
