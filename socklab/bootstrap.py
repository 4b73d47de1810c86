"""Make the checkout's virtual environment with nothing but the system Python.

Debian and Ubuntu refuse ``pip install`` into their Python (PEP 668) and
often ship it without ``ensurepip`` (the ``python3-venv`` package), which a
user without root cannot add. So: a venv with pip when ``ensurepip`` is
there; else a venv without pip, given pip by the system's own pip
(``pip --python``) or by pip's wheel fetched from the package index and run
from the wheel itself, as ``get-pip`` does. Standard library only: it runs
before anything is installed (``python3 -m socklab.bootstrap .venv``).
"""

from __future__ import annotations

import importlib.util
import json
import shutil
import subprocess
import sys
import tempfile
import urllib.request
import venv
from pathlib import Path

INDEX = "https://pypi.org/pypi/pip/json"


def _has_pip(python: Path) -> bool:
    return subprocess.run([str(python), "-m", "pip", "--version"], capture_output=True).returncode == 0


def _pip_from_system(python: Path) -> bool:
    """Install pip into the venv with the system's pip, which may target another interpreter."""
    probe = subprocess.run([sys.executable, "-m", "pip", "--version"], capture_output=True)
    if probe.returncode != 0:
        return False
    done = subprocess.run([sys.executable, "-m", "pip", "--python", str(python), "install", "-q", "pip"])
    return done.returncode == 0


def _pip_from_index(python: Path) -> None:
    """Fetch pip's wheel and run pip from inside it to install itself."""
    with urllib.request.urlopen(INDEX, timeout=60) as answer:
        release = json.load(answer)
    wheel = next(f for f in release["urls"] if f["filename"].endswith("py3-none-any.whl"))
    with tempfile.TemporaryDirectory(prefix="socklab-pip-") as tmp:
        path = Path(tmp) / wheel["filename"]
        with urllib.request.urlopen(wheel["url"], timeout=120) as answer, open(path, "wb") as out:
            shutil.copyfileobj(answer, out)
        subprocess.run([str(python), f"{path}/pip", "install", "-q", "--no-index", str(path)], check=True)


def make_venv(target: Path) -> Path:
    """Create ``target`` with a working pip; returns its python."""
    python = target / "bin" / "python"
    if python.exists() and _has_pip(python):
        return python
    try:
        venv.EnvBuilder(with_pip=importlib.util.find_spec("ensurepip") is not None, clear=True).create(target)
    except (subprocess.CalledProcessError, OSError, SystemExit):
        # Debian's venv, its ensurepip missing or broken, prints how to install python3-venv and exits.
        venv.EnvBuilder(with_pip=False, clear=True).create(target)
    if not _has_pip(python):
        print("socklab: this Python has no ensurepip (python3-venv); giving the venv pip another way", file=sys.stderr)
        if not _pip_from_system(python):
            _pip_from_index(python)
    return python


def main() -> int:
    target = Path(sys.argv[1] if len(sys.argv) > 1 else ".venv")
    try:
        make_venv(target)
    except Exception as err:  # noqa: BLE001 - a setup failure must say what to do, not trace back
        print(f"socklab: could not make {target}: {err}; install python3-venv or python3-pip", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
