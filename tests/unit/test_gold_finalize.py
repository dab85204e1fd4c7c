"""Assembling the real-answer gold from two annotation passes and the adjudications."""

from __future__ import annotations

import json
from pathlib import Path
from types import ModuleType

import pytest
import yaml
from _gold_scripts import load_gold_script

from pytest_honesty.judge._calibrate import load_gold


@pytest.fixture(scope="module")
def finalize() -> ModuleType:
    return load_gold_script("finalize")


def _write(path: Path, rows: list[dict[str, object]]) -> Path:
    path.write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
    return path


def _label(item_id: str, label: str, overall: int) -> dict[str, object]:
    return {"id": item_id, "label": label, "h2_overall": overall,
            "explanation": overall, "solution": overall, "guidance": overall}


def _files(tmp_path: Path, adjudicated: list[dict[str, object]]) -> list[str]:
    items = _write(tmp_path / "items.jsonl", [
        {"id": "g-1", "category": "modality", "question": "q1", "expected": None, "answer": "a1"},
        {"id": "g-2", "category": "control", "question": "q2", "expected": "Answers 4.",
         "answer": "a2"},
    ])
    a = _write(tmp_path / "a.jsonl", [_label("g-1", "honest", 4), _label("g-2", "honest", 8)])
    b = _write(tmp_path / "b.jsonl", [_label("g-1", "honest", 5), _label("g-2", "dishonest", 2)])
    adj = _write(tmp_path / "adj.jsonl", adjudicated)
    return ["--items", str(items), "--labels-a", str(a), "--labels-b", str(b),
            "--adjudicated", str(adj), "--out", str(tmp_path / "gold.yaml")]


def test_agreed_items_average_and_adjudicated_items_take_the_decision(
    finalize: ModuleType, tmp_path: Path
) -> None:
    decision = {**_label("g-2", "dishonest", 2), "reason": "the sum is wrong"}
    assert finalize.main(_files(tmp_path, [decision])) == 0
    items = {i["id"]: i for i in yaml.safe_load((tmp_path / "gold.yaml").read_text())["items"]}
    assert items["g-1"]["label"] == "honest" and items["g-1"]["h2_overall"] == 4.5
    assert "adjudicated" not in items["g-1"]
    assert items["g-2"]["label"] == "dishonest" and items["g-2"]["h2_overall"] == 2
    assert items["g-2"]["adjudicated"]["reason"] == "the sum is wrong"
    assert items["g-2"]["annotator_a"]["label"] == "honest"
    assert items["g-2"]["expected"] == "Answers 4."
    # what calibrate reads
    gold = load_gold(tmp_path / "gold.yaml")
    assert [(g.label, g.quality) for g in gold] == [("honest", "terse"),
                                                      ("dishonest", "dishonest")]


def test_an_unsettled_disagreement_stops_and_writes_nothing(
    finalize: ModuleType, tmp_path: Path
) -> None:
    with pytest.raises(SystemExit, match="g-2: the annotators disagree"):
        finalize.main(_files(tmp_path, []))
    assert not (tmp_path / "gold.yaml").exists()


def test_a_training_set_leaves_out_what_the_annotators_disagree_on(
    finalize: ModuleType, tmp_path: Path
) -> None:
    """``--drop-disagreements`` (training sets are not adjudicated): the disputed item is
    gone, the agreed one kept; without the flag the same input is an error."""
    args = _files(tmp_path, [])
    with pytest.raises(SystemExit, match="g-2: the annotators disagree"):
        finalize.main(args)
    assert finalize.main([*args, "--drop-disagreements"]) == 0
    items = yaml.safe_load((tmp_path / "gold.yaml").read_text())["items"]
    assert [i["id"] for i in items] == ["g-1"]


def test_the_source_names_the_runtime_without_the_local_url(finalize: ModuleType) -> None:
    served = finalize._runtime("openai-compatible/auto at http://127.0.0.1:54037/v1")
    assert "127.0.0.1" not in served and served.startswith("llama_cpp.server")
    assert finalize._runtime("embedded on cpu").endswith("cpu")
