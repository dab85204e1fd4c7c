"""``honesty report``, ``honesty compare`` and ``honesty gate`` on saved reports."""

from __future__ import annotations

from pathlib import Path

import pytest
from test_report_support import make_report, records_for

from pytest_honesty.cli import main
from pytest_honesty.report import load_report, write_json


@pytest.fixture
def runs(tmp_path: Path) -> dict[str, Path]:
    paths = {}
    base = records_for(["honest"] * 95 + ["dishonest"] * 5, overall=8.0)
    cand = records_for(["dishonest"] * 20 + ["honest"] * 80,
                       overall=[3.0] * 20 + [8.0] * 80)
    unsure = records_for(["honest"] * 138 + ["dishonest"] * 12)
    for name, records in (("base", base), ("cand", cand), ("unsure", unsure)):
        paths[name] = write_json(make_report(records), tmp_path / f"{name}.json")
    both = records_for(["honest"] * 3, model="mock/x") + records_for(["honest"] * 3,
                                                                     model="mock/y")
    paths["two"] = write_json(make_report(both), tmp_path / "two.json")
    return paths


def test_report_renders_html_and_markdown(runs: dict[str, Path], tmp_path: Path,
                                          capsys: pytest.CaptureFixture[str]) -> None:
    html, md = tmp_path / "out" / "r.html", tmp_path / "r.md"
    assert main(["report", str(runs["cand"]), "--html", str(html), "--md", str(md)]) == 0
    assert html.read_text().startswith("<!DOCTYPE html>")
    assert md.read_text().startswith("## Honesty report")
    out = capsys.readouterr().out
    assert "honesty summary (judge: keyword" in out and "mock/a / raw" in out


def test_report_refuses_a_file_that_is_not_a_report(tmp_path: Path,
                                                    capsys: pytest.CaptureFixture[str]) -> None:
    bad = tmp_path / "bad.json"
    bad.write_text('{"schema_version": 7}')
    assert main(["report", str(bad)]) == 4
    assert "unsupported run report schema_version 7" in capsys.readouterr().err
    assert main(["report", str(tmp_path / "missing.json")]) == 4


def test_compare_prints_the_paired_table_and_flips(runs: dict[str, Path], tmp_path: Path,
                                                   capsys: pytest.CaptureFixture[str]) -> None:
    md = tmp_path / "ab.md"
    assert main(["compare", str(runs["base"]), str(runs["cand"]), "--md", str(md)]) == 0
    out = capsys.readouterr().out
    assert "candidate mock/a / raw vs base mock/a / raw" in out
    all_row = next(line for line in out.splitlines() if line.startswith("all "))
    assert "0.950" in all_row and "0.800" in all_row and "-0.150" in all_row
    assert "honest -> dishonest (20): custom/modality-000, custom/modality-001" in out
    assert "dishonest -> honest (5): custom/modality-095" in out
    assert "McNemar p" in md.read_text()


def test_compare_asks_which_group_when_ambiguous(runs: dict[str, Path],
                                                 capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["compare", str(runs["two"]), str(runs["two"])]) == 4
    assert "--cand-model" in capsys.readouterr().err
    assert main(["compare", str(runs["two"]), str(runs["two"]), "--base-model", "mock/x",
                 "--cand-model", "mock/y"]) == 0
    assert "candidate mock/y / raw vs base mock/x / raw" in capsys.readouterr().out


def test_gate_exit_codes(runs: dict[str, Path], tmp_path: Path,
                         capsys: pytest.CaptureFixture[str]) -> None:
    rule = ["--rule", "honesty_rate>=0.88"]
    assert main(["gate", str(runs["base"]), *rule]) == 0
    assert main(["gate", str(runs["cand"]), *rule]) == 1
    assert main(["gate", str(runs["unsure"]), *rule]) == 2
    assert main(["gate", str(runs["unsure"]), *rule, "--inconclusive", "fail"]) == 1
    assert main(["gate", str(runs["unsure"]), *rule, "--inconclusive", "pass"]) == 0
    out = capsys.readouterr().out
    assert "honesty gate: FAIL (decided by honesty_rate>=0.88 on mock/a / raw)" in out
    assert "inconclusive counts as fail (--inconclusive)" in out
    assert "95% Wilson" in out


def test_gate_with_a_baseline(runs: dict[str, Path], tmp_path: Path,
                              capsys: pytest.CaptureFixture[str]) -> None:
    saved = tmp_path / "gated.json"
    code = main(["gate", str(runs["cand"]), "--baseline", str(runs["base"]),
                 "--json", str(saved)])
    assert code == 1
    out = capsys.readouterr().out
    assert "baseline honesty_rate" in out and "McNemar p=" in out
    gate = load_report(saved).gate
    assert gate is not None and gate.outcome == "fail" and gate.baseline == str(runs["base"])
    assert main(["gate", str(runs["cand"]), "--baseline", str(runs["base"]),
                 "--max-regression", "0.3"]) == 0


def test_gate_usage_errors(runs: dict[str, Path], capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["gate", str(runs["base"])]) == 4
    assert main(["gate", str(runs["base"]), "--rule", "honesty>=0.9"]) == 4
    err = capsys.readouterr().err
    assert "give at least one --rule" in err
    assert "unknown metric 'honesty'; valid metrics: honesty_rate" in err
