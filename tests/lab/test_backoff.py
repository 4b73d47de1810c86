"""Retry and backoff (slides "UDP Packet Drops"), timed from captured packets."""

from __future__ import annotations

import json

import pytest

from socklab import probes

pytestmark = pytest.mark.lab("udp-loss")


def counters(lab) -> dict[str, dict]:
    return {direction: state["counters"] for direction, state in lab.link("wan").show()["directions"].items()}


def test_unanswered_client_backs_off_0_1_0_3_0_7_1_5_then_gives_up(lab) -> None:
    lab.link("wan").set(loss=0.0)
    lab.link("wan").set(direction="reverse", loss=100.0)
    with lab.capture("server", filter="udp dst port 1234") as capture:
        result = lab.exec("client", ["udp-client", "--host", "server", "--message", "anybody there?"], timeout=10)
    times = probes.send_times(capture.packets, 1234)
    ok, verdict = probes.backoff_verdict(times)
    assert ok, verdict
    assert result.exit_code != 0, f"expected a non-zero exit after giving up, got 0: {result.output!r}"
    assert "server seems down" in result.stdout, f"expected 'server seems down', got {result.output!r}"


def test_seeded_loss_every_failed_attempt_is_a_drop_the_link_reports(lab) -> None:
    link = lab.link("wan")
    link.set(loss=30.0, seed=7)
    before = counters(lab)
    outcomes = []
    for request in range(20):
        result = lab.exec(
            "client",
            [
                "udp-client",
                "--host",
                "server",
                "--source-port",
                str(31000 + request),
                "--message",
                f"request {request}",
                "--json",
            ],
            timeout=10,
        )
        outcomes.append(json.loads(result.stdout))
    after = counters(lab)
    drops = sum(after[d]["dropped"] - before[d]["dropped"] for d in after)
    answered = [o for o in outcomes if o["outcome"] == "answered"]
    failed_attempts = sum(o["attempts"] for o in outcomes) - len(answered)
    assert failed_attempts == drops, (
        f"expected one link drop per failed attempt: {failed_attempts} failed attempts, link reports {drops} drops"
    )
    assert all(o["answer"] == f"REQUEST {i}" for i, o in enumerate(outcomes) if o["outcome"] == "answered")
    assert all(o["attempts"] == 5 for o in outcomes if o["outcome"] == "gave-up")
    assert len(answered) == len(outcomes), (
        f"with seed 7, every request should be answered; gave up: {[o for o in outcomes if o['outcome'] != 'answered']}"
    )
    assert drops > 0, "30% loss dropped nothing: the link is not in the path"


def test_same_seed_same_attempts_run_after_run(lab) -> None:
    def run() -> list[int]:
        lab.link("wan").set(loss=30.0, seed=11)
        return [
            json.loads(
                lab.exec(
                    "client",
                    ["udp-client", "--host", "server", "--source-port", str(32000 + i), "--message", "x", "--json"],
                    timeout=10,
                ).stdout
            )["attempts"]
            for i in range(12)
        ]

    first, second = run(), run()
    assert first == second, f"same seed, same flows: expected identical attempts, got {first} and {second}"
