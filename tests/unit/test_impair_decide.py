"""The impairment decisions: reproducible, independent of interleaving, and with the configured statistics."""

from __future__ import annotations

import math
import statistics

import pytest

from impair.decide import Decision, FlowStreams, Impairment, TokenBucket, decide, uniform
from impair.schema import parse_rate

FLOW_A = (17, "10.213.0.1", 40000, "10.213.0.2", 1234)
FLOW_B = (6, "10.213.0.1", 40001, "10.213.0.2", 1234)
FLOW_ICMP = (1, "10.213.0.1", "10.213.0.2")
LOSSY = Impairment(loss=30, delay_ms=20, jitter_ms=5, duplicate=10, reorder=10, corrupt=5)


def decisions(imp: Impairment, seed: int, flows: list, direction: str = "out") -> list[Decision]:
    streams = FlowStreams(seed, direction)
    return [streams.next(imp, flow) for flow in flows]


def z_bounds(n: int, p: float, z: float = 3.29) -> tuple[float, float]:
    """Normal-approximation bounds of a binomial count (z=3.29: 99.9%)."""
    spread = z * math.sqrt(n * p * (1 - p))
    return n * p - spread, n * p + spread


def test_uniform_values_are_pinned_so_old_experiments_replay() -> None:
    assert uniform(1, "out", (17, "10.0.0.1", 5000, "10.0.0.2", 1234), 0, "loss") == pytest.approx(0.038610333698371566)
    assert uniform(1, "out", (17, "10.0.0.1", 5000, "10.0.0.2", 1234), 1, "loss") == pytest.approx(0.4510577973640454)
    assert uniform(2, "in", (1, "10.0.0.1", "10.0.0.2"), 7, "delay") == pytest.approx(0.6051915744615194)


def test_same_seed_gives_identical_decisions() -> None:
    flows = [FLOW_A, FLOW_B, FLOW_ICMP] * 500
    assert decisions(LOSSY, 7, flows) == decisions(LOSSY, 7, flows)


def test_another_seed_gives_other_decisions() -> None:
    flows = [FLOW_A] * 1000
    drops = [[d.drop for d in decisions(LOSSY, seed, flows)] for seed in (7, 8)]
    assert drops[0] != drops[1]


def test_directions_are_separate_streams() -> None:
    flows = [FLOW_A] * 1000
    assert decisions(LOSSY, 7, flows, "out") != decisions(LOSSY, 7, flows, "in")


@pytest.mark.parametrize(
    "imp",
    [LOSSY, Impairment(loss_model="gilbert-elliott", ge_p=5, ge_r=30, ge_k=1)],
    ids=["bernoulli", "gilbert-elliott"],
)
def test_other_flows_in_between_change_nothing(imp: Impairment) -> None:
    alone = decisions(imp, 3, [FLOW_A] * 2000)
    mixed = decisions(imp, 3, [flow for _ in range(2000) for flow in (FLOW_B, FLOW_A, FLOW_ICMP)])
    assert [d for i, d in enumerate(mixed) if i % 3 == 1] == alone


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_bernoulli_loss_rate_is_within_binomial_bounds(seed: int) -> None:
    n = 20_000
    lost = sum(d.drop for d in decisions(Impairment(loss=30), seed, [FLOW_A] * n))
    low, high = z_bounds(n, 0.30)
    assert low <= lost <= high


def test_gilbert_elliott_losses_come_in_bursts_of_about_one_over_r() -> None:
    imp = Impairment(loss_model="gilbert-elliott", ge_p=1, ge_r=25, ge_h=100, ge_k=0)
    drops = [d.drop for d in decisions(imp, 11, [FLOW_A] * 100_000)]
    bursts, run = [], 0
    for drop in drops:
        if drop:
            run += 1
        elif run:
            bursts.append(run)
            run = 0
    assert statistics.mean(bursts) == pytest.approx(1 / 0.25, rel=0.1)
    assert sum(drops) / len(drops) == pytest.approx(0.01 / (0.01 + 0.25), rel=0.15)


def test_gilbert_elliott_state_is_per_flow() -> None:
    imp = Impairment(loss_model="gilbert-elliott", ge_p=50, ge_r=1)
    streams = FlowStreams(5, "out")
    while not streams.next(imp, FLOW_A).bad:
        pass
    assert decide(imp, 5, "out", FLOW_B, 0) == streams.next(imp, FLOW_B)


def test_uniform_jitter_spreads_evenly_within_bounds() -> None:
    delays = [d.delay * 1000 for d in decisions(Impairment(delay_ms=50, jitter_ms=10), 4, [FLOW_A] * 10_000)]
    assert 40 <= min(delays) and max(delays) <= 60
    assert statistics.mean(delays) == pytest.approx(50, abs=0.3)
    assert statistics.pstdev(delays) == pytest.approx(10 / math.sqrt(3), rel=0.05)


def test_normal_jitter_stays_within_bounds_and_gathers_near_the_middle() -> None:
    imp = Impairment(delay_ms=50, jitter_ms=10, jitter_dist="normal")
    delays = [d.delay * 1000 for d in decisions(imp, 4, [FLOW_A] * 10_000)]
    assert 40 <= min(delays) and max(delays) <= 60
    assert statistics.mean(delays) == pytest.approx(50, abs=0.3)
    near = sum(abs(d - 50) <= 5 for d in delays) / len(delays)
    assert near == pytest.approx(0.715, abs=0.02)  # P(|Z| <= 1 | |Z| <= 2) for sigma = jitter / 2


