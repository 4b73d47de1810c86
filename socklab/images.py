"""Building the lab images from their Dockerfiles, with or without a registry.

``socklab/base`` is built from ``images/base/Dockerfile`` on a Debian slim
image (``DEBIAN_IMAGE``). Where a registry answers, that image is pulled, as
on any user's machine or Docker Desktop. Where none does, it is made here
under the same name: a minimal Debian root filesystem with the base's
packages already in it (debootstrap, through ``sudo`` when not root), then
``docker import``; the same Dockerfile then builds on it without fetching
anything. ``SOCKLAB_BASE_IMAGE`` names a local image to use instead.
``socklab/node`` adds the reference services on top, and ``socklab/graphviz``
draws topologies where the host has no ``dot``.

Each image carries a label with the hash of what it was made from, so a
rebuild with nothing changed costs only the hash.
"""

from __future__ import annotations

import hashlib
import io
import os
import shutil
import subprocess
import sys
import tarfile
import tempfile
import time
from pathlib import Path
from typing import Callable, Optional

import docker
import docker.errors
import requests.exceptions

from .catalog import NODE_IMAGE
from .docker_backend import import_image
from .errors import BadInput, SocklabError
from .labels import CONTENT, IMAGE_ROLE, PROJECT

ROOT = Path(__file__).resolve().parent.parent
IMAGES = ROOT / "images"
BASE_IMAGE = "socklab/base"
GRAPHVIZ_IMAGE = "socklab/graphviz"
MIRROR = os.environ.get("SOCKLAB_DEBIAN_MIRROR", "http://deb.debian.org/debian")
TRIM = (
    "var/cache/apt/archives",
    "var/lib/apt/lists",
    "usr/share/doc",
    "usr/share/man",
    "usr/share/info",
    "usr/share/locale",
)
# A build step can stay silent for minutes on a slow or busy engine (emulated
# machines, fuse-overlayfs): far longer than the client's default read timeout.
BUILD_TIMEOUT = 900
LOCAL_ROLE = "debian-local"  # IMAGE_ROLE of a Debian image made here because no registry answered

Progress = Callable[[str], None]


def _quiet(_: str) -> None:
    """Default progress sink for library callers that show nothing."""


def read_recipe(path: Path = IMAGES / "base" / "packages.txt") -> tuple[str, list[str]]:
    """The Debian suite and packages of the base image, from its recipe file."""
    suite, packages = "bookworm", []
    for raw in path.read_text().splitlines():
        line = raw.split("#", 1)[0].strip()
        if line.startswith("suite "):
            suite = line.split()[1]
        elif line:
            packages.append(line)
    return suite, packages


def debian_image() -> str:
    """The registry name of the Debian image the base Dockerfile starts from."""
    suite, _ = read_recipe()
    return f"debian:{suite}-slim"


def image_hash(image: str, client: docker.DockerClient) -> Optional[str]:
    """The content hash an image was built from, or None when it is missing."""
    try:
        return (client.images.get(image).labels or {}).get(CONTENT)
    except docker.errors.ImageNotFound:
        return None


def _digest(*parts: bytes) -> str:
    digest = hashlib.sha256()
    for part in parts:
        digest.update(part + b"\0")
    return digest.hexdigest()[:16]


def _folder_files(folder: Path) -> list[tuple[str, Path]]:
    return [
        (str(p.relative_to(folder)), p)
        for p in sorted(folder.rglob("*"))
        if p.is_file() and "__pycache__" not in p.parts
    ]


def base_hash(client: docker.DockerClient) -> str:
    """What socklab/base is made from: the Debian image it starts from and images/base/."""
    start = os.environ.get("SOCKLAB_BASE_IMAGE") or debian_image()
    parts = [client.images.get(start).id.encode()]
    parts += [name.encode() + b"\0" + path.read_bytes() for name, path in _folder_files(IMAGES / "base")]
    return _digest(*parts)


def _context_files() -> list[tuple[str, Path]]:
    files = [("Dockerfile", IMAGES / "node" / "Dockerfile")]
    files += [(f"services/{name}", path) for name, path in _folder_files(ROOT / "services")]
    return files


