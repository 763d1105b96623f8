"""No import circles: modules that import each other, directly or round a loop, cannot
be understood, tested or moved one at a time. The graph covers every shipped module;
a circle fails the suite when it runs through a GUARDED package.

Every import counts, wherever it is written: at the top, inside a function (a lazy
import that dodges the circle at run time is still a circle) and under TYPE_CHECKING.
A package's `__init__` re-exporting its submodules is not a circle with them unless a
submodule imports the package itself.
"""

from __future__ import annotations

import ast
import itertools
import tomllib
from collections import deque
from collections.abc import Mapping
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
# Where a circle fails the suite: a circle through any module under these packages.
# The aim is the whole tree ("revsched"); it widens as the circles elsewhere are undone.
GUARDED = ("revsched",)
# (importer, imported) -> where the import is written
Edges = dict[tuple[str, str], str]


def shipped_packages(root: Path) -> dict[str, Path]:
    """Package name -> directory, as pyproject.toml's package-dir ships them."""
    setuptools = tomllib.loads((root / "pyproject.toml").read_text(encoding="utf-8"))["tool"][
        "setuptools"
    ]
    return {name: root / path for name, path in setuptools["package-dir"].items()}


def modules_of(packages: Mapping[str, Path]) -> dict[str, Path]:
    """Dotted module name -> file, for every module of the packages."""
    modules: dict[str, Path] = {}
    for package, directory in packages.items():
        for path in directory.rglob("*.py"):
            parts = list(path.relative_to(directory).with_suffix("").parts)
            if parts[-1] == "__init__":
                parts.pop()
            modules[".".join([package, *parts])] = path
    return modules


def import_edges(modules: Mapping[str, Path], root: Path) -> Edges:
    """Which module imports which (both in `modules`), and where."""

    def owner(name: str) -> str | None:
        while name and name not in modules:
            name = name.rpartition(".")[0]
        return name or None

    edges: Edges = {}
    for module, path in modules.items():
        package = module if path.name == "__init__.py" else module.rpartition(".")[0]
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Import):
                targets = [owner(alias.name) for alias in node.names]
            elif isinstance(node, ast.ImportFrom):
                base = node.module or ""
                if node.level:
                    parent = package.split(".")[: len(package.split(".")) - node.level + 1]
                    base = ".".join([*parent, *([node.module] if node.module else [])])
                # `from a import b` imports the submodule a.b if there is one, else from a.
                targets = [owner(f"{base}.{alias.name}") for alias in node.names]
            else:
                continue
            for target in targets:
                if target is not None and target != module:
                    where = f"{path.relative_to(root)}:{node.lineno}"
                    edges.setdefault((module, target), where)
    return edges


def circles(edges: Edges) -> list[list[str]]:
    """One shortest loop through each group of modules that import each other."""
    graph: dict[str, set[str]] = {}
    for importer, imported in edges:
        graph.setdefault(importer, set()).add(imported)
        graph.setdefault(imported, set())

    def reaches(start: str, forward: bool) -> set[str]:
        seen, todo = {start}, [start]
        while todo:
            node = todo.pop()
            nexts = graph[node] if forward else {a for a, bs in graph.items() if node in bs}
            for other in nexts - seen:
                seen.add(other)
                todo.append(other)
        return seen

    loops, placed = [], set()
    for start in sorted(graph):
        if start in placed:
            continue
        group = reaches(start, True) & reaches(start, False)
        placed |= group
        if len(group) > 1:
            loops.append(_shortest_loop(start, graph, group))
    return loops


def _shortest_loop(start: str, graph: Mapping[str, set[str]], group: set[str]) -> list[str]:
    came_from: dict[str, str] = {}
    queue = deque([start])
    while queue:
        node = queue.popleft()
        for other in sorted(graph[node] & group):
            if other == start:
                path = [node]
                while path[-1] != start:
                    path.append(came_from[path[-1]])
                return [*reversed(path), start]
            if other not in came_from:
                came_from[other] = node
                queue.append(other)
    raise AssertionError(f"{start} is in no loop")


def described(loop: list[str], edges: Edges) -> str:
    steps = [f"{a} -> {b} ({edges[a, b]})" for a, b in itertools.pairwise(loop)]
    return "\n  ".join(steps)


def guarded(module: str) -> bool:
    return any(module == scope or module.startswith(f"{scope}.") for scope in GUARDED)


def test_the_guarded_packages_have_no_import_circle() -> None:
    edges = import_edges(modules_of(shipped_packages(ROOT)), ROOT)

    loops = [loop for loop in circles(edges) if any(guarded(m) for m in loop)]
    found = [described(loop, edges) for loop in loops]

    assert len(edges) > 100, "the import graph should cover the whole tree"
    assert not found, "import circles:\n  " + "\n\n  ".join(found)


def test_a_circle_is_found_however_the_import_is_written(tmp_path: Path) -> None:
    package = tmp_path / "shop"
    package.mkdir()
    (package / "__init__.py").write_text("from shop.orders import Order\n")
    (package / "orders.py").write_text("from shop import billing\n\nclass Order: ...\n")
    (package / "billing.py").write_text(
        "from typing import TYPE_CHECKING\nif TYPE_CHECKING:\n    from .refunds import Refund\n"
    )
    (package / "refunds.py").write_text("def refund():\n    from shop.orders import Order\n")
    (package / "stock.py").write_text("import shop.orders\n")

    edges = import_edges(modules_of({"shop": package}), tmp_path)

    assert circles(edges) == [["shop.billing", "shop.refunds", "shop.orders", "shop.billing"]]
    assert described(circles(edges)[0], edges).startswith(
        "shop.billing -> shop.refunds (shop/billing.py:3)"
    )