def test_delay_is_never_negative() -> None:
    delays = [d.delay for d in decisions(Impairment(delay_ms=2, jitter_ms=10), 4, [FLOW_A] * 2000)]
    assert min(delays) == 0.0
    assert max(delays) > 0.0


def test_reordered_packets_skip_the_delay() -> None:
    result = decisions(Impairment(delay_ms=10, reorder=25), 9, [FLOW_A] * 20_000)
    skipped = [d for d in result if d.reordered]
    assert all(d.delay == 0.0 for d in skipped)
    assert all(d.delay == pytest.approx(0.010) for d in result if not d.reordered)
    low, high = z_bounds(len(result), 0.25)
    assert low <= len(skipped) <= high


def test_reorder_without_delay_reorders_nothing() -> None:
    assert not any(d.reordered for d in decisions(Impairment(reorder=100), 9, [FLOW_A] * 100))


def test_duplicate_and_corrupt_rates() -> None:
    result = decisions(Impairment(duplicate=10, corrupt=5), 12, [FLOW_A] * 20_000)
    low, high = z_bounds(20_000, 0.10)
    assert low <= sum(d.duplicate for d in result) <= high
    corrupted = [d.corrupt_at for d in result if d.corrupt_at is not None]
    low, high = z_bounds(20_000, 0.05)
    assert low <= len(corrupted) <= high
    assert all(0.0 <= at < 1.0 for at in corrupted)


def test_lost_and_duplicated_goes_through_once_as_in_netem() -> None:
    decision = decisions(Impairment(loss=100, duplicate=100), 1, [FLOW_A])[0]
    assert not decision.drop and not decision.duplicate


def test_a_clean_link_changes_nothing() -> None:
    assert set(decisions(Impairment(), 1, [FLOW_A, FLOW_B, FLOW_ICMP] * 10)) == {Decision()}


def test_reseed_restarts_every_stream() -> None:
    streams = FlowStreams(1, "out")
    first = [streams.next(LOSSY, FLOW_A) for _ in range(100)]
    streams.reseed(1)
    assert [streams.next(LOSSY, FLOW_A) for _ in range(100)] == first


def test_token_bucket_spaces_back_to_back_packets() -> None:
    bucket = TokenBucket(parse_rate("1mbit"), limit=100)
    assert [bucket.departure(0.0, 1250) for _ in range(3)] == pytest.approx([0.01, 0.02, 0.03])
    assert bucket.departure(1.0, 125) == pytest.approx(1.001)  # an idle link sends at once


def test_token_bucket_drops_beyond_its_limit_then_recovers() -> None:
    bucket = TokenBucket(parse_rate("1mbit"), limit=3)
    assert all(bucket.departure(0.0, 1250) is not None for _ in range(3))
    assert bucket.departure(0.0, 1250) is None
    assert bucket.departure(0.015, 1250) == pytest.approx(0.04)


@pytest.mark.parametrize(
    "text, bits",
    [
        ("1mbit", 1e6),
        ("500kbit", 5e5),
        ("10mbps", 8e7),
        ("1.5gbit", 1.5e9),
        ("100bit", 100),
        ("100", 100),
        ("2Mbit", 2e6),
        ("1kibit", 1024),
        ("1kbps", 8000),
        ("64 kbit", 64e3),
    ],
)
def test_rates_are_read_as_tc_reads_them(text: str, bits: float) -> None:
    assert parse_rate(text) == pytest.approx(bits)


@pytest.mark.parametrize("text", ["fast", "10mb", "0bit", "-1mbit", "", "1e6bit"])
def test_bad_rates_are_refused(text: str) -> None:
    with pytest.raises(ValueError, match="rate"):
        parse_rate(text)


@pytest.mark.parametrize(
    "params, message",
    [
        ({"los": 1}, "unknown impairment parameter 'los'"),
        ({"loss": 101}, "loss must be a percentage in 0..100"),
        ({"duplicate": -1}, "duplicate must be a percentage"),
        ({"delay_ms": -5}, "delay_ms must not be negative"),
        ({"loss": "10%"}, "loss must be a number"),
        ({"loss": True}, "loss must be a number"),
        ({"jitter_ms": float("nan")}, "jitter_ms must be a number"),
        ({"rate": "fast"}, "rate 'fast' is not a rate"),
        ({"rate": 1000}, "rate must be a string"),
        ({"limit": 0}, "limit must be a whole number"),
        ({"loss_model": "markov"}, "loss_model must be one of bernoulli, gilbert-elliott"),
        ({"jitter_dist": "pareto"}, "jitter_dist must be one of uniform, normal"),
        ({"loss_model": "gilbert-elliott", "loss": 5}, "gilbert-elliott uses ge_p"),
        ([1, 2], "impairment must be an object"),
    ],
)
def test_parameter_errors_say_what_is_wrong(params: dict, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        Impairment.from_dict(params)


def test_parameters_round_trip_and_update_in_part() -> None:
    imp = Impairment.from_dict({"loss": 10, "delay_ms": 50, "rate": "1mbit"})
    assert Impairment.from_dict(imp.to_dict()) == imp
    changed = imp.updated({"loss": 20, "rate": None})
    assert (changed.loss, changed.delay_ms, changed.rate_bps) == (20.0, 50.0, None)
    with pytest.raises(ValueError):
        imp.updated({"loss": 200})
