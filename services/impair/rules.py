"""The iptables rules that send one link's packets to the daemon's queues.

Each direction gets a chain of the link's own, jumped to from OUTPUT ("out")
or INPUT ("in"), so that two links in one namespace never touch each other's
rules and removing a link is removing its chains. There is no
``--queue-bypass``: if the daemon dies the link stops carrying traffic,
rather than silently becoming a perfect one.
"""

from __future__ import annotations

import hashlib
import subprocess
from dataclasses import dataclass
from typing import Optional

MARK = 0x5C
"""Packets the daemon sends itself (duplicates) carry this mark and are not queued again."""

_MAX_CHAIN = 28  # XT_EXTENSION_MAXNAMELEN less its terminating NUL
_HOOKS = {"out": "OUTPUT", "in": "INPUT"}


@dataclass(frozen=True)
class Match:
    """Which packets belong to the link: to/from a peer's addresses, or through an interface."""

    peer4: Optional[str] = None
    peer6: Optional[str] = None
    iface: Optional[str] = None

    @classmethod
    def from_dict(cls, d: dict) -> Match:
        if not isinstance(d, dict) or set(d) - {"peer4", "peer6", "iface"}:
            raise ValueError(f"match must be {{'peer4': ..., 'peer6': ...}} or {{'iface': ...}}, not {d!r}")
        match = cls(d.get("peer4"), d.get("peer6"), d.get("iface"))
        if bool(match.iface) == bool(match.peer4 or match.peer6):
            raise ValueError("match needs either peer4/peer6 (a node) or iface (a whole network), not both")
        return match

    def selectors(self, direction: str) -> list[tuple[str, list[str]]]:
        """(iptables command, match arguments) for each address family the link covers."""
        if self.iface:
            arguments = ["-o" if direction == "out" else "-i", self.iface]
            return [("iptables", arguments), ("ip6tables", arguments)]
        option = "-d" if direction == "out" else "-s"
        peers = [("iptables", self.peer4), ("ip6tables", self.peer6)]
        return [(command, [option, peer]) for command, peer in peers if peer]


def chain_name(link: str, direction: str) -> str:
    """SOCKLAB-<link>-OUT or -IN, shortened with a hash when the link's name is long."""
    suffix = "-" + direction.upper()
    name = f"SOCKLAB-{link}"
    if len(name) + len(suffix) > _MAX_CHAIN:
        name = f"SOCKLAB-{link[:8]}-{hashlib.blake2b(link.encode(), digest_size=3).hexdigest()}"
    return name + suffix


def _run(command: list[str], check: bool = True) -> bool:
    """Run one iptables command; with ``check``, failing raises RuntimeError with iptables' own words."""
    try:
        done = subprocess.run(command, capture_output=True, text=True)
    except FileNotFoundError:
        if check:
            raise RuntimeError(f"{command[0]} is not installed") from None
        return False
    if check and done.returncode:
        raise RuntimeError(f"{' '.join(command)}: {done.stderr.strip() or f'exit {done.returncode}'}")
    return done.returncode == 0


class Rules:
    """Installs and removes the link's chains; installing again first clears a dead daemon's leftovers."""

    def __init__(self, link: str, match: Match, queues: dict[str, int]) -> None:
        self.link = link
        self.match = match
        self.queues = queues

    def install(self) -> None:
        self.remove()
        for direction, queue in self.queues.items():
            chain = chain_name(self.link, direction)
            for command, arguments in self.match.selectors(direction):
                _run([command, "-w", "-N", chain])
                _run(
                    [
                        command,
                        "-w",
                        "-A",
                        chain,
                        *arguments,
                        "-m",
                        "mark",
                        "!",
                        "--mark",
                        hex(MARK),
                        "-j",
                        "NFQUEUE",
                        "--queue-num",
                        str(queue),
                    ]
                )
                _run([command, "-w", "-I", _HOOKS[direction], "-j", chain])

    def remove(self) -> None:
        """Remove whatever is there of the link's rules; missing pieces are not an error."""
        for direction in self.queues:
            chain = chain_name(self.link, direction)
            for command in ("iptables", "ip6tables"):
                while _run([command, "-w", "-D", _HOOKS[direction], "-j", chain], check=False):
                    pass
                _run([command, "-w", "-F", chain], check=False)
                _run([command, "-w", "-X", chain], check=False)
