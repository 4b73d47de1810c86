"""The stock machines a socklab user has, as Debian recipes the harness builds and boots.

A machine is what a student gets from the distribution alone: its kernel
(sch_netem, cgroup v2 under systemd), its Docker and Python (no python3-venv,
no python3-pip: socklab's setup must cope), and a user in the docker group.
"""

from __future__ import annotations

from dataclasses import dataclass

# Everything a stock server install plus Debian's Docker brings. debootstrap skips
# Recommends, so apparmor is named: without it dockerd refuses to start containers.
COMMON = (
    "linux-image-amd64",
    "systemd-sysv",
    "udev",
    "dbus",
    "kmod",
    "procps",
    "sudo",
    "git",
    "make",
    "ca-certificates",
    "apparmor",
    "iproute2",
    "iptables",
    "docker.io",
    "python3",
    "less",
    "xz-utils",
)


@dataclass(frozen=True)
class Machine:
    """One stock Debian: its suite, its packages, the Python it ships."""

    name: str
    suite: str
    python: str
    extra: tuple[str, ...] = ()

    @property
    def packages(self) -> tuple[str, ...]:
        return COMMON + self.extra


MACHINES = {
    m.name: m
    for m in (
        # Debian 12: docker.io 20.10; Debian's Compose is v1 (docker-compose 1.29), no v2 plugin.
        Machine("debian12", "bookworm", "3.11", ("docker-compose",)),
        # Debian 13: docker.io 26; its docker-compose package (2.x) is the `docker compose` plugin.
        Machine("debian13", "trixie", "3.13", ("docker-compose", "docker-cli")),
    )
}
