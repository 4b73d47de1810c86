"""A student's program in a container of its own, beside the node that holds
its place in the lab.

The node (a holder, from socklab's own image) is fenced before the program's
container exists; the program's container then joins the holder's network
namespace. So the program never runs with a way out of its lab, and nothing
from the student's image (its ``python3``, its ``ip``) takes part in fencing
it, nor in finding its interfaces.

Everything that limits the program is enforced from outside its container,
never by a process with the student's uid: its output is read here, from
Docker's attach stream, and the container is killed once the output passes
its cap (:data:`OUTPUT_LIMIT`). The stream is drained to its end all the
same, the surplus thrown away: a stream nobody reads stalls the Docker
engine, and the kill is sent from another thread for that reason.
"""

from __future__ import annotations

import signal
import socket
import threading
import time
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Optional, Sequence

import docker.errors
from docker.utils.socket import frames_iter

from ..docker_backend import DockerBackend, ExecResult, Sandbox

OUTPUT_LIMIT = 1024 * 1024  # bytes a program may print, over its whole life
STDOUT, STDERR = 1, 2
DRAIN = 10.0  # seconds the stream may take to end once the container is killed
WATCH = 0.05  # seconds between two looks at a running program's cgroup: a memory hog dies within a second of its limit
# A program is told of its CPU use when, over runs of at least BUSY_SECONDS,
# it was ready to run (running, or waiting for a CPU or its quota) BUSY of the
# time: one that waits for the network is ready next to never.
BUSY = 0.8
BUSY_SECONDS = 1.0


@dataclass
class CpuUse:
    """What one run of a program took of the CPU, from its cgroup and its
    processes' scheduler statistics: seconds of CPU, seconds ready to run but
    waiting (for a CPU, or for its quota), seconds of wall clock watched, and
    the scheduler's periods (100 ms) in which it was held back at its quota.
    Waiting is counted because on a busy host a busy loop gets less than its
    limit, and is then never held back."""

    cpu: float = 0.0
    waited: float = 0.0
    wall: float = 0.0
    periods: int = 0
    throttled: int = 0


class CpuWatch:
    """One run's CPU use, counted from the first look at its cgroup."""

    def __init__(self) -> None:
        self.use = CpuUse()
        self._first: Optional[CpuUse] = None
        self._started = 0.0
        self._delays: dict[int, tuple[float, float]] = {}  # pid: run delay when first seen, and now

    def sample(self, stat: Path, usage: Optional[Path]) -> None:
        """Read the cgroup's counters (``stat``: cpu.stat; ``usage``: v1's cpuacct.usage)."""
        now = CpuUse()
        if not _cpu_sample(stat, usage, now):
            return  # the cgroup went with the program
        for pid in _pids(stat.with_name("cgroup.procs")):
            delay = _run_delay(pid)
            if delay is not None:
                self._delays[pid] = (self._delays.get(pid, (delay, delay))[0], delay)
        if self._first is None:
            self._first, self._started = now, time.monotonic()
            return
        self.use.wall = time.monotonic() - self._started
        self.use.cpu = now.cpu - self._first.cpu
        self.use.periods = now.periods - self._first.periods
        self.use.throttled = now.throttled - self._first.throttled
        self.use.waited = sum(last - first for first, last in self._delays.values())


