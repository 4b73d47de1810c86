"""Per-student variants of an assignment: values that differ from student to
student, so that a submission copied from another student fails.

An assignment file declares them under ``variants:``. The names are fixed,
each with a meaning the reference services and checks know:

* ``port`` (``range: [LOW, HIGH]``): the port the server listens on, given
  to a server submission as ``$PORT`` and to a client as ``$SERVER_PORT``;
* ``prefix`` (``words: [...]``): a word the server puts, with a space, in
  front of each answer;
* ``initial_timeout``, ``give_up`` (``choices: [...]``, seconds): a client's
  first timeout and the limit past which it gives up;
* ``seed`` (``range: [LOW, HIGH]``): the seed of the lab's lossy links.

A student's values come from HMAC-SHA256 of the course secret and the
student's id, one per name (not per assignment): the udp-server and
udp-client assignments, declaring the same port and words, give a student
the same port and word in both. The secret is only ever an HMAC key: it is
in no value, result or report. Without a secret every value is the lecture's
(the default), so that the reference services and the lecture's code still
get full marks.

Check parameters and feedback name values as ``${name}``; besides the
declared ones, ``${backoff}`` (the send times the client's schedule gives),
``${gives_up_at}`` and ``${give_up_within}`` (when it stops trying, and that
plus a margin) follow from ``initial_timeout`` and ``give_up``.
"""

from __future__ import annotations

import hashlib
import hmac
import os
import re
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any, Optional

import yaml

from ..errors import BadInput
from ..labfile import Reader
from ..model import Lab, Ready

SECRET_ENV = "SOCKLAB_COURSE_SECRET"
PLACEHOLDER = re.compile(r"\$\{(\w+)\}")
WORD = re.compile(r"[A-Z]{2,12}")
KINDS = {"port": "range", "seed": "range", "prefix": "words", "initial_timeout": "choices", "give_up": "choices"}
DEFAULTS: dict[str, Any] = {"prefix": "", "initial_timeout": 0.1, "give_up": 2.0}  # the lecture's
DERIVED = ("backoff", "gives_up_at", "give_up_within")
NAMES = frozenset(KINDS) | frozenset(DERIVED)  # what ${...} may name
TYPES: dict[str, type] = {
    "port": int,
    "seed": int,
    "prefix": str,
    "initial_timeout": float,
    "give_up": float,
    "backoff": list,
    "gives_up_at": float,
    "give_up_within": float,
}
GIVE_UP_MARGIN = 2.0  # seconds past the last timeout a client may take to say so and exit
Values = dict[str, Any]


@dataclass(frozen=True)
class Parameter:
    name: str
    kind: str  # "range" | "words" | "choices"
    choices: tuple = ()  # words or choices
    low: int = 0
    high: int = 0

    def pick(self, secret: bytes, student: str) -> Any:
        """This student's value: the same secret and id give the same one."""
        digest = hmac.new(secret, f"socklab-variant\0{self.name}\0{student}".encode(), hashlib.sha256).digest()
        number = int.from_bytes(digest[:8], "big")
        if self.kind == "range":
            return self.low + number % (self.high - self.low + 1)
        return self.choices[number % len(self.choices)]


def parse_variants(reader: Reader, node: yaml.Node, kind: str, has_links: bool) -> tuple[Parameter, ...]:
    """The ``variants:`` section, every mistake located at its line."""
    parameters = []
    for name, (key_node, value_node) in reader.mapping(node, "variants").items():
        if name not in KINDS:
            raise reader.fail(key_node, f"unknown variant {name!r} (known: {', '.join(sorted(KINDS))})")
        if name in ("initial_timeout", "give_up") and kind != "client":
            raise reader.fail(key_node, f"variant {name!r} is a client's: this is a {kind} assignment")
        if name == "seed" and not has_links:
            raise reader.fail(key_node, "variant 'seed' sets the seed of the lab's lossy links, and this lab has none")
        expected = KINDS[name]
        fields = reader.mapping(value_node, f"variant {name!r}", {expected})
        if expected not in fields:
            raise reader.fail(value_node, f"variant {name!r} needs {expected!r}")
        what = f"variant {name!r} {expected}"
        items = reader.sequence(fields[expected][1], what)
        if expected == "range":
            if len(items) != 2:
                raise reader.fail(fields[expected][1], f"{what} is [LOW, HIGH]")
            low, high = (reader.integer(item, what) for item in items)
            floor, ceiling = (1024, 65535) if name == "port" else (0, 2**31 - 1)
            if not floor <= low < high <= ceiling:
                raise reader.fail(
                    fields[expected][1], f"{what} must be {floor} <= LOW < HIGH <= {ceiling}, not [{low}, {high}]"
                )
            parameters.append(Parameter(name, expected, low=low, high=high))
            continue
        if len(items) < 2:
            raise reader.fail(fields[expected][1], f"{what} needs at least two, or every student gets the same")
        if expected == "words":
            values: list = [reader.scalar(item, what) for item in items]
            for item, word in zip(items, values):
                if not WORD.fullmatch(word):
                    raise reader.fail(item, f"{what}: {word!r} must be 2 to 12 upper-case letters A-Z")
        else:
            values = [reader.convert(item, what, float) for item in items]
            for item, value in zip(items, values):
                if not 0 < value <= 10:
                    raise reader.fail(item, f"{what}: {value:g} s must be more than 0 and at most 10")
        if len(set(values)) != len(values):
            raise reader.fail(fields[expected][1], f"{what} has repeated values")
        parameters.append(Parameter(name, expected, choices=tuple(values)))
    declared = {p.name: p for p in parameters}
    if "initial_timeout" in declared or "give_up" in declared:
        first = (
            max(declared["initial_timeout"].choices) if "initial_timeout" in declared else DEFAULTS["initial_timeout"]
        )
        limit = min(declared["give_up"].choices) if "give_up" in declared else DEFAULTS["give_up"]
        if limit < first:
            raise reader.fail(
                node,
                f"every give_up must be at least every initial_timeout (else a client never retries):"
                f" {limit:g} < {first:g}",
            )
    return tuple(parameters)


