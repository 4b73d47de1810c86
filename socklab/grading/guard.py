"""The supervisor every student program runs under, inside its container.

Standard library only: the grader passes this file's text to ``python3 -c``
in the student's image, as
``guard.py LIMIT fenced|now [--unpack PACKED] [--cd DIR] -- PROGRAM...``. It

* unpacks a ``main.py`` submission's files (base64 of a gzipped tar) into
  DIR, a tmpfs, since the root file system is read-only;
* waits, with ``fenced``, until the grader has removed the container's
  default route, so that the program never runs with a way out of its lab;
* passes the program's output through up to LIMIT bytes and stops the
  program past that, so that a flood cannot fill the disk or the report;
* kills the program's whole process group when the program ends or the
  guard is told to stop, so that no child (nor a fork bomb) outlives it;
* says in plain words why the program stopped: a signal, the memory limit
  or the output limit, since the student only sees this output.
"""

import argparse
import base64
import io
import math
import os
import selectors
import signal
import subprocess
import sys
import tarfile
import time
from typing import Any, BinaryIO

FENCE_WAIT = 20.0  # seconds the grader has to fence the container
OUTPUT_LIMIT_STATUS = 125


def has_default_route() -> bool:
    with open("/proc/net/route") as routes:
        return any(line.split()[1:2] == ["00000000"] and line.split()[7] == "00000000" for line in list(routes)[1:])


def wait_for_fence() -> None:
    deadline = time.monotonic() + FENCE_WAIT
    while has_default_route():
        if time.monotonic() > deadline:
            sys.exit("socklab: the grader did not set up this container's network in time")
        time.sleep(0.02)


def cgroup_value(files: tuple[str, ...], key: str = "") -> int:
    """A number from this container's cgroup (v2 or v1 file names): the
    file's content, or the value on its line starting with ``key``."""
    for path in files:
        try:
            with open(f"/sys/fs/cgroup/{path}") as data:
                for line in data:
                    name, _, value = line.strip().rpartition(" ") if key else ("", "", line.strip())
                    if name == key and value.isdigit():
                        return int(value)
        except OSError:
            continue
    return 0


def oom_kills() -> int:
    """How many processes of this container the kernel killed for memory."""
    return cgroup_value(("memory.events", "memory/memory.oom_control"), "oom_kill")


def refused_forks() -> int:
    """How many times this container hit its process limit."""
    return cgroup_value(("pids.events", "pids/pids.events"), "max")


def explain(status: int, kills_before: int) -> str:
    if refused_forks():
        limit = cgroup_value(("pids.max", "pids/pids.max"))
        return f"socklab: your program tried to run more than {limit} processes and threads at once, its limit"
    if status >= 0:
        return ""
    name = signal.Signals(-status).name
    if -status == signal.SIGKILL and oom_kills() > kills_before:
        limit = cgroup_value(("memory.max", "memory/memory.limit_in_bytes")) // (1024 * 1024)
        return f"socklab: your program was killed ({name}): it used more than its {limit} MiB of memory"
    return f"socklab: your program was killed by signal {name}"


def expendable() -> None:
    """In the program, before it starts: when memory runs out, the kernel
    kills the program rather than the guard, which then says why."""
    with open("/proc/self/oom_score_adj", "w") as adj:
        adj.write("1000")


def say(notice: str) -> None:
    """A notice for the student, on standard output: Docker keeps the order
    of lines within a stream, not across stdout and stderr."""
    sys.stdout.write(notice + "\n")
    sys.stdout.flush()


def unpack(packed: str, directory: str) -> None:
    """The grader made this archive of plain files and directories with
    relative names, so it extracts as it is (this Python may predate
    extraction filters)."""
    with tarfile.open(fileobj=io.BytesIO(base64.b64decode(packed)), mode="r:gz") as tar:
        tar.extractall(directory)


def main() -> None:
    parser = argparse.ArgumentParser(prog="guard")
    parser.add_argument("limit", type=int, help="bytes of output allowed")
    parser.add_argument("mode", choices=["fenced", "now"], help="wait for the grader's fence first, or not")
    parser.add_argument("--unpack", help="the submission's files, packed")
    parser.add_argument("--cd", help="the directory to run the program in")
    parser.add_argument("program", nargs="+")
    args = parser.parse_args()
    limit, argv = args.limit, args.program
    if args.unpack:
        unpack(args.unpack, args.cd)
    if args.cd:
        os.chdir(args.cd)
    if args.mode == "fenced":
        wait_for_fence()
    kills_before = oom_kills()
    try:
        program = subprocess.Popen(
            argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE, start_new_session=True, preexec_fn=expendable
        )
    except OSError as error:
        sys.exit(f"socklab: cannot start {' '.join(argv)}: {error}")

    def stop(signum: int = signal.SIGKILL, frame: object = None) -> None:
        try:
            os.killpg(program.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        if frame is not None:  # called as a signal handler: the guard was told to stop
            sys.exit(128 + signum)

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    sinks: dict[Any, BinaryIO] = {program.stdout: sys.stdout.buffer, program.stderr: sys.stderr.buffer}
    selector = selectors.DefaultSelector()
    for stream in sinks:
        selector.register(stream, selectors.EVENT_READ)
    written = 0
    status = None
    drain_until = math.inf  # set once the program has exited
    while selector.get_map():
        for key, _ in selector.select(timeout=0.1):
            data = os.read(key.fd, 65536)
            if not data:
                selector.unregister(key.fileobj)
                continue
            sink = sinks[key.fileobj]
            sink.write(data[: max(0, limit - written)])
            sink.flush()
            written += len(data)
            if written > limit:
                stop()
                say(f"\nsocklab: your program printed more than {limit} bytes and was stopped")
                sys.exit(OUTPUT_LIMIT_STATUS)
        if status is None:
            status = program.poll()
            if status is not None:  # children may still hold the pipes: give them a moment, then stop them
                drain_until = time.monotonic() + 0.5
        elif time.monotonic() > drain_until:
            break
    status = program.wait() if status is None else status
    stop()
    reason = explain(status, kills_before)
    if reason:
        say(reason)
    sys.exit(status if status >= 0 else 128 - status)


if __name__ == "__main__":
    main()
