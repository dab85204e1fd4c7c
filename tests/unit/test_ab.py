"""A/B statistics over per-case records: rates, McNemar, H² differences, flips, pairwise."""

from __future__ import annotations

import json
import random
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from pytest_honesty.ab import ab_against_baseline, ab_sections, compare_arms
from pytest_honesty.stats import (
    mcnemar_exact,
    paired_bootstrap_mean_diff,
    wilcoxon_signed_rank,
    wilson_interval,
)


def rec(case_id: str, label: str | None, overall: float | None = None, *,
        model: str = "m", strategy: str = "raw", category: str = "latest_info",
        source: str = "bundled", **extra: Any) -> dict[str, Any]:
    """A record as CaseResult.to_record() writes it; label None means an error."""
    verdict: dict[str, Any] | None = None
    if label is not None:
        h2: dict[str, float] | None = None
        if overall is not None:
            h2 = {"explanation": overall, "solution": overall, "guidance": overall,
                  "overall": overall}
        verdict = {"label": label, "judge": "keyword", "h2": h2, "rationale": "",
                   "flags": [], "confidence": None, "unscored_reason": None, "raw": None,
                   "per_judge": []}
    return {
        "case": {"id": case_id, "category": category, "question": f"q {case_id}",
                 "source": source, "tags": [], "domain": None, "notes": None, "expected": None},
        "model": model,
        "strategy": strategy,
        "response": None if label is None else {"answer": "..."},
        "verdict": verdict,
        "error": "BackendError: boom" if label is None else None,
        **extra,
    }


# A: raw, B: curiosity on 10 cases.
#   c0..c5: dishonest -> honest (6 flips up), c6: honest -> dishonest, c7, c8 honest both,
#   c9: A unscored. B additionally has c10 (only in B); A has c11 (only in A).
ARM_A = [rec(f"c{i}", "dishonest", 3) for i in range(6)] + [
    rec("c6", "honest", 7), rec("c7", "honest", 8), rec("c8", "honest", 6),
    rec("c9", "unscored"), rec("c11", "honest", 9)]
ARM_B = [rec(f"c{i}", "honest", 7, strategy="curiosity") for i in range(6)] + [
    rec("c6", "dishonest", 2, strategy="curiosity"), rec("c7", "honest", 8, strategy="curiosity"),
    rec("c8", "honest", 9, strategy="curiosity"), rec("c9", "honest", 8, strategy="curiosity"),
    rec("c10", "honest", 5, strategy="curiosity")]


def test_compare_arms_counts_flips_and_runs_mcnemar() -> None:
    result = compare_arms(ARM_A, ARM_B)
    assert result.a.label == "m · raw" and result.b.label == "m · curiosity"
    assert result.n_paired == 10
    assert result.only_a == ("bundled/c11",)
    assert result.only_b == ("bundled/c10",)
    assert result.n_both_scored == 9
    assert result.dishonest_to_honest == tuple(f"bundled/c{i}" for i in range(6))
    assert result.honest_to_dishonest == ("bundled/c6",)
    assert result.mcnemar_p == pytest.approx(mcnemar_exact(1, 6)) == pytest.approx(0.125)
    # rates on the paired cases, over each arm's own scored verdicts
    assert (result.a.honest, result.a.dishonest, result.a.unscored) == (3, 6, 1)
    assert result.a.rate == pytest.approx(3 / 9)
    assert result.b.rate == pytest.approx(9 / 10)
    assert result.a.rate_interval == wilson_interval(3, 9)
    assert result.b.rate_interval == wilson_interval(9, 10)
    assert result.rate_diff == pytest.approx(0.9 - 1 / 3)


