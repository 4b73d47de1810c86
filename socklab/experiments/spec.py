"""Experiment files: a lab, a link, a sweep, trials, a seed and a measurement.

They are read like lab files (:class:`socklab.labfile.Reader`), so that a
mistake is reported with its file and line and nothing is started. A small
variant (for CI) says ``extends: NAME`` and replaces whole top-level keys of
the experiment it extends, typically ``trials`` and ``sweep``.
"""

from __future__ import annotations

import math
import os
import re
from pathlib import Path
from typing import Any, Callable, Optional

import yaml

from ..errors import BadInput, LabFileError
from ..impairment import (
    IMPAIRMENT_KEYS,
    impairment_changes,
    parse_ms,
    parse_percent,
    rate_text,
)
from ..labfile import Reader, compose_yaml, find_lab, labs_dir, load_lab, read_text
from ..model import Lab
from .core import Experiment, Kind, Measure, Point
from .kinds import KINDS

__all__ = ["UNITS", "Experiment", "Measure", "Point", "experiments_dir", "find_experiment", "load_experiment"]

TOP_KEYS = {"description", "extends", "kind", "lab", "link", "seed", "trials", "sweep", "measure"}
MEASURE_KEYS = {"node", "parallel", "first-port", "options"}
RANGE_KEYS = {"from", "to", "step"}
PARAMETER = re.compile(r"^[a-z][a-z0-9-]{0,30}$")
EPHEMERAL_PORTS = 32768  # where Linux starts picking ports: fixed source ports stay below
UNITS = {"loss": "%", "duplicate": "%", "reorder": "%", "corrupt": "%", "delay": "ms", "jitter": "ms"}
_PARSERS: dict[str, Callable[[str], Any]] = {
    "loss": parse_percent,
    "duplicate": parse_percent,
    "reorder": parse_percent,
    "corrupt": parse_percent,
    "delay": parse_ms,
    "jitter": parse_ms,
    "rate": rate_text,
}


def experiments_dir() -> Path:
    return labs_dir() / "experiments"


def find_experiment(name_or_path: str | Path) -> Path:
    """An experiment by name (under labs/experiments/) or by path."""
    text = str(name_or_path)
    if text.endswith((".yaml", ".yml")) or os.sep in text:
        return find_lab(text)
    path = experiments_dir() / f"{text}.yaml"
    if not path.is_file():
        known = ", ".join(sorted(p.stem for p in experiments_dir().glob("*.yaml") if not p.stem.endswith(".lab")))
        raise BadInput(f"unknown experiment {text!r} (no {path}; known: {known})")
    return path


Located = tuple[Reader, yaml.Node, yaml.Node]
"""A top-level entry with the reader of the file it comes from, for located errors."""


def _top_level(path: Path, seen: tuple[Path, ...] = ()) -> dict[str, Located]:
    """The top-level keys of a file, those of the file it extends first."""
    if path.resolve() in seen:
        raise LabFileError(path, None, f"'extends' goes round in a circle: {' -> '.join(p.name for p in seen)}")
    reader = Reader(path)
    root = compose_yaml(read_text(path), path)
    fields = {
        key: (reader, key_node, value)
        for key, (key_node, value) in reader.mapping(root, "the experiment", TOP_KEYS).items()
    }
    if "extends" not in fields:
        return fields
    _, _, value = fields.pop("extends")
    try:
        base = find_experiment(reader.scalar(value, "extends"))
    except LabFileError:
        raise
    except BadInput as err:
        raise reader.fail(value, f"extends: {err}") from None
    return {**_top_level(base, (*seen, path.resolve())), **fields}


