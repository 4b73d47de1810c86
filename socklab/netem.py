"""Building ``tc`` command lines for the netem backend, and reading its counters.

Pure functions from an :class:`~impair.schema.Impairment` to argv lists, so
that the commands can be unit-tested on a kernel without netem. How each
direction is shaped:

* on the egress of the interface it leaves by: an htb root whose default
  class passes everything unshaped, and a netem class that u32 filters fill
  with the IPv4 and IPv6 packets to the peer (a node-to-node link), or with
  every IP packet (a node-to-network link); ARP and neighbour discovery are
  never impaired, as on the userspace backend, which sees IP only;
* the reverse of a node-to-node link is shaped the same way, on the peer's
  egress toward the node, from a helper in the peer's namespace;
* the reverse of a node-to-network link (what the node receives) is
  redirected from the node's ingress through an ifb device whose root is
  the netem qdisc.

Every parameter of the shared schema maps: loss (``random``, or ``gemodel``
for Gilbert-Elliott), delay with uniform jitter, duplicate, reorder (which
needs a delay, on both backends), corrupt, rate (in bits per second, from
the schema's one parser) and limit. What netem cannot do the same way is
refused by :func:`unsupported`. Two differences remain, both documented in
docs/links.md: netem flips a corrupting bit anywhere in the frame (a bit of
the source MAC goes unnoticed, so a few corrupted frames arrive), and its
random numbers come from one stream per qdisc, so decisions are not
reproducible; that is why a seeded link never runs on netem.
"""

from __future__ import annotations

import ipaddress
import json
import re
from typing import Optional

from impair.schema import Impairment

Argv = list[str]
UNSHAPED = "10gbit"
IFB = "ifb0"
NETEM_CLASS = ["parent", "1:2", "handle", "20:"]
COUNTERS = ("sent", "dropped", "overlimits", "requeues", "backlog", "qlen")


def unsupported(imp: Impairment) -> Optional[str]:
    """Why netem cannot give these parameters the schema's meaning, or None when it can."""
    if imp.jitter_ms and imp.jitter_dist != "uniform":
        return "netem's normal jitter is not cut at ±2 sigma as the schema's is: use uniform jitter"
    if imp.rate_bps is not None and imp.rate_bps < 8:
        return f"rate {imp.rate} is below netem's resolution of one byte per second"
    if imp.reorder and not imp.delay_ms:
        return "netem reorders only delayed packets: give the link a delay too"
    return None


def netem_args(imp: Impairment) -> Argv:
    """The ``netem ...`` part of a qdisc command for one direction; ValueError for what netem cannot do."""
    problem = unsupported(imp)
    if problem:
        raise ValueError(problem)
    args = ["netem", "limit", str(imp.limit)]
    if imp.delay_ms or imp.jitter_ms:
        args += ["delay", f"{imp.delay_ms:g}ms"]
        if imp.jitter_ms:
            args += [f"{imp.jitter_ms:g}ms"]  # no distribution table: uniform in delay ± jitter
    if imp.loss_model == "gilbert-elliott":
        # tc's third and fourth gemodel figures are the loss rates in the bad
        # and good states ("1-h" and "1-k" in its manual): the schema's h and k.
        args += ["loss", "gemodel", f"{imp.ge_p:g}%", f"{imp.ge_r:g}%", f"{imp.ge_h:g}%", f"{imp.ge_k:g}%"]
    elif imp.loss:
        args += ["loss", "random", f"{imp.loss:g}%"]
    # A change (tc qdisc replace) keeps the kernel's reorder, corrupt and rate
    # unless it names them: each is always written, 0 to turn it off.
    args += ["duplicate", f"{imp.duplicate:g}%", "reorder", f"{imp.reorder:g}%", "corrupt", f"{imp.corrupt:g}%"]
    args += ["rate", f"{imp.rate_bps or 0:.0f}bit"]
    return args


