"""The netem twins of the link tests: each parameter seen in real packets on the netem backend.

Marked ``netem``: they skip on a kernel without sch_netem (this host) and run
in the emulated Debian 12/13 guests (``pytest -m netem``). The lab,
netem-links.yaml, has two unseeded netem links from ``client``: ``wan`` to
the node ``server`` (its reverse direction is shaped on the server's
egress) and ``edge`` to the network ``far`` (its reverse direction goes
through an ifb device on the client's ingress). netem draws from an
unseeded generator, so the statistical checks hold with the stated
probability (99% binomial intervals), not always.
"""

from __future__ import annotations

import math
import re
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from socklab import probes
from socklab.errors import BadInput
from socklab.impairment import IMPAIRMENT_KEYS, link_set_request
from socklab.labfile import load_lab
from socklab.links import netem_available, pick
from socklab.web.feeds import feed_for

LAB = Path(__file__).with_name("netem-links.yaml")
SHEETS = Path(__file__).resolve().parents[2] / "labs"
LINK_SET_OPTIONS = {*IMPAIRMENT_KEYS, "direction", "seed"}
SHEET_LINK_SET = re.compile(r"socklab link set \S+ \S+ ((?:--[\w-]+ [^\s`]+ ?)+)|`(--[\w-]+ [^`]+)`")
pytestmark = [pytest.mark.netem, pytest.mark.lab(str(LAB))]

CLEAN = dict(
    loss=0.0, delay_ms=0.0, jitter_ms=0.0, duplicate=0.0, reorder=0.0, corrupt=0.0, rate=None, loss_model="bernoulli"
)
DELAY_TOLERANCE_MS = 10.0
"""How far above 100 ms the added round trip may be: netem never sends early, and the emulated
guests' timers (TCG, two shared cores) add a few milliseconds of lateness to each direction."""


@pytest.fixture(scope="module")
def pace(lab) -> float:
    """Seconds between datagrams at which this machine answers them all on a clean link.

    The loss checks send at that pace: faster, an emulated guest's sockets
    overflow and their drops would be counted as the link's.
    """
    configure(lab)
    interval = probes.steady_interval(lab)
    print(f"netem twins: one datagram every {interval * 1000:g} ms, the pace this machine answers in full")
    return interval


def configure(lab, link: str = "wan", direction: str | None = "forward", **params: object) -> None:
    """The link clean both ways, then ``params`` on one direction (None: both)."""
    control = lab.link(link)
    control.set(**CLEAN)
    if params:
        control.set(direction=direction, **params)


def crossing(lab, sender: str, receiver: str, **flood: object) -> probes.Crossing:
    """A flood from client to ``flood['host']`` (an address: no DNS datagram is
    counted), its datagrams from ``sender`` to ``receiver`` counted in their kernels."""
    with probes.Crossing(lab, sender, receiver) as counted:
        probes.flood(lab, **flood)  # type: ignore[arg-type]
    return counted


def binomial_interval(n: int, p: float, z: float = 2.576) -> tuple[float, float]:
    spread = z * math.sqrt(p * (1 - p) / n)
    return p - spread, p + spread


def test_the_links_run_on_netem_and_auto_picks_by_seed(lab) -> None:
    info = lab.link("wan").show()
    assert info["backend"] == "netem" and info["reason"] == "the lab file asks for backend netem", info
    counters = info["directions"]["client->server"]["counters"]
    assert set(counters) >= {"sent", "dropped", "overlimits", "requeues", "backlog"}, counters
    edge = lab.link("edge").show()
    assert edge["backend"] == "netem", edge
    assert edge["reason"] == "auto: the kernel has sch_netem and the link has no seed", edge
    seeded = pick(load_lab("udp-loss").links["wan"], lambda: netem_available(lab.backend))
    assert seeded.backend == "userspace" and "seed" in seeded.reason
    with pytest.raises(BadInput, match="cannot replay a seed"):
        lab.link("wan").set(seed=1)