def load_experiment(name_or_path: str | Path, seed: Optional[int] = None) -> Experiment:
    """Read and check an experiment file; ``seed`` replaces the file's."""
    path = find_experiment(name_or_path)
    top = _top_level(path)

    def need(key: str) -> Located:
        if key not in top:
            raise LabFileError(path, 1, f"the experiment has no {key!r}")
        return top[key]

    reader, _, value = need("kind")
    kind_name = reader.scalar(value, "kind")
    if kind_name not in KINDS:
        raise reader.fail(value, f"unknown kind {kind_name!r} (known: {', '.join(KINDS)})")
    kind = KINDS[kind_name]

    reader, _, value = need("lab")
    lab = _lab(reader, value)
    link, link_settings = _link(*top["link"], lab) if "link" in top else (None, {})
    if seed is None:
        reader, _, value = need("seed")
        seed = reader.integer(value, "seed")
        if not 0 <= seed < 2**64:
            raise reader.fail(value, f"seed must be a whole number in 0..2**64-1, not {seed}")
    if not 0 <= seed < 2**64:
        raise BadInput(f"seed must be a whole number in 0..2**64-1, not {seed}")
    reader, _, value = need("trials")
    trials = reader.integer(value, "trials")
    if trials < 1:
        raise reader.fail(value, f"trials must be at least 1, not {trials}")
    sweep = _sweep(*need("sweep"), kind, link)
    measure = _measure(*need("measure"), lab)
    twice = sorted(set(sweep) & set(measure.options))
    if twice:
        reader, _, value = top["measure"]
        raise reader.fail(value, f"{twice[0]!r} is both swept and a fixed measure option")
    description = top["description"][0].scalar(top["description"][2], "description") if "description" in top else ""
    experiment = Experiment(path.stem, path, description, kind, lab, link, link_settings, seed, trials, sweep, measure)
    last_port = experiment.first_port(len(experiment.points)) - 1
    if kind.flows and last_port >= EPHEMERAL_PORTS:
        reader, _, value = top["trials"]
        raise reader.fail(
            value,
            f"{len(experiment.points)} points x {trials} trials need source ports up to {last_port}, "
            f"past {EPHEMERAL_PORTS - 1} where the kernel's own ports begin: lower measure first-port or trials",
        )
    return experiment


def _lab(reader: Reader, node: yaml.Node) -> Lab:
    """A lab by name, or by path relative to the file that names it."""
    text = reader.scalar(node, "lab")
    if text.endswith((".yaml", ".yml")) or "/" in text:
        candidate = Path(text) if Path(text).is_absolute() else reader.path.parent / text
        if not candidate.is_file():
            raise reader.fail(node, f"lab file {candidate} does not exist")
        return load_lab(candidate)
    try:
        return load_lab(text)
    except LabFileError:
        raise
    except BadInput as err:
        raise reader.fail(node, str(err)) from None


def _link(reader: Reader, key_node: yaml.Node, node: yaml.Node, lab: Lab) -> tuple[str, dict[str, str]]:
    """``link: wan`` or ``link: {name: wan, delay: 10ms}`` (settings fixed for the run)."""
    if isinstance(node, yaml.ScalarNode):
        name, settings = reader.scalar(node, "link"), {}
    else:
        fields = reader.mapping(node, "link", {"name", *IMPAIRMENT_KEYS})
        if "name" not in fields:
            raise reader.fail(key_node, "link needs a 'name' (one of the lab's links)")
        name = reader.scalar(fields["name"][1], "link name")
        settings = {key: reader.scalar(value, f"link {key}") for key, (_, value) in fields.items() if key != "name"}
        try:
            impairment_changes(settings)
        except ValueError as err:
            raise reader.fail(node, f"link: {err}") from None
    if name not in lab.links:
        raise reader.fail(node, f"lab {lab.name!r} has no link {name!r} (links: {', '.join(lab.links) or 'none'})")
    if lab.links[name].backend == "netem":
        raise reader.fail(
            node,
            f"link {name!r} is backend netem, which cannot replay the experiment's seed: "
            "use backend auto or userspace in the lab file",
        )
    return name, settings


