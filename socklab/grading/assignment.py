"""Assignment files: a lab, the node a submission takes the place of, and
the checks that grade it.

They are read like lab files (:class:`socklab.labfile.Reader`), so that a
mistake is reported with its file and line and nothing is started. Check
names and their parameters are validated against :data:`checks.CHECKS`
here, not when the first student is graded.
"""

from __future__ import annotations

import inspect
import os
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any, Callable, Optional

import yaml

from ..errors import BadInput, LabFileError
from ..labfile import Reader, compose_yaml, find_lab, labs_dir, load_lab, read_text
from ..model import Lab
from .checks import CHECKS
from .variants import NAMES, PLACEHOLDER, TYPES, Parameter, fits, names_in, parse_variants, substitute, values_for

KINDS = ("server", "client")
READY = ("tcp", "udp")
VISIBILITIES = ("visible", "hidden", "after_due_date", "after_published")  # Gradescope's
TOP_KEYS = {"description", "lab", "submission", "measure_from", "keep", "timeout", "checks", "variants", "also_in"}
SUBMISSION_KEYS = {"replaces", "kind", "port", "ready", "ready_timeout", "server"}
CHECK_KEYS = {"name", "run", "points", "visibility", "timeout", "with", "feedback"}


@dataclass(frozen=True)
class CheckSpec:
    name: str
    run: str
    points: float
    visibility: str
    timeout: float
    params: dict[str, Any]
    feedback: str

    def with_values(self, values: dict[str, Any]) -> "CheckSpec":
        """The check with its ``${...}`` filled in."""
        return replace(self, params=substitute(self.params, values), feedback=substitute(self.feedback, values))


@dataclass(frozen=True)
class Assignment:
    """What one assignment file says."""

    name: str
    path: Path
    description: str
    lab: Lab
    node: str  # the node the submission replaces
    kind: str  # "server" | "client"
    port: int
    ready: str  # servers: how readiness shows, "tcp" or "udp"
    ready_timeout: float
    server: Optional[str]  # clients: the node (or network, for broadcast) SERVER_HOST names
    measure_from: Optional[str]  # servers: the node the probes run in
    keep: tuple[str, ...]  # the lab's other nodes brought up with it
    timeout: float  # wall-clock cap for one submission, build included
    checks: tuple[CheckSpec, ...]
    variants: tuple[Parameter, ...] = ()  # per-student values (variants.py)
    also_in: tuple[str, ...] = ()  # other labs where students practise it: `socklab up LAB --student` uses its values
    templates: tuple[CheckSpec, ...] = ()  # the checks as written, ${...} and all: ``checks`` has the lecture's values
    patience: float = 1.0  # how many times the file's time limits the grader waits (see :meth:`with_patience`)

    @property
    def max_score(self) -> float:
        return sum(c.points for c in self.checks)

    def with_patience(self, factor: float) -> "Assignment":
        """The assignment with its waiting limits (readiness, each check's and
        the submission's caps) ``factor`` times as long, for a slow machine: an
        emulated one starts a container in seconds. What a check judges (a
        client's backoff, within its tolerance) is not a limit and stays."""
        if factor == 1.0:
            return self

        def patient(checks: tuple[CheckSpec, ...]) -> tuple[CheckSpec, ...]:
            return tuple(replace(check, timeout=check.timeout * factor) for check in checks)

        return replace(
            self,
            ready_timeout=self.ready_timeout * factor,
            timeout=self.timeout * factor,
            checks=patient(self.checks),
            templates=patient(self.templates),
            patience=self.patience * factor,
        )


def assignments_dir() -> Path:
    return labs_dir() / "assignments"


def find_assignment(name_or_path: str | Path) -> Path:
    """An assignment by name (under labs/assignments/, where a lab may share
    its name: blocks, xmlrpc) or by path."""
    text = str(name_or_path)
    if text.endswith((".yaml", ".yml")) or os.sep in text:
        return find_lab(text)
    path = assignments_dir() / f"{text}.yaml"
    if not path.is_file():
        known = ", ".join(sorted(p.stem for p in assignments_dir().glob("*.yaml")))
        raise BadInput(f"unknown assignment {text!r} (no {path}; known: {known})")
    return path


def load_assignment(name_or_path: str | Path) -> Assignment:
    path = find_assignment(name_or_path)
    return parse_assignment(read_text(path), path)


