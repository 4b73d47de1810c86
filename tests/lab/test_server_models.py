"""The TCP server architectures (slides "Server-side Programming"), over the network."""

from __future__ import annotations

import pytest

from socklab import probes

pytestmark = pytest.mark.lab("tcp-models")

CONCURRENT = ["tcp-threaded", "tcp-pool", "tcp-poll", "tcp-asyncio"]


@pytest.mark.parametrize("server", CONCURRENT)
def test_concurrent_servers_answer_a_second_client_at_once(lab, server: str) -> None:
    result = probes.hold(lab, "client", server, 1234, holders=1, wait=1.0)
    assert result["holders_served"] == 1, result
    assert result["answered_while_held"], (
        f"{server}: expected the 2nd client answered while the 1st holds its connection; {result}"
    )


def test_sequential_server_answers_the_second_client_only_after_the_first_closes(lab) -> None:
    result = probes.hold(lab, "client", "tcp-sequential", 1234, holders=1, wait=1.0)
    assert not result["answered_while_held"], (
        f"expected the 2nd client to wait while the 1st holds; it was answered: {result}"
    )
    assert result["answered_after_release"], f"expected the 2nd client answered once the 1st closed: {result}"


def test_pool_of_four_serves_four_holders_and_makes_the_fifth_wait(lab) -> None:
    result = probes.hold(lab, "client", "tcp-pool", 1234, holders=4, wait=1.0)
    assert result["holders_served"] == 4, f"expected 4 holders served by 4 threads: {result}"
    assert not result["answered_while_held"], f"expected the 5th to wait for a free thread: {result}"
    assert result["answered_after_release"], result


@pytest.mark.parametrize("server", ["tcp-poll", "tcp-asyncio"])
def test_multiplexing_servers_serve_200_connections_at_once(lab, server: str) -> None:
    result = probes.many(lab, "client", server, 1234, count=200)
    assert result == {"opened": 200, "answered": 200}, f"{server}: {result}"