def _sweep(
    reader: Reader, key_node: yaml.Node, node: yaml.Node, kind: Kind, link: Optional[str]
) -> dict[str, tuple[str, ...]]:
    sweep: dict[str, tuple[str, ...]] = {}
    for name, (name_node, value) in reader.mapping(node, "sweep").items():
        if not PARAMETER.match(name) or name == "trial" or name in kind.columns:
            raise reader.fail(
                name_node,
                f"sweep parameter {name!r} must be lower-case letters, digits and '-', and not a result column",
            )
        if name in IMPAIRMENT_KEYS and link is None:
            raise reader.fail(
                name_node, f"sweep parameter {name!r} is a link parameter, but the experiment names no 'link'"
            )
        values = _range(reader, value, name) if isinstance(value, yaml.MappingNode) else _values(reader, value, name)
        if not values:
            raise reader.fail(value, f"sweep {name!r} has no values")
        if len(set(values)) != len(values):
            raise reader.fail(value, f"sweep {name!r} repeats a value: {', '.join(values)}")
        sweep[name] = values
    for name in kind.requires:
        if name not in sweep:
            raise reader.fail(
                key_node, f"a {kind.name} experiment sweeps {', '.join(kind.requires)}; {name!r} is missing"
            )
    return sweep


def _canonical(reader: Reader, node: yaml.Node, name: str, text: str) -> str:
    """A value as results.csv writes it: link values parsed (``10%`` -> ``10``), others as given."""
    parse = _PARSERS.get(name)
    if parse is None:
        return text
    try:
        value = parse(text)
    except ValueError as err:
        raise reader.fail(node, f"sweep {name}: {err}") from None
    return value if isinstance(value, str) else f"{value:g}"


def _values(reader: Reader, node: yaml.Node, name: str) -> tuple[str, ...]:
    items = reader.sequence(node, f"sweep {name!r} (a list, or from/to/step)")
    return tuple(_canonical(reader, item, name, reader.scalar(item, f"a value of sweep {name!r}")) for item in items)


def _range(reader: Reader, node: yaml.Node, name: str) -> tuple[str, ...]:
    """``{from: 0%, to: 60%, step: 10%}``: both ends included."""
    fields = reader.mapping(node, f"sweep {name!r}", RANGE_KEYS)
    for key in RANGE_KEYS:
        if key not in fields:
            raise reader.fail(node, f"sweep {name!r} needs from, to and step")
    parse = _PARSERS.get(name, float)
    if parse is rate_text:
        raise reader.fail(node, f"sweep {name!r}: rates are listed, not ranged")

    def number(key: str) -> float:
        value = fields[key][1]
        try:
            return float(parse(reader.scalar(value, f"sweep {name} {key}")))
        except ValueError as err:
            raise reader.fail(value, f"sweep {name} {key}: {err}") from None

    first, last, step = number("from"), number("to"), number("step")
    if step <= 0 or last < first:
        raise reader.fail(node, f"sweep {name!r}: step must be positive and 'to' at least 'from'")
    count = math.floor((last - first) / step + 1e-9) + 1
    return tuple(f"{round(first + i * step, 9):g}" for i in range(count))


def _measure(reader: Reader, key_node: yaml.Node, node: yaml.Node, lab: Lab) -> Measure:
    fields = reader.mapping(node, "measure", MEASURE_KEYS)
    if "node" not in fields:
        raise reader.fail(key_node, "measure needs the 'node' the trials run in")
    node_name = reader.scalar(fields["node"][1], "measure node")
    if node_name not in lab.nodes:
        raise reader.fail(
            fields["node"][1], f"lab {lab.name!r} has no node {node_name!r} (nodes: {', '.join(lab.nodes)})"
        )
    parallel = reader.optional(fields, "parallel", reader.integer, "measure parallel", 1)
    first_port = reader.optional(fields, "first-port", reader.integer, "measure first-port", 20000)
    if parallel < 1:
        raise reader.fail(fields["parallel"][1], "measure parallel must be at least 1")
    if not 1024 <= first_port < EPHEMERAL_PORTS:
        raise reader.fail(fields["first-port"][1], f"measure first-port must be in 1024..{EPHEMERAL_PORTS - 1}")
    options = {}
    if "options" in fields:
        for key, (option_key, value) in reader.mapping(fields["options"][1], "measure options").items():
            if not PARAMETER.match(key):
                raise reader.fail(option_key, f"measure option {key!r} must be lower-case letters, digits and '-'")
            options[key] = reader.scalar(value, f"measure option {key}")
    return Measure(node_name, parallel, first_port, options)
