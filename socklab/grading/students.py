"""A student's version of an assignment and of its lab: the variant values
(variants.py) applied to an assignment's checks and reference services."""

from __future__ import annotations

from dataclasses import replace
from typing import Any, Optional

from ..errors import BadInput
from ..model import Lab
from .assignment import Assignment, assignments_dir, load_assignment
from .variants import SECRET_ENV, Values, apply_to_lab, derived, shown, values_for


def for_student(assignment: Assignment, secret: Optional[bytes], student: Optional[str]) -> tuple[Assignment, Values]:
    """The assignment as this student has it: their port, their reference
    services, their checks' parameters and feedback."""
    values = values_for(assignment.variants, assignment.port, secret, student)
    if not assignment.variants:
        return assignment, values
    checks = tuple(c.with_values(values) for c in assignment.templates)
    lab = apply_to_lab(assignment.lab, values, server_services(assignment))
    return replace(assignment, port=values["port"], lab=lab, checks=checks), values


def server_services(assignment: Assignment) -> set[str]:
    """The reference service the assignment's server runs (the one a server
    submission replaces, or the one a client submission asks)."""
    node = assignment.node if assignment.kind == "server" else assignment.server
    service = assignment.lab.nodes[node].service if node in assignment.lab.nodes else None
    return {service} if service else set()


def student_lab(lab: Lab, student: Optional[str], secret: Optional[bytes]) -> tuple[Lab, dict[str, Any]]:
    """``socklab up LAB --student ID``: the lab with its reference services
    set to the student's values for every assignment on it (or practised on
    it: ``also_in``), and those values."""
    if not student:
        raise BadInput("--secret goes with --student ID: whose version of the lab?")
    if secret is None:
        raise BadInput(f"--student needs the course secret: set {SECRET_ENV} or give --secret FILE")
    chosen: dict[str, Any] = {}
    origin: dict[str, str] = {}
    services: set[str] = set()
    port = None
    for path in sorted(assignments_dir().glob("*.yaml")):
        assignment = load_assignment(path)
        if not assignment.variants or lab.name not in (assignment.lab.name, *assignment.also_in):
            continue
        port = port or assignment.port
        services |= server_services(assignment)
        for name, value in shown(
            assignment.variants, values_for(assignment.variants, assignment.port, secret, student)
        ).items():
            if name in chosen and chosen[name] != value:
                raise BadInput(
                    f"assignments {origin[name]} and {assignment.name} give {name} different values"
                    f" ({chosen[name]} and {value}): declare the same {name} in both"
                )
            chosen[name], origin[name] = value, assignment.name
    if port is None:
        raise BadInput(f"no assignment on lab {lab.name!r} declares variants: (in {assignments_dir()})")
    values = derived({**values_for((), port, None, None), **chosen})
    if not lab.links:
        chosen.pop("seed", None)
        values["seed"] = None
    return apply_to_lab(lab, values, services), chosen
