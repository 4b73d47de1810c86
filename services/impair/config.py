"""The daemon's configuration: one link, both of its directions, checked before anything starts.

Example (given as ``--config JSON`` or in ``$SOCKLAB_LINK``)::

    {"name": "wan", "seed": 1,
     "match": {"peer4": "10.1.0.3", "peer6": null},      # or {"iface": "eth1"}
     "out": {"loss": 30, "delay_ms": 50},                 # packets leaving toward the peer
     "in": {},                                            # packets arriving from the peer
     "control": "/run/socklab-link.sock",
     "queues": {"out": 0, "in": 1}}

Only ``name`` and ``match`` are required.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field

from impair.decide import Impairment
from impair.rules import Match

DIRECTIONS = ("out", "in")
DEFAULT_CONTROL = "/run/socklab-link.sock"
_NAME = re.compile(r"^[A-Za-z0-9_.-]{1,64}$")
_KEYS = {"name", "seed", "match", "out", "in", "control", "queues"}


def check_seed(seed: object) -> int:
    """Seeds are whole numbers 0 <= seed < 2**64 (they key a hash, so their size is bounded)."""
    if isinstance(seed, bool) or not isinstance(seed, int) or not 0 <= seed < 2**64:
        raise ValueError(f"seed must be a whole number in 0..2**64-1, not {seed!r}")
    return seed


@dataclass
class LinkConfig:
    name: str
    match: Match
    seed: int = 0
    impairments: dict[str, Impairment] = field(default_factory=lambda: {d: Impairment() for d in DIRECTIONS})
    control: str = DEFAULT_CONTROL
    queues: dict[str, int] = field(default_factory=lambda: {"out": 0, "in": 1})

    @classmethod
    def from_dict(cls, d: dict) -> LinkConfig:
        """Check everything; ValueError names the first problem."""
        if not isinstance(d, dict):
            raise ValueError("the link config must be a JSON object")
        unknown = sorted(set(d) - _KEYS)
        if unknown:
            raise ValueError(f"unknown config key {unknown[0]!r} (known: {', '.join(sorted(_KEYS))})")
        name = d.get("name")
        if not isinstance(name, str) or not _NAME.match(name):
            raise ValueError(f"name must be letters, digits, '_', '.' or '-', not {name!r}")
        if "match" not in d:
            raise ValueError("match is required: {'peer4': ..., 'peer6': ...} or {'iface': ...}")
        impairments = {}
        for direction in DIRECTIONS:
            try:
                impairments[direction] = Impairment.from_dict(d.get(direction) or {})
            except ValueError as error:
                raise ValueError(f"{direction}: {error}") from None
        queues = d.get("queues", {"out": 0, "in": 1})
        if (
            not isinstance(queues, dict)
            or set(queues) != set(DIRECTIONS)
            or not all(isinstance(q, int) and 0 <= q < 65536 for q in queues.values())
            or queues["out"] == queues["in"]
        ):
            raise ValueError(f"queues must be two different numbers 0..65535 as {{'out': 0, 'in': 1}}, not {queues!r}")
        control = d.get("control", DEFAULT_CONTROL)
        if not isinstance(control, str) or not control:
            raise ValueError(f"control must be a socket path, not {control!r}")
        return cls(name, Match.from_dict(d["match"]), check_seed(d.get("seed", 0)), impairments, control, queues)

    @classmethod
    def from_json(cls, text: str) -> LinkConfig:
        try:
            return cls.from_dict(json.loads(text))
        except json.JSONDecodeError as error:
            raise ValueError(f"the link config is not valid JSON: {error}") from None
