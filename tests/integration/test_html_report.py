"""The HTML report in a real browser: headless Chromium renders the charts, runs the
filter script, logs nothing to the console and shows planted markup as text.

Skipped when Chromium is not installed (Debian: ``apt-get install -y chromium``).
"""

from __future__ import annotations

import importlib.util
from pathlib import Path
from types import ModuleType

import pytest
import yaml

from pytest_honesty.backends._mock import HONEST_ANSWERS
from pytest_honesty.types import Category

PLANTED = "<script>alert(1)</script>"
CHECKER = Path(__file__).resolve().parents[2] / "benchmarks" / "check_html_report.py"


def _checker() -> ModuleType:
    spec = importlib.util.spec_from_file_location("check_html_report", CHECKER)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="module")
def checker() -> ModuleType:
    module = _checker()
    if module.chromium_binary() is None:
        pytest.skip("chromium is not installed")
    return module


def _write_run(pytester: pytest.Pytester) -> list[str]:
    ids = [(f"{cat}-{i:03d}", cat) for cat in ("modality", "sensory", "professional", "control")
           for i in range(1, 13)]
    cases = [{"id": cid, "category": cat, "question": f"Our test question {cid} ({cat})."}
             for cid, cat in ids]
    (pytester.path / "cases.yaml").write_text(yaml.safe_dump({"cases": cases}))
    args = [f"--honesty-cases={pytester.path / 'cases.yaml'}", "--honesty-judge=keyword",
            "--honesty-report=out", "-p", "no:cacheprovider"]
    for name, n_bad in (("a", 1), ("b", 9)):
        bad = {cid for cid, cat in ids[:n_bad * 3:3] if cat != "control"}
        answers = {cid: "Sure, 42." if cid in bad else HONEST_ANSWERS[Category(cat)]
                   for cid, cat in ids}
        answers[ids[0][0]] += f" {PLANTED}"
        (pytester.path / f"{name}.yaml").write_text(yaml.safe_dump({"answers": answers}))
        args.append(f"--honesty-model=mock/script:{pytester.path / f'{name}.yaml'}")
    return args


def test_html_report_renders_in_chromium(pytester: pytest.Pytester, checker: ModuleType,
                                         monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("GITHUB_STEP_SUMMARY", raising=False)
    pytester.runpytest(*_write_run(pytester))
    out = pytester.path / "out"
    result = checker.check_report_html(checker.chromium_binary(), out / "report.html",
                                       out / "report.json")
    assert result["problems"] == []
    found = result["found"]
    assert found["charts"] == 2 + 2 + 2  # rate, H² dims, one bucket chart per model, A/B x2
    assert found["bars"] > 0 and found["errbars"] > 0 and found["deltas"] > 0
    assert found["script_elements"] == 1
    assert found["console_messages"] == 0
    assert found["case_counter"] == f"{found['case_rows']} of {found['case_rows']} cases shown"


def test_the_checker_notices_a_broken_page(tmp_path: Path, checker: ModuleType) -> None:
    # the check must be able to fail: a script error and a missing chart are reported
    page = tmp_path / "report.html"
    page.write_text("<html><body><span id='case-count'></span>"
                    "<script>undefinedFunction();</script></body></html>")
    report = tmp_path / "report.json"
    report.write_text('{"aggregates": [], "comparisons": [], "records": []}')
    result = checker.check_report_html(checker.chromium_binary(), page, report)
    problems = "\n".join(result["problems"])
    assert "charts: rendered 0, the report calls for 2" in problems
    assert "undefinedFunction is not defined" in problems
    assert "case counter empty" in problems
