"""The impairment contract: every parameter a lab file accepts reaches the daemon, and netem, with the same meaning.

One schema (``impair.schema``) serves socklab and the daemon. These tests go
the whole way a value travels: lab-file text -> the model's Link ->
``links.daemon_config`` -> JSON -> the daemon's ``LinkConfig`` (what it runs
with), and ``link set`` values -> the daemon's ``set`` request -> the
daemon's parameters; and the same Link -> netem's tc arguments.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from impair.config import LinkConfig
from impair.schema import LAB_KEYS, Impairment
from socklab import netem
from socklab.impairment import impairment_changes
from socklab.labfile import parse_lab
from socklab.links import Endpoint, daemon_config

LAB = """\
networks:
  lan: {{subnet: 10.10.1.0/24}}
nodes:
  server: {{service: udp-server, networks: {{lan: {{address: 10.10.1.10}}}}}}
  client: {{service: client, networks: [lan]}}
links:
  wan:
    between: [client, server]
    seed: 7
    {key}: {value}
    reverse: {{delay: 1ms}}
"""

# (lab-file key, value as written, the daemon's fields with their meaning, what netem is told)
CASES = [
    ("loss", "12.5%", {"loss": 12.5, "loss_model": "bernoulli"}, ["loss", "random", "12.5%"]),
    (
        "loss",
        "{model: gilbert-elliott, p: 2%, r: 30%, h: 90%, k: 1%}",
        {"loss_model": "gilbert-elliott", "ge_p": 2.0, "ge_r": 30.0, "ge_h": 90.0, "ge_k": 1.0, "loss": 0.0},
        ["loss", "gemodel", "2%", "30%", "90%", "1%"],
    ),
    ("delay", "0.05s", {"delay_ms": 50.0}, ["delay", "50ms"]),
    ("jitter", "500us", {"jitter_ms": 0.5, "jitter_dist": "uniform"}, ["delay", "0ms", "0.5ms"]),
    ("duplicate", "3", {"duplicate": 3.0}, ["duplicate", "3%"]),
    ("reorder", "25%", None, None),  # needs a delay: its own case below
    ("corrupt", "0.5%", {"corrupt": 0.5}, ["corrupt", "0.5%"]),
    ("rate", "2mbps", {"rate": "2mbps"}, ["rate", "16000000bit"]),
]


def _through_the_daemon(text: str) -> tuple:
    lab = parse_lab(text, Path("lab.yaml"))
    link = lab.links["wan"]
    config = LinkConfig.from_json(json.dumps(daemon_config(link, Endpoint("client", "eth0", "10.10.1.10", None))))
    return link, config


def test_every_lab_file_key_has_a_contract_case() -> None:
    assert {key for key, *_ in CASES} == set(LAB_KEYS)


@pytest.mark.parametrize("key, value, fields, tc", [c for c in CASES if c[2] is not None], ids=lambda v: str(v)[:20])
def test_a_lab_file_value_reaches_the_daemon_and_netem_with_its_meaning(
    key: str, value: str, fields: dict, tc: list
) -> None:
    link, config = _through_the_daemon(LAB.format(key=key, value=value))
    daemon = config.impairments["out"]
    assert daemon == link.forward, "the daemon runs with exactly the model's parameters"
    assert config.impairments["in"] == link.reverse == link.forward.updated({"delay_ms": 1.0})
    assert config.seed == 7
    assert {name: getattr(daemon, name) for name in fields} == fields
    args = netem.netem_args(link.forward)
    assert any(args[i : i + len(tc)] == tc for i in range(len(args))), args


def test_reorder_needs_a_delay_on_both_backends_and_keeps_its_meaning() -> None:
    link, config = _through_the_daemon(LAB.format(key="reorder", value="25%\n    delay: 20ms"))
    assert config.impairments["out"].reorder == 25.0 and config.impairments["out"].delay_ms == 20.0
    args = netem.netem_args(link.forward)
    assert args[args.index("reorder") + 1] == "25%"


def test_a_rate_means_the_same_bits_per_second_everywhere() -> None:
    link, config = _through_the_daemon(LAB.format(key="rate", value="2mbps"))
    assert config.impairments["out"].rate_bps == 16e6  # tc's mbps: megabytes per second
    assert netem.netem_args(link.forward)[-1] == f"{config.impairments['out'].rate_bps:.0f}bit"


@pytest.mark.parametrize(
    "values",
    [
        {"loss": "30%"},
        {"delay": "50ms", "jitter": "10ms"},
        {"duplicate": "5%"},
        {"corrupt": "1"},
        {"rate": "500kbit"},
        {"delay": "20ms", "reorder": "10%"},
        {"rate": "none"},
    ],
)
def test_link_set_values_reach_the_daemon_as_the_same_fields(values: dict) -> None:
    changes = impairment_changes(values)
    request = json.loads(json.dumps({"out": changes}))  # what LinkControl.set sends through impair.ctl
    after = Impairment(loss=1).updated(request["out"])  # what the daemon's set does with it
    assert {name: getattr(after, name) for name in changes} == changes
