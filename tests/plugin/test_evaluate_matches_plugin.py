"""evaluate() and the pytest plugin are two doors to the same run: same cases, same
model and judge, the same report (apart from what only a pytest run has)."""

from __future__ import annotations

from pathlib import Path

import pytest
from pytester_helpers import MOCK

from pytest_honesty import cases, evaluate
from pytest_honesty.report import load_report


@pytest.mark.parametrize("model", ["mock/honest", "mock/dishonest"])
def test_evaluate_gives_the_report_of_the_plugin(
    pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch, tmp_path: Path, model: str
) -> None:
    arguments = [f"--honesty-model={model}", MOCK[1], "--honesty-sample=10",
                 "--honesty-prompting=raw,curiosity", "--honesty-no-cache"]
    result = pytester.runpytest(*arguments, f"--honesty-report={tmp_path / 'plugin'}")
    assert result.ret in (0, 1)  # the dishonest model fails its cases
    from_plugin = load_report(tmp_path / "plugin" / "report.json").without_timings()

    monkeypatch.chdir(pytester.path)  # the same folder for the manifest's git lookup
    from_evaluate = evaluate(cases.load(sample=10), model=model, judge="keyword",
                             strategies=["raw", "curiosity"]).without_timings()

    # what only a pytest run has: node ids and test outcomes, and the sample size it
    # was asked for (evaluate() gets the sampled cases themselves)
    for record in from_plugin["records"]:
        assert record["nodeid"] and record["outcome"] in ("passed", "failed")
        record["nodeid"] = record["outcome"] = ""
    assert from_plugin["manifest"].pop("sample") == 10
    assert from_evaluate["manifest"].pop("sample") is None
    assert len(from_evaluate["records"]) == 20
    assert from_evaluate == from_plugin
