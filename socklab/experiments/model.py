"""The analytic models the measurements are set against.

Pure functions of the link and the protocol, so that the summary can say
how far each measured point is from what theory predicts. Loss is a
fraction (0.3 for 30%) and applies independently in each direction.
"""

from __future__ import annotations

import math

LECTURE_SENDS_S = (0.0, 0.1, 0.3, 0.7, 1.5)  # when the lecture client sends: timeout 0.1 s, doubled
LECTURE_GIVE_UP_S = 3.1  # the fifth timeout (1.6 s) runs out: next would exceed 2.0 s
TCP_MSS = 1448  # bytes of payload per segment on Ethernet, with TCP timestamps
SERVER_SLOTS = {  # clients a server serves at once (the pool has POOL_SIZE = 4 threads)
    "tcp-sequential": 1,
    "tcp-pool": 4,
    "tcp-threaded": math.inf,
    "tcp-poll": math.inf,
    "tcp-asyncio": math.inf,
}


def attempt_success(loss: float) -> float:
    """q = (1-p)^2: the question and its answer must both get through."""
    return (1.0 - loss) ** 2


def mean_attempts(loss: float, tries: int = len(LECTURE_SENDS_S)) -> float:
    """E[attempts] = sum_{k=1..tries} P(A >= k) = (1 - (1-q)^tries) / q."""
    q = attempt_success(loss)
    return float(tries) if q == 0 else (1.0 - (1.0 - q) ** tries) / q


def give_up_probability(loss: float, tries: int = len(LECTURE_SENDS_S)) -> float:
    """(1-q)^tries: every attempt lost one way or the other."""
    return (1.0 - attempt_success(loss)) ** tries


def latency_outcomes(loss: float, rtt_s: float = 0.0) -> list[tuple[float, float]]:
    """(latency, probability) of one request: answered at attempt k after
    send time t_k plus a round trip, or given up at 3.1 s."""
    q = attempt_success(loss)
    outcomes = [(sent + rtt_s, q * (1.0 - q) ** k) for k, sent in enumerate(LECTURE_SENDS_S)]
    return outcomes + [(LECTURE_GIVE_UP_S, give_up_probability(loss))]


def latency_quantile(loss: float, fraction: float, rtt_s: float = 0.0) -> float:
    """The smallest latency with at least ``fraction`` of requests at or below it."""
    total = 0.0
    for latency, probability in latency_outcomes(loss, rtt_s):
        total += probability
        if total >= fraction - 1e-12:
            return latency
    return LECTURE_GIVE_UP_S


def udp_goodput(loss: float, rtt_s: float, chunk: int) -> float:
    """Bytes per second answered by stop-and-wait with the lecture's backoff:
    a chunk answered with probability 1-(1-q)^5, per expected request time."""
    outcomes = latency_outcomes(loss, rtt_s)
    expected_time = sum(latency * probability for latency, probability in outcomes)
    return chunk * (1.0 - give_up_probability(loss)) / expected_time


def tcp_mathis(loss: float, rtt_s: float, mss: int = TCP_MSS) -> float:
    """Steady-state TCP bytes per second when every loss is repaired by fast
    retransmit (Mathis, Semke, Mahdavi and Ott 1997): MSS/RTT * sqrt(3/2p).
    Timeouts would only lower it: an optimistic bound."""
    return math.inf if loss <= 0 else mss / rtt_s * math.sqrt(1.5 / loss)


def tcp_padhye(loss: float, rtt_s: float, mss: int = TCP_MSS, acked_per_ack: int = 2) -> float:
    """Steady-state TCP Reno bytes per second with timeouts (Padhye, Firoiu,
    Towsley and Kurose 1998), the timeout being Linux's minimum of 200 ms
    plus a round trip. Reno without SACK: a pessimistic bound for a modern
    Linux TCP, which repairs several losses per round trip (SACK, RACK)."""
    if loss <= 0:
        return math.inf
    b, p, rto = acked_per_ack, loss, 0.2 + rtt_s
    seconds_per_segment = rtt_s * math.sqrt(2 * b * p / 3) + rto * min(1.0, 3 * math.sqrt(3 * b * p / 8)) * p * (
        1 + 32 * p**2
    )
    return mss / seconds_per_segment


def closed_loop_throughput(clients: int, slots: float, think_s: float, service_s: float) -> float:
    """Requests per second when ``clients`` each ask, wait and think, holding
    their connection, and the server serves ``slots`` connections at once."""
    return min(clients, slots) / (think_s + service_s)


def closed_loop_latency(clients: int, slots: float, think_s: float, service_s: float) -> float:
    """Mean seconds per request from the response time law, R = N/X - Z."""
    return clients / closed_loop_throughput(clients, slots, think_s, service_s) - think_s
