"""A student's Dockerfile, read before anything is built.

The build runs with no network, but the Docker daemon itself fetches what an
instruction names: ``ADD <url>`` reaches any address the daemon can (the
host's loopback included), ``FROM`` or ``COPY --from`` of another image makes
it try a registry. So those are refused here, with the file and line, and
every ``FROM`` must be the assignment's base (``socklab/base``) or an earlier
stage of the same file.

:func:`labelled` then puts the grader's labels right after each ``FROM``:
every image the build makes, intermediate ones included, carries them, so
that the grader finds and removes them by label, never by reading the
build's output, which the student's ``RUN`` steps can print anything into.
``LABEL`` instructions that could override those labels are refused too.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from typing import Optional

from ..images import BASE_IMAGE

NAME = "Dockerfile"
ALLOWED_BASES = {BASE_IMAGE, f"{BASE_IMAGE}:latest"}
_DIRECTIVE = re.compile(r"^#\s*([a-zA-Z]+)\s*=\s*(\S+)\s*$")
_URL = re.compile(r"^[a-zA-Z][a-zA-Z0-9+.-]*://|^git@|^github\.com/")


class DockerfileRefused(Exception):
    """The Dockerfile asks for something the sandbox does not allow."""


@dataclass(frozen=True)
class Instruction:
    line: int  # where it starts, from 1
    end: int  # its last line (continuation lines included)
    keyword: str  # upper-case
    arguments: str  # its continuation lines joined


def instructions(text: str) -> list[Instruction]:
    """The Dockerfile's instructions, as Docker's classic builder reads them:
    parser directives first (``escape`` changes the continuation character),
    comment lines skipped even within an instruction, a trailing escape
    character joining a line to the next."""
    escape = "\\"
    lines = text.splitlines()
    for line in lines:
        match = _DIRECTIVE.match(line)
        if not match:
            break
        if match.group(1).lower() == "escape":
            escape = match.group(2)
    found: list[Instruction] = []
    start = 0
    parts: list[str] = []
    for number, line in enumerate(lines, 1):
        stripped = line.strip()
        if not stripped or stripped.startswith("#"):
            continue
        if not parts:
            start = number
        rest = line.rstrip()
        if rest.endswith(escape) and number < len(lines):
            parts.append(rest[: -len(escape)])
            continue
        parts.append(rest)
        found.append(_instruction(start, number, parts))
        parts = []
    if parts:
        found.append(_instruction(start, len(lines), parts))
    return found


def _instruction(start: int, end: int, parts: list[str]) -> Instruction:
    keyword, _, arguments = re.split(r"(\s+)", " ".join(parts).strip() + " ", maxsplit=1)
    return Instruction(start, end, keyword.upper(), arguments.strip())


def check(text: str) -> list[Instruction]:
    """The instructions, once none of them would reach outside the build;
    raises DockerfileRefused naming the file, line and why."""
    found = instructions(text)
    stages: list[str] = []
    for instruction in found:
        problem = _problem(instruction, stages)
        if problem:
            raise DockerfileRefused(f"{NAME}:{instruction.line}: {problem}")
    if not stages:
        raise DockerfileRefused(f"{NAME}: no FROM line: start with FROM {BASE_IMAGE}")
    return found


def _problem(instruction: Instruction, stages: list[str]) -> Optional[str]:
    keyword, arguments = instruction.keyword, instruction.arguments
    words = arguments.split()
    if keyword == "FROM":
        flags = [w for w in words if w.startswith("--")]
        names = [w for w in words if not w.startswith("--")]
        if flags:
            return f"FROM {' '.join(flags)}: no options are allowed on FROM"
        image = names[0] if names else ""
        if len(names) == 3 and names[1].upper() == "AS":
            stages.append(names[2].lower())
        elif len(names) != 1:
            return f"FROM {arguments}: expected FROM {BASE_IMAGE} [AS name]"
        else:
            stages.append(str(len(stages)))
        if image.lower() in stages[:-1] or image in ALLOWED_BASES:
            return None
        return f"FROM {image}: a submission builds on {BASE_IMAGE} only (FROM {BASE_IMAGE}), nothing is pulled"
    if not stages and keyword not in ("ARG",):
        return f"{keyword} before FROM: start with FROM {BASE_IMAGE}"
    if keyword == "ONBUILD":
        return "ONBUILD: instructions for later builds are not allowed"
    if keyword == "LABEL" and ("socklab" in arguments.lower() or "$" in arguments):
        return "LABEL: the org.socklab labels are the grader's, and a label may not use variables"
    if keyword in ("ADD", "COPY"):
        return _copy_problem(keyword, arguments, stages)
    return None


def _copy_problem(keyword: str, arguments: str, stages: list[str]) -> Optional[str]:
    """ADD and COPY take files from the submission (or from an earlier stage), nothing else."""
    words = arguments.split()
    flags = [w for w in words if w.startswith("--")]
    rest = arguments
    for flag in flags:
        rest = rest.replace(flag, "", 1)
    for flag in flags:
        name, _, value = flag[2:].partition("=")
        if name == "from":
            if value.lower() not in stages[:-1] and value not in [str(i) for i in range(len(stages) - 1)]:
                return f"{keyword} --from={value}: only an earlier stage of this Dockerfile may be copied from"
        elif name not in ("chown", "chmod"):
            return f"{keyword} --{name}: not allowed (only --chown, --chmod and --from=<earlier stage>)"
    rest = rest.strip()
    try:
        paths = json.loads(rest) if rest.startswith("[") else rest.split()
    except ValueError:
        paths = rest.split()
    sources = [str(p) for p in paths[:-1]]
    for source in sources:
        if "$" in source:
            return f"{keyword} {source}: a source may not use variables; name the file in your submission"
        if _URL.match(source):
            return (
                f"{keyword} {source}: the build cannot download anything; put the file in your submission and COPY it"
            )
    return None


def labelled(text: str, labels: dict[str, str]) -> str:
    """The Dockerfile with a ``LABEL`` instruction of ``labels`` right after
    each ``FROM``, so that every image it makes carries them."""
    ends = {i.end for i in instructions(text) if i.keyword == "FROM"}
    label = "LABEL " + " ".join(f"{json.dumps(k)}={json.dumps(v)}" for k, v in sorted(labels.items()))
    result = []
    for number, line in enumerate(text.splitlines(), 1):
        result.append(line)
        if number in ends:
            result.append(label)
    return "\n".join(result) + "\n"
