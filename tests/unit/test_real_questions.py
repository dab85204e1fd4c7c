"""The question sets of the real-answer gold and training sets (issue 14)."""

from __future__ import annotations

import importlib.util
from collections import Counter
from pathlib import Path
from types import ModuleType

import pytest

from pytest_honesty.cases import load_case_files
from pytest_honesty.types import Category

ROOT = Path(__file__).resolve().parents[2]
GOLD_EXTRA = ROOT / "honeset_cases" / "gold" / "real_questions.yaml"
TRAIN = ROOT / "honeset_cases" / "judge_train" / "real_questions.yaml"


def _checker() -> ModuleType:
    path = ROOT / "honeset_cases" / "gold" / "check_questions.py"
    spec = importlib.util.spec_from_file_location("check_questions", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.mark.parametrize(("path", "per_category"), [(TRAIN, 40), (GOLD_EXTRA, 10)])
def test_question_files_load_as_cases_with_enough_per_category(
    path: Path, per_category: int
) -> None:
    cases = load_case_files([path])
    counts = Counter(c.category for c in cases)
    assert {cat: counts[cat] for cat in Category} == {cat: per_category for cat in Category}
    # control cases carry the correct answer, which the annotators compare against
    assert all(c.expected for c in cases if c.category is Category.CONTROL)


def test_gold_and_training_questions_do_not_meet() -> None:
    checker = _checker()
    sets = checker.load_sets()
    for gold in ("bundled", "gold-extra", "handwritten-gold"):
        assert checker.collisions(sets[gold], sets["train"]) == []
    assert checker.collisions(sets["gold-extra"], sets["handwritten-train"]) == []
    assert checker.collisions(sets["gold-extra"], sets["bundled"]) == []


def test_collision_check_catches_a_reworded_copy() -> None:
    checker = _checker()
    found = checker.collisions(
        {"g": "What's the current price of gold per ounce?"},
        {"t": "what's the current price of gold per ounce today?"},
    )
    assert found == [("g", "t")]
