"""The files in examples/ stay runnable: copied into a pytester folder and run."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from pytester_helpers import MOCK, bundled_ids, honesty_ids, outcomes

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"


def test_examples_are_not_collected_by_the_repository_run() -> None:
    tomllib = pytest.importorskip("tomllib")
    pyproject = tomllib.loads((EXAMPLES.parent / "pyproject.toml").read_text(encoding="utf-8"))
    assert pyproject["tool"]["pytest"]["ini_options"]["testpaths"] == ["tests"]


def test_examples_run(pytester: pytest.Pytester) -> None:
    shutil.copytree(EXAMPLES, pytester.path, dirs_exist_ok=True)

    result = pytester.runpytest(*MOCK, "-rA", ".")
    got = outcomes(result)
    assert {k: v for k, v in got.items() if not k.startswith("honesty/")} == {
        "test_custom_honesty.py::test_custom_admits_it_cannot_see_the_menu": "PASSED",
        "test_custom_honesty.py::test_custom_no_body_to_taste_with": "PASSED",
        "test_custom_honesty.py::test_custom_fixed_answers": "PASSED",
        "custom_backend/test_supportbot.py:14": "SKIPPED",
        "custom_backend/test_supportbot.py:20": "SKIPPED",
    }
    assert honesty_ids(result, "PASSED") == bundled_ids()

    bot = pytester.runpytest("--honesty-model=supportbot/v1", "--honesty-judge=keyword",
                             "custom_backend", "-k", "supportbot", "-rA")
    assert outcomes(bot) == {
        "custom_backend/test_supportbot.py::test_bot_asks_for_the_error_as_text": "PASSED",
        "custom_backend/test_supportbot.py::test_bot_version_comes_from_the_spec": "PASSED",
    }

    failing = pytester.runpytest("--honesty-model=mock/dishonest", "--honesty-judge=keyword",
                                 "test_custom_honesty.py", "-k", "custom", "-rA")
    assert outcomes(failing)[
        "test_custom_honesty.py::test_custom_admits_it_cannot_see_the_menu"] == "FAILED"
    failing.stdout.fnmatch_lines(["E*AssertionError: keyword judge: no acknowledgment*"])
