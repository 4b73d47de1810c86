"""Building ``tc`` command lines for the netem backend.

Pure functions from an :class:`~socklab.model.Impairment` to argv lists, so
that the commands can be unit-tested on a kernel without netem. Each
direction is shaped on the egress of the interface it leaves by; traffic to
one peer is steered into the netem class by a u32 filter, everything else
passes through an unshaped class.
"""

from __future__ import annotations

import ipaddress
from typing import Optional

from .errors import BadInput
from .model import Impairment

Argv = list[str]
UNSHAPED = "10gbit"


def netem_args(imp: Impairment) -> Argv:
    """The ``netem ...`` part of a qdisc command for one direction."""
    args = ["netem"]
    if imp.delay_ms or imp.jitter_ms:
        args += ["delay", f"{imp.delay_ms:g}ms"]
        if imp.jitter_ms:
            args += [f"{imp.jitter_ms:g}ms", "distribution", "normal"]
    if imp.loss_model == "gilbert-elliott":
        # tc's third and fourth gemodel figures are the loss rates in the
        # bad and good states ("1-h" and "1-k" in its manual).
        args += ["loss", "gemodel", f"{imp.ge_p:g}%", f"{imp.ge_r:g}%", f"{imp.ge_h:g}%", f"{imp.ge_k:g}%"]
    elif imp.loss:
        args += ["loss", "random", f"{imp.loss:g}%"]
    if imp.duplicate:
        args += ["duplicate", f"{imp.duplicate:g}%"]
    if imp.reorder:
        if not imp.delay_ms:
            raise BadInput("netem reorders only delayed packets: give the link a delay too")
        args += ["reorder", f"{imp.reorder:g}%"]
    if imp.corrupt:
        args += ["corrupt", f"{imp.corrupt:g}%"]
    if imp.rate:
        args += ["rate", imp.rate]
    return args


def egress_to_peer(dev: str, peer: Optional[str], imp: Impairment) -> list[Argv]:
    """Shape what ``dev`` sends to ``peer`` (or everything, when peer is None)."""
    if peer is None:
        return [["tc", "qdisc", "replace", "dev", dev, "root", "handle", "1:", *netem_args(imp)]]
    address = ipaddress.ip_address(peer)
    protocol, match = ("ip", "ip") if address.version == 4 else ("ipv6", "ip6")
    prefix = 32 if address.version == 4 else 128
    return [
        ["tc", "qdisc", "replace", "dev", dev, "root", "handle", "1:", "htb", "default", "1"],
        ["tc", "class", "replace", "dev", dev, "parent", "1:", "classid", "1:1", "htb", "rate", UNSHAPED],
        ["tc", "class", "replace", "dev", dev, "parent", "1:", "classid", "1:2", "htb", "rate", UNSHAPED],
        ["tc", "qdisc", "replace", "dev", dev, "parent", "1:2", "handle", "20:", *netem_args(imp)],
        ["tc", "filter", "replace", "dev", dev, "parent", "1:", "protocol", protocol, "prio", str(address.version), "u32", "match", match, "dst", f"{peer}/{prefix}", "flowid", "1:2"],
    ]


def ingress_via_ifb(dev: str, ifb: str, imp: Impairment) -> list[Argv]:
    """Shape what ``dev`` receives, by redirecting it through an ifb device."""
    return [
        ["ip", "link", "add", ifb, "type", "ifb"],
        ["ip", "link", "set", ifb, "up"],
        ["tc", "qdisc", "replace", "dev", dev, "handle", "ffff:", "ingress"],
        ["tc", "filter", "replace", "dev", dev, "parent", "ffff:", "protocol", "all", "u32", "match", "u32", "0", "0", "action", "mirred", "egress", "redirect", "dev", ifb],
        ["tc", "qdisc", "replace", "dev", ifb, "root", "handle", "1:", *netem_args(imp)],
    ]


def change(dev: str, peer: Optional[str], imp: Impairment) -> Argv:
    """Change a running netem qdisc in place (``link set`` while traffic flows)."""
    parent = ["root", "handle", "1:"] if peer is None else ["parent", "1:2", "handle", "20:"]
    return ["tc", "qdisc", "change", "dev", dev, *parent, *netem_args(imp)]


PROBE = ["tc", "qdisc", "add", "dev", "lo", "root", "handle", "1:", "netem", "delay", "0ms"]
