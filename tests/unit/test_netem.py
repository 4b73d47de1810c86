"""netem command building: checked here because this kernel cannot run them."""

import pytest

from socklab.errors import BadInput
from socklab.model import Impairment
from socklab.netem import change, egress_to_peer, ingress_via_ifb, netem_args


def test_netem_args_cover_every_parameter() -> None:
    imp = Impairment(loss=10, delay_ms=50, jitter_ms=5, duplicate=1, reorder=25, corrupt=0.5, rate="1mbit")
    assert netem_args(imp) == [
        "netem", "delay", "50ms", "5ms", "distribution", "normal", "loss", "random", "10%",
        "duplicate", "1%", "reorder", "25%", "corrupt", "0.5%", "rate", "1mbit",
    ]


def test_gilbert_elliott_maps_to_gemodel() -> None:
    imp = Impairment(loss_model="gilbert-elliott", ge_p=1, ge_r=25, ge_h=100, ge_k=0)
    assert netem_args(imp) == ["netem", "loss", "gemodel", "1%", "25%", "100%", "0%"]


def test_reorder_without_delay_is_refused() -> None:
    with pytest.raises(BadInput, match="delay"):
        netem_args(Impairment(reorder=10))


def test_egress_to_one_peer_steers_only_its_traffic() -> None:
    commands = egress_to_peer("eth0", "10.0.0.3", Impairment(loss=10))
    assert commands[0][:7] == ["tc", "qdisc", "replace", "dev", "eth0", "root", "handle"]
    assert commands[-1][-4:] == ["dst", "10.0.0.3/32", "flowid", "1:2"]
    assert "netem" in commands[3]


def test_whole_interface_and_ingress() -> None:
    assert egress_to_peer("eth1", None, Impairment(loss=5))[0][-4:] == ["netem", "loss", "random", "5%"]
    ingress = ingress_via_ifb("eth1", "ifb0", Impairment(delay_ms=10))
    assert ingress[0] == ["ip", "link", "add", "ifb0", "type", "ifb"]
    assert ingress[-1][:5] == ["tc", "qdisc", "replace", "dev", "ifb0"]
    assert change("eth0", "10.0.0.3", Impairment(loss=1))[:8] == ["tc", "qdisc", "change", "dev", "eth0", "parent", "1:2", "handle"]