@pytest.mark.parametrize("percent", [1, 10, 30, 50])
def test_loss_inside_the_binomial_interval(lab, pace: float, percent: int) -> None:
    """Counted in the client's and the server's kernels: what left one and did not reach the other."""
    configure(lab, loss=float(percent))
    counted = crossing(lab, "client", "server", host=lab.address("server"), count=1000, interval=pace, wait=2.0)
    n, lost = counted.sent, counted.lost
    low, high = binomial_interval(n, percent / 100)
    assert n >= 1000 and low <= lost / n <= high, (
        f"{percent}% loss: {lost} of {n} sent did not arrive, 99% interval {low:.4f}..{high:.4f}"
    )


def fastest_round_trips(lab, link: str, direction: str | None, host: str, delay_ms: float, rounds: int = 2) -> tuple:
    """The fastest round trip on the clean link and with ``delay_ms`` added, over alternating rounds.

    A loaded, emulated guest can stall for a whole flood, which only makes
    round trips longer: the fastest over a few rounds of each tends to what
    the link does, so a link that delays too little or too much still fails.
    """
    clean, delayed = [], []
    for _ in range(rounds):
        configure(lab, link=link)
        clean.append(probes.flood(lab, host=host, count=300, interval=0.005)["rtt_ms"])
        configure(lab, link=link, direction=direction, delay_ms=delay_ms)
        delayed.append(probes.flood(lab, host=host, count=300, interval=0.005)["rtt_ms"])
    print(f"netem delay {delay_ms:g} ms on {link} {direction or 'both ways'}: clean {clean}, delayed {delayed}")
    return min(r["min"] for r in clean), min(r["min"] for r in delayed)


def test_fifty_ms_each_way_adds_a_hundred_to_the_round_trip(lab) -> None:
    """Judged on the fastest round trip: netem never sends early, and the median
    of an emulated guest carries its scheduling noise (shown, not judged)."""
    clean, delayed = fastest_round_trips(lab, "wan", None, lab.address("server"), 50.0)
    added = delayed - clean
    print(f"netem 50 ms each way: the fastest round trip {clean:.2f} -> {delayed:.2f} ms, {added:+.2f} ms")
    assert 99.0 <= added <= 100.0 + DELAY_TOLERANCE_MS, f"fastest round trip {clean} -> {delayed} ms: +{added:.2f} ms"


def test_jitter_spreads_the_delay(lab) -> None:
    configure(lab)
    base = probes.flood(lab, count=200, interval=0.005)["rtt_ms"]["min"]
    configure(lab, delay_ms=50.0, jitter_ms=10.0)
    rtt = probes.flood(lab, count=400, interval=0.005)["rtt_ms"]
    assert rtt["min"] >= base + 39.0, f"50±10 ms cannot beat 40 ms: {rtt}, clean minimum {base}"
    assert rtt["p90"] - rtt["p10"] >= 10.0, f"±10 ms of uniform jitter should spread the round trips: {rtt}"


def test_duplicate_every_datagram(lab, pace: float) -> None:
    """Two of each reach the server's kernel; the client sees answers come twice."""
    configure(lab, duplicate=100.0)
    with probes.Crossing(lab, "client", "server") as counted:
        result = probes.flood(lab, host=lab.address("server"), count=200, interval=2 * pace, wait=2.0)
    assert counted.sent == 200 and counted.arrived == 400, f"{counted.arrived} arrived of 200 sent, twice each"
    assert result["duplicates"] > 0, result


def test_reorder_skips_the_delay(lab) -> None:
    configure(lab)
    base = probes.flood(lab, count=200, interval=0.005)["rtt_ms"]["min"]
    configure(lab, delay_ms=20.0, reorder=25.0)
    result = probes.flood(lab, count=400, interval=0.002)
    assert result["reordered"] > 20, result
    assert result["rtt_ms"]["min"] < base + 10.0 and result["rtt_ms"]["max"] >= 19.0, (result["rtt_ms"], base)