class Program:
    """One container running a student's program, its output read with a cap.

    A server's program lives as long as its submission's grading and may be
    started again after a crash (:meth:`start`); its output counts against
    the cap over all its runs. A client's program is a new one per run
    (:func:`run_once`), so that each run has a fresh /tmp.
    """

    def __init__(
        self,
        backend: DockerBackend,
        holder: str,
        name: str,
        image: str,
        command: Sequence[str],
        environment: dict[str, str],
        labels: dict[str, str],
        sandbox: Sandbox,
        stdin: bool = False,
        limit: int = OUTPUT_LIMIT,
    ) -> None:
        self.backend = backend
        self.limit = limit
        self.stdin = stdin
        self.over_limit = False
        self.refused_forks = False  # seen to hit its process limit, while it ran
        self.hit_memory = False  # seen to reach its memory limit, while it ran
        self.cpu_runs: list[CpuUse] = []  # one per start, as its cgroup counted
        self._parts: list[tuple[int, bytes]] = []
        self._size = 0
        self._lock = threading.Lock()
        self._ended = threading.Event()
        self._ended.set()  # not started yet: nothing to wait for
        self.id = backend.create_container(
            name,
            image,
            command,
            labels,
            environment=environment,
            network_mode=f"container:{holder}",
            sandbox=sandbox,
            stdin=stdin,
        )

    def start(self, input: Optional[bytes] = None) -> None:
        """Start (or start again) the program, attached first so that none of its output escapes the count."""
        sock = self.backend.api.attach_socket(
            self.id, params={"stdin": int(self.stdin), "stdout": 1, "stderr": 1, "stream": 1}
        )
        self._ended.clear()
        reader = threading.Thread(target=self._read, args=(sock,), name=f"output-{self.id[:12]}", daemon=True)
        reader.start()
        threading.Thread(target=self._watch_limits, name=f"limits-{self.id[:12]}", daemon=True).start()
        try:
            self.backend.start(self.id)
            if self.stdin:
                raw: socket.socket = getattr(sock, "_sock", sock)
                try:
                    raw.sendall(input or b"")
                    raw.shutdown(socket.SHUT_WR)  # the program reads an end of file after the input
                except OSError:
                    pass  # it exited before reading all of it
        except BaseException:
            _close(sock)
            raise

    def _read(self, sock: socket.SocketIO) -> None:
        try:
            for stream, data in frames_iter(sock, tty=False):
                self._take(stream, data)
        except (OSError, ValueError):
            pass  # the connection went with the container
        finally:
            _close(sock)
            self._ended.set()

    def _take(self, stream: int, data: bytes) -> None:
        with self._lock:
            room = self.limit - self._size
            if room > 0:
                self._parts.append((stream, data[:room]))
            self._size += len(data)
            over = self._size > self.limit and not self.over_limit
            if over:
                self.over_limit = True
        if over:  # never from this thread, which must keep draining
            threading.Thread(target=self.kill, daemon=True).start()

    def wait(self, timeout: Optional[float] = None) -> bool:
        """Whether the program has ended (its output stream with it) within ``timeout``."""
        return self._ended.wait(timeout)

    def kill(self) -> None:
        try:
            self.backend.api.kill(self.id)
        except docker.errors.APIError:
            pass  # stopped already, or gone with its lab

    def running(self) -> bool:
        try:
            return bool(self.backend.state(self.id).get("Running"))
        except docker.errors.NotFound:
            return False

    def exit_code(self) -> int:
        try:
            return int(self.backend.state(self.id).get("ExitCode", -1))
        except docker.errors.NotFound:
            return -1

    def seconds(self) -> Optional[float]:
        """How long it ran, by Docker's clock: a container's start and
        removal are not the program's time."""
        try:
            state = self.backend.state(self.id)
            return (_timestamp(state["FinishedAt"]) - _timestamp(state["StartedAt"])).total_seconds()
        except (docker.errors.NotFound, KeyError, ValueError):
            return None

    def output(self, stream: Optional[int] = None) -> str:
        """What it printed, up to the cap (one stream, or both as they came)."""
        with self._lock:
            data = b"".join(part for kind, part in self._parts if stream is None or kind == stream)
        return data.decode("utf-8", "replace")

    def explain(self) -> str:
        """Why the program stopped or stalls, in the student's words, or nothing."""
        if self.over_limit:
            return f"socklab: your program printed more than {self.limit} bytes and was stopped"
        try:
            info = self.backend.api.inspect_container(self.id)
        except docker.errors.NotFound:
            return ""
        state, limits = info["State"], info["HostConfig"]
        if self.refused_forks or (state.get("Running") and self._refused_forks()):
            limit = limits.get("PidsLimit")
            return f"socklab: your program tried to run more than {limit} processes and threads at once, its limit"
        if state.get("Running"):
            return ""
        killed = int(state.get("ExitCode", 0)) == 128 + signal.SIGKILL
        if state.get("OOMKilled") or (killed and self.hit_memory):
            limit = int(limits.get("Memory") or 0) // (1024 * 1024)
            return f"socklab: your program was killed: it used more than its {limit} MiB of memory"
        code = int(state.get("ExitCode", 0))
        if code > 128 and code - 128 in signal.valid_signals():
            return f"socklab: your program was killed by signal {signal.Signals(code - 128).name}"
        return ""

    def _cgroup_file(self, name: str) -> Optional[Path]:
        """One of the container's cgroup files (pids.events, memory.events,
        cpu.stat, cpuacct.usage), where the host shows it."""
        for folder in (
            f"/sys/fs/cgroup/{_V1_CONTROLLERS.get(name, 'pids')}/docker/{self.id}",  # cgroup v1, cgroupfs driver
            f"/sys/fs/cgroup/system.slice/docker-{self.id}.scope",  # v2, systemd driver
            f"/sys/fs/cgroup/docker/{self.id}",  # v2, cgroupfs driver
        ):
            if Path(folder, name).is_file():
                return Path(folder, name)
        return None

    def _watch_limits(self) -> None:
        """While the program runs, notes whether it hits its process or memory
        limit, and how much CPU it takes. A fork bomb often ends killed for
        memory, its cgroup gone with it; and Docker 20.10 on cgroup v2 says
        OOMKilled false for a program the kernel killed at its memory limit
        (seen in the Debian 12 guest: exit 137, false)."""
        pids = memory = cpu = usage = None
        watch = CpuWatch()
        self.cpu_runs.append(watch.use)
        while not self._ended.wait(WATCH):
            pids = pids or self._cgroup_file("pids.events")
            memory = memory or self._cgroup_file("memory.events")
            cpu = cpu or self._cgroup_file("cpu.stat")
            usage = usage or self._cgroup_file("cpuacct.usage")
            if pids is not None and _counted(pids, "max"):
                self.refused_forks = True
            if memory is not None and (_counted(memory, "max") or _counted(memory, "oom_kill")):
                self.hit_memory = True
            if cpu is not None:
                watch.sample(cpu, usage)

    def cpu_note(self) -> str:
        """What the student should know of its CPU use: nothing, unless the
        program was ready to run most of the time, where a program that waits
        for the network (in recvfrom, accept, poll) is ready next to never."""
        runs = [use for use in self.cpu_runs if use.wall > 0]
        wall, cpu, waited = (sum(getattr(u, key) for u in runs) for key in ("wall", "cpu", "waited"))
        periods, throttled = sum(u.periods for u in runs), sum(u.throttled for u in runs)
        if wall < BUSY_SECONDS or cpu + waited < BUSY * wall:
            return ""
        try:
            limits = self.backend.api.inspect_container(self.id)["HostConfig"]
        except docker.errors.NotFound:
            return ""
        quota, period = int(limits.get("CpuQuota") or 0), int(limits.get("CpuPeriod") or 0)
        limit = f" of its {quota / period:g}" if quota > 0 and period > 0 else ""
        held = (
            f", held back at that limit in {100 * throttled / periods:.0f} % of the scheduler's periods"
            if throttled
            else ""
        )
        return (
            f"socklab: your program never stopped asking for the CPU: {cpu:.1f} s of CPU in {wall:.1f} s,"
            f" {cpu / wall:.2f} CPU{limit}{held}. A program that waits in recvfrom, accept or poll uses next"
            " to none: a loop that asks again and again (a non-blocking socket, a timeout of 0) burns it."
        )

    def _refused_forks(self) -> bool:
        """Whether the container hit its process limit: seen while it ran,
        or from Docker's count now."""
        if self.refused_forks:
            return True
        try:
            stats = self.backend.api.stats(self.id, stream=False, one_shot=True).get("pids_stats") or {}
        except docker.errors.APIError:
            return False
        return bool(stats.get("limit")) and int(stats.get("current", 0)) >= int(stats["limit"])

    def remove(self) -> None:
        self.backend.remove_container(self.id)
        self._ended.wait(DRAIN)


