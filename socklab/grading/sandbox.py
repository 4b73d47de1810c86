"""Where a submission runs: a copy of the assignment's lab with the student's
container in place of one node, boxed in.

The student's container runs as ``nobody``, with no capabilities and
``no-new-privileges`` (as every socklab container), a read-only root with a
small tmpfs at /tmp, 128 MiB, 64 processes, half a CPU, only on internal
networks, and with its default route removed (:func:`fence`) before its
program starts: an address outside the lab is unreachable, not merely
dropped somewhere on the way. Its program runs under the guard
(``guard.py``), which caps its output and says why it stopped.
"""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path
from typing import Optional

from ..docker_backend import Sandbox
from ..errors import SocklabError
from ..lab import RunningLab
from ..model import Lab, Ready
from .assignment import Assignment
from .build import WORKDIR, Runnable

USER = "65534:65534"  # nobody
MEMORY = "128m"
PIDS = 64
CPUS = 0.5
TMPFS = "size=16m,mode=1777"
STUDENT = Sandbox(user=USER, memory=MEMORY, pids=PIDS, cpus=CPUS, read_only=True, tmpfs={"/tmp": TMPFS})
OUTPUT_LIMIT = 1024 * 1024  # bytes a program may print, over its whole life
GUARD = Path(__file__).with_name("guard.py").read_text(encoding="utf-8")
IDLE = ("sleep", "infinity")  # a client's container waits; each check runs the client in it

LISTENING = """
import sys
port, kind = int(sys.argv[1]), sys.argv[2]
for path in (f"/proc/net/{kind}", f"/proc/net/{kind}6"):
    try:
        with open(path) as table:
            rows = [line.split() for line in list(table)[1:]]
    except OSError:
        continue
    if any(int(row[1].rsplit(":", 1)[1], 16) == port and (kind == "udp" or row[3] == "0A") for row in rows):
        sys.exit(0)
sys.exit(1)
"""

# Run in a helper sharing the student's network namespace (the student never
# has NET_ADMIN): reject the gateways, the host's addresses on the lab's
# networks, then delete the default routes. The IPv4 one goes last: the
# guard starts the program once it is gone.
FENCE = r"""
for gateway; do
    case $gateway in
        *:*) ip6tables -I OUTPUT -d "$gateway" -j REJECT ;;
        *) iptables -I OUTPUT -d "$gateway" -j REJECT --reject-with icmp-net-unreachable ;;
    esac
done
while ip -6 route del default 2>/dev/null; do :; done
while ip -4 route del default 2>/dev/null; do :; done
"""


def readiness(assignment: Assignment) -> Ready:
    """A server is ready once a socket of its container listens on the port
    (TCP) or is bound to it (UDP), as /proc/net shows. Connecting, or
    sending a datagram, would make the grader a first client: the slide's
    sequential server, for one, dies when its first client leaves."""
    command = ("python3", "-c", LISTENING, str(assignment.port), assignment.ready)
    return Ready("command", command=command, timeout=assignment.ready_timeout)


def guarded(
    program: tuple[str, ...], fenced: bool, packed: Optional[str] = None, workdir: Optional[str] = None
) -> tuple[str, ...]:
    """The command that runs ``program`` under the guard."""
    command = ["python3", "-c", GUARD, str(OUTPUT_LIMIT), "fenced" if fenced else "now"]
    if packed:
        command += ["--unpack", packed]
    if workdir:
        command += ["--cd", workdir]
    return tuple(command + ["--", *program])


def container_command(assignment: Assignment, runnable: Runnable) -> tuple[str, ...]:
    """What the student's container runs: the server, or for a client an idle
    process (its files unpacked) for the checks to run the client beside."""
    workdir = WORKDIR if runnable.packed else None
    return guarded(runnable.program if assignment.kind == "server" else IDLE, True, runnable.packed, workdir)


def client_command(runnable: Runnable) -> tuple[str, ...]:
    """How a check runs a client submission, in its already started container."""
    return guarded(runnable.program, False, workdir=WORKDIR if runnable.packed else None)


def sandboxed_lab(assignment: Assignment, runnable: Runnable) -> Lab:
    """The assignment's lab with the submission in place of its node.

    Only the nodes the assignment keeps come up; every network becomes
    internal (the student's container must reach nothing outside the lab),
    so routes across networks, which internal networks would drop anyway,
    go too, as do published ports, which parallel instances would fight over.
    """
    lab = assignment.lab
    wanted = {assignment.node, *assignment.keep}
    nodes = {}
    for name, node in lab.nodes.items():
        if name not in wanted:
            continue
        node = replace(node, routes=(), ports=(), workspace=False)
        if name == assignment.node:
            node = replace(
                node,
                image=runnable.image,
                command=container_command(assignment, runnable),
                environment={"PORT": str(assignment.port)} if assignment.kind == "server" else {},
                ready=Ready("none"),  # checked after the fence: see runner
                service=None,
                router=False,
            )
        nodes[name] = node
    used = {a.network for node in nodes.values() for a in node.networks}
    networks = {name: replace(net, internal=True) for name, net in lab.networks.items() if name in used}
    links = {
        name: link for name, link in lab.links.items() if link.a in nodes and (link.b in nodes or link.b in networks)
    }
    return replace(lab, nodes=nodes, networks=networks, links=links)


def fence(running: RunningLab, node: str) -> None:
    """Cut the node off from everything outside its lab, from a helper."""
    container = running.container(node)
    networks = container.attrs["NetworkSettings"]["Networks"].values()
    gateways = [g for net in networks for g in (net.get("Gateway"), net.get("IPv6Gateway")) if g]
    status, logs = running.backend.run_helper(
        container, "fence", ["sh", "-ec", FENCE, "fence", *gateways], ["NET_ADMIN", "NET_RAW"]
    )
    if status != 0:
        raise SocklabError(f"fencing {node} failed: {logs.strip()}")
