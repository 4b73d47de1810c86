"""LinkControl on the netem backend, against a recording stand-in for the Docker engine.

The kernel side is tested on real packets in the netem guests
(tests/lab/test_links_netem.py); here, what socklab asks of it: link set
changes only what it names, in the right helper, and records it.
"""

from __future__ import annotations

import json
from pathlib import Path
from types import SimpleNamespace

import pytest

from impair.schema import Impairment
from socklab import labels as L
from socklab.docker_backend import ExecResult
from socklab.errors import BadInput, LabFileError
from socklab.links import LINK_CAPS, NETEM_STATE, Endpoint, LinkControl, _start_netem, netem_plan
from socklab.model import Link

STATS = json.dumps(
    [
        {"kind": "htb"},
        {"kind": "netem", "packets": 10, "drops": 3, "overlimits": 0, "requeues": 0, "backlog": "0b", "qlen": 0},
    ]
)


class Engine:
    """Answers docker exec like a netem helper: its state file, tc's counters, and success."""

    def __init__(self, states: dict[str, dict]) -> None:
        self.states = states
        self.calls: list[tuple[str, list[str]]] = []

    def exec(
        self, container: str, argv: list[str], input: str | None = None, timeout: float | None = None
    ) -> ExecResult:
        self.calls.append((container, argv))
        if argv == ["cat", NETEM_STATE]:
            return ExecResult(0, json.dumps(self.states[container]), "")
        if argv[:3] == ["sh", "-c", f"cat > {NETEM_STATE}"]:
            self.states[container] = json.loads(input or "")
            return ExecResult(0, "", "")
        if argv[:2] == ["tc", "-s"]:
            return ExecResult(0, STATS, "")
        return ExecResult(0, "", "")


def control(backend: str = "auto") -> tuple[LinkControl, Engine]:
    link = Link("wan", "client", "server", False, Impairment(loss=30), Impairment(), backend, None, 9)
    ends = Endpoint("client", "eth0", "10.0.0.10", None), Endpoint("server", "eth0", "10.0.0.20", None)
    plans = netem_plan(link, *ends)
    engine = Engine({p["direction"]: p for p in plans})
    helpers = [
        SimpleNamespace(
            id=p["direction"],
            name=f"h-{p['direction']}",
            labels={
                L.ROLE: "link",
                L.LINK: "wan",
                L.LINK_BACKEND: "netem",
                L.LINK_DIRECTION: p["direction"],
                L.LINK_REASON: "auto: the kernel has sch_netem and the link has no seed",
            },
        )
        for p in reversed(plans)
    ]
    running = SimpleNamespace(helpers=helpers, backend=engine)
    return LinkControl(running, link), engine


def test_show_reads_each_directions_state_and_counters() -> None:
    shown = control()[0].show()
    assert shown["backend"] == "netem" and "no seed" in shown["reason"]
    forward, reverse = shown["directions"]["client->server"], shown["directions"]["server->client"]
    assert forward["params"]["loss"] == 30.0 and reverse["params"]["loss"] == 0.0
    assert forward["counters"] == {"sent": 10, "dropped": 3, "overlimits": 0, "requeues": 0, "backlog": 0, "qlen": 0}


def test_set_changes_only_what_it_names_in_the_named_direction() -> None:
    link, engine = control()
    link.set(direction="forward", delay_ms=10.0)
    changes = [(c, argv) for c, argv in engine.calls if argv[:3] == ["tc", "qdisc", "change"]]
    assert [c for c, _ in changes] == ["forward"]
    argv = changes[0][1]
    assert argv[argv.index("loss") : argv.index("loss") + 3] == ["loss", "random", "30%"], "loss kept"
    assert argv[argv.index("delay") : argv.index("delay") + 2] == ["delay", "10ms"]
    assert engine.states["forward"]["params"]["delay_ms"] == 10.0 and engine.states["forward"]["params"]["loss"] == 30.0
    assert engine.states["reverse"]["params"] == Impairment().to_dict()


