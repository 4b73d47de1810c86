"""The analytic models, checked against direct enumeration and a simulation."""

from __future__ import annotations

import itertools
import math

import numpy as np
import pytest

from socklab.experiments import model


def enumerated_attempts(loss: float) -> tuple[float, float]:
    """E[attempts] and P(give up) by enumerating what happens to each of the
    five questions and answers."""
    q = model.attempt_success(loss)
    mean = give_up = 0.0
    for outcome in itertools.product((True, False), repeat=5):
        probability = math.prod(q if ok else 1 - q for ok in outcome)
        first = next((k for k, ok in enumerate(outcome, start=1) if ok), None)
        mean += probability * (first or 5)
        give_up += probability * (first is None)
    return mean, give_up


@pytest.mark.parametrize("loss", [0.0, 0.1, 0.3, 0.5, 0.9, 1.0])
def test_mean_attempts_and_give_up_match_enumeration(loss: float) -> None:
    mean, give_up = enumerated_attempts(loss)
    assert model.mean_attempts(loss) == pytest.approx(mean)
    assert model.give_up_probability(loss) == pytest.approx(give_up)


def test_attempts_model_matches_a_simulation_with_independent_loss_each_way() -> None:
    rng = np.random.default_rng(1)
    loss, requests = 0.4, 200_000
    question_lost = rng.random((requests, 5)) < loss
    answer_lost = rng.random((requests, 5)) < loss
    ok = ~question_lost & ~answer_lost
    attempts = np.where(ok.any(axis=1), ok.argmax(axis=1) + 1, 5)
    assert attempts.mean() == pytest.approx(model.mean_attempts(loss), rel=0.01)
    assert (~ok.any(axis=1)).mean() == pytest.approx(model.give_up_probability(loss), rel=0.03)


def test_latency_quantiles_follow_the_backoff_schedule() -> None:
    assert model.latency_quantile(0.0, 0.99, rtt_s=0.001) == pytest.approx(0.001)
    assert model.latency_quantile(1.0, 0.5) == model.LECTURE_GIVE_UP_S
    # at 30% loss each way, q = 0.49: fewer than half are answered at once
    assert model.latency_quantile(0.3, 0.5) == pytest.approx(0.1)
    assert sum(p for _, p in model.latency_outcomes(0.37)) == pytest.approx(1.0)


def test_udp_goodput_is_one_chunk_per_round_trip_without_loss() -> None:
    assert model.udp_goodput(0.0, 0.02, 1024) == pytest.approx(1024 / 0.02)
    assert model.udp_goodput(0.3, 0.02, 1024) < model.udp_goodput(0.1, 0.02, 1024)


@pytest.mark.parametrize("tcp", [model.tcp_padhye, model.tcp_mathis])
def test_tcp_models_fall_with_loss_and_have_no_bound_without_it(tcp) -> None:
    assert math.isinf(tcp(0.0, 0.02))
    rates = [tcp(p, 0.02) for p in (0.01, 0.05, 0.1, 0.3)]
    assert rates == sorted(rates, reverse=True)


def test_timeouts_only_lower_tcp_throughput() -> None:
    for p in (0.001, 0.01, 0.1, 0.3):
        assert model.tcp_padhye(p, 0.02) < model.tcp_mathis(p, 0.02)


def test_closed_loop_model_caps_at_the_servers_slots() -> None:
    think, service = 0.02, 0.001
    assert model.closed_loop_throughput(10, 1, think, service) == pytest.approx(1 / 0.021)
    assert model.closed_loop_throughput(10, 4, think, service) == pytest.approx(4 / 0.021)
    assert model.closed_loop_throughput(10, math.inf, think, service) == pytest.approx(10 / 0.021)
    # one client waits for nobody; ten on a sequential server wait for nine others
    assert model.closed_loop_latency(1, 1, think, service) == pytest.approx(service)
    assert model.closed_loop_latency(10, 1, think, service) == pytest.approx(10 * 0.021 - think)
