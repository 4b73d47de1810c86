"""Making a submission runnable: a ``main.py`` is packed, a Dockerfile is built.

A ``main.py`` submission needs no image of its own: its files travel,
packed, in the command of a ``socklab/base`` container, where ``unpack.py``
unpacks them into its /tmp (a tmpfs) and runs ``python3 -u main.py`` there. That costs
nothing, where a docker build costs a second per step, which matters with a
class of a hundred.

A Dockerfile submission is read first (``dockerfile.py``: nothing it names
may come from outside the submission), then built with no network, half a
CPU, 512 MiB and a wall-clock deadline that a timer enforces (closing the
connection cancels the build, its running step included), from a context
made here rather than read by Docker from the student's folder: files get
plain permissions (the program runs as an unprivileged user, which must be
able to read them), symbolic links are left out, and the size is capped.
Every image the build makes, intermediate ones included, carries the
grader's labels, which is how :func:`remove_images` finds them all, whether
the build succeeds or not.
"""

from __future__ import annotations

import base64
import gzip
import io
import re
import tarfile
import threading
import time
import uuid
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Iterator, Optional

import docker
import docker.errors
import requests.exceptions
import urllib3.exceptions

from ..docker_backend import DockerBackend
from ..errors import NodeNotReady
from ..images import BASE_IMAGE
from ..model import Ready
from ..readiness import wait_ready
from .dockerfile import NAME as DOCKERFILE
from .dockerfile import DockerfileRefused, check, labelled
from .submissions import Submission, walk

BUILD_TIMEOUT = 120.0  # seconds
CONTEXT_LIMIT = 20 * 1024 * 1024  # bytes of files in a Dockerfile submission
DOCKERFILE_LIMIT = 64 * 1024  # bytes of the Dockerfile itself
PACKED_LIMIT = 96 * 1024  # bytes of a packed main.py submission: one argument of a command
# The build API's limits for its steps' containers (docker-py passes only the
# first four): 512 MiB, half a CPU, a small /dev/shm. It has none for
# processes (see process_limit), nor for disk: the deadline bounds that.
BUILD_LIMITS = {
    "memory": 512 * 1024 * 1024,
    "memswap": 512 * 1024 * 1024,
    "cpushares": 512,
    "cpuperiod": 100_000,
    "cpuquota": 50_000,
    "shmsize": 4 * 1024 * 1024,
}
BUILD_PIDS = 128  # processes and threads of a build step, where process_limit can set it
CGROUPS = Path("/sys/fs/cgroup")
BUILD_CGROUPS = "socklab-builds"  # where process_limit makes each build's cgroup parent
MAIN_PY = ("python3", "-u", "main.py")
# Where a packed submission is unpacked: the tmpfs (Docker 20.10 remounts
# other tmpfs root-only on restart).
WORKDIR = "/tmp/submission"
_COLOUR = re.compile(r"\x1b\[[0-9;]*m")  # RUN steps' stderr comes coloured
# The builder's own lines: image and container ids (which tell a student
# nothing but what to aim at) and the grader's labels.
_BUILDER_LINES = re.compile(
    r"^( ---> |Removing intermediate container |Successfully built |Step \d+/\d+ : LABEL \S*socklab)"
)


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


def _tar(submission: Path, limit: int, dockerfile: Optional[str] = None) -> bytes:
    """The submission's files as a tar archive with plain permissions; with
    ``dockerfile``, that text in place of its Dockerfile."""
    buffer = io.BytesIO()
    total = 0
    with tarfile.open(fileobj=buffer, mode="w") as tar:
        for path in walk(submission):
            if path.is_symlink() or not (path.is_file() or path.is_dir()):
                continue
            name = path.relative_to(submission).as_posix()
            info = tarfile.TarInfo(name)
            info.mtime = 0
            if path.is_dir():
                info.type, info.mode = tarfile.DIRTYPE, 0o755
                tar.addfile(info)
                continue
            replaced = dockerfile.encode() if dockerfile is not None and name == DOCKERFILE else None
            info.size = len(replaced) if replaced is not None else path.stat().st_size
            total += info.size
            if total > limit:
                raise BuildFailed(f"the submission holds more than {limit // 1024} KB of files")
            info.mode = 0o755 if path.stat().st_mode & 0o111 else 0o644
            if replaced is not None:
                tar.addfile(info, io.BytesIO(replaced))
                continue
            with path.open("rb") as data:
                tar.addfile(info, data)
    return buffer.getvalue()


