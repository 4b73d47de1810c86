"""The link daemon's event ring and the ctl relay a live view reads it through."""

from __future__ import annotations

import io
import json
import threading
from pathlib import Path

import pytest

from impair import ctl
from impair.control import ControlServer
from impair.events import Events

FLOW = (17, "10.0.0.2", 40000, "10.0.0.3", 1234)


def test_events_come_newest_first_with_their_fates() -> None:
    events = Events()
    events.add("out", FLOW, 60, "dropped")
    events.add("out", FLOW, 60, "delayed", 0.05)
    events.add("in", (1, "10.0.0.3", "10.0.0.2"), 84, "passed")
    answer = events.since(0)
    assert answer["last"] == 3 and answer["skipped"] == 0
    assert [e["fate"] for e in answer["events"]] == ["passed", "delayed", "dropped"]
    newest, delayed, dropped = answer["events"]
    assert (newest["proto"], newest["src"], newest["sport"], newest["dst"]) == ("icmp", "10.0.0.3", None, "10.0.0.2")
    assert (dropped["proto"], dropped["sport"], dropped["dport"]) == ("udp", 40000, 1234)
    assert (dropped["size"], dropped["dir"]) == (60, "out")
    assert delayed["delay_ms"] == 50.0 and dropped["delay_ms"] == 0.0
    assert events.since(3) == {"events": [], "last": 3, "skipped": 0}


def test_a_reader_that_falls_behind_gets_the_newest_and_the_count_it_missed() -> None:
    events = Events(capacity=100)
    for _ in range(10_000):
        events.add("out", FLOW, 1000, "passed")
    answer = events.since(9_000, limit=50)
    assert [e["seq"] for e in answer["events"]] == list(range(10_000, 9_950, -1))
    assert answer["skipped"] == 950
    behind_the_ring = events.since(0, limit=500)
    assert len(behind_the_ring["events"]) == 100 and behind_the_ring["skipped"] == 9_900


def test_a_reader_ahead_of_a_restarted_daemon_reads_from_the_start() -> None:
    events = Events()
    events.add("in", FLOW, 10, "passed")
    assert [e["seq"] for e in events.since(500)["events"]] == [1]


@pytest.mark.parametrize("since, limit", [(-1, 10), ("0", 10), (0, 2.5), (True, 10)])
def test_bad_reads_are_refused(since: object, limit: object) -> None:
    with pytest.raises(ValueError, match="whole number"):
        Events().since(since, limit)


def test_the_relay_answers_each_line_over_one_connection(tmp_path: Path) -> None:
    connections = []
    events = Events()
    events.add("out", FLOW, 60, "dropped")

    def handler(request: dict) -> dict:
        if request["op"] != "events":
            raise ValueError("unknown op")
        return events.since(request.get("since", 0))

    server = ControlServer(str(tmp_path / "ctl.sock"), handler)
    stop = threading.Event()

    def serve() -> None:
        conn = None
        while not stop.is_set():
            try:
                conn = conn or server.accept()
                connections.append(conn)
            except BlockingIOError:
                stop.wait(0.01)
                continue
            if not server.serve(conn):
                server.drop(conn)
                conn = None
            stop.wait(0.01)

    thread = threading.Thread(target=serve)
    thread.start()
    try:
        out = io.BytesIO()
        assert ctl.relay(server.path, io.BytesIO(b'{"op": "events"}\n\n{"op": "nope"}\n'), out) == 0
    finally:
        stop.set()
        thread.join()
        server.close()
    first, second = [json.loads(line) for line in out.getvalue().splitlines()]
    assert first["events"][0]["fate"] == "dropped"
    assert second == {"error": "unknown op"}
    assert len(set(map(id, connections))) == 1


def test_the_relay_says_when_no_daemon_answers(tmp_path: Path) -> None:
    out = io.BytesIO()
    ctl.relay(str(tmp_path / "none.sock"), io.BytesIO(b'{"op": "show"}\n{"op": "show"}\n'), out)
    answers = [json.loads(line) for line in out.getvalue().splitlines()]
    assert len(answers) == 2 and all("link daemon not running" in a["error"] for a in answers)
