"""netem command building, its counters and the backend choice: checked here because this kernel cannot run netem."""

import json

import pytest

from impair.schema import Impairment
from socklab import netem
from socklab.errors import SocklabError
from socklab.links import pick
from socklab.model import Link


def test_netem_args_cover_every_parameter() -> None:
    imp = Impairment(loss=10, delay_ms=50, jitter_ms=5, duplicate=1, reorder=25, corrupt=0.5, rate="1mbit")
    assert netem.netem_args(imp) == [
        "netem",
        "limit",
        "1000",
        "delay",
        "50ms",
        "5ms",
        "loss",
        "random",
        "10%",
        "duplicate",
        "1%",
        "reorder",
        "25%",
        "corrupt",
        "0.5%",
        "rate",
        "1000000bit",
    ]


@pytest.mark.parametrize("rate, bits", [("2mbps", "16000000bit"), ("500kbit", "500000bit"), ("1mibit", "1048576bit")])
def test_rates_reach_tc_in_the_schemas_bits(rate: str, bits: str) -> None:
    assert netem.netem_args(Impairment(rate=rate))[-2:] == ["rate", bits]


def test_gilbert_elliott_maps_to_gemodel() -> None:
    imp = Impairment(loss_model="gilbert-elliott", ge_p=1, ge_r=25, ge_h=100, ge_k=0)
    assert netem.netem_args(imp)[:9] == ["netem", "limit", "1000", "loss", "gemodel", "1%", "25%", "100%", "0%"]


def test_what_a_change_keeps_unless_named_is_always_named() -> None:
    """tc qdisc replace leaves the kernel's reorder, corrupt and rate as they were
    unless the command names them: a link set back to clean must say 0."""
    assert netem.netem_args(Impairment()) == [
        *("netem", "limit", "1000"),
        *("duplicate", "0%", "reorder", "0%", "corrupt", "0%", "rate", "0bit"),
    ]


@pytest.mark.parametrize(
    "imp, problem",
    [
        (Impairment(reorder=10), "delay"),
        (Impairment(delay_ms=10, jitter_ms=5, jitter_dist="normal"), "2 sigma"),
        (Impairment(rate="4bit"), "resolution"),
    ],
)
def test_what_netem_cannot_do_is_refused(imp: Impairment, problem: str) -> None:
    assert problem in (netem.unsupported(imp) or "")
    with pytest.raises(ValueError, match=problem):
        netem.netem_args(imp)


def test_egress_to_one_peer_steers_only_its_ip_traffic() -> None:
    commands = netem.egress("eth0", ["10.0.0.3", "fd00::3"], Impairment(loss=10))
    assert commands[0][:7] == ["tc", "qdisc", "replace", "dev", "eth0", "root", "handle"]
    assert "netem" in commands[3]
    filters = [c for c in commands if c[1] == "filter"]
    assert [f[-3:-2] for f in filters] == [["10.0.0.3/32"], ["fd00::3/128"]]
    assert {f[-1] for f in filters} == {"1:2"}


def test_a_whole_network_shapes_ip_only_and_its_ingress_goes_through_ifb() -> None:
    filters = [c for c in netem.egress("eth1", [], Impairment(loss=5)) if c[1] == "filter"]
    assert [f[f.index("protocol") + 1] for f in filters] == ["ip", "ipv6"]
    ingress = netem.ingress_via_ifb("eth1", Impairment(delay_ms=10))
    assert ingress[0] == ["ip", "link", "add", "ifb0", "type", "ifb"]
    assert ingress[2][:5] == ["tc", "qdisc", "replace", "dev", "ifb0"]
    assert netem.change("eth1", True, Impairment(loss=1))[3:7] == ["dev", "ifb0", "root", "handle"]
    assert netem.change("eth0", False, Impairment(loss=1))[:8] == [
        "tc",
        "qdisc",
        "change",
        "dev",
        "eth0",
        *netem.NETEM_CLASS[:3],
    ]


def test_counters_come_from_the_netem_qdisc() -> None:
    answer = json.dumps(
        [
            {"kind": "htb", "handle": "1:", "packets": 900, "drops": 0},
            {
                "kind": "netem",
                "handle": "20:",
                "parent": "1:2",
                "bytes": 64000,
                "packets": 700,
                "drops": 300,
                "overlimits": 0,
                "requeues": 2,
                "backlog": 128,
                "qlen": 2,
            },
        ]
    )
    expected = {"sent": 700, "dropped": 300, "overlimits": 0, "requeues": 2, "backlog": 128, "qlen": 2}
    assert netem.counters(answer) == expected
    with pytest.raises(ValueError):
        netem.counters("[]")


def _link(backend: str = "auto", seed=None) -> Link:
    return Link("wan", "client", "server", False, Impairment(loss=10), Impairment(), backend, seed, 12)


def _never() -> bool:
    raise AssertionError("the kernel was probed although the answer could not matter")


def test_auto_gives_netem_only_unseeded_links_on_a_netem_kernel() -> None:
    assert pick(_link(), lambda: True).backend == "netem"
    assert "no seed" in pick(_link(), lambda: True).reason
    seeded = pick(_link(seed=1), _never)
    assert seeded.backend == "userspace" and "seed" in seeded.reason
    assert pick(_link(seed=0), _never).backend == "userspace"
    without = pick(_link(), lambda: False)
    assert without.backend == "userspace" and "no sch_netem" in without.reason


def test_explicit_backends() -> None:
    assert pick(_link("userspace"), _never).backend == "userspace"
    assert pick(_link("netem"), lambda: True).backend == "netem"
    with pytest.raises(SocklabError, match="no sch_netem"):
        pick(_link("netem"), lambda: False)