def backoff(initial: float, limit: float) -> tuple[list[float], float]:
    """The send times of the lecture's loop (wait, double, give up once the
    next wait would exceed ``limit``) and when it gives up."""
    times, now, delay = [], 0.0, initial
    while True:
        times.append(round(now, 4))
        now += delay
        delay *= 2
        if delay > limit + 1e-9:
            return times, round(now, 4)


def values_for(parameters: tuple[Parameter, ...], port: int, secret: Optional[bytes], student: Optional[str]) -> Values:
    """Every value an assignment's placeholders may name, for one student
    (the lecture's when there is no secret)."""
    values: Values = {"port": port, "seed": None, **DEFAULTS}
    if secret is not None and student is not None:
        values.update({p.name: p.pick(secret, student) for p in parameters})
    return derived(values)


def derived(values: Values) -> Values:
    """The values with what follows from them: the client's schedule."""
    times, gives_up_at = backoff(values["initial_timeout"], values["give_up"])
    values.update(backoff=times, gives_up_at=gives_up_at, give_up_within=round(gives_up_at + GIVE_UP_MARGIN, 2))
    return values


def shown(parameters: tuple[Parameter, ...], values: Values) -> dict[str, Any]:
    """The declared values only: what a student is told and a report records."""
    return {p.name: values[p.name] for p in parameters}


def substitute(value: Any, values: Values) -> Any:
    """``${name}`` replaced: a whole-value placeholder by the typed value, one
    inside a text by its text."""
    if isinstance(value, str):
        whole = PLACEHOLDER.fullmatch(value)
        if whole:
            return values[whole.group(1)]
        return PLACEHOLDER.sub(lambda m: str(values[m.group(1)]), value)
    if isinstance(value, list):
        return [substitute(v, values) for v in value]
    if isinstance(value, dict):
        return {k: substitute(v, values) for k, v in value.items()}
    return value


def fits(name: str, default: Any) -> bool:
    """Whether ``${name}`` may stand for a check parameter with this default."""
    kind = TYPES[name]
    if isinstance(default, bool):
        return False
    if isinstance(default, (int, float)):
        return kind in (int, float)
    if isinstance(default, str):
        return kind is str
    if isinstance(default, tuple):
        return kind is list
    return True


def names_in(value: Any) -> set[str]:
    """The placeholders a parameter's value names."""
    if isinstance(value, str):
        return set(PLACEHOLDER.findall(value))
    if isinstance(value, list):
        return set().union(*(names_in(v) for v in value)) if value else set()
    if isinstance(value, dict):
        return set().union(*(names_in(v) for v in value.values())) if value else set()
    return set()


def apply_to_lab(lab: Lab, values: Values, server_services: set[str]) -> Lab:
    """The lab with its reference services set to these values: the servers
    (nodes running one of ``server_services``) listen on the port and put the
    word in front; the client nodes' environment gives the reference client
    (and the student's code) the port and the timeouts; the links take the
    seed."""
    nodes = {}
    for name, node in lab.nodes.items():
        environment = dict(node.environment)
        if node.service in server_services:
            old = node.environment.get("PORT")
            environment["PORT"] = str(values["port"])
            if values["prefix"]:
                environment["PREFIX"] = values["prefix"]
            node = replace(node, environment=environment, ready=_ready_on(node.ready, values["port"], old))
        elif node.role == "client":
            environment.update(
                SERVER_PORT=str(values["port"]),
                INITIAL_TIMEOUT=f"{values['initial_timeout']:g}",
                GIVE_UP=f"{values['give_up']:g}",
            )
            if values["prefix"]:
                environment["PREFIX"] = values["prefix"]
            node = replace(node, environment=environment)
        nodes[name] = node
    links = lab.links
    if values.get("seed") is not None:
        links = {name: replace(link, seed=values["seed"]) for name, link in lab.links.items()}
    return replace(lab, nodes=nodes, links=links)


def _ready_on(ready: Ready, port: int, old: Optional[str]) -> Ready:
    """A reference server announces 'ready udp/PORT' with the port it got."""
    if ready.strategy == "log" and ready.log and re.fullmatch(r"ready (tcp|udp)/\d+", ready.log):
        return replace(ready, log=f"{ready.log.rsplit('/', 1)[0]}/{port}")
    if ready.strategy in ("tcp", "udp") and ready.port is not None:
        return replace(ready, port=port)
    return ready


def course_secret(path: Optional[Path]) -> Optional[bytes]:
    """The course secret from ``--secret FILE``, else from $SOCKLAB_COURSE_SECRET; None without either."""
    if path is not None:
        try:
            text = path.read_text(encoding="utf-8").strip()
        except (OSError, UnicodeDecodeError) as err:
            raise BadInput(f"--secret {path}: cannot read: {err}") from None
        if not text:
            raise BadInput(f"--secret {path}: the file is empty")
        return text.encode()
    text = os.environ.get(SECRET_ENV, "").strip()
    return text.encode() if text else None