def test_corrupted_datagrams_are_discarded(lab) -> None:
    """netem flips a bit anywhere in the frame: one in the source MAC goes unnoticed, so a few arrive."""
    configure(lab, corrupt=100.0)
    result = probes.flood(lab, count=200)
    print(f"netem corrupt 100%: {result['answered']} of 200 answered")
    assert result["answered"] <= 30, result


def test_rate_limit_spreads_a_burst(lab) -> None:
    configure(lab, rate="1mbit")
    result = probes.flood(lab, count=100, interval=0.0, size=1000, wait=3.0)
    assert result["answered"] == 100, result
    assert result["rtt_ms"]["max"] >= 650.0, f"100 x 1000 B at 1 Mbit/s take about 0.8 s: {result['rtt_ms']}"


def test_a_parameter_set_back_to_zero_is_off(lab, pace: float) -> None:
    """tc qdisc replace keeps netem's corrupt, reorder and rate unless it names
    them: set back to 0 (or no rate), each must be off in the packets."""
    configure(lab, corrupt=100.0)
    configure(lab)
    result = probes.flood(lab, count=200, interval=2 * pace, wait=2.0)
    assert result["answered"] == 200, f"corrupt 100% stayed on after the link was set clean: {result}"
    configure(lab, delay_ms=20.0, reorder=25.0)
    lab.link("wan").set(direction="forward", reorder=0.0)
    result = probes.flood(lab, count=200, interval=max(pace, 0.002), wait=2.0)
    assert result["reordered"] == 0, f"reorder 25% stayed on after reorder 0: {result}"
    clean = probes.flood(lab, count=100, interval=0.0, size=1000, wait=3.0)["rtt_ms"]["max"]
    configure(lab, rate="1mbit")
    configure(lab)
    burst = probes.flood(lab, count=100, interval=0.0, size=1000, wait=3.0)
    print(
        f"100 x 1000 B: the last answered after {clean} ms clean, {burst['rtt_ms']['max']} ms once 1 Mbit/s was removed"
    )
    # 1 Mbit/s would add about 830 ms to the last datagram: judged against the
    # clean burst of this run, as an emulated guest takes hundreds of ms itself.
    assert burst["answered"] == 100 and burst["rtt_ms"]["max"] < clean + 400.0, (
        f"100 x 1000 B took as long as 1 Mbit/s would after the rate was removed: {burst}, clean {clean} ms"
    )


def test_gilbert_elliott_losses_come_in_bursts(lab, pace: float) -> None:
    configure(lab, loss_model="gilbert-elliott", ge_p=5.0, ge_r=25.0, ge_h=100.0, ge_k=0.0)
    lost = probes.flood(lab, count=2000, interval=pace, wait=2.0)["lost"]
    bursts = 1 + sum(1 for a, b in zip(lost, lost[1:]) if b != a + 1)
    assert len(lost) > 50 and len(lost) / bursts > 2.5, (
        f"{len(lost)} lost in {bursts} bursts: the mean should be near 1/r = 4"
    )


def test_set_changes_only_what_it_names_and_counts(lab, pace: float) -> None:
    configure(lab, loss=30.0)
    lab.link("wan").set(direction="forward", delay_ms=10.0)
    directions = lab.link("wan").show()["directions"]
    forward, reverse = directions["client->server"], directions["server->client"]
    assert (forward["params"]["loss"], forward["params"]["delay_ms"]) == (30.0, 10.0), forward
    assert (reverse["params"]["loss"], reverse["params"]["delay_ms"]) == (0.0, 0.0), reverse
    before = forward["counters"]["dropped"]
    lost = crossing(lab, "client", "server", host=lab.address("server"), count=500, interval=pace, wait=2.0).lost
    after = lab.link("wan").show()["directions"]["client->server"]["counters"]
    assert after["dropped"] - before == lost, f"netem counted {after['dropped'] - before} drops, the kernels {lost}"


