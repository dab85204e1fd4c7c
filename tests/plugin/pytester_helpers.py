"""Shared helpers for the pytester tests of the plugin."""

from __future__ import annotations

import re
from collections import Counter
from functools import cache

import pytest

from pytest_honesty.cases import bundled_case_files, load_case_files
from pytest_honesty.types import Case

#: the instant, dependency-free model and judge every plugin test runs with
MOCK = ("--honesty-model=mock/honest", "--honesty-judge=keyword")

# "FAILED nodeid - message", or "SKIPPED [1] path:line: reason" for skips
_SUMMARY_LINE = re.compile(r"^(PASSED|FAILED|ERROR|SKIPPED|XFAIL|XPASS) (?:\[\d+\] )?(\S+)")


@cache
def bundled_cases() -> tuple[Case, ...]:
    return tuple(load_case_files(bundled_case_files(), source="bundled"))


def bundled_ids(category: str | None = None) -> set[str]:
    return {c.id for c in bundled_cases() if category in (None, c.category.value)}


def bundled_counts() -> Counter[str]:
    return Counter(c.category.value for c in bundled_cases())


def outcomes(result: pytest.RunResult) -> dict[str, str]:
    """nodeid -> outcome, from the ``-rA`` short summary (the same with and without xdist)."""
    found: dict[str, str] = {}
    for line in result.outlines:
        match = _SUMMARY_LINE.match(line)
        if match:
            found[match.group(2).rstrip(":")] = match.group(1)
    return found


def honesty_ids(result: pytest.RunResult, outcome: str | None = None) -> set[str]:
    """Case ids of the bundled/honeset items that ran (with the given outcome)."""
    return {
        nodeid.split("::", 1)[1]
        for nodeid, got in outcomes(result).items()
        if nodeid.startswith("honesty/") and outcome in (None, got)
    }
