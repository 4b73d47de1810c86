"""Building the lab images offline.

No registry can be reached, so ``socklab/base`` is a Debian root filesystem
made here with debootstrap and ``docker import``ed; ``socklab/node`` adds
the reference services on top. Each image carries a label with the hash of
what it was made from, so a rebuild with nothing changed costs only the hash.
"""

from __future__ import annotations

import hashlib
import io
import os
import shutil
import subprocess
import tarfile
import tempfile
import time
from pathlib import Path
from typing import Callable, Optional

import docker
import docker.errors

from .catalog import NODE_IMAGE
from .errors import BadInput, SocklabError
from .labels import CONTENT, IMAGE_ROLE, PROJECT

ROOT = Path(__file__).resolve().parent.parent
BASE_IMAGE = "socklab/base"
MIRROR = os.environ.get("SOCKLAB_DEBIAN_MIRROR", "http://deb.debian.org/debian")
TRIM = ("var/cache/apt/archives", "var/lib/apt/lists", "usr/share/doc", "usr/share/man", "usr/share/info", "usr/share/locale")

Progress = Callable[[str], None]


def _quiet(_: str) -> None:
    """Default progress sink for library callers that show nothing."""


def read_recipe(path: Path = ROOT / "images" / "base" / "packages.txt") -> tuple[str, list[str]]:
    """The Debian suite and packages of the base image, from its recipe file."""
    suite, packages = "bookworm", []
    for raw in path.read_text().splitlines():
        line = raw.split("#", 1)[0].strip()
        if line.startswith("suite "):
            suite = line.split()[1]
        elif line:
            packages.append(line)
    return suite, packages


def image_hash(image: str, client: docker.DockerClient) -> Optional[str]:
    """The content hash an image was built from, or None when it is missing."""
    try:
        return (client.images.get(image).labels or {}).get(CONTENT)
    except docker.errors.ImageNotFound:
        return None


def base_hash() -> str:
    """What socklab/base is made from: the recipe, the mirror, the trimming."""
    suite, packages = read_recipe()
    return hashlib.sha256(f"{suite}\n{MIRROR}\n{sorted(packages)}\n{TRIM}".encode()).hexdigest()[:16]


def node_hash(client: docker.DockerClient) -> str:
    """What socklab/node is made from: the base image, the Dockerfile, services/."""
    digest = hashlib.sha256(client.images.get(BASE_IMAGE).id.encode())
    for name, path in _context_files():
        digest.update(name.encode() + b"\0" + path.read_bytes() + b"\0")
    return digest.hexdigest()[:16]


def ensure_base(client: docker.DockerClient, progress: Progress = _quiet, force: bool = False) -> str:
    """Make sure ``socklab/base`` exists and is current; returns its hash."""
    external = os.environ.get("SOCKLAB_BASE_IMAGE")
    if external:
        try:
            image = client.images.get(external)
        except docker.errors.ImageNotFound:
            raise BadInput(f"SOCKLAB_BASE_IMAGE={external} is not a local image") from None
        image.tag(BASE_IMAGE)
        progress(f"base image: using {external} ({image.short_id})")
        return image.id
    suite, packages = read_recipe()
    wanted = base_hash()
    if not force and image_hash(BASE_IMAGE, client) == wanted:
        progress(f"base image: {BASE_IMAGE} is current")
        return wanted
    if shutil.which("debootstrap") is None:
        raise SocklabError("debootstrap is missing: apt-get install debootstrap (or set SOCKLAB_BASE_IMAGE)")
    started = time.monotonic()
    with tempfile.TemporaryDirectory(prefix="socklab-rootfs-") as tmp:
        rootfs = Path(tmp) / "rootfs"
        progress(f"base image: debootstrap {suite} with {len(packages)} packages (about 40 s)")
        result = subprocess.run(
            ["debootstrap", "--variant=minbase", f"--include={','.join(packages)}", suite, str(rootfs), MIRROR],
            capture_output=True,
            text=True,
        )
        if result.returncode != 0:
            tail = "\n".join((result.stdout + result.stderr).splitlines()[-5:])
            raise SocklabError(f"debootstrap failed:\n{tail}")
        for part in TRIM:
            target = rootfs / part
            if target.is_dir():
                shutil.rmtree(target)
                target.mkdir()
        progress("base image: docker import")
        archive = Path(tmp) / "rootfs.tar"
        subprocess.run(["tar", "-C", str(rootfs), "--numeric-owner", "-cf", str(archive), "."], check=True)
        changes = [
            f"LABEL {PROJECT}=1 {IMAGE_ROLE}=base {CONTENT}={wanted}",
            "ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin LANG=C.UTF-8",
            'CMD ["python3"]',
        ]
        client.api.import_image_from_file(str(archive), repository=BASE_IMAGE, tag="latest", changes=changes)
    progress(f"base image: built in {time.monotonic() - started:.1f} s")
    return wanted


def _context_files() -> list[tuple[str, Path]]:
    files = [("Dockerfile", ROOT / "images" / "node" / "Dockerfile")]
    services = ROOT / "services"
    for path in sorted(services.rglob("*")):
        if path.is_file() and "__pycache__" not in path.parts:
            files.append((f"services/{path.relative_to(services)}", path))
    return files


def ensure_node(client: docker.DockerClient, progress: Progress = _quiet, force: bool = False) -> str:
    """Make sure ``socklab/node`` is current with ``services/`` and the base."""
    files = _context_files()
    wanted = node_hash(client)
    if not force and image_hash(NODE_IMAGE, client) == wanted:
        progress(f"node image: {NODE_IMAGE} is current")
        return wanted
    progress("node image: building")
    try:
        previous: Optional[str] = client.images.get(NODE_IMAGE).id
    except docker.errors.ImageNotFound:
        previous = None
    context = io.BytesIO()
    with tarfile.open(fileobj=context, mode="w") as tar:
        for name, path in files:
            tar.add(path, arcname=name)
    context.seek(0)
    try:
        client.images.build(
            fileobj=context,
            custom_context=True,
            tag=NODE_IMAGE,
            labels={PROJECT: "1", IMAGE_ROLE: "node", CONTENT: wanted},
            buildargs={"BASE": BASE_IMAGE},
            network_mode="none",
            rm=True,
            forcerm=True,
        )
    except docker.errors.BuildError as err:
        log = "".join(str(chunk.get("stream", "")) for chunk in err.build_log)
        raise SocklabError(f"building {NODE_IMAGE} failed: {err.msg}\n{log[-2000:]}") from None
    if previous is not None:
        _remove_replaced(client, previous)
    progress(f"node image: built ({wanted})")
    return wanted


def _remove_replaced(client: docker.DockerClient, image_id: str) -> None:
    """Remove the node image a rebuild replaced, unless a container still uses it."""
    try:
        client.images.remove(image_id)
    except docker.errors.APIError as err:
        if err.status_code != 409:  # 409: a container still runs it; it goes with a later rebuild
            raise


def ensure_images(client: docker.DockerClient, progress: Progress = _quiet, force: bool = False) -> None:
    ensure_base(client, progress, force)
    ensure_node(client, progress, force)