def test_set_while_traffic_flows(lab, pace: float) -> None:
    """The change lands while a flow of numbered datagrams runs, 20 s plus three
    times what a change takes here (tens of seconds in a loaded emulated
    guest): netem drops none that it passed before the change was asked for,
    half of those after its first drop, and it counts the drops the kernels
    count. Where it landed is read from the sequence numbers, not from
    counters read after ``link set`` returns: by then it has dropped for a while."""
    configure(lab)
    began = time.monotonic()
    lab.link("wan").set(direction="forward", loss=0.0)
    change = time.monotonic() - began
    interval = max(pace, 0.002)
    count = int((20 + 3 * change) / interval)

    def forward() -> dict:
        return lab.link("wan").show()["directions"]["client->server"]["counters"]

    start = forward()
    flow: dict = {}
    with probes.Crossing(lab, "client", "server") as counted:
        options = {"host": lab.address("server"), "count": count, "interval": interval, "source_port": 40001}
        sender = threading.Thread(target=lambda: flow.update(probes.flood(lab, wait=2.0, **options)))
        sender.start()
        before = forward()
        while before["sent"] < start["sent"] + 300:
            time.sleep(0.1)
            before = forward()
        lab.link("wan").set(direction="forward", loss=50.0)
        sender.join()
    end = forward()
    lost = flow["lost"]
    passed = before["sent"] - start["sent"]  # counted by netem before the change was asked for
    assert before["dropped"] == start["dropped"] and lost, f"{start} -> {before}, lost {lost[:10]}"
    assert lost[0] >= passed, f"datagram {lost[0]} was lost, but netem had passed {passed} before the change"
    decided = flow["sent"] - lost[0] - 1  # after the first drop, each is dropped on its own draw
    assert decided >= 1000, f"the change landed as the flow ended: {decided} datagrams after its first drop"
    low, high = binomial_interval(decided, 0.5)
    dropped = len(lost) - 1
    print(f"netem link set while traffic flows: first drop {lost[0]} of {flow['sent']}, then {dropped} of {decided}")
    assert low <= dropped / decided <= high, f"after the change: {dropped} of {decided} dropped"
    assert counted.lost == len(lost) == end["dropped"] - start["dropped"], (
        f"netem counted {end['dropped'] - start['dropped']} drops, the kernels {counted.lost}, the flow {len(lost)}"
    )


def test_a_node_to_network_link_shapes_both_directions(lab, pace: float) -> None:
    base, delayed = fastest_round_trips(lab, "edge", "reverse", "far-server", 50.0)
    assert 49.0 <= delayed - base <= 50.0 + DELAY_TOLERANCE_MS, (
        f"50 ms on the way in (ifb): fastest round trip {base} -> {delayed} ms"
    )
    far = lab.address("far-server")
    for direction, sender, receiver in (("reverse", "far-server", "client"), ("forward", "client", "far-server")):
        configure(lab, link="edge", direction=direction, loss=30.0)
        sent = lost = 0
        for _ in range(3):  # reverse, the datagrams are the echoes: a server behind its flood sends fewer
            counted = crossing(lab, sender, receiver, host=far, count=1000, interval=pace, wait=2.0)
            sent, lost = sent + counted.sent, lost + counted.lost
            if sent >= 700:
                break
        low, high = binomial_interval(sent, 0.3)
        assert sent >= 700 and low <= lost / sent <= high, (
            f"30% loss {direction} ({sender} to {receiver}): {lost} of {sent} did not arrive"
        )