def parse_assignment(text: str, path: Path) -> Assignment:
    reader = Reader(path)
    root = compose_yaml(text, path)
    top = reader.mapping(root, "the assignment", TOP_KEYS)
    for required in ("lab", "submission", "checks"):
        if required not in top:
            raise reader.fail(root, f"the assignment has no {required!r} section")
    lab_node = top["lab"][1]
    try:
        lab = load_lab(reader.scalar(lab_node, "lab"))
    except LabFileError:
        raise
    except BadInput as err:
        raise reader.fail(lab_node, str(err)) from None

    sub_node = top["submission"][1]
    sub = reader.mapping(sub_node, "submission", SUBMISSION_KEYS)
    for required in ("replaces", "kind", "port"):
        if required not in sub:
            raise reader.fail(sub_node, f"submission needs {required!r}")
    node = _node_of(reader, sub["replaces"][1], lab, "submission replaces")
    kind = _choice(reader, KINDS)(sub["kind"][1], "submission kind")
    port = reader.integer(sub["port"][1], "submission port")
    ready = reader.optional(sub, "ready", _choice(reader, READY), "submission ready", "tcp")
    ready_timeout = reader.optional(sub, "ready_timeout", _positive(reader), "submission ready_timeout", 10.0)
    server = measure_from = None
    if kind == "client":
        if "server" not in sub:
            raise reader.fail(
                sub_node, "a client submission needs 'server': the node (or network, to broadcast) SERVER_HOST names"
            )
        server = reader.scalar(sub["server"][1], "submission server")
        if server not in lab.nodes and server not in lab.networks:
            raise reader.fail(
                sub["server"][1], f"submission server {server!r} is neither a node nor a network of lab {lab.name!r}"
            )
    else:
        if "measure_from" not in top:
            raise reader.fail(root, "a server assignment needs 'measure_from': the node its checks run in")
        measure_from = _node_of(reader, top["measure_from"][1], lab, "measure_from")
    kept = reader.optional(top, "keep", reader.sequence, "keep", None)
    keep = (
        tuple(n for n in lab.nodes if n != node)
        if kept is None
        else tuple(_node_of(reader, item, lab, "keep") for item in kept)
    )
    for needed in (measure_from, server):
        if needed in lab.nodes and needed != node and needed not in keep:
            raise reader.fail(top["keep"][1], f"keep leaves out {needed!r}, which the checks need")
    timeout = reader.optional(top, "timeout", _positive(reader), "timeout", 120.0)
    variants = parse_variants(reader, top["variants"][1], kind, bool(lab.links)) if "variants" in top else ()
    also_in = tuple(_lab_name(reader, item) for item in reader.optional(top, "also_in", reader.sequence, "also_in", []))
    checks = tuple(_check(reader, item) for item in reader.sequence(top["checks"][1], "checks"))
    if not checks:
        raise reader.fail(top["checks"][1], "an assignment needs at least one check")
    names = [c.name for c in checks]
    duplicated = sorted({n for n in names if names.count(n) > 1})
    if duplicated:
        raise reader.fail(top["checks"][1], f"check names must be unique; repeated: {', '.join(duplicated)}")
    assignment = Assignment(
        name=path.stem,
        path=path,
        description=reader.optional(top, "description", reader.scalar, "description", ""),
        lab=lab,
        node=node,
        kind=kind,
        port=port,
        ready=ready,
        ready_timeout=ready_timeout,
        server=server,
        measure_from=measure_from,
        keep=keep,
        timeout=timeout,
        checks=checks,
        variants=variants,
        also_in=also_in,
        templates=checks,
    )
    return replace(assignment, checks=tuple(c.with_values(values_for(variants, port, None, None)) for c in checks))


def _lab_name(reader: Reader, node: yaml.Node) -> str:
    name = reader.name(node, "also_in")
    if not (labs_dir() / f"{name}.yaml").is_file():
        raise reader.fail(node, f"also_in: no lab {name!r} in {labs_dir()}")
    return name


def _node_of(reader: Reader, node: yaml.Node, lab: Lab, what: str) -> str:
    name = reader.scalar(node, what)
    if name not in lab.nodes:
        raise reader.fail(node, f"{what}: {name!r} is not a node of lab {lab.name!r} (nodes: {', '.join(lab.nodes)})")
    return name