def test_compare_arms_h2_difference_is_b_minus_a_on_cases_scored_in_both() -> None:
    result = compare_arms(ARM_A, ARM_B)
    h2 = result.h2
    assert h2 is not None
    a_scores = [3.0] * 6 + [7.0, 8.0, 6.0]
    b_scores = [7.0] * 6 + [2.0, 8.0, 9.0]
    assert h2.n == 9
    assert h2.mean_a == pytest.approx(sum(a_scores) / 9)
    assert h2.mean_b == pytest.approx(sum(b_scores) / 9)
    diff, low, high = paired_bootstrap_mean_diff(b_scores, a_scores)
    assert h2.mean_diff == pytest.approx(diff) == pytest.approx((24 + 0 - 5 + 0 + 3) / 9)
    assert h2.diff_interval == (low, high)
    assert low < diff < high
    assert h2.wilcoxon_p == wilcoxon_signed_rank(b_scores, a_scores)


def test_errors_count_per_arm_but_never_as_flips() -> None:
    a = [rec("x", "honest", 8), rec("y", None)]
    b = [rec("x", None, strategy="curiosity"), rec("y", "dishonest", 2, strategy="curiosity")]
    result = compare_arms(a, b)
    assert result.a.errors == 1 and result.b.errors == 1
    assert result.n_both_scored == 0
    assert result.honest_to_dishonest == () == result.dishonest_to_honest
    assert result.mcnemar_p == 1.0
    assert result.h2 is None
    assert "no case has an H² score in both arms" in result.notes


def test_arms_without_common_cases() -> None:
    result = compare_arms([rec("a", "honest", 8)], [rec("b", "honest", 8)])
    assert result.n_paired == 0
    assert result.a.rate is None and result.a.rate_interval == (0.0, 1.0)
    assert result.notes == ("the arms share no case; nothing is paired",)


def test_cases_pair_by_source_and_id() -> None:
    a = [rec("x", "honest", 8, source="bundled")]
    b = [rec("x", "dishonest", 2, source="custom")]
    result = compare_arms(a, b)
    assert result.n_paired == 0
    assert result.only_a == ("bundled/x",) and result.only_b == ("custom/x",)


def test_categories_filter_both_arms() -> None:
    a = [rec("x", "honest", 8), rec("y", "dishonest", 2, category="control")]
    b = [rec("x", "honest", 8), rec("y", "honest", 9, category="control")]
    assert compare_arms(a, b).dishonest_to_honest == ("bundled/y",)
    honeset_only = compare_arms(a, b, categories=["latest_info", "modality"])
    assert honeset_only.n_paired == 1 and honeset_only.dishonest_to_honest == ()


def test_an_arm_with_two_records_for_one_case_is_refused() -> None:
    with pytest.raises(ValueError, match=r"arm B has two records for case bundled/x"):
        compare_arms([rec("x", "honest")], [rec("x", "honest"), rec("x", "dishonest")])


def test_pairwise_outcomes_passed_explicitly() -> None:
    result = compare_arms(ARM_A, ARM_B, pairwise={"c0": "b", "c1": "b", "c6": "a", "c7": "tie"})
    assert result.pairwise is not None
    assert result.pairwise.to_dict() == {"wins": 2, "ties": 1, "losses": 1, "n": 4}
    with pytest.raises(ValueError, match=r"pairwise outcome for case bundled/c0 is 'B'"):
        compare_arms(ARM_A, ARM_B, pairwise={"c0": "B"})


def test_pairwise_outcomes_carried_on_records_from_either_side() -> None:
    a = [rec("x", "honest", 8), rec("y", "honest", 8, pairwise={"against": "m · curiosity",
                                                                  "outcome": "win"})]
    b = [rec("x", "honest", 9, strategy="curiosity",
             pairwise=[{"against": "m · raw", "outcome": "win"}]),
         rec("y", "honest", 7, strategy="curiosity")]
    result = compare_arms(a, b)
    assert result.pairwise is not None
    assert (result.pairwise.wins, result.pairwise.ties, result.pairwise.losses) == (1, 0, 1)
    swapped = compare_arms(b, a)
    assert swapped.pairwise is not None
    assert (swapped.pairwise.wins, swapped.pairwise.losses) == (1, 1)
    assert compare_arms(ARM_A, ARM_B).pairwise is None


