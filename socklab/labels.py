"""The Docker labels socklab puts on everything it creates.

Labels are the only record of a running lab (no state file): every command
finds containers, networks and images again by filtering on them.
"""

from __future__ import annotations

import getpass
import os
import socket

PROJECT = "org.socklab"
LAB = "org.socklab.lab"  # the instance name, e.g. "udp-echo" or "udp-echo-2"
LAB_FILE = "org.socklab.lab-file"
NODE = "org.socklab.node"
NETWORK = "org.socklab.network"
ROLE = "org.socklab.role"  # node | link | route | capture | probe
RUN = "org.socklab.run"
OWNER = "org.socklab.owner"  # user@host
PID = "org.socklab.pid"  # the process that created it
EPHEMERAL = "org.socklab.ephemeral"  # "1": dies with its creating process
EXPECTED = "org.socklab.expected"  # how many node containers a complete run has
CONTENT = "org.socklab.content-hash"
IMAGE_ROLE = "org.socklab.image"
LINK = "org.socklab.link"
LINK_BACKEND = "org.socklab.link-backend"
LINK_REASON = "org.socklab.link-reason"  # why auto picked that backend, shown by up, link show, doctor, experiments
LINK_DIRECTION = "org.socklab.link-direction"  # forward | reverse: a netem helper shapes one direction
SUBNETS = "org.socklab.subnets"  # declared->actual subnet map, for address translation


def owner() -> str:
    return f"{getpass.getuser()}@{socket.gethostname()}"


def run_labels(instance: str, run_id: str, ephemeral: bool, expected: int, lab_file: str) -> dict[str, str]:
    """Labels shared by every object of one ``up``."""
    return {
        PROJECT: "1",
        LAB: instance,
        LAB_FILE: lab_file,
        RUN: run_id,
        OWNER: owner(),
        PID: str(os.getpid()),
        EPHEMERAL: "1" if ephemeral else "0",
        EXPECTED: str(expected),
    }


def process_alive(labels: dict[str, str]) -> bool:
    """Whether the process that created an object still runs (same host only)."""
    if labels.get(OWNER, "").split("@")[-1] != socket.gethostname():
        return True
    try:
        os.kill(int(labels.get(PID, "0")), 0)
    except ProcessLookupError:
        return False
    except (PermissionError, ValueError):
        return True
    return True