def test_a_bad_change_changes_nothing() -> None:
    link, engine = control()
    with pytest.raises(BadInput, match="reorder"):
        link.set(reorder=10.0)
    assert not [argv for _, argv in engine.calls if argv[:3] == ["tc", "qdisc", "change"]]


def test_backend_netem_refuses_a_seed() -> None:
    with pytest.raises(BadInput, match="cannot replay a seed"):
        control("netem")[0].set(seed=3)


class Helpers:
    """Records what the links ask of DockerBackend's helper facility, and the commands run in each helper."""

    def __init__(self) -> None:
        self.started: list[dict] = []
        self.commands: list[tuple[str, list[str]]] = []

    def start_helper(
        self,
        node: str,
        role: str,
        command: list[str],
        cap_add: list[str] = (),
        suffix: str | None = None,
        labels: dict | None = None,
        environment: dict | None = None,
    ) -> SimpleNamespace:
        self.started.append(
            {
                "node": node,
                "role": role,
                "caps": list(cap_add),
                "suffix": suffix,
                "labels": labels,
                "state": json.loads((environment or {})["SOCKLAB_NETEM"]),
            }
        )

        def run(argv: list[str], timeout: float | None = None) -> ExecResult:
            self.commands.append((str(suffix), argv))
            return ExecResult(0, "", "")

        return SimpleNamespace(exec=run)


def start(link: Link) -> Helpers:
    helpers = Helpers()
    running = SimpleNamespace(
        backend=helpers, lab=SimpleNamespace(path=Path("lab.yaml")), container=lambda node: f"container of {node}"
    )
    ends = Endpoint("client", "eth0", "10.0.0.20", None), Endpoint("server", "eth1", "10.0.0.10", None)  # peers
    _start_netem(running, link, *ends, {L.LINK: link.name, L.LINK_BACKEND: "netem"})
    return helpers


def test_each_direction_gets_a_helper_in_its_own_nodes_namespace() -> None:
    helpers = start(
        Link("wan", "client", "server", False, Impairment(loss=30), Impairment(delay_ms=5), "auto", None, 9)
    )
    assert [(h["node"], h["role"], h["suffix"], h["caps"]) for h in helpers.started] == [
        ("container of client", "link", "link-wan-forward", LINK_CAPS),
        ("container of server", "link", "link-wan-reverse", LINK_CAPS),
    ]
    assert [h["labels"][L.LINK_DIRECTION] for h in helpers.started] == ["forward", "reverse"]
    assert [h["state"]["params"]["loss"] for h in helpers.started] == [30.0, 0.0]
    forward = [argv for suffix, argv in helpers.commands if suffix == "link-wan-forward"]
    reverse = [argv for suffix, argv in helpers.commands if suffix == "link-wan-reverse"]
    assert forward[0][4] == "eth0" and "10.0.0.20/32" in forward[-1]
    assert reverse[0][4] == "eth1" and "10.0.0.10/32" in reverse[-1]


def test_what_netem_cannot_do_is_refused_at_the_links_line_before_any_helper_starts() -> None:
    odd = Impairment(delay_ms=50, jitter_ms=10, jitter_dist="normal")
    with pytest.raises(LabFileError, match="2 sigma") as info:
        start(Link("wan", "client", "server", False, odd, Impairment(), "netem", None, 9))
    assert info.value.line == 9


def test_a_change_the_userspace_daemon_refuses_is_bad_input() -> None:
    """The daemon checks the change against the schema and keeps its parameters: exit 2, like netem's refusal."""
    refusal = "error: out: reorder sends some packets ahead of the delayed ones: it needs a delay too"
    engine = SimpleNamespace(exec=lambda *args, **kwargs: ExecResult(2, "", refusal))
    helper = SimpleNamespace(id="daemon", labels={L.ROLE: "link", L.LINK: "wan", L.LINK_BACKEND: "userspace"})
    link = Link("wan", "client", "server", False, Impairment(), Impairment(), "auto", 1, 9)
    with pytest.raises(BadInput, match="needs a delay"):
        LinkControl(SimpleNamespace(helpers=[helper], backend=engine), link).set(reorder=10.0)