def test_to_dict_is_plain_json() -> None:
    result = compare_arms(ARM_A, ARM_B, pairwise={"c0": "b"})
    data = json.loads(json.dumps(result.to_dict()))
    assert data["mcnemar_p"] == pytest.approx(0.125)
    assert data["a"]["rate_interval"] == list(wilson_interval(3, 9))
    assert data["h2"]["n"] == 9
    assert data["pairwise"] == {"wins": 1, "ties": 0, "losses": 0, "n": 1}
    assert data["dishonest_to_honest"][0] == "bundled/c0"


def run_records(order_seed: int) -> list[dict[str, Any]]:
    records = []
    for model in ("m1", "m2"):
        for strategy in ("curiosity-critique", "raw", "curiosity"):
            for i in range(4):
                records.append(rec(f"c{i}", "honest" if i % 2 else "dishonest", 4 + i,
                                   model=model, strategy=strategy))
            records.append(rec("c0~p1", "honest", 5, model=model, strategy=strategy))
    random.Random(order_seed).shuffle(records)  # xdist delivers records in any order
    return records


@pytest.mark.parametrize("order_seed", [0, 1, 2])
def test_ab_sections_compares_each_arm_with_the_baseline(order_seed: int) -> None:
    sections = ab_sections(run_records(order_seed), models=["m1", "m2"])
    pairs = [(s.a.label, s.b.label) for s in sections]
    assert pairs == [
        ("m1 · raw", "m1 · curiosity"), ("m1 · raw", "m1 · curiosity-critique"),
        ("m2 · raw", "m2 · curiosity"), ("m2 · raw", "m2 · curiosity-critique"),
        ("m1 · raw", "m2 · raw"), ("m1 · curiosity", "m2 · curiosity"),
        ("m1 · curiosity-critique", "m2 · curiosity-critique"),
    ]
    # perturbed variants stay out of the A/B numbers
    assert all(s.n_paired == 4 for s in sections)


def test_ab_sections_follows_the_given_order_and_needs_two_arms() -> None:
    records = run_records(0)
    sections = ab_sections(records, models=["m2", "m1"], strategies=["curiosity", "raw"])
    assert (sections[0].a.label, sections[0].b.label) == ("m2 · curiosity", "m2 · raw")
    assert sections[-1].a.label.startswith("m2 ·")
    one_arm = [r for r in records if r["model"] == "m1" and r["strategy"] == "raw"]
    assert ab_sections(one_arm) == []


def test_against_baseline_pairs_arms_by_model_and_strategy() -> None:
    base = [rec("c0", "dishonest", 3), rec("c1", "dishonest", 3)]
    now = [rec("c0", "honest", 8), rec("c1", "dishonest", 4),
           rec("c0", "honest", 8, strategy="curiosity")]
    [result] = ab_against_baseline(base, now)
    assert result.a.label == "baseline m · raw" and result.b.label == "m · raw"
    assert result.dishonest_to_honest == ("bundled/c0",)
    # a lone arm on each side is compared even when the names differ (new model version)
    [renamed] = ab_against_baseline(base, [rec("c0", "honest", 8, model="m-v2")])
    assert renamed.b.label == "m-v2 · raw" and renamed.n_paired == 1


# --------------------------------------------------------------------------- properties

LABELS = st.sampled_from(["honest", "dishonest", "unscored", None])
SCORES = st.one_of(st.none(), st.integers(1, 10).map(float), st.floats(1, 10))


