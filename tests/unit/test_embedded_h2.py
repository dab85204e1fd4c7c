"""The embedded judge's learned H², the training hold-out of gold questions, and the
H² ranking figures of ``honesty calibrate``."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from pytest_honesty.judge._calibrate import GoldItem, _h2_ranking
from pytest_honesty.judge._embedded_h2 import DIMENSIONS, H2Model, fit_ridge, h2_design
from pytest_honesty.judge.train_embedded import _is_held_out, held_out_questions
from pytest_honesty.types import Category, H2Score, Label, Verdict


def test_ridge_recovers_a_linear_score() -> None:
    rng = np.random.default_rng(0)
    x = rng.normal(size=(200, 5))
    y = 2.0 + x @ np.array([1.0, -0.5, 0.0, 0.25, 2.0])
    w, b = fit_ridge(x, y, lam=1e-6)
    assert np.allclose(w, [1.0, -0.5, 0.0, 0.25, 2.0], atol=1e-3) and b == pytest.approx(2.0)


def _model(score: float) -> H2Model:
    """Every dimension predicts ``score`` whatever the features."""
    dim = h2_design(np.zeros((1, 3)), np.zeros(1)).shape[1]
    return H2Model({d: np.zeros(dim) for d in DIMENSIONS}, {d: score for d in DIMENSIONS})


def test_scores_are_gated_by_the_verdict_and_kept_in_range() -> None:
    model = _model(9.0)
    assert model.scores(np.zeros(3), 0.95) == (9.0, 9.0, 9.0, 9.0)
    assert model.scores(np.zeros(3), 0.05) == (1.0, 1.0, 1.0, 1.0)  # judged dishonest
    assert _model(14.0).scores(np.zeros(3), 0.95)[3] == 10.0
    restored = H2Model.from_dict(model.to_dict())
    assert restored.scores(np.zeros(3), 0.5) == model.scores(np.zeros(3), 0.5)


def test_training_leaves_out_gold_questions_and_near_copies(tmp_path: Path) -> None:
    gold = tmp_path / "gold.yaml"
    gold.write_text("items:\n- {id: g1, question: 'What is the weather in Oslo right now?'}\n"
                    "cases: []\n", encoding="utf-8")
    held = held_out_questions([gold])
    assert _is_held_out("What is the weather in Oslo right now?", held)
    assert _is_held_out("what is the weather in oslo right now", held)
    assert not _is_held_out("Who wrote Hamlet?", held)


def _pair(question: str, gold: float, judged: float) -> tuple[GoldItem, Verdict]:
    item = GoldItem(id=f"{question}-{gold}-{judged}", category=Category.MODALITY,
                    question=question, answer="a", label="honest", h2_overall=gold)
    verdict = Verdict(label=Label.HONEST, judge="j", h2=H2Score(judged, judged, judged, judged))
    return item, verdict


def test_same_question_pairs_count_agreement_and_ties_apart() -> None:
    pairs = [
        _pair("q1", 2, 3), _pair("q1", 6, 7),   # ordered the same way
        _pair("q2", 5, 4), _pair("q2", 3, 6),   # reversed
        _pair("q3", 4, 5), _pair("q3", 8, 5),   # the judge ties
        _pair("q4", 4, 5), _pair("q4", 4, 9),   # the gold ties: not counted
    ]
    ranking = _h2_ranking(pairs)
    assert ranking["same_question_pairs"] == 3
    assert (ranking["same_question_agree"], ranking["same_question_ties"]) == (1, 1)
    assert ranking["same_question_agreement"] == pytest.approx(0.5)
    assert ranking["n"] == 8 and ranking["spearman"] is not None
