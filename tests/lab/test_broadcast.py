"""Broadcast reach (slides "UDP Broadcast"): one segment only, never past the router."""

from __future__ import annotations

import re

import pytest

from socklab import probes

pytestmark = pytest.mark.lab("broadcast")


def test_broadcast_is_answered_by_exactly_the_three_responders_of_its_segment(lab) -> None:
    result = lab.exec("client", ["broadcast-client", "--message", "who is there?", "--timeout", "1.0"], timeout=15)
    names = sorted(re.findall(r"(responder-\w+): WHO IS THERE\?", result.stdout))
    assert names == ["responder-a1", "responder-a2", "responder-a3"], (
        f"expected answers from responder-a1..a3 only, got {names}:\n{result.stdout}"
    )
    assert "3 answers" in result.stdout


def test_responders_behind_the_router_are_alive_and_reachable_by_unicast(lab) -> None:
    for node in ("responder-b1", "responder-b2"):
        answer = probes.udp(lab, "client", lab.address(node), 1234, "unicast")
        assert answer["answered"] and answer["answer"] == f"{node}: UNICAST", f"{node} via the router: {answer}"