def _filters(dev: str, peers: list[str]) -> list[Argv]:
    """u32 filters steering IP packets into the netem class: to these peers, or all of them."""
    base = ["tc", "filter", "replace", "dev", dev, "parent", "1:"]
    if not peers:
        return [
            [*base, "protocol", protocol, "prio", prio, "u32", "match", "u32", "0", "0", "flowid", "1:2"]
            for protocol, prio in (("ip", "1"), ("ipv6", "2"))
        ]
    filters = []
    for peer in peers:
        address = ipaddress.ip_address(peer)
        protocol, match, prefix = ("ip", "ip", 32) if address.version == 4 else ("ipv6", "ip6", 128)
        filters.append(
            [
                *base,
                "protocol",
                protocol,
                "prio",
                str(address.version // 2),
                "u32",
                "match",
                match,
                "dst",
                f"{peer}/{prefix}",
                "flowid",
                "1:2",
            ]
        )
    return filters


def egress(dev: str, peers: list[str], imp: Impairment) -> list[Argv]:
    """Shape the IP packets ``dev`` sends to ``peers`` (all of them when ``peers`` is empty)."""
    return [
        ["tc", "qdisc", "replace", "dev", dev, "root", "handle", "1:", "htb", "default", "1"],
        ["tc", "class", "replace", "dev", dev, "parent", "1:", "classid", "1:1", "htb", "rate", UNSHAPED],
        ["tc", "class", "replace", "dev", dev, "parent", "1:", "classid", "1:2", "htb", "rate", UNSHAPED],
        ["tc", "qdisc", "replace", "dev", dev, *NETEM_CLASS, *netem_args(imp)],
        *_filters(dev, peers),
    ]


def ingress_via_ifb(dev: str, imp: Impairment) -> list[Argv]:
    """Shape the IP packets ``dev`` receives, by redirecting them through an ifb device."""
    redirect = ["action", "mirred", "egress", "redirect", "dev", IFB]
    return [
        ["ip", "link", "add", IFB, "type", "ifb"],
        ["ip", "link", "set", IFB, "up"],
        ["tc", "qdisc", "replace", "dev", IFB, "root", "handle", "1:", *netem_args(imp)],
        ["tc", "qdisc", "replace", "dev", dev, "handle", "ffff:", "ingress"],
        *[
            [
                "tc",
                "filter",
                "replace",
                "dev",
                dev,
                "parent",
                "ffff:",
                "protocol",
                protocol,
                "prio",
                prio,
                "u32",
                "match",
                "u32",
                "0",
                "0",
                *redirect,
            ]
            for protocol, prio in (("ip", "1"), ("ipv6", "2"))
        ],
    ]


def change(dev: str, via_ifb: bool, imp: Impairment) -> Argv:
    """Change a running netem qdisc in place (``link set`` while traffic flows)."""
    where = ["dev", IFB, "root", "handle", "1:"] if via_ifb else ["dev", dev, *NETEM_CLASS]
    return ["tc", "qdisc", "change", *where, *netem_args(imp)]


def teardown(dev: str, via_ifb: bool) -> list[Argv]:
    """Remove what :func:`egress` or :func:`ingress_via_ifb` installed (the link moves to another backend)."""
    if via_ifb:
        return [["tc", "qdisc", "del", "dev", dev, "handle", "ffff:", "ingress"], ["ip", "link", "del", IFB]]
    return [["tc", "qdisc", "del", "dev", dev, "root"]]


def stats_command(dev: str, via_ifb: bool) -> Argv:
    return ["tc", "-s", "-j", "qdisc", "show", "dev", IFB if via_ifb else dev]


def counters(tc_json: str) -> dict[str, int]:
    """The netem qdisc's counters from ``tc -s -j qdisc show``: packets sent, dropped (losses and
    overflows), overlimits, requeues, backlog (bytes waiting) and qlen (packets waiting)."""
    names = {
        "sent": "packets",
        "dropped": "drops",
        "overlimits": "overlimits",
        "requeues": "requeues",
        "backlog": "backlog",
        "qlen": "qlen",
    }
    for qdisc in json.loads(tc_json or "[]"):
        if qdisc.get("kind") == "netem":
            return {ours: _count(qdisc.get(theirs, 0)) for ours, theirs in names.items()}
    raise ValueError("no netem qdisc in tc's answer")


def _count(value: object) -> int:
    """tc gives numbers, or sizes such as "0b" in some versions."""
    digits = re.match(r"\d+", str(value))
    return int(digits.group()) if digits else 0


PROBE = ["tc", "qdisc", "add", "dev", "lo", "root", "handle", "1:", "netem", "delay", "0ms"]