def _close(sock: socket.SocketIO) -> None:
    """Close an attach socket with the HTTP response it came from, the
    response first: the other way round, Python 3.13 prints "Exception
    ignored ... I/O operation on closed file" when the response is collected
    (seen on the grader's terminal in the Debian 13 guest)."""
    response = getattr(sock, "_response", None)
    if response is not None:
        response.close()
    sock.close()


def _timestamp(text: str) -> datetime:
    """One of Docker's times (RFC 3339, nanoseconds), to the microsecond."""
    whole, _, fraction = text.rstrip("Z").partition(".")
    return datetime.fromisoformat(f"{whole}.{(fraction + '000000')[:6]}")


def _counted(events: Path, key: str) -> bool:
    """Whether a cgroup's events file (pids.events, memory.events) counts ``key`` at least once."""
    try:
        lines = events.read_text().splitlines()
    except OSError:
        return False
    return any(line.split()[:1] == [key] and line.split()[1:2] != ["0"] for line in lines)


_V1_CONTROLLERS = {"cpu.stat": "cpu", "cpuacct.usage": "cpuacct"}  # v1's folder per file (pids: pids)


def _cpu_sample(stat: Path, usage: Optional[Path], use: CpuUse) -> bool:
    """Read a cgroup's CPU counters into ``use``: cgroup v2's cpu.stat has
    them all; v1's has the periods, and the cpuacct controller the time."""
    try:
        fields = dict(line.split()[:2] for line in stat.read_text().splitlines() if len(line.split()) >= 2)
        if "usage_usec" in fields:
            use.cpu = int(fields["usage_usec"]) / 1e6
        elif usage is not None:
            use.cpu = int(usage.read_text()) / 1e9
        use.periods, use.throttled = int(fields.get("nr_periods", 0)), int(fields.get("nr_throttled", 0))
    except (OSError, ValueError):
        return False  # the cgroup went with the program
    return True


