"""A wheelhouse of socklab's Python dependencies for a guest's Python, made on the host.

Installing them from PyPI under software emulation takes minutes; the host
downloads the same wheels once (``pip download``, cached by the dependency
list and the Python version) and the guest installs from them with no index.
"""

from __future__ import annotations

import hashlib
import subprocess
import sys
from pathlib import Path

import tomllib
from image import cache_root

PLATFORMS = ("manylinux_2_28_x86_64", "manylinux_2_17_x86_64", "manylinux2014_x86_64", "manylinux1_x86_64", "any")


def requirements(checkout: Path) -> list[str]:
    """Everything ``make setup`` installs: the dependencies, the dev extras, the build backend, pip."""
    pyproject = tomllib.loads((checkout / "pyproject.toml").read_text())
    project = pyproject["project"]
    extras = [r for group in project.get("optional-dependencies", {}).values() for r in group]
    return [*project["dependencies"], *extras, *pyproject["build-system"]["requires"], "pip", "wheel"]


def ensure_wheelhouse(checkout: Path, python: str, log=print) -> Path:
    """The cached wheels for CPython ``python`` (\"3.13\") on x86-64 Linux."""
    wanted = requirements(checkout)
    key = hashlib.sha256(repr((wanted, python, PLATFORMS)).encode()).hexdigest()[:16]
    folder = cache_root() / f"wheels-py{python}-{key}"
    if (folder / ".complete").exists():
        return folder
    log(f"machines: downloading wheels for Python {python} into {folder}")
    folder.mkdir(parents=True, exist_ok=True)
    platforms = [arg for p in PLATFORMS for arg in ("--platform", p)]
    subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "download",
            "-q",
            "--dest",
            str(folder),
            "--only-binary=:all:",
            "--implementation",
            "cp",
            "--python-version",
            python,
            *platforms,
            *wanted,
        ],
        check=True,
    )
    (folder / ".complete").touch()
    return folder
