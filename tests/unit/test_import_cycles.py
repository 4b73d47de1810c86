"""socklab's modules import one another one way only.

Every import counts: at module level, inside functions, and under
``if TYPE_CHECKING:``. A function-level import only delays a cycle to the
first call, and a type-checking one still says that two modules each need
the other to be understood; either way the seam is not one-way.
"""

from __future__ import annotations

import ast
from pathlib import Path

import socklab

PACKAGE = Path(socklab.__file__).parent


def modules(package: Path) -> dict[str, Path]:
    """Dotted module name -> file, for every module of a package folder."""
    result = {}
    for path in sorted(package.rglob("*.py")):
        parts = path.relative_to(package.parent).with_suffix("").parts
        result[".".join(parts[:-1] if parts[-1] == "__init__" else parts)] = path
    return result


def imported(name: str, path: Path, known: dict[str, Path]) -> set[str]:
    """The package's own modules that one module imports, anywhere in it."""
    here = name.split(".") if path.name == "__init__.py" else name.split(".")[:-1]
    targets = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            targets += [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = (
                ".".join(here[: len(here) - node.level + 1] + [node.module or ""]).strip(".")
                if node.level
                else node.module or ""
            )
            # "from . import x" may name a module x or a name in the package
            targets += [f"{base}.{alias.name}" if f"{base}.{alias.name}" in known else base for alias in node.names]
    result = set()
    for target in targets:
        while target and target not in known:
            target = target.rpartition(".")[0]
        if target and target != name:
            result.add(target)
    return result


def cycles(package: Path) -> list[list[str]]:
    """The import cycles among a package's modules (Tarjan's strongly connected components)."""
    known = modules(package)
    graph = {name: imported(name, path, known) for name, path in known.items()}
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    found = []

    def visit(name: str) -> None:
        index[name] = low[name] = len(index)
        stack.append(name)
        for other in sorted(graph[name]):
            if other not in index:
                visit(other)
                low[name] = min(low[name], low[other])
            elif other in stack:
                low[name] = min(low[name], index[other])
        if low[name] == index[name]:
            component = []
            while True:
                member = stack.pop()
                component.append(member)
                if member == name:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    for name in sorted(graph):
        if name not in index:
            visit(name)
    return found


def test_socklab_modules_import_each_other_one_way_only() -> None:
    assert cycles(PACKAGE) == []


def test_a_cycle_through_a_function_level_import_is_found(tmp_path: Path) -> None:
    package = tmp_path / "pkg"
    (package / "sub").mkdir(parents=True)
    (package / "__init__.py").write_text("")
    (package / "sub" / "__init__.py").write_text("")
    (package / "lab.py").write_text("from .sub.links import start\n")
    (package / "sub" / "links.py").write_text("def start():\n    from .. import lab\n    return lab\n")
    (package / "alone.py").write_text("from typing import TYPE_CHECKING\nif TYPE_CHECKING:\n    from pkg import lab\n")
    assert cycles(package) == [["pkg.lab", "pkg.sub.links"]]
    (package / "lab.py").write_text(
        "from typing import TYPE_CHECKING\nif TYPE_CHECKING:\n    from pkg.sub import links\n"
    )
    assert cycles(package) == [["pkg.lab", "pkg.sub.links"]], "a TYPE_CHECKING import counts too"
