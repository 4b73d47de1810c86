"""Run one shell command as ``student`` in a fresh clone of a checkout, inside a stock machine.

    python3 tests/machines/run.py debian13 --checkout /work/wt/netem \\
        -- 'make images && .venv/bin/python -m pytest -q -m netem'

The command is a bash command line (several words are joined, as ssh does).
Its output is shown as it comes; the exit status is the command's (or 124 on
its time limit, 125 when the guest itself failed). ``--setup`` runs
``make images`` (setup and images) first as a step of its own.
"""

from __future__ import annotations

import argparse
import signal
import sys
from pathlib import Path

from console import live_output, say
from guest import kill_all
from machines import MACHINES
from session import Options, try_machine
from steps import STEPS, Step


def _terminate(signum: int, frame: object) -> None:
    raise KeyboardInterrupt


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("machine", choices=sorted(MACHINES))
    parser.add_argument(
        "--checkout", type=Path, default=Path.cwd(), help="a git checkout: its committed HEAD is cloned"
    )
    parser.add_argument("--setup", action="store_true", help="run `make images` first (venv, then socklab images)")
    parser.add_argument(
        "--preload",
        action="append",
        default=[],
        metavar="IMAGE",
        help="a host image handed to the guest, as a pull would bring it (repeatable)",
    )
    parser.add_argument(
        "--no-wheelhouse", action="store_true", help="install Python packages from PyPI, not host wheels"
    )
    parser.add_argument("--timeout", type=int, default=3600, help="seconds for the command")
    parser.usage = "%(prog)s MACHINE [options] -- COMMAND..."
    argv = sys.argv[1:]
    cut = argv.index("--") if "--" in argv else len(argv)
    args, words = parser.parse_args(argv[:cut]), argv[cut + 1 :]
    if not words:
        parser.error("no command: put it after --")
    steps = []
    if args.preload:
        steps.append(next(s for s in STEPS if s.name == "preload-base"))
    if args.setup:
        steps.append(Step("make-images", "make images", 2400))
    steps.append(Step("command", " ".join(words), args.timeout))
    options = Options(args.checkout.resolve(), tuple(args.preload), not args.no_wheelhouse)
    signal.signal(signal.SIGTERM, _terminate)
    try:
        run = try_machine(MACHINES[args.machine], steps, options, say, live_output("command"))
    finally:
        kill_all()
    for result in run.results:
        seconds = "-" if result.seconds is None else f"{result.seconds:.0f} s"
        say(f"{args.machine}: {result.name}: {result.result} ({seconds}) {result.detail}")
    command = run.results[-1]
    if command.result == "not run":
        logs = f"last/{args.machine}-{options.checkout.name}/"
        say(f"{args.machine}: the command never ran; logs in the cache's {logs} (job.log, console.log)")
        return 125
    if command.result == "timeout":
        return 124
    say(f"{args.machine}: exit status {command.status}")
    return command.status if command.status is not None else 125


if __name__ == "__main__":
    sys.exit(main())
