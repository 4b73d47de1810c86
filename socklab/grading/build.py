"""Making a submission runnable: a ``main.py`` is packed, a Dockerfile is built.

A ``main.py`` submission needs no image of its own: its files travel,
packed, in the command of a ``socklab/base`` container, where ``unpack.py``
unpacks them into its /tmp (a tmpfs) and runs ``python3 -u main.py`` there. That costs
nothing, where a docker build costs a second per step, which matters with a
class of a hundred.

A Dockerfile submission is built with no network, from a context made here
rather than read by Docker from the student's folder: files get plain
permissions (the program runs as an unprivileged user, which must be able to
read them), symbolic links are left out, and the size is capped. Every image
the build makes, intermediate ones included, is recorded in ``made`` so that
nothing is left behind, whether the build succeeds or not.
"""

from __future__ import annotations

import base64
import gzip
import io
import re
import tarfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Optional

import docker
import docker.errors
import requests.exceptions
import urllib3.exceptions

from ..images import BASE_IMAGE
from .submissions import Submission

BUILD_TIMEOUT = 120.0  # seconds
CONTEXT_LIMIT = 20 * 1024 * 1024  # bytes of files in a Dockerfile submission
PACKED_LIMIT = 96 * 1024  # bytes of a packed main.py submission: one argument of a command
BUILD_LIMITS = {"memory": 512 * 1024 * 1024, "memswap": 512 * 1024 * 1024, "cpushares": 512}
MAIN_PY = ("python3", "-u", "main.py")
WORKDIR = "/tmp/submission"  # where a packed submission is unpacked: the tmpfs (Docker 20.10 remounts other tmpfs root-only on restart)
_LAYER = re.compile(r"^ ---> ([0-9a-f]{12})$")
_COLOUR = re.compile(r"\x1b\[[0-9;]*m")  # RUN steps' stderr comes coloured


class BuildFailed(Exception):
    """The submission could not be made runnable; ``log`` says why."""

    def __init__(self, reason: str, log: str = "") -> None:
        super().__init__(reason)
        self.reason = reason
        self.log = log


@dataclass(frozen=True)
class Runnable:
    """A submission ready to run: the image, the program its CMD runs, and
    for a ``main.py`` its files, packed (base64 of a gzipped tar)."""

    image: str
    program: tuple[str, ...]
    packed: Optional[str] = None


def _tar(submission: Path, limit: int) -> bytes:
    """The submission's files as a tar archive with plain permissions."""
    buffer = io.BytesIO()
    total = 0
    with tarfile.open(fileobj=buffer, mode="w") as tar:
        for path in sorted(submission.rglob("*")):
            if (
                path.is_symlink()
                or not (path.is_file() or path.is_dir())
                or "__pycache__" in path.parts
                or ".git" in path.parts
            ):
                continue
            info = tarfile.TarInfo(path.relative_to(submission).as_posix())
            info.mtime = 0
            if path.is_dir():
                info.type, info.mode = tarfile.DIRTYPE, 0o755
                tar.addfile(info)
                continue
            info.size = path.stat().st_size
            total += info.size
            if total > limit:
                raise BuildFailed(f"the submission holds more than {limit // 1024} KB of files")
            info.mode = 0o755 if path.stat().st_mode & 0o111 else 0o644
            with path.open("rb") as data:
                tar.addfile(info, data)
    return buffer.getvalue()


def pack(submission: Submission) -> Runnable:
    """A ``main.py`` submission, packed into the command that runs it."""
    packed = base64.b64encode(gzip.compress(_tar(submission.path, CONTEXT_LIMIT), mtime=0)).decode()
    if len(packed) > PACKED_LIMIT:
        raise BuildFailed(
            f"a main.py submission is limited to {PACKED_LIMIT // 1024} KB packed; this one is {len(packed) // 1024} KB (use a Dockerfile for more)"
        )
    return Runnable(BASE_IMAGE, MAIN_PY, packed)