def _pids(procs: Path) -> list[int]:
    try:
        return [int(line) for line in procs.read_text().split()]
    except (OSError, ValueError):
        return []


def _run_delay(pid: int) -> Optional[float]:
    """Seconds a process has waited, ready to run, for a CPU or its cgroup's
    quota (the second field of /proc/PID/schedstat), or None once it is gone."""
    try:
        return int(Path(f"/proc/{pid}/schedstat").read_text().split()[1]) / 1e9
    except (OSError, ValueError, IndexError):
        return None


def run_once(
    backend: DockerBackend,
    holder: str,
    name: str,
    image: str,
    command: Sequence[str],
    environment: dict[str, str],
    labels: dict[str, str],
    sandbox: Sandbox,
    input: str,
    timeout: float,
) -> ExecResult:
    """Run a program once in a new container, ``input`` on its standard
    input: its status (124 past ``timeout``, when it is killed), its output
    and, on its error output, why it stopped when it did not end by itself."""
    program = Program(backend, holder, name, image, command, environment, labels, sandbox, stdin=True)
    try:
        program.start(input.encode("utf-8", "surrogateescape"))
        ended = program.wait(timeout)
        if not ended:
            program.kill()
            program.wait(DRAIN)
        status = program.exit_code() if ended else 124
        notes = [program.explain() if ended else f"socklab: your program was stopped after {timeout:g} s"]
        stderr = "\n".join([program.output(STDERR), *(note for note in (*notes, program.cpu_note()) if note)])
        return ExecResult(status, program.output(STDOUT), stderr, program.seconds() if ended else None)
    finally:
        program.remove()
