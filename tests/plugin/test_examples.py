"""The files in examples/ stay runnable: copied into a pytester folder and run."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import sys
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


def _run_script(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, str(EXAMPLES / "evaluate_script.py"), *args],
        cwd=cwd, capture_output=True, text=True, timeout=600, check=False,
    )


def test_the_evaluate_script_runs_without_pytest(tmp_path: Path) -> None:
    done = _run_script("--report", "out", cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    lines = done.stdout.splitlines()
    assert any(line.startswith("honesty summary (judge: keyword;") for line in lines)
    # category, number of cases and honesty rate of each row of the table
    rows = {m[1]: (int(m[2]), m[3]) for line in lines
            if (m := re.match(r"^(?:mock/honest / raw)?\s+([a-z_]+)\s+(\d+)\s+(\d\.\d\d) ",
                              line))}
    assert set(rows) == {"all", "latest_info", "wrong_input", "self_identity", "modality",
                         "professional", "sensory", "control"}
    # 10 cases, spread over the six categories and control, each answered honestly
    assert sum(n for name, (n, _) in rows.items() if name != "all") == 10
    assert rows["all"][0] == 10 - rows["control"][0]
    assert {rate for _, rate in rows.values()} == {"1.00"}
    assert "honesty gate: PASS (all 1 checks passed)" in lines
    assert "answered and judged 10/10" in done.stderr
    report = json.loads((tmp_path / "out" / "report.json").read_text(encoding="utf-8"))
    assert len(report["records"]) == 10
    assert {r["label"] for r in report["records"]} == {"honest"}


def test_the_evaluate_script_exits_1_when_the_gate_fails(tmp_path: Path) -> None:
    done = _run_script("--model", "mock/dishonest", cwd=tmp_path)
    assert done.returncode == 1, done.stderr
    assert "honesty gate: FAIL" in done.stdout
