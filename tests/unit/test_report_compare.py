"""A/B comparison of a run's groups (report/_build.compare_groups): pairing, flips,
McNemar and the paired H² difference, and the symmetry of swapping the two sides."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from test_report_support import make_report, raw_record

from pytest_honesty.report._build import case_record, compare_groups
from pytest_honesty.report._cost import PriceTable
from pytest_honesty.report._model import ALL, CaseRecord, ComparisonRow
from pytest_honesty.stats import mcnemar_exact, paired_bootstrap_mean_diff

PRICES = PriceTable.default()
BASE, CAND = ("mock/a", "raw"), ("mock/a", "curiosity")


def rec(case_id: str, label: str | None, overall: float = 7.0, *, strategy: str = "raw",
        source: str = "custom", category: str = "modality") -> CaseRecord:
    """A record as a run decodes it; label None is an error (no verdict)."""
    raw = raw_record(case_id, label=label or "honest", overall=overall, strategy=strategy,
                     source=source, category=category,
                     error="BackendError: boom" if label is None else None)
    return case_record(raw, prices=PRICES)


def all_row(records: list[CaseRecord], groups: Any = (BASE, CAND)) -> ComparisonRow:
    (comparison,) = compare_groups(records, list(groups))
    row = comparison.row(ALL)
    assert row is not None
    return row


def test_errors_and_unscored_answers_never_flip() -> None:
    base = [rec("x", "honest", 8), rec("y", None), rec("z", "unscored")]
    cand = [rec("x", None, strategy="curiosity"), rec("y", "dishonest", 2, strategy="curiosity"),
            rec("z", "dishonest", 2, strategy="curiosity")]
    row = all_row(base + cand)
    assert row.n_pairs == 3 and row.n_scored_pairs == 0
    assert row.flips_to_dishonest == () == row.flips_to_honest
    assert row.mcnemar_p == 1.0 and row.rate_delta is None
    assert row.h2_diff.n == 0 and row.h2_diff.value is None and row.wilcoxon_p is None


def test_cases_pair_by_source_and_id() -> None:
    row = all_row([rec("x", "honest", 8, source="bundled"),
                   rec("x", "dishonest", 2, source="custom", strategy="curiosity")])
    assert row.n_pairs == 0


def test_h2_difference_is_candidate_minus_base_on_cases_scored_in_both() -> None:
    base = [rec("a", "dishonest", 3), rec("b", "honest", 7), rec("c", "honest", 8),
            rec("only-base", "honest", 9)]
    cand = [rec("a", "honest", 7, strategy="curiosity"),
            rec("b", "dishonest", 2, strategy="curiosity"),
            rec("c", "honest", 9, strategy="curiosity"),
            rec("only-cand", "honest", 1, strategy="curiosity")]
    row = all_row(base + cand)
    assert row.n_pairs == 3
    assert row.flips_to_honest == ("custom/a",) and row.flips_to_dishonest == ("custom/b",)
    assert row.mcnemar_p == pytest.approx(mcnemar_exact(1, 1))
    diff, low, high = paired_bootstrap_mean_diff([7.0, 2.0, 9.0], [3.0, 7.0, 8.0])
    assert row.h2_diff.value == pytest.approx(diff) == pytest.approx(0.0)
    assert row.h2_diff.n == 3 and low <= diff <= high


def test_every_group_is_compared_with_the_first() -> None:
    records = [rec("x", "honest", 8, strategy=s) for s in ("raw", "curiosity", "critique")]
    comparisons = compare_groups(
        records, [("mock/a", "raw"), ("mock/a", "curiosity"), ("mock/a", "critique")])
    assert [(c.base_strategy, c.cand_strategy) for c in comparisons] == [
        ("raw", "curiosity"), ("raw", "critique")]
    assert compare_groups(records, [("mock/a", "raw")]) == ()


def test_rewritten_variants_stay_out_of_the_comparison() -> None:
    raws = [raw_record("modality-000", label="dishonest", overall=3.0),
            raw_record("modality-000", label="honest", strategy="curiosity"),
            raw_record("modality-000~p1", label="honest"),
            raw_record("modality-000~p1", label="dishonest", strategy="curiosity")]
    (comparison,) = make_report(raws).comparisons
    row = comparison.row(ALL)
    assert row is not None and row.n_pairs == 1 and row.dishonest_to_honest == 1


LABELS = st.sampled_from(["honest", "dishonest", "unscored", None])


@st.composite
def two_sides(draw: st.DrawFn) -> list[CaseRecord]:
    records = []
    for i in range(draw(st.integers(0, 12))):
        for strategy in ("raw", "curiosity"):
            if draw(st.booleans()) or i % 3:
                records.append(rec(f"c{i}", draw(LABELS), draw(st.integers(1, 10)),
                                   strategy=strategy))
    return records


@settings(max_examples=60, deadline=None)
@given(two_sides())
def test_swapping_the_sides_mirrors_every_statistic(records: list[CaseRecord]) -> None:
    ab, ba = all_row(records, (BASE, CAND)), all_row(records, (CAND, BASE))
    assert ab.n_pairs == ba.n_pairs and ab.n_scored_pairs == ba.n_scored_pairs
    assert ab.mcnemar_p == ba.mcnemar_p and 0.0 <= ab.mcnemar_p <= 1.0
    assert ab.flips_to_dishonest == ba.flips_to_honest
    assert ab.flips_to_honest == ba.flips_to_dishonest
    assert (ab.base_honest, ab.cand_honest) == (ba.cand_honest, ba.base_honest)
    assert ab.h2_diff.n == ba.h2_diff.n
    if ab.h2_diff.value is not None and ba.h2_diff.value is not None:
        assert ab.h2_diff.value == pytest.approx(-ba.h2_diff.value, abs=1e-9)
        assert ab.wilcoxon_p == pytest.approx(ba.wilcoxon_p)
    # a side compared with itself: nothing flips, no difference
    same = all_row(records, (BASE, BASE))
    assert same.mcnemar_p == 1.0 and not same.flips_to_dishonest
    if same.h2_diff.value is not None:
        assert same.h2_diff.value == 0.0 and same.wilcoxon_p == 1.0
