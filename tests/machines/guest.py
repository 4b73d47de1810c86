"""Boot a machine's image under QEMU with a job, wait for it to power off, leave nothing running.

The guest gets a throw-away overlay on the cached disk, QEMU's user-mode
network (package archives, PyPI), a read-write 9p share holding the job and
receiving its results, and optionally a read-only 9p share of wheels. Its
``socklab-job`` unit runs the job as root at boot and powers off. QEMU is
killed on timeout, on Ctrl-C, on any failure. At most two guests run at once
on this host (2 cores, software emulation): a guest waits for a free slot.
"""

from __future__ import annotations

import fcntl
import os
import shlex
import shutil
import signal
import subprocess
import tempfile
import threading
import time
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Iterator, Optional

from image import UID, USER, Image

SLOTS = 2
SLOT_DIR = Path("/run/lock") if os.access("/run/lock", os.W_OK) else Path(tempfile.gettempdir())
MEMORY = "3G"
LIVE: set[subprocess.Popen] = set()  # every QEMU this process started and has not yet reaped
STOPPING = threading.Event()  # set on Ctrl-C or a failure: no new guest starts


class Stopped(Exception):
    """The run is being stopped; this guest was not started."""


@contextmanager
def slot(log: Callable[[str], None]) -> Iterator[int]:
    """One of the host's guest slots, held for the guest's life (a lock file each: freed if we die)."""
    said = False
    while True:
        for number in range(SLOTS):
            path = SLOT_DIR / f"socklab-machines-slot{number}.lock"
            handle = os.open(path, os.O_RDWR | os.O_CREAT, 0o666)
            try:
                fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                os.close(handle)
                continue
            try:
                yield number
            finally:
                os.close(handle)
            return
        if STOPPING.is_set():
            raise Stopped()
        if not said:
            log(f"waiting for a guest slot: {SLOTS} guests already run on this host")
            said = True
        time.sleep(2)


@dataclass
class Job:
    """What a guest runs: a root script (job.sh) beside files it needs, all in one shared folder."""

    root_script: str
    files: dict[str, Path] = field(default_factory=dict)  # name in the job folder: host file to copy or link
    wheelhouse: Optional[Path] = None


@dataclass
class Outcome:
    folder: Path  # the job folder after the run: out/, job.log, console.log
    seconds: float
    timed_out: bool
    qemu_status: Optional[int]


def kill_all() -> None:
    """Kill every QEMU still running and start no other (Ctrl-C, SIGTERM, a failure elsewhere)."""
    STOPPING.set()
    for process in list(LIVE):
        _kill(process)


def _kill(process: subprocess.Popen) -> None:
    if process.poll() is None:
        os.killpg(process.pid, signal.SIGKILL)
    process.wait()
    LIVE.discard(process)


def qemu_command(image: Image, run: Path, job: Job, smp: int) -> list[str]:
    command = [
        "qemu-system-x86_64",
        "-accel",
        "tcg",
        "-cpu",
        "max",
        "-smp",
        str(smp),
        "-m",
        MEMORY,
        "-nodefaults",
        "-display",
        "none",
        "-no-reboot",
        "-name",
        f"socklab-{image.machine.name}",
        "-kernel",
        str(image.kernel),
        "-initrd",
        str(image.initrd),
        "-append",
        "root=/dev/vda rw console=ttyS0 net.ifnames=0 systemd.show_status=1",
        "-drive",
        f"file={run / 'overlay.qcow2'},if=virtio,format=qcow2,discard=unmap",
        "-nic",
        "user,model=virtio-net-pci",
        "-device",
        "virtio-rng-pci",
        "-virtfs",
        f"local,path={run / 'job'},mount_tag=job,security_model=none",
        "-serial",
        f"file:{run / 'job' / 'console.log'}",
    ]
    if job.wheelhouse is not None:
        command += ["-virtfs", f"local,path={job.wheelhouse},mount_tag=wheels,security_model=none,readonly=on"]
    return command


def boot(
    image: Image,
    job: Job,
    timeout: float,
    work: Path,
    log: Callable[[str], None],
    smp: int = 2,
    watch: Optional[Callable[[Path], None]] = None,
) -> Outcome:
    """Run ``job`` in a fresh guest of ``image``; ``watch(job folder)`` is called every second meanwhile."""
    run = Path(tempfile.mkdtemp(prefix=f"run-{image.machine.name}-", dir=work))
    folder = run / "job"
    (folder / "out").mkdir(parents=True)
    (folder / "out").chmod(0o777)  # the guest's student writes results here
    (folder / "job.sh").write_text(job.root_script)
    for name, source in job.files.items():
        target = folder / name
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy(source, target)
        target.chmod(0o644)  # `docker save -o` makes 0600 files; the guest's student reads them
    subprocess.run(
        ["qemu-img", "create", "-q", "-f", "qcow2", "-b", str(image.disk), "-F", "raw", str(run / "overlay.qcow2")],
        check=True,
    )
    with slot(log) as number:
        log(f"{image.machine.name}: booting (slot {number}, {smp} vCPU, software emulation)")
        started = time.monotonic()
        if STOPPING.is_set():
            raise Stopped()
        with open(run / "qemu.log", "w") as qemu_log:
            process = subprocess.Popen(
                qemu_command(image, run, job, smp),
                stdin=subprocess.DEVNULL,
                stdout=qemu_log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        LIVE.add(process)
        timed_out = False
        try:
            while process.poll() is None:
                if time.monotonic() - started > timeout:
                    timed_out = True
                    log(f"{image.machine.name}: no power-off after {timeout:.0f} s; killing the guest")
                    break
                if watch is not None:
                    watch(folder)
                time.sleep(1)
        finally:
            _kill(process)
        if watch is not None:
            watch(folder)
    (run / "overlay.qcow2").unlink()
    qemu_status = None if timed_out else process.returncode
    if qemu_status:
        log(f"{image.machine.name}: qemu exited {qemu_status}: {(run / 'qemu.log').read_text().strip()[-2000:]}")
    return Outcome(folder, time.monotonic() - started, timed_out, qemu_status)


def root_script(student_script: str, wheels: bool) -> str:
    """job.sh: as root at boot, wait for Docker, then run ``student_script`` as the user, in a login shell."""
    mount = "mkdir -p /mnt/wheels && mount -t 9p -o trans=virtio,version=9p2000.L,ro wheels /mnt/wheels\n"
    mount = mount if wheels else ""
    return f"""set -u
echo "boot: $(cut -d' ' -f1 /proc/uptime)" > /mnt/job/out/boot
{mount}for _ in $(seq 300); do docker info >/dev/null 2>&1 && break; sleep 1; done
echo "docker: $(cut -d' ' -f1 /proc/uptime)" >> /mnt/job/out/boot
install -o {UID} -m 0644 /mnt/job/student.sh /home/{USER}/.socklab-job.sh
su --login {USER} --command 'bash ~/.socklab-job.sh'
echo $? > /mnt/job/out/status
sync
"""


def quote(words: list[str]) -> str:
    return " ".join(shlex.quote(w) for w in words)
