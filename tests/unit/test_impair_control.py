"""The link daemon's config, control socket and ctl client, without packets or privileges."""

from __future__ import annotations

import json
import socket
from pathlib import Path

import pytest

from impair import ctl
from impair.config import LinkConfig
from impair.control import ControlServer
from impair.rules import Match, chain_name


def test_a_full_config_is_read() -> None:
    config = LinkConfig.from_json(
        json.dumps(
            {
                "name": "wan",
                "seed": 1,
                "match": {"peer4": "10.1.0.3", "peer6": None},
                "out": {"loss": 30},
                "in": {"delay_ms": 50},
                "control": "/run/x.sock",
            }
        )
    )
    assert config.match == Match(peer4="10.1.0.3")
    assert (config.impairments["out"].loss, config.impairments["in"].delay_ms) == (30.0, 50.0)
    assert (config.seed, config.control, config.queues) == (1, "/run/x.sock", {"out": 0, "in": 1})


@pytest.mark.parametrize(
    "config, message",
    [
        ({"match": {"iface": "eth1"}}, "name must be"),
        ({"name": "a b", "match": {"iface": "eth1"}}, "name must be"),
        ({"name": "wan"}, "match is required"),
        ({"name": "wan", "match": {"iface": "eth1", "peer4": "10.1.0.3"}}, "not both"),
        ({"name": "wan", "match": {}}, "either peer4/peer6"),
        ({"name": "wan", "match": {"host": "x"}}, "match must be"),
        ({"name": "wan", "match": {"iface": "eth1"}, "out": {"loss": 300}}, "out: loss must be a percentage"),
        ({"name": "wan", "match": {"iface": "eth1"}, "seed": -1}, "seed must be"),
        ({"name": "wan", "match": {"iface": "eth1"}, "queues": {"out": 1, "in": 1}}, "queues must be"),
        ({"name": "wan", "match": {"iface": "eth1"}, "colour": "red"}, "unknown config key 'colour'"),
    ],
)
def test_config_errors_say_what_is_wrong(config: dict, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        LinkConfig.from_dict(config)


def test_bad_json_is_a_value_error() -> None:
    with pytest.raises(ValueError, match="not valid JSON"):
        LinkConfig.from_json("{name: wan}")


def test_chain_names_fit_iptables() -> None:
    assert chain_name("wan", "out") == "SOCKLAB-wan-OUT"
    long = [chain_name("a-very-long-link-name-" + c, "in") for c in "xy"]
    assert all(len(name) <= 28 for name in long) and long[0] != long[1]


def test_match_selectors_per_direction_and_family() -> None:
    assert Match(peer4="10.1.0.3").selectors("out") == [("iptables", ["-d", "10.1.0.3"])]
    assert Match(peer4="10.1.0.3", peer6="fd00::3").selectors("in") == [
        ("iptables", ["-s", "10.1.0.3"]),
        ("ip6tables", ["-s", "fd00::3"]),
    ]
    assert Match(iface="eth1").selectors("in") == [("iptables", ["-i", "eth1"]), ("ip6tables", ["-i", "eth1"])]


def test_control_server_answers_each_line(tmp_path: Path) -> None:
    def handler(request: dict) -> dict:
        if request.get("op") != "show":
            raise ValueError("unknown op")
        return {"name": "wan"}

    server = ControlServer(str(tmp_path / "ctl.sock"), handler)
    try:
        with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as client:
            client.connect(server.path)
            client.sendall(b'{"op": "show"}\n{"op": "nope"}\nnot json\n')
            conn = server.accept()
            assert server.serve(conn)
            answers = [json.loads(line) for line in client.recv(65536).splitlines()]
            assert answers[0] == {"name": "wan"}
            assert answers[1] == {"error": "unknown op"}
            assert answers[2]["error"].startswith("request is not JSON")
            client.shutdown(socket.SHUT_WR)
            assert not server.serve(conn)
            server.drop(conn)
    finally:
        server.close()
    assert not (tmp_path / "ctl.sock").exists()


def test_ctl_says_the_daemon_is_not_running(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    assert ctl.main(["--socket", str(tmp_path / "none.sock"), "show"]) == 1
    assert "link daemon not running" in capsys.readouterr().err


def test_ctl_finds_the_socket_in_the_daemons_config(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SOCKLAB_LINK", json.dumps({"name": "wan", "control": "/run/other.sock"}))
    assert ctl.control_path() == "/run/other.sock"
    monkeypatch.delenv("SOCKLAB_LINK")
    assert ctl.control_path() == "/run/socklab-link.sock"


def test_ctl_set_needs_a_json_object(capsys: pytest.CaptureFixture) -> None:
    with pytest.raises(SystemExit) as exit_info:
        ctl.main(["set", "[1]"])
    assert exit_info.value.code == 2
