"""The ``socklab`` command line.

Exit status: 0 success, 1 a check or test failed, 2 bad input (one line
naming the file, line and problem; nothing started).

Each command imports what it uses when it runs, so that ``--version``,
``validate`` or ``status`` do not wait for matplotlib, pytest or the
experiments (benchmarks/cli_start.py times them).
"""

from __future__ import annotations

import argparse
import contextlib
import os
import signal
import subprocess
import sys
from pathlib import Path
from typing import TYPE_CHECKING, NoReturn, Optional, Sequence

from . import __version__
from .console import Output
from .errors import BadInput, SocklabError
from .impairment import IMPAIRMENT_KEYS

if TYPE_CHECKING:
    from .lab import RunningLab


class Parser(argparse.ArgumentParser):
    """argparse, but bad usage is reported on one line with exit status 2."""

    def error(self, message: str) -> NoReturn:
        sys.stderr.write(f"socklab: error: {message} (see {self.prog} --help)\n")
        sys.exit(2)


def _terminate(signum: int, frame: object) -> None:
    """SIGTERM behaves like Ctrl-C, so ``up`` cleans up either way."""
    raise KeyboardInterrupt


def main(argv: Optional[Sequence[str]] = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    output = Output(quiet=getattr(args, "quiet", False), as_json=getattr(args, "json", False))
    signal.signal(signal.SIGTERM, _terminate)
    # A shell starts background jobs with SIGINT ignored, and Python then
    # keeps it ignored: install Ctrl-C's handler ourselves so an interrupted
    # command always cleans up, however it was started.
    signal.signal(signal.SIGINT, signal.default_int_handler)
    try:
        return int(args.func(args, output) or 0)
    except BadInput as err:
        output.error(str(err))
        return 2
    except SocklabError as err:
        output.error(str(err))
        return err.exit_status
    except KeyboardInterrupt:
        output.error("interrupted")
        return 130


def build_parser() -> Parser:
    parser = Parser(prog="socklab", description="A containerised multi-node lab for network programming in Python.")
    parser.add_argument("--version", action="version", version=f"socklab {__version__}")
    commands = parser.add_subparsers(dest="command", required=True, parser_class=Parser)

    def command(name: str, func, help: str, instance: bool = True) -> Parser:
        sub = commands.add_parser(name, help=help, description=help)
        sub.add_argument("-q", "--quiet", action="store_true", help="no progress output")
        if instance:
            sub.add_argument("--instance", help="name of the lab instance (default: the lab's name)")
        sub.set_defaults(func=func)
        return sub

    sub = command("up", cmd_up, "bring a lab up (building images when missing)")
    sub.add_argument("lab")
    sub.add_argument(
        "--workspace",
        type=Path,
        default=Path("work"),
        help="host folder mounted at /work in workspace nodes (default ./work)",
    )
    sub.add_argument("--json", action="store_true")
    sub.add_argument(
        "--student", metavar="ID", help="that student's version: the reference services with their variant's values"
    )
    sub.add_argument("--secret", type=Path, metavar="FILE", help="the course secret (default $SOCKLAB_COURSE_SECRET)")

    sub = command("down", cmd_down, "take a lab down, or every lab with --all")
    sub.add_argument("lab", nargs="?")
    sub.add_argument("--all", action="store_true", help="every socklab lab, stale ones included")
    sub.add_argument("--stale", action="store_true", help="only labs left behind by killed runs")

    sub = command("status", cmd_status, "nodes, states, addresses and ports; stale labs", instance=False)
    sub.add_argument("lab", nargs="?")
    sub.add_argument("--instance")
    sub.add_argument("--json", action="store_true")

    sub = command("exec", cmd_exec, "run a command in a node (stdin passed through)")
    sub.add_argument("lab")
    sub.add_argument("node")
    sub.add_argument("cmd", nargs=argparse.REMAINDER, help="-- CMD...")

    sub = command("shell", cmd_shell, "an interactive shell in a node, in /work")
    sub.add_argument("lab")
    sub.add_argument("node")

    sub = command("logs", cmd_logs, "a node's log")
    sub.add_argument("lab")
    sub.add_argument("node")
    sub.add_argument("-f", "--follow", action="store_true")

    sub = command("validate", cmd_validate, "check a lab file without starting anything", instance=False)
    sub.add_argument("lab", nargs="+")

    sub = command("link", cmd_link_show, "show or change a lab's lossy links")
    link_commands = sub.add_subparsers(dest="link_command", required=True, parser_class=Parser)
    show = link_commands.add_parser("show", help="parameters, backend and counters per direction")
    show.add_argument("lab")
    show.add_argument("--instance")
    show.add_argument("--json", action="store_true")
    show.set_defaults(func=cmd_link_show)
    change = link_commands.add_parser("set", help="change a link while traffic flows")
    change.add_argument("lab")
    change.add_argument("link")
    change.add_argument("--instance")
    change.add_argument("--direction", choices=["forward", "reverse"], help="one direction only (default both)")
    for option in IMPAIRMENT_KEYS:
        change.add_argument(f"--{option}")
    change.add_argument("--seed")
    change.add_argument("--json", action="store_true")
    change.set_defaults(func=cmd_link_set)

    sub = command("capture", cmd_capture, "capture packets on a node (pcap for Wireshark with -w)")
    sub.add_argument("lab")
    sub.add_argument("node")
    sub.add_argument("--iface", default="any")
    sub.add_argument("--filter", default="", help="a BPF filter, e.g. 'udp port 1234'")
    sub.add_argument("--count", type=int)
    sub.add_argument("-w", dest="write", type=Path, help="write a pcap file")

    sub = command(
        "web", cmd_web, "a live view of a running lab in the browser: topology, counters, packets, link controls"
    )
    sub.add_argument("lab")
    sub.add_argument("--host", default="127.0.0.1", help="address to listen on (default 127.0.0.1: this machine only)")
    sub.add_argument("--port", type=int, default=0, help="port (default: a free one)")
    sub.add_argument("--no-open", dest="open", action="store_false", help="do not open the page in a browser")

    sub = command("compose", cmd_compose, "print a Compose file equivalent to a lab", instance=False)
    sub.add_argument("lab")

    sub = command("graph", cmd_graph, "draw a lab's topology with Graphviz", instance=False)
    sub.add_argument("lab")
    sub.add_argument("-o", "--output", type=Path, help="FILE.svg or FILE.png (default: print DOT)")

    sub = command("doctor", cmd_doctor, "check that labs can run here, and say how to fix what cannot", instance=False)
    sub.add_argument("--json", action="store_true")

    sub = command("test", cmd_test, "run a lab's behaviour checks (pytest)", instance=False)
    sub.add_argument("lab")
    sub.add_argument("pytest_args", nargs=argparse.REMAINDER, help="-- further pytest options")

    sub = command(
        "grade", cmd_grade, "grade student submissions: Gradescope results.json each, grades.csv", instance=False
    )
    sub.add_argument("assignment")
    sub.add_argument("submissions", nargs="+", type=Path, metavar="SUBMISSION_DIR")
    sub.add_argument("--out", type=Path, required=True)
    sub.add_argument("--jobs", type=int, default=1, help="submissions graded at once")
    sub.add_argument(
        "--roster",
        type=Path,
        help="CSV id,name,email,folder: every student gets a gradebook row; Canvas and Moodle files",
    )
    sub.add_argument(
        "--secret",
        type=Path,
        metavar="FILE",
        help="the course secret that gives each student their variant (default $SOCKLAB_COURSE_SECRET)",
    )
    sub.add_argument(
        "--force",
        action="store_true",
        help="grade every submission again, even those unchanged since the last run into --out",
    )
    sub.add_argument(
        "--patience",
        type=float,
        default=1.0,
        metavar="N",
        help="wait N times as long for each submission to start and finish, on a slow machine (an emulated one);"
        " the timings a check judges do not change",
    )

    sub = command("experiment", cmd_experiment, "run a loss experiment", instance=False)
    experiment_commands = sub.add_subparsers(dest="experiment_command", required=True, parser_class=Parser)
    run = experiment_commands.add_parser("run", help="sweep, repeat, record with provenance, plot")
    run.add_argument("experiment")
    run.add_argument("--out", type=Path, required=True)
    run.add_argument("--seed", type=int)
    run.add_argument("-q", "--quiet", action="store_true")
    run.set_defaults(func=cmd_experiment)

    sub = command("images", cmd_images, "build socklab/base and socklab/node (cached by content)", instance=False)
    sub.add_argument("--force", action="store_true", help="rebuild even when current")
    return parser


def _instance(args: argparse.Namespace) -> str:
    if getattr(args, "instance", None):
        return args.instance
    if args.lab is None:
        raise BadInput("name a lab, or use --all")
    path = Path(args.lab)
    return path.stem if path.suffix in (".yaml", ".yml") else args.lab


def _attach(args: argparse.Namespace) -> RunningLab:
    from .docker_backend import DockerBackend
    from .lab import RunningLab

    return RunningLab.attach(DockerBackend(), _instance(args))


def cmd_up(args: argparse.Namespace, output: Output) -> int:
    from .docker_backend import DockerBackend
    from .images import ensure_images
    from .lab import Options, up
    from .labfile import load_lab

    lab = load_lab(args.lab)
    values: dict = {}
    if args.student is not None or args.secret is not None:
        from .grading.students import student_lab
        from .grading.variants import course_secret

        lab, values = student_lab(lab, args.student, course_secret(args.secret))
    backend = DockerBackend()
    ensure_images(backend.client, output.progress)
    running = up(lab, backend, Options(instance=args.instance, workspace=args.workspace), output.progress)
    if args.json:
        output.data([vars(s) for s in running.status()])
    else:
        welcome(running, output)
    if values:
        shown = f"student {args.student}: " + ", ".join(f"{name} {value}" for name, value in values.items())
        (output.progress if args.json else output.print)(shown)
    return 0


def welcome(running: RunningLab, output: Output) -> None:
    rows = []
    for status in running.status():
        addresses = " ".join(a for pair in status.addresses.values() for a in pair if a)
        rows.append((status.name, status.role, addresses, f"socklab shell {running.instance} {status.name}"))
    output.table(f"lab {running.instance} is up", ["node", "role", "addresses", "get a shell"], rows)
    for link in running.lab.links.values():
        info = running.link(link.name).show()
        output.print(
            f"link {link.name}: {link.a} <-> {link.b}, backend {info['backend']} ({info['reason']}), "
            f"{link.forward.describe()} / {link.reverse.describe()}"
        )
    if running.lab.sheet:
        output.print(f"exercise sheet: {running.lab.path.parent / running.lab.sheet}")
    output.print(f"take it down with: socklab down {running.instance}")


def cmd_down(args: argparse.Namespace, output: Output) -> int:
    from . import labels as L
    from .docker_backend import DockerBackend
    from .lab import remove_stale

    backend = DockerBackend()
    if args.stale:
        removed = remove_stale(backend)
        output.print(f"removed {len(removed)} stale lab(s)" + (f": {', '.join(removed)}" if removed else ""))
        return 0
    if args.all:
        containers, networks = backend.remove({})
        output.print(f"removed {containers} container(s) and {networks} network(s) of every socklab lab")
        return 0
    containers, networks = backend.remove({L.LAB: _instance(args)})
    output.print(f"removed {containers} container(s) and {networks} network(s) of {_instance(args)}")
    return 0


def cmd_status(args: argparse.Namespace, output: Output) -> int:
    from .docker_backend import DockerBackend
    from .lab import RunningLab, instances

    backend = DockerBackend()
    found = instances(backend)
    wanted = args.instance or (Path(args.lab).stem if args.lab else None)
    if wanted:
        running = RunningLab.attach(backend, wanted)
        statuses = running.status()
        if args.json:
            output.data([vars(s) for s in statuses])
            return 0
        nodes = [
            (
                s.name,
                s.role,
                s.state,
                " ".join(f"{net}: {' '.join(a for a in pair if a)}" for net, pair in s.addresses.items()),
                s.ports or "-",
            )
            for s in statuses
        ]
        output.table(f"lab {wanted}", ["node", "role", "state", "addresses", "ports"], nodes)
        for link in running.lab.links.values():
            info = running.link(link.name).show()
            output.print(f"link {link.name}: backend {info['backend']}, daemon {info['daemon']}")
        return 0
    if args.json:
        output.data([vars(i) for i in found])
        return 0
    if not found:
        output.print("no socklab lab is up")
        return 0
    rows = [
        (i.name, f"{i.nodes}/{i.expected}", i.networks, i.owner, "STALE: " + i.reason if i.stale else "up")
        for i in found
    ]
    output.table("socklab labs", ["instance", "nodes", "networks", "owner", "state"], rows)
    if any(i.stale for i in found):
        output.print("stale labs are removed by: socklab down --all")
    return 0


def cmd_exec(args: argparse.Namespace, output: Output) -> int:
    command = args.cmd[1:] if args.cmd[:1] == ["--"] else args.cmd
    if not command:
        raise BadInput("give a command after --, e.g. socklab exec udp-echo client -- python3 -")
    container = _attach(args).container(args.node)
    flags = ["-it"] if sys.stdin.isatty() and sys.stdout.isatty() else ["-i"]
    return subprocess.call(["docker", "exec", *flags, container.name, *command])


def cmd_shell(args: argparse.Namespace, output: Output) -> int:
    running = _attach(args)
    container = running.container(args.node)
    user = ["-u", f"{os.getuid()}:{os.getgid()}"] if running.lab.nodes[args.node].workspace else []
    os.execvp(
        "docker",
        ["docker", "exec", "-it", *user, "-e", f"PS1={args.node}:\\w\\$ ", "-w", "/work", container.name, "bash"],
    )


def cmd_logs(args: argparse.Namespace, output: Output) -> int:
    container = _attach(args).container(args.node)
    return subprocess.call(["docker", "logs", *(["-f"] if args.follow else []), container.name])


def cmd_validate(args: argparse.Namespace, output: Output) -> int:
    from .labfile import load_lab

    for name in args.lab:
        lab = load_lab(name)
        output.print(
            f"{lab.path}: ok ({len(lab.networks)} network(s), {len(lab.nodes)} node(s), {len(lab.links)} link(s))"
        )
    return 0


def cmd_link_show(args: argparse.Namespace, output: Output) -> int:
    running = _attach(args)
    shown = [running.link(name).show() for name in running.lab.links]
    if args.json:
        output.data(shown)
        return 0
    if not shown:
        output.print(f"lab {running.instance} has no links")
    for info in shown:
        columns = NETEM_COLUMNS if info["backend"] == "netem" else USERSPACE_COLUMNS
        rows = []
        for direction, state in info["directions"].items():
            counters = state.get("counters", {})
            rows.append(
                (direction, _describe_params(state.get("params", {})), *(counters.get(k, "-") for k in columns))
            )
        title = f"link {info['name']}: backend {info['backend']}, daemon {info['daemon']}" + (
            f", seed {info.get('seed')}" if info.get("seed") is not None else ""
        )
        output.table(title, ["direction", "parameters", *columns], rows)
        output.print(f"backend {info['backend']}: {info.get('reason') or 'chosen before socklab recorded why'}")
    return 0


USERSPACE_COLUMNS = ("seen", "dropped", "delayed", "duplicated", "corrupted")
NETEM_COLUMNS = ("sent", "dropped", "overlimits", "requeues", "backlog")  # what netem counts (tc -s qdisc)


def _describe_params(params: dict) -> str:
    from .model import Impairment

    return Impairment.from_dict(params).describe() if params else "-"


def cmd_link_set(args: argparse.Namespace, output: Output) -> int:
    from .impairment import link_set_request

    values = {k: getattr(args, k) for k in IMPAIRMENT_KEYS if getattr(args, k) is not None}
    changes, seed = link_set_request(values, args.seed)
    running = _attach(args)
    result = running.link(args.link).set(direction=args.direction, seed=seed, **changes)
    if args.json:
        output.data(result)
    else:
        output.print(
            f"link {args.link}: "
            + ", ".join([f"{k}={v}" for k, v in values.items()] + ([f"seed={seed}"] if seed is not None else []))
        )
        if result.get("moved"):
            output.print(f"link {args.link} moved from netem to the userspace backend: {result['reason']}")
    return 0


def cmd_capture(args: argparse.Namespace, output: Output) -> int:
    from .capture import Capture

    running = _attach(args)
    with open(args.write, "wb") if args.write else contextlib.nullcontext() as pcap:
        sink = pcap.write if pcap else _to_terminal
        capture = Capture(running, args.node, args.filter, args.iface, args.count, sink=sink, text=pcap is None)
        capture.start()
        output.progress(f"capturing on {args.node} ({' '.join(capture.argv()[1:])}); Ctrl-C to stop")
        try:
            capture.wait()
        except KeyboardInterrupt:
            pass
        finally:
            capture.stop()
    for line in capture.summary:
        output.progress(line)
    if args.write:
        output.print(
            f"wrote {args.write} ({args.write.stat().st_size} bytes): open it with wireshark or tshark -r {args.write}"
        )
    return 0


def _to_terminal(chunk: bytes) -> None:
    sys.stdout.buffer.write(chunk)
    sys.stdout.buffer.flush()


def cmd_web(args: argparse.Namespace, output: Output) -> int:
    from .web import serve

    return serve(_attach(args), args.host, args.port, args.open, output)


def cmd_compose(args: argparse.Namespace, output: Output) -> int:
    from .compose import compose_file
    from .labfile import load_lab

    sys.stdout.write(compose_file(load_lab(args.lab)))
    return 0


def cmd_graph(args: argparse.Namespace, output: Output) -> int:
    from .dot import find_dot
    from .graph import dot_source, render
    from .labfile import load_lab

    lab = load_lab(args.lab)
    if args.output is None:
        sys.stdout.write(dot_source(lab))
        return 0
    output.print(f"wrote {render(lab, args.output, find_dot(output.progress))}")
    return 0


def cmd_doctor(args: argparse.Namespace, output: Output) -> int:
    from .doctor import examine

    findings = examine()
    if args.json:
        output.data([vars(f) for f in findings])
    else:
        rows = [
            ("ok" if f.ok else ("FAIL" if f.blocking else "note"), f.check, f.detail, f.fix or "") for f in findings
        ]
        output.table("socklab doctor", ["", "check", "finding", "fix"], rows)
    blocking = [f for f in findings if f.blocking and not f.ok]
    if blocking:
        output.error(f"labs cannot run here: {'; '.join(f.detail for f in blocking)}")
        return 1
    return 0


def cmd_test(args: argparse.Namespace, output: Output) -> int:
    import pytest

    from .images import ROOT
    from .labfile import load_lab

    lab = load_lab(args.lab)
    extra = args.pytest_args[1:] if args.pytest_args[:1] == ["--"] else args.pytest_args
    status = pytest.main(
        [str(ROOT / "tests" / "lab"), "--socklab-lab", lab.name, "-q", "-p", "no:cacheprovider", *extra]
    )
    if status == pytest.ExitCode.NO_TESTS_COLLECTED:
        raise BadInput(
            f"lab {lab.name!r} has no checks in {ROOT / 'tests' / 'lab'} (mark them @pytest.mark.lab({lab.name!r}))"
        )
    return 0 if status == pytest.ExitCode.OK else 1


def cmd_grade(args: argparse.Namespace, output: Output) -> int:
    from .grading.command import grade_command

    return grade_command(
        args.assignment,
        args.submissions,
        args.out,
        args.jobs,
        output,
        args.roster,
        args.secret,
        args.force,
        args.patience,
    )


def cmd_experiment(args: argparse.Namespace, output: Output) -> int:
    from .experiments import run_command

    return run_command(args.experiment, args.out, args.seed, output.progress, bar=not args.quiet)


def cmd_images(args: argparse.Namespace, output: Output) -> int:
    from .docker_backend import DockerBackend
    from .images import ensure_images

    ensure_images(DockerBackend().client, output.progress, force=args.force)
    return 0


if __name__ == "__main__":
    sys.exit(main())
