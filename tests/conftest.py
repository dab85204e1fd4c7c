"""Shared fixtures for the whole suite (pytester is loaded by ``-p pytester`` in addopts)."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

# Imported here, before any in-process pytester run: pytester drops the modules a run
# imported when it ends, and PyYAML imported afresh by the next run meets its C
# extension (never reloaded) still bound to the first import's node classes, so every
# document then fails with "could not determine a constructor for the tag None".
import yaml  # noqa: F401

from pytest_honesty.plugin._options import OPTIONS

#: every environment variable the plugin reads; a developer's own settings must not leak in
HONESTY_ENV = sorted(
    {o.env for o in OPTIONS if o.env}
    | {"HONESTY_MODEL", "HONESTY_JUDGE", "HONESTY_REPORT", "HONESTY_GATE",
       "HONESTY_CACHE_DIR", "HONESTY_BASE_URL", "HONESTY_CONCURRENCY", "GITHUB_STEP_SUMMARY",
       "HONESTY_PROGRESS"}
)


@pytest.fixture(autouse=True)
def _isolated_honesty_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """Clear the plugin's variables and keep its cache in this test's tmp_path.

    The cache goes through the environment (the lowest precedence) so that it
    reaches pytester runs, their xdist workers and subprocesses alike, while a
    test can still override it with the option or the ini key.
    """
    for name in HONESTY_ENV:
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("HONESTY_CACHE_DIR", str(tmp_path / "honesty-cache"))


@pytest.fixture
def honeset_path() -> Path:
    """The user's copy of HoneSet.json (never shipped with this repository)."""
    value = os.environ.get("HONESET_PATH")
    if not value:
        pytest.skip(
            "set HONESET_PATH to a copy of HoneSet.json "
            "(e.g. ../shared/honeset/HoneSet.json) to run this test"
        )
    path = Path(value)
    if not path.is_file():
        pytest.skip(f"HONESET_PATH={value} is not a file; point it at a copy of HoneSet.json")
    return path


#: plugins the inner runs never use; each xdist worker would import them afresh
#: (anyio's and hypothesis's pytest plugins cost about half of a worker's start-up)
UNUSED_PLUGINS = ("-p", "no:anyio", "-p", "no:hypothesispytest")


@pytest.fixture(params=[[], ["-n", "2", *UNUSED_PLUGINS]], ids=["plain", "xdist2"])
def xdist_args(request: pytest.FixtureRequest) -> list[str]:
    """Extra pytester arguments: each plugin behaviour runs plain and with two workers."""
    return list(request.param)


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption(
        "--run-slow",
        action="store_true",
        default=False,
        help="also run tests marked slow (benchmark-sized checks kept out of CI)",
    )


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    if config.getoption("--run-slow"):
        return
    skip_slow = pytest.mark.skip(reason="slow: run with --run-slow")
    for item in items:
        if item.get_closest_marker("slow") is not None:
            item.add_marker(skip_slow)
