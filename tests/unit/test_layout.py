"""The package layout cannot regress: few modules at the top, none too long, no import
cycle (typing-only and function-local imports included). See scripts/module_stats.py."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path
from types import ModuleType

import pytest

ROOT = Path(__file__).resolve().parents[2]


def _module_stats() -> ModuleType:
    spec = importlib.util.spec_from_file_location("module_stats", ROOT / "scripts/module_stats.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules.setdefault("module_stats", module)
    spec.loader.exec_module(module)
    return module


stats = _module_stats()


def test_few_modules_at_the_top_of_the_package() -> None:
    top = [p.name for p in stats.top_level_modules()]
    assert len(top) <= stats.MAX_TOP_LEVEL_MODULES, top


def test_no_module_is_too_long() -> None:
    too_long = {
        str(path.relative_to(ROOT)): stats.line_count(path)
        for path in stats.package_modules().values()
        if stats.line_count(path) > stats.MAX_LINES
    }
    assert too_long == {}


def test_no_import_cycle() -> None:
    assert stats.import_cycles() == []


# the checks themselves: each finds what it is meant to find


def _write_package(tmp_path: Path, files: dict[str, str]) -> Path:
    package = tmp_path / "pkg"
    for name, text in files.items():
        path = package / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
    return package


def test_cycles_through_typing_only_and_function_local_imports_are_found(
    tmp_path: Path,
) -> None:
    package = _write_package(tmp_path, {
        "__init__.py": "",
        "a.py": "from typing import TYPE_CHECKING\nif TYPE_CHECKING:\n    from .b import B\n",
        "b.py": "def f():\n    from pkg import a\n",
        "c.py": "from . import d\n",
        "d.py": "import os\n",
    })
    assert stats.import_cycles(package) == [["pkg.a", "pkg.b"]]


def test_a_submodule_importing_its_own_package_init_is_a_cycle(tmp_path: Path) -> None:
    package = _write_package(tmp_path, {
        "__init__.py": "",
        "sub/__init__.py": "from ._impl import Thing\n",
        "sub/_impl.py": "from . import helper\nclass Thing: ...\n",
        "sub/other.py": "from ..sub import Thing\n",
    })
    # "from . import helper": helper is no module, so this imports the package's __init__
    assert stats.import_cycles(package) == [["pkg.sub", "pkg.sub._impl"]]
    graph = stats.import_graph(package)
    assert graph["pkg.sub.other"] == {"pkg.sub"}


@pytest.mark.parametrize("lines", [3, 7])
def test_line_counts_and_top_level_modules(tmp_path: Path, lines: int) -> None:
    package = _write_package(tmp_path, {
        "__init__.py": "", "one.py": "x = 1\n" * lines, "deep/__init__.py": "",
        "deep/two.py": "",
    })
    assert [p.name for p in stats.top_level_modules(package)] == ["__init__.py", "one.py"]
    result = stats.stats(package)
    assert (result.modules, result.max_lines, result.largest) == (4, lines, "pkg/one.py")