def pack(submission: Submission) -> Runnable:
    """A ``main.py`` submission, packed into the command that runs it."""
    packed = base64.b64encode(gzip.compress(_tar(submission.path, CONTEXT_LIMIT), mtime=0)).decode()
    if len(packed) > PACKED_LIMIT:
        raise BuildFailed(
            f"a main.py submission is limited to {PACKED_LIMIT // 1024} KB packed; "
            f"this one is {len(packed) // 1024} KB (use a Dockerfile for more)"
        )
    return Runnable(BASE_IMAGE, MAIN_PY, packed)


def build(
    client: docker.DockerClient,
    submission: Submission,
    tag: str,
    labels: dict[str, str],
    timeout: float = BUILD_TIMEOUT,
) -> Runnable:
    """Make a submission runnable; raises BuildFailed with the build's log.

    Every image a build makes carries ``labels``, for :func:`remove_images`.
    """
    if submission.kind == "main.py":
        return pack(submission)
    if submission.kind is None:
        raise BuildFailed("the submission has neither a Dockerfile nor a main.py")
    text = _dockerfile(submission.path / DOCKERFILE)
    try:
        check(text)
    except DockerfileRefused as err:
        raise BuildFailed(str(err)) from None
    deadline = time.monotonic() + timeout
    context = _tar(submission.path, CONTEXT_LIMIT, labelled(text, labels))
    with process_limit(client, tag.rpartition(":")[2], labels) as parent:
        image = _build(client, context, tag, timeout, parent)
        config = client.api.inspect_image(image)["Config"]
        program = tuple(config.get("Entrypoint") or ()) + tuple(config.get("Cmd") or ())
        if not program:
            raise BuildFailed("the image has no CMD: nothing to run")
        if config.get("Entrypoint"):
            # The grader starts the program itself (after unpacking), so the
            # image must not put an ENTRYPOINT in front of that command.
            text = labelled(f"FROM {image}\nENTRYPOINT []\n", labels)
            left = max(1.0, deadline - time.monotonic())
            image = _build(client, _single_file_tar(DOCKERFILE, text), f"{tag}-run", left, parent)
    return Runnable(image, program)


@contextmanager
def process_limit(client: docker.DockerClient, name: str, labels: dict[str, str]) -> Iterator[Optional[str]]:
    """A cgroup parent for one build's steps, limited to ``BUILD_PIDS``
    processes, where one can be made: with Docker's systemd driver on cgroup
    v2 (users' machines) by a helper (:func:`_systemd_slice`); with its
    cgroupfs driver on cgroup v1 by this process when root (CI here).
    Elsewhere None: a build step then has no process limit but its memory
    and the deadline."""
    info = client.info()
    if info.get("CgroupDriver") == "systemd" and str(info.get("CgroupVersion")) == "2":
        with _systemd_slice(client, labels) as parent:
            yield parent
        return
    pids = CGROUPS / "pids"
    relative = f"{BUILD_CGROUPS}/{name}"
    if not (pids / "docker").is_dir():
        yield None
        return
    try:
        (pids / relative).mkdir(parents=True, exist_ok=True)
        (pids / relative / "pids.max").write_text(f"{BUILD_PIDS}\n")
    except OSError:
        yield None
        return
    try:
        yield f"/{relative}"
    finally:
        _remove_cgroups(relative)


_slots_lock = threading.Lock()
_slots_used: set[int] = set()


