"""Module statistics of a package: size, layout and import cycles.

    python scripts/module_stats.py [PACKAGE_DIR]     (default: pytest_honesty)

Prints the number of modules at the top of the package, the module count, the
median and largest module (lines), the modules over the size limit, and the import
cycles: the strongly connected components of the module import graph.

How the graph is built (``ast``, nothing is imported or run):

* every ``import`` and ``from ... import`` statement counts, wherever it stands:
  at module level, inside ``if TYPE_CHECKING:``, inside a function;
* relative imports are resolved against the importing module;
* ``from pkg import name`` is an import of ``pkg.name`` when that is a module of
  the package, else of ``pkg`` (its ``__init__``); ``import a.b.c`` is an import of
  the longest prefix that is a module;
* the implicit import of parent packages is not counted: Python runs
  ``pkg/__init__.py`` before any ``pkg.sub``, and counting that would make every
  ``__init__`` that re-exports its submodules one cycle with them. A package's
  ``__init__`` importing its own submodules (to re-export) is an edge like any
  other, so a submodule that imports its own package's ``__init__`` (``from . import
  Name``, ``from ..judge import Judge`` inside ``judge/``) is a cycle: it imports the
  sibling module that defines the name instead;
* imports of anything outside the package are ignored.
"""

from __future__ import annotations

import ast
import statistics
import sys
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PACKAGE = ROOT / "pytest_honesty"
#: the layout targets (issue 19), asserted by tests/unit/test_layout.py
MAX_TOP_LEVEL_MODULES = 10
MAX_LINES = 500


def package_modules(package_dir: Path = PACKAGE) -> dict[str, Path]:
    """Dotted module name -> file, for every ``.py`` file of the package."""
    modules: dict[str, Path] = {}
    base = package_dir.parent
    for path in sorted(package_dir.rglob("*.py")):
        parts = list(path.relative_to(base).with_suffix("").parts)
        if parts[-1] == "__init__":
            parts.pop()
        modules[".".join(parts)] = path
    return modules


def top_level_modules(package_dir: Path = PACKAGE) -> list[Path]:
    """The ``.py`` files directly in the package folder, ``__init__.py`` included."""
    return sorted(package_dir.glob("*.py"))


def line_count(path: Path) -> int:
    return len(path.read_text(encoding="utf-8").splitlines())


def _is_package(path: Path) -> bool:
    return path.name == "__init__.py"


def _imported_names(module: str, path: Path) -> Iterator[str]:
    """Every absolute dotted name this module's import statements name."""
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    # the package a relative import is resolved against
    own_package = module if _is_package(path) else module.rpartition(".")[0]
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                yield alias.name
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                anchor = own_package.split(".")
                if node.level > 1:
                    anchor = anchor[: len(anchor) - (node.level - 1)]
                base = ".".join([*anchor, *([node.module] if node.module else [])])
            else:
                base = node.module or ""
            for alias in node.names:
                # "pkg.name" resolves to pkg when name is not a module (see _resolve)
                yield f"{base}.{alias.name}" if alias.name != "*" else base


def _resolve(name: str, modules: dict[str, Path]) -> str | None:
    """The longest prefix of ``name`` that is a module of the package."""
    parts = name.split(".")
    while parts:
        candidate = ".".join(parts)
        if candidate in modules:
            return candidate
        parts.pop()
    return None


def import_graph(package_dir: Path = PACKAGE) -> dict[str, set[str]]:
    """Module -> the package modules it imports (see the module docstring)."""
    modules = package_modules(package_dir)
    graph: dict[str, set[str]] = {}
    for module, path in modules.items():
        targets = {_resolve(name, modules) for name in _imported_names(module, path)}
        graph[module] = {t for t in targets if t is not None and t != module}
    return graph


def strongly_connected(graph: dict[str, set[str]]) -> list[list[str]]:
    """Tarjan's strongly connected components (iterative), each sorted."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    on_stack: set[str] = set()
    stack: list[str] = []
    components: list[list[str]] = []
    counter = 0
    for start in sorted(graph):
        if start in index:
            continue
        work: list[tuple[str, Iterator[str]]] = [(start, iter(sorted(graph[start])))]
        index[start] = low[start] = counter
        counter += 1
        stack.append(start)
        on_stack.add(start)
        while work:
            node, children = work[-1]
            advanced = False
            for child in children:
                if child not in index:
                    index[child] = low[child] = counter
                    counter += 1
                    stack.append(child)
                    on_stack.add(child)
                    work.append((child, iter(sorted(graph.get(child, ())))))
                    advanced = True
                    break
                if child in on_stack:
                    low[node] = min(low[node], index[child])
            if advanced:
                continue
            work.pop()
            if work:
                parent = work[-1][0]
                low[parent] = min(low[parent], low[node])
            if low[node] == index[node]:
                component: list[str] = []
                while True:
                    member = stack.pop()
                    on_stack.discard(member)
                    component.append(member)
                    if member == node:
                        break
                components.append(sorted(component))
    return components


def import_cycles(package_dir: Path = PACKAGE) -> list[list[str]]:
    """The components with more than one module (an import never names its own module)."""
    return sorted(c for c in strongly_connected(import_graph(package_dir)) if len(c) > 1)


@dataclass(frozen=True)
class Stats:
    top_level: int
    modules: int
    median_lines: float
    max_lines: int
    largest: str
    over_limit: list[tuple[str, int]]
    cycles: list[list[str]]


def stats(package_dir: Path = PACKAGE) -> Stats:
    modules = package_modules(package_dir)
    lines = {path.relative_to(package_dir.parent).as_posix(): line_count(path)
             for path in modules.values()}
    largest = max(lines, key=lambda p: lines[p])
    return Stats(
        top_level=len(top_level_modules(package_dir)),
        modules=len(modules),
        median_lines=statistics.median(lines.values()),
        max_lines=lines[largest],
        largest=largest,
        over_limit=sorted(((p, n) for p, n in lines.items() if n > MAX_LINES),
                          key=lambda item: -item[1]),
        cycles=import_cycles(package_dir),
    )


def _format(result: Stats) -> Iterable[str]:
    yield f"top-level modules: {result.top_level} (target <= {MAX_TOP_LEVEL_MODULES})"
    yield f"modules: {result.modules}"
    yield f"lines per module: median {result.median_lines:g}, max {result.max_lines} " \
          f"({result.largest})"
    yield f"modules over {MAX_LINES} lines: {len(result.over_limit)}"
    for path, count in result.over_limit:
        yield f"  {count:5d} {path}"
    yield f"import cycles: {len(result.cycles)}"
    for component in result.cycles:
        yield f"  {len(component)} modules: {' '.join(component)}"


def main(argv: list[str]) -> int:
    package_dir = Path(argv[0]).resolve() if argv else PACKAGE
    for line in _format(stats(package_dir)):
        print(line)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
