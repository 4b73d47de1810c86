"""The backoff verdict: late wake-ups on a busy machine pass, other schedules fail."""

from __future__ import annotations

import pytest

from socklab.probes import LECTURE_BACKOFF, backoff_verdict


@pytest.mark.parametrize(
    "times",
    [
        [0.0, 0.1, 0.3, 0.7, 1.5],
        # Seen in CI on a busy 2-core machine: every wait a little late, and late waits add up.
        [0.0, 0.1069, 0.3061, 0.7552, 1.555],
        [0.0, 0.148, 0.348, 0.758, 1.558],
    ],
)
def test_doubling_passes_however_late_each_wait_fires(times: list[float]) -> None:
    ok, verdict = backoff_verdict(times, LECTURE_BACKOFF, tolerance=0.05)
    assert ok, verdict


@pytest.mark.parametrize(
    "times, wait",
    [
        ([0.0, 0.1, 0.2, 0.3, 0.4], "wait 2 was 0.1 s, 100 ms early"),  # no backoff
        ([0.0, 0.1, 0.3, 0.6, 1.0], "wait 3 was 0.3 s, 100 ms early"),  # linear
        ([0.0, 0.1, 0.4, 1.3, 4.0], "wait 2 was 0.3 s, 100 ms late"),  # tripling
        ([0.0, 1.0, 2.0, 3.0, 4.0], "wait 1 was 1 s, 900 ms late"),  # the slide's one-second timeout
    ],
)
def test_other_schedules_fail_naming_the_wrong_wait(times: list[float], wait: str) -> None:
    ok, verdict = backoff_verdict(times, LECTURE_BACKOFF, tolerance=0.05)
    assert not ok
    assert wait in verdict


def test_too_few_sends_fail_with_the_count() -> None:
    ok, verdict = backoff_verdict([0.0, 0.1, 0.3], LECTURE_BACKOFF)
    assert not ok and "expected 5 sends" in verdict and "saw 3" in verdict