@contextmanager
def _systemd_slice(client: docker.DockerClient, labels: dict[str, str]) -> Iterator[Optional[str]]:
    """A systemd slice for one build, its process limit set from inside it.

    Only root may set a slice's limit, and the user need not be root: a
    helper from socklab's image (privileged, seeing the host's cgroups) is
    started in the slice, which makes systemd create it, writes its
    ``pids.max`` and stays there until the build is done; the build's steps
    then join the slice and share its limit (seen in the Debian 13 guest:
    Docker 26 keeps the value, a step forked 37 of 40). systemd keeps an
    empty slice until reboot, so slices are numbered and used again, one
    per build at a time, rather than one made per build."""
    with _slots_lock:
        slot = min(set(range(len(_slots_used) + 1)) - _slots_used)
        _slots_used.add(slot)
    unit = f"socklab-build-{slot}.slice"
    folder = f"/sys/fs/cgroup/socklab.slice/socklab-build.slice/{unit}"
    script = f'echo {BUILD_PIDS} > {folder}/pids.max && echo "limit set" && exec sleep infinity'
    backend = DockerBackend(client)
    helper = None
    try:
        try:
            helper = backend.start_helper(
                None,
                "build-limit",
                ["sh", "-ec", script],
                suffix=f"build-limit-{uuid.uuid4().hex[:12]}",
                labels=labels,
                cgroup_admin=unit,
            )
            wait_ready(backend, "build-limit", helper.id, Ready("log", log="limit set", timeout=30))
            limited = True
        except (docker.errors.APIError, NodeNotReady):
            limited = False  # e.g. no privileged containers (rootless Docker): no process limit
        yield unit if limited else None
    finally:
        if helper is not None:
            try:
                helper.remove()
            except docker.errors.APIError:
                pass  # removed with the submission's lab, by label
        with _slots_lock:
            _slots_used.discard(slot)


def _remove_cgroups(relative: str, patience: float = 30.0) -> None:
    """Remove a build's cgroup in every controller, then the shared parent if
    no other build is under it. A build stopped at its deadline leaves its step
    container to Docker, whose processes may still be in the cgroup for a while
    (the cgroup is busy): wait for them rather than leave it behind."""
    deadline = time.monotonic() + patience
    while True:
        busy = []
        for controller in CGROUPS.iterdir():
            try:
                (controller / relative).rmdir()
            except (FileNotFoundError, NotADirectoryError):
                pass
            except OSError:
                busy.append(controller)
        if not busy or time.monotonic() > deadline:
            break
        time.sleep(0.2)
    for controller in CGROUPS.iterdir():
        try:
            (controller / BUILD_CGROUPS).rmdir()
        except OSError:
            pass  # not there, or another build is still under it


def _dockerfile(path: Path) -> str:
    """The Dockerfile's text: a plain file of the submission, of a sane size."""
    if path.is_symlink() or not path.is_file():
        raise BuildFailed(f"{DOCKERFILE} is not a plain file (a symbolic link is not followed)")
    if path.stat().st_size > DOCKERFILE_LIMIT:
        raise BuildFailed(f"{DOCKERFILE} is larger than {DOCKERFILE_LIMIT // 1024} KB")
    return path.read_text(encoding="utf-8", errors="replace")


def _single_file_tar(name: str, text: str) -> bytes:
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w") as tar:
        info = tarfile.TarInfo(name)
        data = text.encode()
        info.size, info.mode = len(data), 0o644
        tar.addfile(info, io.BytesIO(data))
    return buffer.getvalue()


