"""The web view's logic without Docker or a browser: link set's checks, netem's figures, the page's files."""

from __future__ import annotations

import json
import time
from collections import deque
from importlib import resources
from types import SimpleNamespace

import pytest

from socklab.errors import BadInput
from socklab.impairment import link_set_request, parse_seed
from socklab.web import _loopback
from socklab.web import live as live_module
from socklab.web.feeds import LinkFeed, netem_direction, netem_loop
from socklab.web.server import STATIC


def test_link_set_request_turns_text_into_changes_and_a_seed() -> None:
    changes, seed = link_set_request({"loss": "35%", "delay": "20ms"}, "7")
    assert changes == {"loss": 35.0, "loss_model": "bernoulli", "delay_ms": 20.0} and seed == 7
    assert link_set_request({}, 0) == ({}, 0)


@pytest.mark.parametrize(
    "values, seed, message",
    [
        ({"loss": "lots"}, None, "'lots' is not a percentage (write it like 10%)"),
        ({"loss": "120%"}, None, "'120%' is outside 0%..100%"),
        ({"delay": "soon"}, None, "'soon' is not a duration (write it like 50ms)"),
        ({}, "-1", "seed must be a whole number in 0..2**64-1, not '-1'"),
        ({}, "x", "seed must be a whole number in 0..2**64-1, not 'x'"),
        ({}, str(2**64), f"seed must be a whole number in 0..2**64-1, not '{2**64}'"),
        ({}, None, "nothing to change: give --loss, --delay, ... or --seed"),
        (
            {"colour": "red"},
            None,
            "unknown key 'colour' (allowed: corrupt, delay, duplicate, jitter, loss, rate, reorder)",
        ),
    ],
)
def test_link_set_request_refuses_with_the_clis_words(values: dict, seed: object, message: str) -> None:
    with pytest.raises(BadInput) as refused:
        link_set_request(values, seed)  # type: ignore[arg-type]
    assert str(refused.value) == message


def test_seeds_span_the_daemons_range() -> None:
    assert (parse_seed(0), parse_seed(" 42 "), parse_seed(2**64 - 1)) == (0, 42, 2**64 - 1)


def test_netem_figures_are_those_of_link_show_for_the_directions_own_qdisc() -> None:
    state = {"direction": "reverse", "dev": "eth1", "via_ifb": True, "params": {"loss": 20.0, "delay_ms": 50.0}}
    loop = netem_loop(state)
    assert "tc -s -j qdisc show dev ifb0" in loop and "/run/socklab-netem.json" in loop
    qdiscs = [
        {"kind": "htb", "handle": "1:", "dev": "ifb0", "packets": 500, "drops": 0},
        {
            "kind": "netem",
            "handle": "20:",
            "dev": "ifb0",
            "options": {"limit": 1000, "loss-random": {"loss": 0.2}},
            "bytes": 4200,
            "packets": 40,
            "drops": 10,
            "overlimits": 0,
            "requeues": 1,
            "backlog": 0,
            "qlen": 0,
        },
    ]
    figures = netem_direction(json.dumps(state) + "\t" + json.dumps(qdiscs))
    assert figures == {
        "params": {"loss": 20.0, "delay_ms": 50.0},
        "counters": {"sent": 40, "dropped": 10, "overlimits": 0, "requeues": 1, "backlog": 0, "qlen": 0},
    }
    assert "no netem qdisc" in netem_direction(json.dumps(state) + '\t[{"kind": "noqueue"}]')["error"]
    assert "cannot read netem's figures" in netem_direction("")["error"]


def test_the_page_ships_with_the_package() -> None:
    static = resources.files("socklab.web").joinpath("static")
    for name in STATIC:
        assert static.joinpath(name).read_bytes(), name
    page = static.joinpath("index.html").read_text()
    assert "/static/app.js" in page and "/static/style.css" in page
    assert "http" not in page.replace("http-equiv", ""), "the page must work offline: no outside address"


@pytest.mark.parametrize(
    "host, loopback",
    [
        ("127.0.0.1", True),
        ("::1", True),
        ("localhost", True),
        ("0.0.0.0", False),
        ("10.1.2.3", False),
        ("lab.example", False),
    ],
)
def test_hosts_other_than_loopback_are_told_about_the_token(host: str, loopback: bool) -> None:
    assert _loopback(host) is loopback


class FakeFeed(LinkFeed):
    """A link whose daemon saw ``rate`` packets since the last poll and keeps the newest 100 of them."""

    backend = "userspace"

    def __init__(self, rate: int) -> None:
        self.rate, self.last, self.polls = rate, 0, 0

    def poll(self, since: int) -> tuple[dict, dict]:
        self.polls += 1
        self.last += self.rate
        newest = range(self.last, max(since, self.last - 100), -1)
        events = [{"seq": n, "fate": "dropped" if n % 10 == 0 else "passed"} for n in newest]
        return {"backend": "userspace", "daemon": "running", "directions": {}}, {
            "events": events,
            "last": self.last,
            "skipped": self.last - since - len(events),
        }


class FakeLab:
    instance = "fake"
    lab = SimpleNamespace(links={})

    def status(self) -> list:
        return []


def test_the_strip_samples_a_fast_link_and_says_what_it_skipped(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(live_module.Live, "_poll_nodes", lambda self: None)
    live = live_module.Live(FakeLab())  # type: ignore[arg-type]
    feed = FakeFeed(rate=2500)  # 10,000 packets/s at four polls a second
    live.feeds = {"wan": feed}
    live.strips = {"wan": deque(maxlen=live_module.STRIP)}
    live._since = {"wan": 0}
    try:
        time.sleep(0.6)
        assert feed.polls == 0, "nothing is polled while no page watches"
        stream = live_module.views(live)
        first = next(stream)
        rows = first["strips"]["wan"]
        assert rows[0]["seq"] == feed.last and all(a["n"] > b["n"] for a, b in zip(rows, rows[1:]))
        markers = [row["skipped"] for row in rows if "skipped" in row]
        assert markers and all(m == 2400 for m in markers)
        assert len(rows) <= live_module.STRIP
        second = next(stream)["strips"]["wan"]
        assert second and min(r["n"] for r in second) > max(r["n"] for r in rows), "a page gets each row once"
        stream.close()
        polls = feed.polls
        time.sleep(0.6)
        assert feed.polls <= polls + 1, "polling stops when the last page goes"
    finally:
        live.close()
