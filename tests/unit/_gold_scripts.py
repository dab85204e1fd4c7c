"""Load the gold sets' checkout scripts (honeset_cases/gold/*.py) as modules for tests."""

from __future__ import annotations

import importlib.util
from pathlib import Path
from types import ModuleType

GOLD = Path(__file__).resolve().parents[2] / "honeset_cases" / "gold"


def load_gold_script(name: str) -> ModuleType:
    spec = importlib.util.spec_from_file_location(f"gold_{name}", GOLD / f"{name}.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module
