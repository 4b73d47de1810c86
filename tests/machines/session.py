"""Trying a checkout on one machine: a fresh clone as ``student``, steps run in order, results judged.

Shared by ``run.py`` (one command) and ``smoke.py`` (the smoke set). The
guest receives the checkout's committed HEAD as a git bundle (a root-owned
9p folder is no repository uid 1000 may use), the host's pip settings, and
optionally Docker images saved on the host (``docker save``, as a pull would
bring them) and a wheelhouse.
"""

from __future__ import annotations

import os
import re
import shlex
import subprocess
import tempfile
import xml.etree.ElementTree as ET
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Optional

from guest import Job, Outcome, boot, root_script
from image import cache_root, ensure_image
from machines import Machine
from steps import Step
from wheels import ensure_wheelhouse

OUT = "/mnt/job/out"
CLONE = Step("clone", "git clone -q /mnt/job/checkout.bundle ~/socklab && git -C ~/socklab log --oneline -1", 300)
BOOT_SLACK = 600  # boot, Docker's start, power-off, on top of the steps' own limits


@dataclass
class Options:
    checkout: Path
    preload: tuple[str, ...] = ()  # host images handed to the guest, as a pull would bring them
    wheelhouse: bool = True
    smp: int = 2
    ci: bool = False  # only the steps marked in_ci


@dataclass
class StepResult:
    name: str
    result: str  # pass, fail, timeout, skip, n/a, not run
    seconds: Optional[float]
    detail: str = ""
    log: str = ""
    status: Optional[int] = None  # the command's exit status, when it ended


@dataclass
class MachineRun:
    machine: Machine
    build_seconds: float
    outcome: Optional[Outcome]
    boot_seconds: Optional[float]
    results: list[StepResult]
    info: dict

    @property
    def ok(self) -> bool:
        return bool(self.results) and all(r.result in ("pass", "skip", "n/a") for r in self.results)


def pip_environment(wheels: bool) -> dict[str, str]:
    """The host's PIP_* settings for the guest; the wheelhouse replaces the host's own find-links."""
    env = {k: v for k, v in os.environ.items() if k.startswith("PIP_") and k not in ("PIP_FIND_LINKS", "PIP_NO_INDEX")}
    if wheels:
        env.update(PIP_FIND_LINKS="/mnt/wheels", PIP_NO_INDEX="1")
    return env


def student_script(steps: list[Step], wheels: bool) -> str:
    """student.sh: each step with its time limit, its output in out/NAME.log, a line in out/steps.tsv."""
    exports = "".join(f"export {k}={shlex.quote(v)}\n" for k, v in sorted(pip_environment(wheels).items()))
    lines = [
        "set -u",
        exports,
        "step() {",
        '    echo "$1" > ' + OUT + "/current",
        "    start=$(date +%s.%N)",
        '    timeout --kill-after=30 "$2" bash -c "$3" > ' + OUT + '/"$1".log 2>&1 < /dev/null',
        "    rc=$?",
        "    end=$(date +%s.%N)",
        '    seconds=$(awk "BEGIN {print $end - $start}")',
        '    printf \'%s\\t%s\\t%s\\n\' "$1" "$rc" "$seconds" >> ' + OUT + "/steps.tsv",
        "}",
        "cd ~",
    ]
    for step in steps:
        lines.append(f"step {step.name} {step.timeout} {shlex.quote(step.script(OUT))}")
        if step is CLONE:
            lines.append("cd ~/socklab || exit 1")
    return "\n".join(lines) + "\n"


def _junit(path: Path) -> tuple[int, int, int, int, list[str]]:
    """(tests, failures, errors, skipped, skip reasons) of a pytest JUnit file."""
    root = ET.parse(path).getroot()
    suite = root.find("testsuite") if root.tag == "testsuites" else root
    assert suite is not None
    reasons = sorted({_skip_reason(s) for s in suite.iter("skipped")})
    counts = (int(suite.get(k, 0)) for k in ("tests", "failures", "errors", "skipped"))
    return (*counts, reasons)  # type: ignore[return-value]


def _skip_reason(skipped: ET.Element) -> str:
    """Why a test skipped: for a module skipped at collection, pytest's message
    says only "collection skipped", and the reason is in the text."""
    message = skipped.get("message", "")
    told = re.search(r"'Skipped: (.*)'\)$", skipped.text or "") if message == "collection skipped" else None
    return told.group(1) if told else message


def judge(step: Step, status: int, seconds: float, out: Path) -> StepResult:
    result = _judge(step, status, seconds, out)
    result.status = status
    return result


