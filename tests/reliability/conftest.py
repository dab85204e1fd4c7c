"""Fixtures of the reliability suite.

``figure(name, value)`` records a measured figure: it shows in the test's captured
output (``-rP``), in JUnit XML properties, and, when ``RELIABILITY_FIGURES`` names a
file, as one JSON line there (the README's figures come from such a run).
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable
from pathlib import Path

import pytest
from reliability_support import Figure


@pytest.fixture
def figure(record_property: Callable[[str, object], None],
           request: pytest.FixtureRequest) -> Figure:
    def add(name: str, value: object) -> None:
        record_property(f"figure:{name}", value)
        print(f"FIGURE {name}: {value}")
        target = os.environ.get("RELIABILITY_FIGURES")
        if target:
            with open(target, "a", encoding="utf-8") as fh:
                fh.write(json.dumps({"test": request.node.nodeid, "name": name,
                                     "value": value}) + "\n")

    return add


@pytest.fixture
def workdir(tmp_path: Path) -> Path:
    """An empty folder for inner pytest runs (only the plugin's items run there)."""
    folder = tmp_path / "run"
    folder.mkdir()
    return folder