def _choice(reader: Reader, choices: tuple[str, ...]) -> Callable[[yaml.Node, str], str]:
    """A reader of one of ``choices``."""

    def read(node: yaml.Node, what: str) -> str:
        value = reader.scalar(node, what)
        if value not in choices:
            raise reader.fail(node, f"{what} {value!r} is not one of {', '.join(choices)}")
        return value

    return read


def _positive(reader: Reader) -> Callable[[yaml.Node, str], float]:
    """A reader of a number above 0."""

    def read(node: yaml.Node, what: str) -> float:
        value = reader.convert(node, what, float)
        if value <= 0:
            raise reader.fail(node, f"{what} must be more than 0, not {value:g}")
        return value

    return read


def _check(reader: Reader, node: yaml.Node) -> CheckSpec:
    fields = reader.mapping(node, "a check", CHECK_KEYS)
    for required in ("name", "run", "points"):
        if required not in fields:
            raise reader.fail(node, f"a check needs {required!r}")
    name = reader.scalar(fields["name"][1], "check name")
    what = f"check {name!r}"
    run = reader.scalar(fields["run"][1], f"{what} run")
    if run not in CHECKS:
        raise reader.fail(fields["run"][1], f"{what}: unknown check {run!r} (known: {', '.join(sorted(CHECKS))})")
    params = reader.optional(fields, "with", lambda value, _: _params(reader, value, run, what), f"{what} with", {})
    return CheckSpec(
        name=name,
        run=run,
        points=_positive(reader)(fields["points"][1], f"{what} points"),
        visibility=reader.optional(
            fields, "visibility", _choice(reader, VISIBILITIES), f"{what} visibility", "visible"
        ),
        timeout=reader.optional(fields, "timeout", _positive(reader), f"{what} timeout", 20.0),
        params=params,
        feedback=reader.optional(
            fields, "feedback", lambda node, _: _feedback(reader, node, what), f"{what} feedback", ""
        ),
    )


def _feedback(reader: Reader, node: yaml.Node, what: str) -> str:
    text = reader.scalar(node, f"{what} feedback").strip()
    unknown = names_in(text) - NAMES
    if unknown:
        raise reader.fail(
            node, f"{what} feedback names unknown variant values {sorted(unknown)} (known: {', '.join(sorted(NAMES))})"
        )
    return text


def _params(reader: Reader, node: yaml.Node, run: str, what: str) -> dict[str, Any]:
    """The check's parameters as YAML types them, checked against the
    function's own: a parameter with a default takes a value of its type."""
    signature = inspect.signature(CHECKS[run])
    accepted = {name: p.default for name, p in signature.parameters.items() if name not in ("lab", "ctx")}
    result = {}
    for key, (_, value_node) in reader.mapping(node, f"{what} with", set(accepted)).items():
        try:
            value = yaml.SafeLoader("").construct_document(value_node)
        except (yaml.YAMLError, ValueError, TypeError) as err:  # an impossible date, a bad !!tag...
            raise reader.fail(value_node, f"{what}: {key}: {str(err).splitlines()[0]}") from None
        default = accepted[key]
        named = names_in(value)
        if named - NAMES:
            raise reader.fail(
                value_node,
                f"{what}: {key} names unknown variant values {sorted(named - NAMES)} "
                f"(known: {', '.join(sorted(NAMES))})",
            )
        whole = PLACEHOLDER.fullmatch(value) if isinstance(value, str) else None
        if whole:
            if not fits(whole.group(1), default):
                raise reader.fail(value_node, f"{what}: {key} cannot be {value} (a {TYPES[whole.group(1)].__name__})")
            result[key] = value  # given per student (variants.for_student)
            continue
        if isinstance(default, bool) and not isinstance(value, bool):
            raise reader.fail(value_node, f"{what}: {key} must be true or false")
        if (
            isinstance(default, (int, float))
            and not isinstance(default, bool)
            and (isinstance(value, bool) or not isinstance(value, (int, float)))
        ):
            raise reader.fail(value_node, f"{what}: {key} must be a number")
        if isinstance(default, str) and not isinstance(value, str):
            raise reader.fail(value_node, f"{what}: {key} must be text")
        if isinstance(default, tuple) and not isinstance(value, list):
            raise reader.fail(value_node, f"{what}: {key} must be a list")
        result[key] = value
    return result
