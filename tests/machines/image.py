"""Disk images of the stock machines, built with debootstrap and cached by recipe.

The root filesystem is made in a folder and packed with ``mke2fs -d`` (no loop
mount); the kernel and initrd beside it boot the image directly under QEMU.
An image is keyed by a hash of everything it is made from (the recipe, this
file, the guest's job unit, the host's CA certificates and pip settings), so
a second run reuses it and a changed recipe builds a new one. Building needs
root: run as root, or the build re-runs itself under ``sudo``.
"""

from __future__ import annotations

import argparse
import fcntl
import hashlib
import inspect
import json
import os
import shutil
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

from machines import MACHINES, Machine

HERE = Path(__file__).resolve().parent
MIRROR = os.environ.get("SOCKLAB_DEBIAN_MIRROR", "http://deb.debian.org/debian")
SIZE = "12G"  # sparse: room for Docker's images and a class's worth of containers
USER, UID = "student", 1000
HOST_CAS = Path("/usr/local/share/ca-certificates")
PIP_CONF = Path("/etc/pip.conf")
STALE = 24 * 3600  # seconds after which an image of an older recipe is removed

JOB_SCRIPT = """#!/bin/sh
# The harness hands the guest a folder (9p tag "job") holding job.sh; without it, nothing to do.
mkdir -p /mnt/job
mount -t 9p -o trans=virtio,version=9p2000.L,msize=262144 job /mnt/job || exit 1
exec /bin/bash /mnt/job/job.sh >/mnt/job/job.log 2>&1
"""

JOB_UNIT = """[Unit]
Description=socklab machines harness: run the job the host shared, then power off
After=network-online.target docker.service
Wants=network-online.target docker.service
SuccessAction=poweroff
FailureAction=poweroff

[Service]
Type=oneshot
ExecStart=/usr/local/sbin/socklab-job
TimeoutStartSec=infinity
StandardOutput=journal+console

[Install]
WantedBy=multi-user.target
"""

NETWORK = """[Match]
Name=e*

[Network]
DHCP=yes
"""


def cache_root() -> Path:
    """Outside the checkout, surviving between runs: /var/cache as root, else the user's cache."""
    if os.geteuid() == 0:
        return Path("/var/cache/socklab-machines")
    return Path(os.environ.get("XDG_CACHE_HOME", Path.home() / ".cache")) / "socklab" / "machines"


def as_root(cmd: list[str]) -> list[str]:
    return cmd if os.geteuid() == 0 else ["sudo", "--preserve-env=SOCKLAB_DEBIAN_MIRROR", *cmd]


@dataclass(frozen=True)
class Image:
    """A built machine: its disk, kernel and initrd, and what it holds."""

    machine: Machine
    folder: Path

    @property
    def disk(self) -> Path:
        return self.folder / "disk.raw"

    @property
    def kernel(self) -> Path:
        return self.folder / "vmlinuz"

    @property
    def initrd(self) -> Path:
        return self.folder / "initrd.img"

    @property
    def info(self) -> dict:
        return json.loads((self.folder / "info.json").read_text())


def recipe_key(machine: Machine) -> str:
    """A hash of what goes into the image: the machine, the build's code and files, the host's CAs and pip.conf."""
    recipe = [repr(machine), MIRROR, SIZE, USER, str(UID), JOB_SCRIPT, JOB_UNIT, NETWORK]
    recipe += [inspect.getsource(f) for f in (build, _chroot, _write, _mark_updated)]
    digest = hashlib.sha256("\0".join(recipe).encode())
    for path in sorted(HOST_CAS.glob("*.crt")) + [PIP_CONF]:
        if path.is_file():
            digest.update(path.name.encode() + path.read_bytes())
    return digest.hexdigest()[:16]


