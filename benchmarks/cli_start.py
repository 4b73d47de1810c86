"""How long ``socklab`` takes to start, per command: the median wall-clock
time of several runs, each in a fresh process, next to a bare Python start.

Commands that do not plot must not import matplotlib or the experiments;
the figures show whether they do. ``status`` also talks to Docker once.

    python benchmarks/cli_start.py [--runs N] [--root CHECKOUT]

``--root`` times another checkout's socklab and its ``impair`` (put first on the module path)
with this Python, to compare before and after a change.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

COMMANDS = [
    ["--version"],
    ["--help"],
    ["validate", "udp-echo"],
    ["validate", "lecture", "udp-loss"],
    ["status"],
    ["compose", "udp-echo"],
]
IMPORTS = ["matplotlib", "numpy", "socklab.experiments", "pytest", "docker"]


def run_once(argv: list[str], env: dict[str, str]) -> float:
    started = time.perf_counter()
    done = subprocess.run(argv, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    elapsed = time.perf_counter() - started
    if done.returncode != 0:
        raise SystemExit(f"{' '.join(argv)} failed ({done.returncode}): {done.stderr.strip()}")
    return elapsed


def imported(args: list[str], env: dict[str, str]) -> list[str]:
    """Which of the heavy modules a command imports (it runs once more for this)."""
    probe = (
        "import runpy, sys\n"
        f"sys.argv = ['socklab', *{args!r}]\n"
        "try:\n    runpy.run_module('socklab.cli', run_name='__main__')\n"
        "except SystemExit:\n    pass\n"
        f"sys.stderr.write(' '.join(m for m in {IMPORTS!r} if m in sys.modules))\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", probe], env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True
    )
    return done.stderr.strip().splitlines()[-1:] or ["-"]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=7)
    parser.add_argument("--root", type=Path, help="the checkout whose socklab is timed (default: this one)")
    args = parser.parse_args()
    env = dict(os.environ)
    if args.root:
        # socklab, and the impairment schema it imports as ``impair`` (services/impair), both from that checkout.
        env["PYTHONPATH"] = os.pathsep.join([str(args.root.resolve()), str(args.root.resolve() / "services")])
        env["SOCKLAB_LABS"] = str(args.root.resolve() / "labs")
    baseline = statistics.median(run_once([sys.executable, "-c", "pass"], env) for _ in range(args.runs))
    print(f"median of {args.runs} runs; python -c pass: {baseline:.3f} s")
    print(f"{'command':32} {'median s':>9} {'min s':>7}  heavy modules imported")
    for command in COMMANDS:
        argv = [sys.executable, "-m", "socklab.cli", *command]
        times = [run_once(argv, env) for _ in range(args.runs)]
        heavy = imported(command, env)[0] or "-"
        print(f"{'socklab ' + ' '.join(command):32} {statistics.median(times):9.3f} {min(times):7.3f}  {heavy}")


if __name__ == "__main__":
    main()
