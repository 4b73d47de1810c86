"""The smoke set on the stock machines: ``make machines``, and the guest part of CI.

Builds (or reuses) each machine's image, boots it, runs every step of
steps.STEPS as ``student`` in a fresh clone of the checkout's HEAD, prints a
table per machine and exits 1 when a step failed or timed out on any machine
(a step with nothing to run yet, "n/a", is shown, never counted as a pass).

    python3 tests/machines/smoke.py                     # both machines, images built offline in the guests
    python3 tests/machines/smoke.py --base-from-host    # CI: the guests load the host's base image first
"""

from __future__ import annotations

import argparse
import re
import signal
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from console import say, step_lines, table
from guest import kill_all
from machines import MACHINES, Machine
from session import MachineRun, Options, StepResult, try_machine
from steps import STEPS


def host_base_image(checkout: Path) -> str:
    """The image a registry pull would bring: the FROM of the checkout's
    images/base/Dockerfile (at HEAD), its ARG defaults substituted."""
    show = ["git", "-C", str(checkout), "show", "HEAD:images/base/Dockerfile"]
    dockerfile = subprocess.run(show, capture_output=True, text=True, check=True).stdout
    defaults = dict(re.findall(r"^ARG\s+(\w+)=(\S+)", dockerfile, flags=re.M))
    start = next(line.split()[1] for line in dockerfile.splitlines() if line.upper().startswith("FROM "))
    name = re.sub(r"\$\{?(\w+)\}?", lambda m: defaults.get(m.group(1), m.group(0)), start)
    if subprocess.run(["docker", "image", "inspect", name], capture_output=True).returncode != 0:
        raise SystemExit(f"smoke: --base-from-host: no image {name} on this host (run `socklab images` first)")
    return name


def _try(machine: Machine, options: Options) -> MachineRun:
    """One machine's run; a harness failure (image build, QEMU) is its table's one failed row."""
    try:
        steps = [s for s in STEPS if s.in_ci or not options.ci]
        return try_machine(machine, steps, options, say, step_lines(machine.name))
    except (OSError, subprocess.CalledProcessError) as err:
        say(f"{machine.name}: the harness failed: {err}")
        return MachineRun(machine, 0.0, None, None, [StepResult("harness", "fail", None, str(err))], {})


def _terminate(signum: int, frame: object) -> None:
    raise KeyboardInterrupt


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--machine", action="append", choices=sorted(MACHINES), help="default: all of them")
    parser.add_argument("--checkout", type=Path, default=Path(__file__).resolve().parents[2])
    parser.add_argument("--base-from-host", action="store_true", help="hand each guest the host's base image (CI)")
    parser.add_argument("--no-wheelhouse", action="store_true", help="guests install Python packages from PyPI")
    parser.add_argument("--serial", action="store_true", help="one machine after the other (default: side by side)")
    parser.add_argument(
        "--vcpus",
        type=int,
        choices=(1, 2),
        help="per guest (default: 2 alone, 1 side by side; another run's guest counts)",
    )
    parser.add_argument(
        "--ci", action="store_true", help="what CI runs: --base-from-host, and the steps marked in_ci (steps.py)"
    )
    args = parser.parse_args()
    args.base_from_host = args.base_from_host or args.ci
    machines = [MACHINES[name] for name in (args.machine or sorted(MACHINES))]
    preload = (host_base_image(args.checkout),) if args.base_from_host else ()
    parallel = 1 if args.serial else len(machines)
    # Two guests on two cores: one vCPU each; alone, a guest gets both.
    options = Options(
        args.checkout.resolve(),
        preload,
        not args.no_wheelhouse,
        smp=args.vcpus or (2 if parallel == 1 else 1),
        ci=args.ci,
    )
    signal.signal(signal.SIGTERM, _terminate)
    started = time.monotonic()
    say(
        f"machines: {', '.join(m.name for m in machines)}, {'side by side' if parallel > 1 else 'one at a time'};"
        f" base image {'from the host: ' + preload[0] if preload else 'built offline in each guest'};"
        f" Python packages from {'PyPI' if args.no_wheelhouse else 'a host wheelhouse'}"
    )
    pool = ThreadPoolExecutor(max_workers=parallel)
    futures = [pool.submit(_try, m, options) for m in machines]
    try:
        runs: list[MachineRun] = [f.result() for f in futures]
    except KeyboardInterrupt:
        say("machines: interrupted: every guest killed")
        return 130
    finally:
        kill_all()  # on Ctrl-C or a failure, before waiting for the other guests: they stop now
        pool.shutdown(wait=True, cancel_futures=True)
    for run in runs:
        print(table(run) + "\n", flush=True)
    failed = [run.machine.name for run in runs if not run.ok]
    print(
        f"machines: {len(runs) - len(failed)}/{len(runs)} passed in {time.monotonic() - started:.0f} s"
        + (f"; failed: {', '.join(failed)}" if failed else ""),
        flush=True,
    )
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