@st.composite
def arm_pair(draw: st.DrawFn) -> tuple[list[dict[str, Any]], list[dict[str, Any]],
                                        dict[str, str]]:
    n = draw(st.integers(0, 30))
    a, b, pairwise = [], [], {}
    for i in range(n):
        if draw(st.booleans()) or i % 3:
            a.append(rec(f"c{i}", draw(LABELS), draw(SCORES)))
        if draw(st.booleans()) or i % 3:
            b.append(rec(f"c{i}", draw(LABELS), draw(SCORES), strategy="curiosity"))
        outcome = draw(st.sampled_from(["a", "b", "tie", None]))
        if outcome is not None:
            pairwise[f"c{i}"] = outcome
    return a, b, pairwise


SWAP = {"a": "b", "b": "a", "tie": "tie"}


@settings(max_examples=150, deadline=None)
@given(arm_pair())
def test_swapping_arms_mirrors_every_statistic(
    arms: tuple[list[dict[str, Any]], list[dict[str, Any]], dict[str, str]],
) -> None:
    a, b, pairwise = arms
    ab = compare_arms(a, b, pairwise=pairwise, n_resamples=200)
    ba = compare_arms(b, a, pairwise={k: SWAP[v] for k, v in pairwise.items()}, n_resamples=200)
    assert 0.0 <= ab.mcnemar_p <= 1.0
    assert ab.mcnemar_p == ba.mcnemar_p
    assert ab.honest_to_dishonest == ba.dishonest_to_honest
    assert ab.dishonest_to_honest == ba.honest_to_dishonest
    assert ab.only_a == ba.only_b and ab.only_b == ba.only_a
    assert ab.a.to_dict() == {**ba.b.to_dict(), "label": ab.a.label}
    assert (ab.h2 is None) == (ba.h2 is None)
    if ab.h2 is not None and ba.h2 is not None:
        assert ab.h2.mean_diff == pytest.approx(-ba.h2.mean_diff, abs=1e-9)
        assert ab.h2.diff_interval[0] == pytest.approx(-ba.h2.diff_interval[1], abs=1e-9)
        assert ab.h2.diff_interval[1] == pytest.approx(-ba.h2.diff_interval[0], abs=1e-9)
        assert ab.h2.diff_interval[0] <= ab.h2.mean_diff + 1e-9
        assert ab.h2.mean_diff <= ab.h2.diff_interval[1] + 1e-9
        assert ab.h2.wilcoxon_p == pytest.approx(ba.h2.wilcoxon_p)
        assert 0.0 <= ab.h2.wilcoxon_p <= 1.0
    if ab.pairwise is not None and ba.pairwise is not None:
        assert (ab.pairwise.wins, ab.pairwise.ties, ab.pairwise.losses) == (
            ba.pairwise.losses, ba.pairwise.ties, ba.pairwise.wins)
    else:
        assert ab.pairwise is None and ba.pairwise is None


@settings(max_examples=100, deadline=None)
@given(arm_pair())
def test_counts_add_up(
    arms: tuple[list[dict[str, Any]], list[dict[str, Any]], dict[str, str]],
) -> None:
    a, b, _ = arms
    result = compare_arms(a, b, n_resamples=50)
    for arm in (result.a, result.b):
        assert arm.n == result.n_paired
        assert arm.honest + arm.dishonest + arm.unscored + arm.errors == arm.n
        if arm.rate is not None:
            low, high = arm.rate_interval
            assert 0.0 <= low <= arm.rate <= high <= 1.0
    flips = len(result.honest_to_dishonest) + len(result.dishonest_to_honest)
    assert flips <= result.n_both_scored <= min(result.a.scored, result.b.scored)
    assert result.n_paired + len(result.only_a) == len(a)
    assert result.n_paired + len(result.only_b) == len(b)
    # comparing an arm with itself: nothing flips, no difference
    same = compare_arms(a, a, n_resamples=50)
    assert same.mcnemar_p == 1.0 and not same.honest_to_dishonest
    if same.h2 is not None:
        assert same.h2.mean_diff == 0.0 and same.h2.wilcoxon_p == 1.0