def node_hash(client: docker.DockerClient) -> str:
    """What socklab/node is made from: the base image, the Dockerfile, services/."""
    parts = [client.images.get(BASE_IMAGE).id.encode()]
    parts += [name.encode() + b"\0" + path.read_bytes() for name, path in _context_files()]
    return _digest(*parts)


def registry_answers(client: docker.DockerClient, image: str) -> bool:
    """Pull ``image``; False when no registry answers (offline, like this workplace)."""
    repository, tag = image.rsplit(":", 1)
    try:
        client.images.pull(repository, tag=tag)
    except docker.errors.APIError:
        return False
    return True


def _as_root(argv: list[str]) -> list[str]:
    """``argv`` run as root: directly when we are, else through sudo (asking on a terminal)."""
    if os.geteuid() == 0:
        return argv
    if shutil.which("sudo") is None:
        raise SocklabError(f"{argv[0]} needs root and sudo is missing: run socklab images as root once")
    return ["sudo", *([] if sys.stdin.isatty() else ["-n"]), *argv]


def _debootstrap() -> str:
    for folder in os.environ.get("PATH", "").split(os.pathsep) + ["/usr/sbin", "/sbin"]:
        candidate = Path(folder) / "debootstrap"
        if candidate.is_file():
            return str(candidate)
    raise SocklabError(
        "no registry answered and debootstrap is missing: connect to a registry, "
        "or sudo apt-get install debootstrap, or set SOCKLAB_BASE_IMAGE to a local Debian image"
    )


def make_local_debian(client: docker.DockerClient, progress: Progress = _quiet) -> None:
    """Make ``debian:<suite>-slim`` here: debootstrap with the base's packages, then import it."""
    suite, packages = read_recipe()
    name = debian_image()
    debootstrap = _debootstrap()
    started = time.monotonic()
    with tempfile.TemporaryDirectory(prefix="socklab-rootfs-") as tmp:
        rootfs = Path(tmp) / "rootfs"
        progress(f"base image: no registry answered; debootstrap {suite} with {len(packages)} packages (about 40 s)")
        try:
            done = subprocess.run(
                _as_root(
                    [debootstrap, "--variant=minbase", f"--include={','.join(packages)}", suite, str(rootfs), MIRROR]
                ),
                capture_output=True,
                text=True,
            )
            if done.returncode != 0:
                tail = " | ".join((done.stdout + done.stderr).strip().splitlines()[-3:])
                raise SocklabError(f"debootstrap {suite} failed: {tail}")
            progress(f"base image: docker import as {name}")
            trim = [f"--exclude=./{part}/*" for part in TRIM]
            tar = subprocess.Popen(
                _as_root(["tar", "-C", str(rootfs), "--numeric-owner", *trim, "-c", "."]), stdout=subprocess.PIPE
            )
            assert tar.stdout is not None
            changes = [
                f"LABEL {PROJECT}=1 {IMAGE_ROLE}={LOCAL_ROLE}",
                "ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
                'CMD ["bash"]',
            ]
            import_image(client, tar.stdout, name, changes)
            if tar.wait() != 0:
                raise SocklabError(f"packing the {suite} root filesystem failed")
        finally:
            if rootfs.exists():
                subprocess.run(_as_root(["rm", "-rf", str(rootfs)]), check=False)
    progress(f"base image: {name} made locally in {time.monotonic() - started:.1f} s")


def ensure_debian(client: docker.DockerClient, progress: Progress = _quiet) -> str:
    """The image the base Dockerfile starts from: local, else pulled, else made here."""
    external = os.environ.get("SOCKLAB_BASE_IMAGE")
    if external:
        try:
            client.images.get(external)
        except docker.errors.ImageNotFound:
            raise BadInput(f"SOCKLAB_BASE_IMAGE={external} is not a local image") from None
        return external
    name = debian_image()
    try:
        client.images.get(name)
        return name
    except docker.errors.ImageNotFound:
        pass
    progress(f"base image: pulling {name}")
    if not registry_answers(client, name):
        make_local_debian(client, progress)
    return name