def test_the_web_view_shows_each_direction_its_own_figures(lab, pace: float) -> None:
    """The live view's feed gives each direction what ``link show`` gives: the
    client's namespace holds three netem qdiscs (wan forward, edge forward,
    edge reverse on the ifb), and each direction's figures are its own."""
    configure(lab, loss=20.0)
    configure(lab, link="edge", direction="reverse", delay_ms=5.0)
    crossing(lab, "client", "server", host=lab.address("server"), count=200, interval=pace, wait=2.0)
    viewed = {}
    for name in ("wan", "edge"):
        feed = feed_for(lab, lab.lab.links[name])
        try:
            viewed[name] = feed.poll(0)[0]["directions"]
        finally:
            feed.close()
        expected = lab.link(name).show()["directions"]
        assert viewed[name] == expected, f"{name}: the view showed {viewed[name]}, link show {expected}"
    wan, edge = viewed["wan"], viewed["edge"]
    assert wan["client->server"]["counters"]["dropped"] > 0 == wan["server->client"]["counters"]["dropped"], wan
    assert (wan["client->server"]["params"]["loss"], edge["far->client"]["params"]["delay_ms"]) == (20.0, 5.0), viewed


def test_a_seed_moves_an_auto_link_to_userspace_and_replays(lab) -> None:
    """It leaves edge on the userspace backend."""
    configure(lab, link="edge", loss=30.0)
    answer = lab.link("edge").set(seed=5)
    assert answer["moved"] == "netem -> userspace" and answer["backend"] == "userspace", answer
    assert answer["directions"]["client->far"]["params"]["loss"] == 30.0, answer
    assert answer["directions"]["far->client"]["params"]["loss"] == 0.0, answer
    assert lab.link("edge").show()["reason"].startswith("link set --seed moved it from netem")
    runs = []
    for _ in range(2):
        lab.link("edge").set(seed=5)
        # 50 a second, so that an emulated guest's server keeps up: an overflow would lose by timing, not seed
        runs.append(probes.flood(lab, host="far-server", count=200, interval=0.02, source_port=40002)["lost"])
    assert runs[0] == runs[1] and runs[0], "the same seed must lose the same datagrams"


def sheet_link_options() -> list[tuple[str, list[str]]]:
    """The options of every ``socklab link set`` in the sheets, in their order: a
    command written out, or a fragment such as `--loss 0% --delay 50ms` (the same
    command with those options)."""
    found = []
    for sheet in sorted(SHEETS.glob("*.md")):
        for match in SHEET_LINK_SET.finditer(sheet.read_text()):
            options = (match.group(1) or match.group(2)).split()
            if {option[2:] for option in options[::2]} <= LINK_SET_OPTIONS:
                found.append((sheet.name, options))
    return found


def test_the_sheets_link_commands_run_on_a_netem_link(lab) -> None:
    """Each ``link set`` of the sheets, in order, through the CLI, on wan, which
    netem serves: each changes what it names; a seed is refused, with the
    reason, as the lab file asks for netem (on the sheets' own links, backend
    auto, a seed moves the link to the userspace backend: the twin above)."""
    configure(lab)
    commands = sheet_link_options()
    assert len(commands) >= 4, f"the sheets' link commands were not found: {commands}"
    names = {"forward": "client->server", "reverse": "server->client"}
    for sheet, options in commands:
        argv = ["link", "set", lab.lab.name, "wan", "--instance", lab.instance, *options]
        done = subprocess.run([sys.executable, "-m", "socklab.cli", *argv], capture_output=True, text=True, timeout=300)
        said = f"{sheet}: socklab {' '.join(argv)}: exit {done.returncode}: {done.stderr or done.stdout}"
        print(said.strip())
        pairs = dict(zip(options[::2], options[1::2]))
        direction, seed = pairs.pop("--direction", None), pairs.pop("--seed", None)
        if seed is not None:
            assert done.returncode == 2 and "cannot replay a seed" in done.stderr, said
            continue
        assert done.returncode == 0, said
        changes, _ = link_set_request({key[2:]: value for key, value in pairs.items()}, None)
        shown = lab.link("wan").show()
        assert shown["backend"] == "netem", shown
        for name in [names[direction]] if direction else list(names.values()):
            params = shown["directions"][name]["params"]
            assert all(params[key] == value for key, value in changes.items()), (said, name, params)