def _judge(step: Step, status: int, seconds: float, out: Path) -> StepResult:
    log = (out / f"{step.name}.log").read_text(errors="replace") if (out / f"{step.name}.log").exists() else ""
    if status in (124, 137):
        return StepResult(step.name, "timeout", seconds, f"no end after {step.timeout} s", log)
    if step.kind != "pytest":
        if status == 0:
            return StepResult(step.name, "pass", seconds, "", log)
        return StepResult(step.name, "fail", seconds, f"exit {status}", log)
    if status == 5:
        return StepResult(step.name, "n/a", seconds, "no tests collected: not available in this checkout yet", log)
    junit = out / f"{step.name}.xml"
    if not junit.exists():
        return StepResult(step.name, "fail", seconds, f"pytest exit {status}, no JUnit file", log)
    tests, failures, errors, skipped, reasons = _junit(junit)
    passed = tests - failures - errors - skipped
    others = ((failures, "failed"), (errors, "errors"), (skipped, "skipped"))
    detail = f"{passed} passed" + "".join(f", {n} {what}" for n, what in others if n)
    if reasons:
        detail += " (" + "; ".join(r for r in reasons if r) + ")"
    if status != 0 or failures or errors:
        return StepResult(step.name, "fail", seconds, detail, log)
    return StepResult(step.name, "pass" if passed else "skip", seconds, detail, log)


def read_results(steps: list[Step], out: Path) -> list[StepResult]:
    """One result per step; steps the guest never reached are 'not run'."""
    done: dict[str, tuple[int, float]] = {}
    if (out / "steps.tsv").exists():
        for line in (out / "steps.tsv").read_text().splitlines():
            name, status, seconds = line.split("\t")
            done[name] = (int(status), float(seconds))
    results = []
    for step in steps:
        if step.name in done:
            results.append(judge(step, *done[step.name], out))
        else:
            results.append(StepResult(step.name, "not run", None))
    return results


def boot_seconds(out: Path) -> Optional[float]:
    """Seconds from power-on to the job's start (the guest's uptime then)."""
    match = re.search(r"boot: ([\d.]+)", (out / "boot").read_text()) if (out / "boot").exists() else None
    return float(match.group(1)) if match else None


def bundle(checkout: Path, into: Path) -> Path:
    """The checkout's committed HEAD as a git bundle: the guest clones it as any user."""
    path = into / "checkout.bundle"
    subprocess.run(
        ["git", "-C", str(checkout), "bundle", "create", "-q", str(path), "HEAD"], check=True, stdout=subprocess.DEVNULL
    )
    return path


def save_images(names: tuple[str, ...], into: Path) -> dict[str, Path]:
    """``docker save`` of host images, one tar each, for the guest to ``docker load``."""
    files = {}
    for name in names:
        path = into / (re.sub(r"[^\w.-]", "_", name) + ".tar")
        subprocess.run(["docker", "save", "-o", str(path), name], check=True)
        files[f"preload/{path.name}"] = path
    return files


def try_machine(
    machine: Machine,
    steps: list[Step],
    options: Options,
    log: Callable[[str], None],
    watch: Optional[Callable[[Path], None]] = None,
) -> MachineRun:
    """Build or reuse the image, boot it with the steps, judge what came back."""
    image, built = ensure_image(machine, log)
    steps = [CLONE, *(s for s in steps if s.base == "any" or (s.base == "preloaded") == bool(options.preload))]
    with tempfile.TemporaryDirectory(prefix="socklab-machines-", dir=_scratch()) as tmp:
        scratch = Path(tmp)
        files = {"checkout.bundle": bundle(options.checkout, scratch), **save_images(options.preload, scratch)}
        script = scratch / "student.sh"
        script.write_text(student_script(steps, options.wheelhouse))
        files["student.sh"] = script
        wheels = ensure_wheelhouse(options.checkout, machine.python, log) if options.wheelhouse else None
        job = Job(root_script(script.read_text(), wheels is not None), files, wheels)
        timeout = sum(s.timeout for s in steps) + BOOT_SLACK
        outcome = boot(image, job, timeout, scratch, log, options.smp, watch)
        out = outcome.folder / "out"
        results = read_results(steps, out)
        if outcome.timed_out:
            current = (out / "current").read_text().strip() if (out / "current").exists() else "boot"
            killed = StepResult(current, "timeout", None, "the guest was killed")
            results = [killed if r.name == current else r for r in results]
        _keep_logs(f"{machine.name}-{options.checkout.name}", outcome)
        return MachineRun(machine, built, outcome, boot_seconds(out), results, image.info)


def _scratch() -> Path:
    path = cache_root() / "runs"
    path.mkdir(parents=True, exist_ok=True)
    return path


def _keep_logs(name: str, outcome: Outcome) -> None:
    """The logs of the last run of each machine and checkout stay in the cache, to read after the run."""
    keep = cache_root() / "last" / name
    subprocess.run(["rm", "-rf", str(keep)], check=True)
    keep.parent.mkdir(parents=True, exist_ok=True)
    subprocess.run(["cp", "-r", str(outcome.folder), str(keep)], check=True)
    for tar in (keep / "preload").glob("*.tar") if (keep / "preload").exists() else ():
        tar.unlink()
    (keep / "checkout.bundle").unlink(missing_ok=True)
