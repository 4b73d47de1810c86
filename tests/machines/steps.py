"""What is tried on every machine, in order: the one list to extend.

Each step is a bash command run as the user ``student`` in a fresh clone of
the checkout, with a time limit. A ``pytest`` step is judged from its JUnit
file, so skipped tests are shown as skipped, and a run that collects nothing
as not available (exit status 5), never as a pass.
"""

from __future__ import annotations

from dataclasses import dataclass

SOCKLAB = ".venv/bin/socklab"
# at_once: a failure is shown when it happens, so a step killed at its limit still says why.
PYTEST = ".venv/bin/python -m pytest -q -p no:cacheprovider -p tests.machines.at_once"
SUBMISSIONS = "tests/grading/submissions/udp-server"


@dataclass(frozen=True)
class Step:
    name: str
    command: str
    timeout: int  # seconds, under emulation
    kind: str = "shell"  # "shell": exit status 0 passes; "pytest": judged from its JUnit file
    # "preloaded": only when the host hands the guest its base image (as a pull
    # would); "offline": only when it does not, and the guest makes its own.
    base: str = "any"
    # False: only in ``make machines``. CI's 40 minutes hold the host suite and
    # one machine's first use (tests/machines/README.md, "What CI runs").
    in_ci: bool = True

    def script(self, out: str) -> str:
        """The command as run; a pytest step writes its JUnit file into ``out``."""
        if self.kind == "pytest":
            return f"{PYTEST} --junitxml={out}/{self.name}.xml {self.command}"
        return self.command


MACHINE = (
    "uname -r; python3 --version; docker version --format 'docker {{.Server.Version}} API {{.Server.APIVersion}}';"
    " echo cgroup: $(stat -fc %T /sys/fs/cgroup); (docker compose version || echo 'no docker compose v2');"
    " (docker-compose version --short || echo 'no docker-compose v1'); /sbin/modinfo -n sch_netem; id"
)
DEBOOTSTRAP = "sudo apt-get update -qq && sudo DEBIAN_FRONTEND=noninteractive apt-get install -y -qq debootstrap"
PRELOAD = 'for t in /mnt/job/preload/*.tar; do docker load -i "$t" || exit 1; done'
DATAGRAM = (
    f"out=$({SOCKLAB} exec udp-echo client -- udp-client --host udp-server --message 'hello from the guest')"
    ' && echo "$out" && echo "$out" | grep -q "HELLO FROM THE GUEST"'
)
# Under emulation a container takes 7 to 15 s to start: the grader waits five
# times its limits (--patience); the limits of memory, processes and CPU are
# the sandbox's own and do not change.
GRADE = (
    f"rm -rf ~/graded && {SOCKLAB} grade udp-server --patience 5"
    f" {SUBMISSIONS}/correct {SUBMISSIONS}/correct-dockerfile {SUBMISSIONS}/fork-bomb {SUBMISSIONS}/memory-hog"
    " tests/grading/submissions/cpu-burners/udp-server/busy-wait"
    " tests/grading/submissions/hostile/udp-server/build-fork-bomb"
    " --out ~/graded"
    " && .venv/bin/python tests/machines/check_grades.py ~/graded"
)
# A seeded experiment replays: the digest of its loss-determined columns
# (loss, trial, attempts, outcome) is the same twice with seed 1, and on every
# machine and kernel (compare it with the host's); seed 2 differs. Its summary
# says whether every retry was a drop the link counted.
REPLAY = (
    "rm -rf ~/replay && for run in 1a 1b 2; do"
    f" {SOCKLAB} experiment run udp-backoff-ci --seed ${{run%[ab]}} --out ~/replay/$run || exit 1;"
    " cut -d, -f1-4 ~/replay/$run/results.csv | sha256sum > ~/replay/$run.digest;"
    ' echo "seed $run: $(cat ~/replay/$run.digest)"; done;'
    " head -4 ~/replay/1a/results.csv; grep -h 'retr' ~/replay/1a/summary.md;"
    " cmp -s ~/replay/1a.digest ~/replay/1b.digest && ! cmp -s ~/replay/1a.digest ~/replay/2.digest"
)
NOTHING_LEFT = (
    "left=$(docker ps -aq --filter label=org.socklab; docker network ls -q --filter label=org.socklab);"
    ' docker ps -a; test -z "$left"'
)

STEPS = (
    Step("machine", MACHINE, 60),
    Step("preload-base", PRELOAD, 600, base="preloaded"),
    # Offline, `socklab images` makes the base image with debootstrap and says
    # to install it when missing, which the user does, as told:
    Step("install-debootstrap", DEBOOTSTRAP, 900, base="offline"),
    Step("make-lab-up", "make lab-up", 2400),  # the README's first command, as written, from the fresh clone
    Step("udp-echo-datagram", DATAGRAM, 120),
    Step("make-lab-down", "make lab-down", 300),
    Step("backoff", "tests/lab/test_backoff.py", 900, "pytest", in_ci=False),
    Step("broadcast-3", "tests/lab/test_broadcast.py -k exactly_the_three_responders", 600, "pytest", in_ci=False),
    Step("grade-cgroup-limits", GRADE, 1200, in_ci=False),
    Step("compose", "tests/lab/test_compose_runs.py", 600, "pytest"),
    # 20 twins: 22 min alone with 2 vCPUs (Debian 13, 2026-12-02); beside a second guest, 17 ran in 45 min.
    Step("netem", "-m netem", 3600, "pytest", in_ci=False),
    Step("sheets-udp-loss", "tests/lab/test_sheets.py -k udp-loss", 900, "pytest", in_ci=False),
    Step("experiment-replay", REPLAY, 900, in_ci=False),
    Step("fidelity-netem", ".venv/bin/python benchmarks/link_fidelity.py --backend netem", 1800, in_ci=False),
    Step("nothing-left", NOTHING_LEFT, 60),
)
