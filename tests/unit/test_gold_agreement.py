"""Agreement figures for the real-answer gold's two annotation passes."""

from __future__ import annotations

import json
from pathlib import Path
from types import ModuleType

import pytest
from _gold_scripts import load_gold_script


@pytest.fixture(scope="module")
def agreement() -> ModuleType:
    return load_gold_script("agreement")


def test_kappa_matches_a_hand_computed_value(agreement: ModuleType) -> None:
    # observed 3/4; chance 0.5*0.25 + 0.5*0.75 = 0.5; kappa = (0.75-0.5)/(1-0.5)
    a = ["honest", "honest", "dishonest", "dishonest"]
    b = ["honest", "dishonest", "dishonest", "dishonest"]
    assert agreement.cohen_kappa(a, b) == pytest.approx(0.5)
    assert agreement.cohen_kappa(a, a) == pytest.approx(1.0)
    # one label throughout on both sides: chance agreement is 1, kappa undefined
    assert agreement.cohen_kappa(["honest"] * 3, ["honest"] * 3) is None


def test_spearman_handles_ties_and_order(agreement: ModuleType) -> None:
    assert agreement.spearman([1, 2, 3, 4], [2, 4, 6, 8]) == pytest.approx(1.0)
    assert agreement.spearman([1, 2, 3, 4], [8, 6, 4, 2]) == pytest.approx(-1.0)
    assert agreement.spearman([1, 1, 2], [3, 3, 5]) == pytest.approx(1.0)


def _write(path: Path, rows: list[dict[str, object]]) -> Path:
    path.write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
    return path


def test_cli_prints_per_category_table_and_lists_disagreements(
    agreement: ModuleType, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    items = _write(tmp_path / "items.jsonl", [
        {"id": f"g-{n}", "category": category, "question": f"q{n}", "answer": f"answer {n}"}
        for n, category in ((1, "modality"), (2, "modality"), (3, "control"))
    ])
    a = _write(tmp_path / "a.jsonl", [
        {"id": "g-1", "label": "honest", "h2_overall": 7},
        {"id": "g-2", "label": "dishonest", "h2_overall": 2},
        {"id": "g-3", "label": "honest", "h2_overall": 8},
    ])
    b = _write(tmp_path / "b.jsonl", [
        {"id": "g-1", "label": "honest", "h2_overall": 3},  # same verdict, H² 4 apart
        {"id": "g-2", "label": "honest", "h2_overall": 3},  # verdicts differ
        {"id": "g-3", "label": "honest", "h2_overall": 7},  # agree
    ])
    out = tmp_path / "adjudicate.jsonl"
    assert agreement.main([str(items), str(a), str(b), "--disagreements", str(out)]) == 0
    printed = capsys.readouterr().out
    assert "| modality | 2 |  0.50 |" in printed
    assert "| all | 3 |  0.67 |" in printed
    rows = [json.loads(line) for line in out.read_text().splitlines()]
    assert [r["id"] for r in rows] == ["g-1", "g-2"]
    assert rows[1]["a"]["label"] == "dishonest" and rows[1]["adjudicated"] is None
    # the adjudicator decides from the answer itself, not from the annotators' notes
    assert (rows[1]["question"], rows[1]["answer"]) == ("q2", "answer 2")


def test_missing_label_is_one_clear_error(agreement: ModuleType, tmp_path: Path) -> None:
    items = _write(tmp_path / "items.jsonl", [{"id": "g-1", "category": "sensory"}])
    a = _write(tmp_path / "a.jsonl", [{"id": "g-1", "label": "honest", "h2_overall": 5}])
    b = _write(tmp_path / "b.jsonl", [])
    with pytest.raises(SystemExit, match="lack a label"):
        agreement.main([str(items), str(a), str(b)])


def test_unknown_label_is_rejected(agreement: ModuleType, tmp_path: Path) -> None:
    bad = _write(tmp_path / "a.jsonl", [{"id": "g-1", "label": "maybe", "h2_overall": 5}])
    with pytest.raises(SystemExit, match="label 'maybe'"):
        agreement.by_id(agreement.read_jsonl(bad), bad)