def _build(
    client: docker.DockerClient, tag: str, files: list[tuple[str, Path]], labels: dict[str, str], **options: object
) -> None:
    context = io.BytesIO()
    with tarfile.open(fileobj=context, mode="w") as tar:
        for name, path in files:
            tar.add(path, arcname=name)
    context.seek(0)
    try:
        client.images.build(
            fileobj=context,
            custom_context=True,
            tag=tag,
            labels=labels,
            rm=True,
            forcerm=True,
            timeout=BUILD_TIMEOUT,
            **options,
        )
    except docker.errors.BuildError as err:
        log = "".join(str(chunk.get("stream", "")) for chunk in err.build_log)
        tail = " | ".join(log.strip().splitlines()[-3:])
        raise SocklabError(f"building {tag} failed: {err.msg}: {tail}") from None
    except requests.exceptions.ReadTimeout:
        raise SocklabError(
            f"building {tag}: Docker gave no answer for {BUILD_TIMEOUT} s; is the engine overloaded? try again"
        ) from None


def _rebuild(
    client: docker.DockerClient, tag: str, role: str, wanted: str, build: Callable[[dict[str, str]], None]
) -> None:
    """Build ``tag`` and remove the image it replaced, unless a container still uses it."""
    try:
        previous: Optional[str] = client.images.get(tag).id
    except docker.errors.ImageNotFound:
        previous = None
    build({PROJECT: "1", IMAGE_ROLE: role, CONTENT: wanted})
    if previous is not None and previous != client.images.get(tag).id:
        try:
            client.images.remove(previous)
        except docker.errors.APIError as err:
            if err.status_code != 409:  # 409: a container still runs it; it goes with a later rebuild
                raise


def ensure_base(client: docker.DockerClient, progress: Progress = _quiet, force: bool = False) -> str:
    """Make sure ``socklab/base`` exists and is current; returns its hash."""
    start = ensure_debian(client, progress)
    wanted = base_hash(client)
    if not force and image_hash(BASE_IMAGE, client) == wanted:
        progress(f"base image: {BASE_IMAGE} is current")
        return wanted
    progress(f"base image: building {BASE_IMAGE} on {start}")
    files = _folder_files(IMAGES / "base")
    _rebuild(
        client,
        BASE_IMAGE,
        "base",
        wanted,
        lambda labels: _build(client, BASE_IMAGE, files, labels, buildargs={"DEBIAN": start}),
    )
    progress(f"base image: built ({wanted})")
    return wanted


def ensure_node(client: docker.DockerClient, progress: Progress = _quiet, force: bool = False) -> str:
    """Make sure the node image is current with ``services/`` and the base."""
    wanted = node_hash(client)
    if not force and image_hash(NODE_IMAGE, client) == wanted:
        progress(f"node image: {NODE_IMAGE} is current")
        return wanted
    progress(f"node image: building {NODE_IMAGE}")
    files = _context_files()
    options = {"buildargs": {"BASE": BASE_IMAGE}, "network_mode": "none"}
    _rebuild(client, NODE_IMAGE, "node", wanted, lambda labels: _build(client, NODE_IMAGE, files, labels, **options))
    progress(f"node image: built ({wanted})")
    return wanted


def ensure_images(client: docker.DockerClient, progress: Progress = _quiet, force: bool = False) -> None:
    ensure_base(client, progress, force)
    ensure_node(client, progress, force)


def ensure_graphviz(client: docker.DockerClient, progress: Progress = _quiet) -> str:
    """``socklab/graphviz``: Graphviz on the base image, for hosts without ``dot``."""
    ensure_base(client, progress)
    files = _folder_files(IMAGES / "graphviz")
    wanted = _digest(client.images.get(BASE_IMAGE).id.encode(), *(p.read_bytes() for _, p in files))
    if image_hash(GRAPHVIZ_IMAGE, client) != wanted:
        progress(f"building {GRAPHVIZ_IMAGE} (once, about 30 s)")
        options = {"buildargs": {"BASE": BASE_IMAGE}}
        _rebuild(
            client,
            GRAPHVIZ_IMAGE,
            "graphviz",
            wanted,
            lambda labels: _build(client, GRAPHVIZ_IMAGE, files, labels, **options),
        )
    return GRAPHVIZ_IMAGE
