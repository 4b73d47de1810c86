"""Check a ``socklab grade`` of udp-server submissions in a guest.

Run in the guest after the grade: the correct ones (a ``main.py`` and a
Dockerfile) get full marks; the fork bomb and the memory hog get nothing,
each with the message the grading suite expects; the busy-waiting server is
told the CPU it used, which must not pass its limit; and the build whose
step forks 300 processes is refused by its process limit. The expectations
are taken from tests/grading (test_grading.py, test_hostile.py), so the
suites and the guests cannot drift: the limits of cgroup v2 were enforced
and reported, the builds' one included.
"""

from __future__ import annotations

import importlib.util
import json
import sys
from pathlib import Path
from types import ModuleType

SUITES = Path(__file__).resolve().parents[1] / "grading"
FULL_MARKS = ("correct", "correct-dockerfile", "busy-wait")
SUBMISSIONS = (*FULL_MARKS, "fork-bomb", "memory-hog", "build-fork-bomb")


def suite(name: str) -> ModuleType:
    spec = importlib.util.spec_from_file_location(name, SUITES / f"{name}.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def problems(out: Path) -> list[str]:
    grading, hostile = suite("test_grading"), suite("test_hostile")
    messages = dict(grading.FAILURE_OUTPUT, **{"build-fork-bomb": hostile.BUILD_REFUSED})
    found = []
    for name in SUBMISSIONS:
        path = out / name / "results.json"
        if not path.is_file():
            found.append(f"{name}: no {path}")
            continue
        result = json.loads(path.read_text())
        score, top, output = result["score"], result["max_score"], result.get("output", "")
        print(f"{name}: {score} / {top} points; {output.strip().splitlines()[:1]}")
        failed = [f"{t['name']}: {t['output']}" for t in result.get("tests", []) if t.get("status") == "failed"]
        if name in FULL_MARKS:
            if top == 0 or score != top:
                found.append(f"{name}: {score} / {top}, not full marks; failed: " + " | ".join(failed))
        elif score != 0 or messages[name] not in output:
            found.append(f"{name}: expected 0 points and {messages[name]!r} in its output, got {score}: {output!r}")
        if name == "busy-wait":
            used = grading.cpu_used(output)
            print(f"busy-wait: told it used {used} CPU of its {grading.CPU_LIMIT}")
            if used is None or used > 1.1 * grading.CPU_LIMIT:
                found.append(f"busy-wait: its CPU use past its {grading.CPU_LIMIT} CPU, or not told: {output!r}")
    return found


def main() -> int:
    found = problems(Path(sys.argv[1]))
    for line in found:
        print(f"FAIL {line}")
    return 1 if found else 0


if __name__ == "__main__":
    sys.exit(main())