def ensure_image(machine: Machine, log=print) -> tuple[Image, float]:
    """The cached image of ``machine``, built first when missing; (image, seconds spent building)."""
    root = cache_root()
    root.mkdir(parents=True, exist_ok=True)
    image = Image(machine, root / f"{machine.name}-{recipe_key(machine)}")
    started = time.monotonic()
    with open(root / f".{machine.name}.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)  # two runs wanting one image: one builds, the other reuses
        if (image.folder / "info.json").exists():
            os.utime(image.folder)  # in use: not stale
            return image, 0.0
        log(f"machines: building {machine.name} ({machine.suite}) into {image.folder} (a few minutes, once)")
        work = root / f".build-{image.folder.name}"
        subprocess.run(as_root(["rm", "-rf", str(work)]), check=True)
        subprocess.run(as_root([sys.executable, str(Path(__file__)), machine.name, str(work)]), check=True)
        subprocess.run(as_root(["chown", "-R", f"{os.getuid()}:{os.getgid()}", str(work)]), check=True)
        os.replace(work, image.folder)
        for old in root.glob(f"{machine.name}-*"):
            if old != image.folder and time.time() - old.stat().st_mtime > STALE:
                shutil.rmtree(old)  # an older recipe's image, unused for a day: no guest of it is waiting
    return image, time.monotonic() - started


def _chroot(rootfs: Path, *cmd: str) -> str:
    env = {"PATH": "/usr/sbin:/usr/bin:/sbin:/bin", "DEBIAN_FRONTEND": "noninteractive", "LC_ALL": "C"}
    return subprocess.run(["chroot", str(rootfs), *cmd], check=True, env=env, capture_output=True, text=True).stdout


def _write(path: Path, text: str, mode: int = 0o644) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    path.chmod(mode)


def build(machine: Machine, work: Path) -> None:
    """As root: debootstrap ``machine`` into ``work/rootfs``, configure it, pack it into ``work``."""
    rootfs = work / "rootfs"
    rootfs.mkdir(parents=True)
    include = "--include=" + ",".join(machine.packages)
    subprocess.run(["debootstrap", include, machine.suite, str(rootfs), MIRROR], check=True)
    _write(rootfs / "etc/hostname", f"{machine.name}\n")
    _write(rootfs / "etc/hosts", f"127.0.0.1 localhost\n127.0.1.1 {machine.name}\n::1 localhost ip6-localhost\n")
    _write(rootfs / "etc/fstab", "/dev/vda / ext4 defaults 0 1\n")
    (rootfs / "etc/resolv.conf").unlink(missing_ok=True)
    _write(rootfs / "etc/resolv.conf", "nameserver 10.0.2.3\n")  # QEMU's user-mode network
    _write(rootfs / "etc/systemd/network/20-wired.network", NETWORK)
    _write(rootfs / "usr/local/sbin/socklab-job", JOB_SCRIPT, 0o755)
    _write(rootfs / "etc/systemd/system/socklab-job.service", JOB_UNIT)
    _write(rootfs / f"etc/sudoers.d/{USER}", f"{USER} ALL=(ALL) NOPASSWD:ALL\n", 0o440)
    # This workplace's intercepting proxy: the guest trusts what the host trusts, and pip is set up alike.
    for ca in HOST_CAS.glob("*.crt"):
        shutil.copy(ca, rootfs / "usr/local/share/ca-certificates" / ca.name)
    if PIP_CONF.is_file():
        shutil.copy(PIP_CONF, rootfs / "etc/pip.conf")
    _chroot(rootfs, "update-ca-certificates")
    _chroot(
        rootfs, "useradd", "--create-home", "--uid", str(UID), "--shell", "/bin/bash", "--groups", "docker,sudo", USER
    )
    _chroot(rootfs, "passwd", "--delete", "root")  # a root login on the serial console, for debugging
    _chroot(rootfs, "systemctl", "enable", "systemd-networkd", "systemd-networkd-wait-online", "socklab-job")
    # ifupdown's networking.service (priority important) waits a minute under emulation for what networkd does.
    _chroot(
        rootfs,
        "systemctl",
        "mask",
        "networking.service",
        "apt-daily.timer",
        "apt-daily-upgrade.timer",
        "man-db.timer",
        "e2scrub_all.timer",
    )
    # What a first boot does once (ldconfig, the journal's catalog, a machine id): minutes under emulation, so now.
    _chroot(rootfs, "ldconfig")
    _chroot(rootfs, "journalctl", "--update-catalog")
    _chroot(rootfs, "systemd-machine-id-setup")
    _chroot(rootfs, "apt-get", "clean")
    _mark_updated(rootfs)
    versions = _chroot(rootfs, "dpkg-query", "-W", "-f", "${Package}\t${Version}\n", *_shown(rootfs))
    info = {
        "machine": machine.name,
        "suite": machine.suite,
        "packages": dict(line.split("\t") for line in versions.splitlines()),
        "python3": _chroot(rootfs, "python3", "--version").strip(),
    }
    kernels = sorted((rootfs / "boot").glob("vmlinuz-*"))
    version = kernels[-1].name.removeprefix("vmlinuz-")
    info["kernel"] = version
    shutil.copy(kernels[-1], work / "vmlinuz")
    shutil.copy(rootfs / "boot" / f"initrd.img-{version}", work / "initrd.img")
    disk = str(work / "disk.raw")
    subprocess.run(["mke2fs", "-q", "-t", "ext4", "-L", "root", "-d", str(rootfs), disk, SIZE], check=True)
    shutil.rmtree(rootfs)
    (work / "info.json").write_text(json.dumps(info, indent=2) + "\n")


def _mark_updated(rootfs: Path) -> None:
    """What systemd-update-done writes (Debian 12 lacks it): /etc and /var are as new as /usr, no first-boot jobs."""
    usr = (rootfs / "usr").stat().st_mtime_ns
    for folder in ("etc", "var"):
        marker = rootfs / folder / ".updated"
        marker.write_text(f"# See man:systemd-update-done.service(8).\nTIMESTAMP_NSEC={usr}\n")
        os.utime(marker, ns=(usr, usr))


def _shown(rootfs: Path) -> list[str]:
    """The packages whose versions the report names, among those installed."""
    wanted = (
        "docker.io",
        "docker-cli",
        "docker-compose",
        "python3",
        "linux-image-amd64",
        "systemd",
        "apparmor",
        "containerd",
        "runc",
    )
    installed = _chroot(rootfs, "dpkg-query", "-W", "-f", "${Package}\n").split()
    return [p for p in wanted if p in installed]


def main() -> int:
    parser = argparse.ArgumentParser(description="build one machine's image into a folder (as root)")
    parser.add_argument("machine", choices=sorted(MACHINES))
    parser.add_argument("work", type=Path)
    args = parser.parse_args()
    build(MACHINES[args.machine], args.work)
    return 0


if __name__ == "__main__":
    sys.exit(main())