def build(
    client: docker.DockerClient,
    submission: Submission,
    tag: str,
    labels: dict[str, str],
    made: list[str],
    timeout: float = BUILD_TIMEOUT,
) -> Runnable:
    """Make a submission runnable; raises BuildFailed with the build's log.

    Every image created is appended to ``made`` as it appears, even when
    the build then fails, for the caller to :func:`remove`.
    """
    if submission.kind == "main.py":
        return pack(submission)
    if submission.kind is None:
        raise BuildFailed("the submission has neither a Dockerfile nor a main.py")
    image = _build(client, _tar(submission.path, CONTEXT_LIMIT), tag, labels, timeout, made)
    config = client.api.inspect_image(image)["Config"]
    program = tuple(config.get("Entrypoint") or ()) + tuple(config.get("Cmd") or ())
    if not program:
        raise BuildFailed("the image has no CMD: nothing to run")
    if config.get("Entrypoint"):
        # The grader starts the program itself (after unpacking), so the
        # image must not put an ENTRYPOINT in front of that command.
        image = _build(
            client,
            _single_file_tar("Dockerfile", f"FROM {image}\nENTRYPOINT []\n"),
            f"{tag}-run",
            labels,
            timeout,
            made,
        )
    return Runnable(image, program)


def _single_file_tar(name: str, text: str) -> bytes:
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w") as tar:
        info = tarfile.TarInfo(name)
        data = text.encode()
        info.size, info.mode = len(data), 0o644
        tar.addfile(info, io.BytesIO(data))
    return buffer.getvalue()


def _build(
    client: docker.DockerClient, data: bytes, tag: str, labels: dict[str, str], timeout: float, made: list[str]
) -> str:
    """One docker build; appends each image it creates to ``made``."""
    started = time.monotonic()
    log: list[str] = []
    built = ""
    after_from = False
    stream = client.api.build(
        fileobj=io.BytesIO(data),
        custom_context=True,
        tag=tag,
        labels=labels,
        network_mode="none",
        nocache=True,  # a shared cached layer could not be removed with this submission
        rm=True,
        forcerm=True,
        pull=False,
        container_limits=BUILD_LIMITS,
        decode=True,
        timeout=timeout,
    )
    try:
        for event in stream:
            if "error" in event:
                raise BuildFailed("the Dockerfile does not build: " + str(event["error"]).strip(), "".join(log))
            text = _COLOUR.sub("", str(event.get("stream", "")))
            log.append(text)
            for line in text.splitlines():
                if line.startswith("Step ") and " : " in line:
                    after_from = line.split(" : ", 1)[1].upper().startswith("FROM")
                match = _LAYER.match(line)
                if match and not after_from:
                    made.append(match.group(1))
            if "aux" in event and "ID" in event["aux"]:
                built = event["aux"]["ID"]
            if time.monotonic() - started > timeout:
                raise BuildFailed(f"the build took more than {timeout:g} s", "".join(log))
    except docker.errors.APIError as err:
        raise BuildFailed(f"the build failed: {err.explanation or err}", "".join(log)) from None
    except (
        OSError,
        requests.exceptions.RequestException,
        urllib3.exceptions.HTTPError,
    ) as err:  # a step silent for too long
        raise BuildFailed(f"the build took more than {timeout:g} s ({err})", "".join(log)) from None
    finally:
        stream.close()
    if not built:
        raise BuildFailed("the build gave no image", "".join(log))
    made.append(built)
    return built


def remove(client: docker.DockerClient, made: list[str], patience: float = 15.0) -> None:
    """Remove every image a submission's builds made, newest first.

    A build given up on may still be stopping its step's container, which
    holds the image below it for a moment: such a conflict is retried.
    """
    deadline = time.monotonic() + patience
    for image_id in reversed(made):
        while True:
            try:
                client.api.remove_image(image_id, force=True)
                break
            except docker.errors.NotFound:
                break
            except docker.errors.APIError as err:
                if "conflict" not in str(err).lower() or time.monotonic() > deadline:
                    raise
                time.sleep(0.5)
