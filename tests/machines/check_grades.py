"""Check a ``socklab grade`` of udp-server's correct, fork-bomb, memory-hog and busy-wait submissions.

Run in the guest after the grade: the correct one gets full marks, the fork
bomb and the memory hog get nothing, each with the message the grading suite
expects, and the busy-waiting server is told the CPU it used, which must
not pass its limit (both taken from tests/grading/test_grading.py, so the
two cannot drift): the limits of cgroup v2 were enforced and reported.
"""

from __future__ import annotations

import importlib.util
import json
import sys
from pathlib import Path
from types import ModuleType

SUITE = Path(__file__).resolve().parents[1] / "grading" / "test_grading.py"


def grading_suite() -> ModuleType:
    spec = importlib.util.spec_from_file_location("test_grading", SUITE)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def problems(out: Path) -> list[str]:
    suite = grading_suite()
    messages = suite.FAILURE_OUTPUT
    found = []
    for name in ("correct", "fork-bomb", "memory-hog", "busy-wait"):
        path = out / name / "results.json"
        if not path.is_file():
            found.append(f"{name}: no {path}")
            continue
        result = json.loads(path.read_text())
        score, top, output = result["score"], result["max_score"], result.get("output", "")
        print(f"{name}: {score} / {top} points; {output.strip().splitlines()[:1]}")
        failed = [f"{t['name']}: {t['output']}" for t in result.get("tests", []) if t.get("status") == "failed"]
        if name in ("correct", "busy-wait") and (top == 0 or score != top):
            found.append(f"{name}: {score} / {top}, not full marks; failed: " + " | ".join(failed))
        elif name == "busy-wait":
            used = suite.cpu_used(output)
            print(f"busy-wait: told it used {used} CPU of its {suite.CPU_LIMIT}")
            if used is None or used > 1.1 * suite.CPU_LIMIT:
                found.append(f"busy-wait: its CPU use past its {suite.CPU_LIMIT} CPU, or not told: {output!r}")
        elif name != "correct" and (score != 0 or messages[name] not in output):
            found.append(f"{name}: expected 0 points and {messages[name]!r} in its output, got {score}: {output!r}")
    return found


def main() -> int:
    found = problems(Path(sys.argv[1]))
    for line in found:
        print(f"FAIL {line}")
    return 1 if found else 0


if __name__ == "__main__":
    sys.exit(main())