def _build(
    client: docker.DockerClient,
    data: bytes,
    tag: str,
    timeout: float,
    parent: Optional[str] = None,
) -> str:
    """One docker build (its steps' cgroups under ``parent`` when given),
    stopped at ``timeout`` by a timer, whatever its steps do; the image's id."""
    log: list[str] = []
    built = ""
    response = _start_build(client, data, tag, timeout, parent)
    expired = threading.Event()

    def expire() -> None:
        expired.set()
        response.close()  # the daemon cancels a build whose client has gone

    timer = threading.Timer(timeout, expire)
    timer.daemon = True
    timer.start()
    try:
        for event in client.api._stream_helper(response, decode=True):
            if "error" in event:
                if expired.is_set():  # the daemon's word on the step the deadline cut short
                    break
                raise BuildFailed("the Dockerfile does not build: " + str(event["error"]).strip(), _shown(log))
            log.append(_COLOUR.sub("", str(event.get("stream", ""))))
            if isinstance(event.get("aux"), dict) and "ID" in event["aux"]:
                built = str(event["aux"]["ID"])
    except BuildFailed:
        raise
    except Exception as err:
        if expired.is_set():
            raise BuildFailed(f"the build took more than {timeout:g} s", _shown(log)) from None
        if isinstance(err, docker.errors.APIError):
            raise BuildFailed(f"the build failed: {err.explanation or err}", _shown(log)) from None
        if isinstance(err, (OSError, requests.exceptions.RequestException, urllib3.exceptions.HTTPError)):
            raise BuildFailed(f"the build took more than {timeout:g} s ({err})", _shown(log)) from None
        raise
    finally:
        timer.cancel()
        response.close()
    if expired.is_set():
        raise BuildFailed(f"the build took more than {timeout:g} s", _shown(log))
    if not built:
        raise BuildFailed("the build gave no image", _shown(log))
    return built


def _start_build(
    client: docker.DockerClient, data: bytes, tag: str, timeout: float, parent: Optional[str]
) -> requests.Response:
    """POST /build with every limit the API has: docker-py's ``build`` passes
    only memory and CPU shares, not the CPU quota nor /dev/shm's size. The
    labels are in the Dockerfile already (:func:`labelled`): given here too,
    they would cost one more step."""
    api = client.api
    params: dict[str, object] = {
        "t": tag,
        "nocache": True,  # a shared cached layer could not be removed with this submission
        "rm": True,
        "forcerm": True,
        "pull": False,
        "networkmode": "none",
        **BUILD_LIMITS,
        **({"cgroupparent": parent} if parent else {}),
    }
    headers = {"Content-Type": "application/tar"}
    try:
        response = api._post(
            api._url("/build"), data=io.BytesIO(data), params=params, headers=headers, stream=True, timeout=timeout + 10
        )
        api._raise_for_status(response)
    except docker.errors.APIError as err:
        raise BuildFailed(f"the build failed: {err.explanation or err}") from None
    return response


def _shown(log: list[str]) -> str:
    """The build's log as the student sees it: without the builder's ids."""
    lines = "".join(log).splitlines()
    return "\n".join(line for line in lines if not _BUILDER_LINES.match(line))


def remove_images(client: docker.DockerClient, labels: dict[str, str], patience: float = 15.0) -> list[str]:
    """Remove every image carrying ``labels`` (a submission's builds'
    images, intermediate ones included), children before their parents;
    returns the ids it could not remove, and never raises for them.

    A build given up on may still be stopping its step's container, which
    holds the image below it for a moment: such a conflict is retried.
    """
    filters = {"label": [f"{key}={value}" for key, value in labels.items()]}
    deadline = time.monotonic() + patience
    while True:
        try:
            images = client.api.images(all=True, filters=filters)
        except docker.errors.APIError:
            return ["(the image list)"]
        if not images:
            return []
        parents = {image.get("ParentId") for image in images}
        leaves = [image["Id"] for image in images if image["Id"] not in parents] or [images[0]["Id"]]
        failed = []
        for image_id in leaves:
            try:
                client.api.remove_image(image_id, force=True)
            except docker.errors.NotFound:
                pass
            except docker.errors.APIError:
                failed.append(image_id)
        if failed:
            if time.monotonic() > deadline:
                return failed
            time.sleep(0.5)
