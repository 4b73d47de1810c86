"""Where a submission runs: a copy of the assignment's lab with a holder in
place of one node, and the student's program beside it, boxed in.

The holder (socklab's node image, idle) takes the node's place on the
lab's networks, all made internal, and is fenced (:func:`fence`) from a
helper: its default routes go, and the gateways (the host's addresses on
the lab's networks, global and link-local) are rejected. Only then does
the student's program get a container (``program.py``), which joins the
holder's network namespace: it never runs with a way out of its lab.

That container runs as ``nobody``, with no capabilities and
``no-new-privileges`` (as every socklab container), a read-only root with a
small tmpfs at /tmp and /dev/shm, 128 MiB, 64 processes, half a CPU, an
environment that holds only what the assignment promises (``PORT``, or
``SERVER_HOST`` and ``SERVER_PORT``) and a log Docker keeps to 1 MiB.
"""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path
from typing import Optional, Sequence

from ..catalog import NODE_IMAGE
from ..docker_backend import Sandbox
from ..errors import SocklabError
from ..lab import RunningLab
from ..model import Lab, Ready
from .assignment import Assignment
from .build import WORKDIR, Runnable

USER = "65534:65534"  # nobody
STUDENT = Sandbox(
    user=USER,
    memory="128m",
    pids=64,
    cpus=0.5,
    read_only=True,
    tmpfs={"/tmp": "size=16m,mode=1777"},
    shm="4m",
    log_size="1m",
)
# The holder runs nothing of the student's; the grader runs its readiness
# probes (python3) in it, since they only need the network namespace.
HOLDER = Sandbox(user=USER, memory="64m", pids=16, read_only=True)
HOLD = ("sleep", "infinity")
UNPACK = Path(__file__).with_name("unpack.py").read_text(encoding="utf-8")

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

# Run in a helper sharing the holder's network namespace (the student never
# has NET_ADMIN), before the student's program exists: reject the gateways,
# the host's addresses on the lab's networks, and every link-local address
# (the host's among them) but for neighbour discovery; then delete the
# default routes.
FENCE = r"""
ip6tables -A OUTPUT -d fe80::/10 -p icmpv6 --icmpv6-type neighbour-solicitation -j ACCEPT
ip6tables -A OUTPUT -d fe80::/10 -p icmpv6 --icmpv6-type neighbour-advertisement -j ACCEPT
ip6tables -A OUTPUT -d fe80::/10 -j REJECT
for gateway; do
    case $gateway in
        *:*) ip6tables -A OUTPUT -d "$gateway" -j REJECT ;;
        *) iptables -A OUTPUT -d "$gateway" -j REJECT --reject-with icmp-net-unreachable ;;
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


def program_command(runnable: Runnable, program: Optional[Sequence[str]] = None) -> tuple[str, ...]:
    """The command of the student's container: ``program`` (by default the
    submission's own), after unpacking a ``main.py`` submission's files."""
    argv = tuple(program or runnable.program)
    if not runnable.packed:
        return argv
    return ("python3", "-c", UNPACK, runnable.packed, WORKDIR, "--", *argv)


def program_environment(assignment: Assignment) -> dict[str, str]:
    """All the environment a server's program gets beyond its image's own:
    nothing tells it that it is being graded, nor where."""
    return {"PORT": str(assignment.port)} if assignment.kind == "server" else {}


def sandboxed_lab(assignment: Assignment) -> Lab:
    """The assignment's lab with a holder in place of the submission's node.

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
                image=NODE_IMAGE,
                command=HOLD,
                environment={},
                ready=Ready("none"),  # the program's readiness is checked after the fence: see runner
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
    """Cut the holder of a node off from everything outside its lab, from a helper."""
    container = running.container(node)
    networks = container.attrs["NetworkSettings"]["Networks"].values()
    gateways = [g for net in networks for g in (net.get("Gateway"), net.get("IPv6Gateway")) if g]
    status, logs = running.backend.run_helper(
        container, "fence", ["sh", "-ec", FENCE, "fence", *gateways], ["NET_ADMIN", "NET_RAW"]
    )
    if status != 0:
        raise SocklabError(f"fencing {node} failed: {logs.strip()}")
