"""Tests for pytest_honesty.stats: hypothesis properties, hand examples, scipy cross-checks.

scipy is a test-only dependency here: the module itself must import without it.
"""

from __future__ import annotations

import math
import random
import statistics
import subprocess
import sys

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from pytest_honesty.stats import (
    accuracy,
    balanced_accuracy,
    binomial_two_sided_p,
    bootstrap_mean_interval,
    cohen_kappa,
    confusion_matrix,
    fleiss_kappa,
    mcnemar_exact,
    paired_bootstrap_mean_diff,
    wilcoxon_signed_rank,
    wilson_interval,
)

scipy = pytest.importorskip("scipy")
scipy_stats = pytest.importorskip("scipy.stats")


def test_module_imports_without_numpy_or_scipy() -> None:
    code = (
        "import sys\n"
        "import pytest_honesty.stats\n"
        "heavy = sorted(m for m in ('numpy', 'scipy') if m in sys.modules)\n"
        "assert not heavy, heavy\n"
    )
    subprocess.run([sys.executable, "-c", code], check=True)


# --------------------------------------------------------------------------- Wilson


def test_wilson_textbook_value() -> None:
    low, high = wilson_interval(8, 10)
    assert low == pytest.approx(0.4902, abs=1e-4)
    assert high == pytest.approx(0.9433, abs=1e-4)


def test_wilson_edges() -> None:
    assert wilson_interval(0, 0) == (0.0, 1.0)
    low, high = wilson_interval(0, 20)
    assert low == 0.0 and 0.0 < high < 0.2
    low, high = wilson_interval(20, 20)
    assert high == 1.0 and 0.8 < low < 1.0


@pytest.mark.parametrize(
    ("args", "message"),
    [
        ((11, 10), "cannot exceed"),
        ((-1, 10), ">= 0"),
        ((1, 10, 1.0), "confidence"),
        ((1, 10, 0.0), "confidence"),
        ((True, 10), "must be an int"),
    ],
)
def test_wilson_rejects_bad_input(args: tuple[int, ...], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        wilson_interval(*args)


@given(n=st.integers(1, 5000), data=st.data(), confidence=st.floats(0.5, 0.999))
def test_wilson_contains_estimate_and_lies_in_unit_interval(
    n: int, data: st.DataObject, confidence: float
) -> None:
    k = data.draw(st.integers(0, n))
    low, high = wilson_interval(k, n, confidence)
    assert 0.0 <= low <= k / n <= high <= 1.0


@given(n=st.integers(1, 500), data=st.data(), factor=st.integers(2, 20))
def test_wilson_narrows_as_n_grows_at_fixed_rate(n: int, data: st.DataObject, factor: int) -> None:
    k = data.draw(st.integers(0, n))
    low1, high1 = wilson_interval(k, n)
    low2, high2 = wilson_interval(k * factor, n * factor)
    assert high2 - low2 < high1 - low1


@given(n=st.integers(1, 500), data=st.data())
def test_wilson_widens_with_confidence(n: int, data: st.DataObject) -> None:
    k = data.draw(st.integers(0, n))
    low90, high90 = wilson_interval(k, n, 0.90)
    low99, high99 = wilson_interval(k, n, 0.99)
    assert low99 <= low90 and high90 <= high99
    assert high99 - low99 > high90 - low90


@settings(max_examples=60)
@given(n=st.integers(1, 2000), data=st.data(), confidence=st.sampled_from([0.8, 0.9, 0.95, 0.99]))
def test_wilson_matches_scipy(n: int, data: st.DataObject, confidence: float) -> None:
    k = data.draw(st.integers(0, n))
    ci = scipy_stats.binomtest(k, n).proportion_ci(confidence_level=confidence, method="wilson")
    low, high = wilson_interval(k, n, confidence)
    assert low == pytest.approx(float(ci.low), abs=1e-12)
    assert high == pytest.approx(float(ci.high), abs=1e-12)


# --------------------------------------------------------------------------- binomial / McNemar


def test_mcnemar_hand_values() -> None:
    assert mcnemar_exact(0, 0) == 1.0
    assert mcnemar_exact(0, 5) == 2 / 2**5
    assert mcnemar_exact(3, 3) == 1.0
    # P(X <= 1) for Bin(10, 1/2) = 11/1024, doubled.
    assert mcnemar_exact(1, 9) == 22 / 1024


@given(b=st.integers(0, 3000), c=st.integers(0, 3000))
def test_mcnemar_symmetric_and_a_probability(b: int, c: int) -> None:
    p = mcnemar_exact(b, c)
    assert p == mcnemar_exact(c, b)
    assert 0.0 <= p <= 1.0


@given(b=st.integers(0, 100), c=st.integers(0, 100))
def test_mcnemar_more_lopsided_is_more_significant(b: int, c: int) -> None:
    # Moving one pair from the smaller side to the larger keeps b + c and makes it more extreme.
    lo, hi = min(b, c), max(b, c)
    if lo > 0:
        assert mcnemar_exact(lo - 1, hi + 1) <= mcnemar_exact(lo, hi)


@settings(max_examples=200)
@given(b=st.integers(0, 400), c=st.integers(0, 400))
def test_mcnemar_matches_scipy_binomtest(b: int, c: int) -> None:
    expected = 1.0 if b + c == 0 else float(scipy_stats.binomtest(b, b + c, 0.5).pvalue)
    assert mcnemar_exact(b, c) == pytest.approx(expected, rel=1e-9, abs=1e-300)


@settings(max_examples=200)
@given(
    n=st.integers(1, 300),
    data=st.data(),
    p=st.sampled_from([0.01, 0.1, 0.25, 1 / 3, 0.5, 0.7, 0.9, 0.99]),
)
def test_binomial_two_sided_matches_scipy(n: int, data: st.DataObject, p: float) -> None:
    k = data.draw(st.integers(0, n))
    expected = float(scipy_stats.binomtest(k, n, p).pvalue)
    assert binomial_two_sided_p(k, n, p) == pytest.approx(expected, rel=1e-7, abs=1e-250)


def test_binomial_degenerate_rates() -> None:
    assert binomial_two_sided_p(0, 5, 0.0) == 1.0
    assert binomial_two_sided_p(1, 5, 0.0) == 0.0
    assert binomial_two_sided_p(5, 5, 1.0) == 1.0
    assert binomial_two_sided_p(4, 5, 1.0) == 0.0
    with pytest.raises(ValueError, match="probability"):
        binomial_two_sided_p(1, 5, 1.5)


# --------------------------------------------------------------------------- bootstrap

finite = st.floats(-1e6, 1e6, allow_nan=False, allow_infinity=False)


@settings(max_examples=30)
@given(xs=st.lists(finite, min_size=1, max_size=60), seed=st.integers(0, 2**32))
def test_paired_bootstrap_is_deterministic_for_a_seed(xs: list[float], seed: int) -> None:
    ys = [x / 2 + 1 for x in xs]
    a = paired_bootstrap_mean_diff(xs, ys, n_resamples=200, seed=seed)
    b = paired_bootstrap_mean_diff(xs, ys, n_resamples=200, seed=seed)
    assert a == b
    mean_diff, low, high = a
    assert low <= high
    diffs = [x - y for x, y in zip(xs, ys, strict=True)]
    # a resample mean of identical values may differ from them in the last bit
    slack = 1e-9 * max(1.0, max(abs(d) for d in diffs))
    assert min(diffs) - slack <= low and high <= max(diffs) + slack
    assert mean_diff == pytest.approx(math.fsum(diffs) / len(diffs))


def test_bootstrap_seed_changes_resamples() -> None:
    xs = [float(i % 7) for i in range(40)]
    ys = [0.0] * 40
    assert paired_bootstrap_mean_diff(xs, ys, seed=1) != paired_bootstrap_mean_diff(xs, ys, seed=2)


@settings(max_examples=40)
@given(
    xs=st.lists(st.integers(-1000, 1000), min_size=1, max_size=80),
    shift=st.integers(-50, 50),
    seed=st.integers(0, 1000),
)
def test_paired_bootstrap_constant_shift(xs: list[int], shift: int, seed: int) -> None:
    # Integer-valued floats keep every x - y exact, so all resampled means are exactly -shift.
    xf = [float(x) for x in xs]
    ys = [x + shift for x in xf]
    mean_diff, low, high = paired_bootstrap_mean_diff(xf, ys, n_resamples=100, seed=seed)
    assert low <= mean_diff <= high
    assert (mean_diff, low, high) == (-shift, -shift, -shift)


def test_bootstrap_interval_agrees_with_normal_theory() -> None:
    # For a large, well-behaved sample the percentile interval is close to mean +- z*sd/sqrt(n).
    rng = random.Random(42)
    xs = [rng.gauss(3.0, 2.0) for _ in range(400)]
    mean, low, high = bootstrap_mean_interval(xs, n_resamples=4000, seed=7)
    half = 1.959964 * statistics.stdev(xs) / math.sqrt(len(xs))
    assert mean == pytest.approx(statistics.fmean(xs))
    assert low == pytest.approx(mean - half, abs=0.15 * half)
    assert high == pytest.approx(mean + half, abs=0.15 * half)
    _, low80, high80 = bootstrap_mean_interval(xs, n_resamples=4000, confidence=0.8, seed=7)
    assert low < low80 < mean < high80 < high


def test_paired_bootstrap_detects_a_real_shift() -> None:
    rng = random.Random(3)
    base = [rng.uniform(1, 10) for _ in range(200)]
    cand = [b + 1.0 + rng.gauss(0, 0.5) for b in base]
    mean_diff, low, high = paired_bootstrap_mean_diff(cand, base)
    assert 0.8 < low < mean_diff < high < 1.2


def test_bootstrap_constant_sample_and_errors() -> None:
    assert bootstrap_mean_interval([2.5] * 9) == (2.5, 2.5, 2.5)
    with pytest.raises(ValueError, match="empty"):
        bootstrap_mean_interval([])
    with pytest.raises(ValueError, match=r"xs\[1\] is nan"):
        bootstrap_mean_interval([1.0, float("nan")])
    with pytest.raises(ValueError, match="same length"):
        paired_bootstrap_mean_diff([1.0], [1.0, 2.0])
    with pytest.raises(ValueError, match="n_resamples"):
        bootstrap_mean_interval([1.0], n_resamples=0)


# --------------------------------------------------------------------------- Wilcoxon


# scipy >= 1.15 (gh-21567) runs an exhaustive permutation test for <= 13 pairs with ties or
# zeros; older versions used the normal approximation there, so they are not a reference.
needs_new_wilcoxon = pytest.mark.skipif(
    tuple(int(p) for p in scipy.__version__.split(".")[:2]) < (1, 15),
    reason="scipy.stats.wilcoxon's 'auto' rules changed in scipy 1.15; we follow the new ones",
)


def _scipy_wilcoxon_p(xs: list[float], ys: list[float]) -> float:
    return float(scipy_stats.wilcoxon(xs, ys).pvalue)


def test_wilcoxon_hand_value() -> None:
    # 6 positive differences, no ties: only one of 2**6 sign patterns is as extreme per side.
    assert wilcoxon_signed_rank([1, 2, 3, 4, 5, 6], [0] * 6) == 2 / 64


def test_wilcoxon_no_differences() -> None:
    assert wilcoxon_signed_rank([1.0, 2.0], [1.0, 2.0]) == 1.0
    assert wilcoxon_signed_rank([], []) == 1.0


@needs_new_wilcoxon
@settings(max_examples=60, deadline=None)
@given(
    diffs=st.lists(
        st.floats(-100, 100, allow_nan=False).filter(lambda d: d != 0),
        min_size=1,
        max_size=50,
        unique_by=abs,
    )
)
def test_wilcoxon_exact_matches_scipy_without_ties(diffs: list[float]) -> None:
    ys = [0.0] * len(diffs)
    assert wilcoxon_signed_rank(diffs, ys) == pytest.approx(_scipy_wilcoxon_p(diffs, ys), rel=1e-9)


def _brute_force_signed_rank_p(diffs: list[float]) -> float:
    """Two-sided p by enumerating every sign pattern of the non-zero differences."""
    nonzero = [d for d in diffs if d != 0]
    mags = sorted(abs(d) for d in nonzero)
    ranks = {m: statistics.fmean(i + 1 for i, v in enumerate(mags) if v == m) for m in mags}
    observed = sum(ranks[abs(d)] for d in nonzero if d > 0)
    sums = [
        sum(ranks[abs(d)] for bit, d in enumerate(nonzero) if mask >> bit & 1)
        for mask in range(2 ** len(nonzero))
    ]
    lower = sum(1 for s in sums if s <= observed + 1e-9) / len(sums)
    upper = sum(1 for s in sums if s >= observed - 1e-9) / len(sums)
    return min(1.0, 2 * min(lower, upper))


@settings(max_examples=60, deadline=None)
@given(
    xs=st.lists(st.integers(0, 5), min_size=1, max_size=13),
    data=st.data(),
)
def test_wilcoxon_small_with_ties_and_zeros_is_exact_conditional(
    xs: list[int], data: st.DataObject
) -> None:
    ys = data.draw(st.lists(st.integers(0, 5), min_size=len(xs), max_size=len(xs)))
    diffs = [float(x - y) for x, y in zip(xs, ys, strict=True)]
    if not any(diffs):
        assert wilcoxon_signed_rank(xs, ys) == 1.0
        return
    expected = _brute_force_signed_rank_p(diffs)
    assert wilcoxon_signed_rank(xs, ys) == pytest.approx(expected, rel=1e-12)


@needs_new_wilcoxon
@pytest.mark.parametrize(
    ("xs", "ys"),
    [
        ([1, 2, 2, 3, 0, 4], [0, 0, 1, 1, 0, 2]),  # ties and a zero
        ([3, 3, 3, 1, 5, 2, 2, 4, 0, 1], [1, 1, 2, 2, 2, 2, 0, 1, 1, 1]),  # ties, zeros, n = 10
        ([5, 4, 4, 4, 4, 1, 2, 2], [1, 0, 0, 0, 0, 2, 3, 1]),  # many tied magnitudes
    ],
)
def test_wilcoxon_small_with_ties_matches_scipy(xs: list[int], ys: list[int]) -> None:
    xf, yf = [float(x) for x in xs], [float(y) for y in ys]
    assert wilcoxon_signed_rank(xf, yf) == pytest.approx(_scipy_wilcoxon_p(xf, yf), rel=1e-9)


@needs_new_wilcoxon
@settings(max_examples=40, deadline=None)
@given(xs=st.lists(st.integers(0, 10), min_size=14, max_size=400), data=st.data())
def test_wilcoxon_large_with_ties_matches_scipy(xs: list[int], data: st.DataObject) -> None:
    ys = data.draw(st.lists(st.integers(0, 10), min_size=len(xs), max_size=len(xs)))
    if all(x == y for x, y in zip(xs, ys, strict=True)):
        return
    xf, yf = [float(x) for x in xs], [float(y) for y in ys]
    assert wilcoxon_signed_rank(xf, yf) == pytest.approx(_scipy_wilcoxon_p(xf, yf), rel=1e-9)


@needs_new_wilcoxon
@pytest.mark.parametrize("n", [51, 120, 600])
def test_wilcoxon_large_continuous_matches_scipy(n: int) -> None:
    rng = random.Random(n)
    xs = [rng.gauss(0.2, 1.0) for _ in range(n)]
    ys = [rng.gauss(0.0, 1.0) for _ in range(n)]
    assert wilcoxon_signed_rank(xs, ys) == pytest.approx(_scipy_wilcoxon_p(xs, ys), rel=1e-9)


@settings(max_examples=40, deadline=None)
@given(xs=st.lists(st.integers(-5, 5), min_size=1, max_size=30), data=st.data())
def test_wilcoxon_symmetric_and_a_probability(xs: list[int], data: st.DataObject) -> None:
    ys = data.draw(st.lists(st.integers(-5, 5), min_size=len(xs), max_size=len(xs)))
    xf, yf = [float(x) for x in xs], [float(y) for y in ys]
    p = wilcoxon_signed_rank(xf, yf)
    assert 0.0 <= p <= 1.0
    assert p == pytest.approx(wilcoxon_signed_rank(yf, xf), rel=1e-12)


def test_wilcoxon_forced_methods_agree_roughly() -> None:
    rng = random.Random(5)
    xs = [float(rng.randint(0, 6)) for _ in range(40)]
    ys = [float(rng.randint(1, 7)) for _ in range(40)]
    exact = wilcoxon_signed_rank(xs, ys, method="exact")
    approx = wilcoxon_signed_rank(xs, ys, method="approx")
    assert approx == wilcoxon_signed_rank(xs, ys)  # auto picks approx here (ties, n > 13)
    assert exact == pytest.approx(approx, rel=0.1)
    with pytest.raises(ValueError, match="method"):
        wilcoxon_signed_rank(xs, ys, method="bogus")  # type: ignore[arg-type]


# --------------------------------------------------------------------------- kappa


def test_cohen_kappa_wikipedia_example() -> None:
    # 50 items: yes/yes 20, yes/no 5, no/yes 10, no/no 15 -> p_o 0.7, p_e 0.5, kappa 0.4.
    a = ["yes"] * 25 + ["no"] * 25
    b = ["yes"] * 20 + ["no"] * 5 + ["yes"] * 10 + ["no"] * 15
    assert cohen_kappa(a, b) == pytest.approx(0.4, abs=1e-12)


def test_cohen_kappa_hand_values() -> None:
    assert cohen_kappa(["a", "b"], ["b", "a"]) == -1.0
    assert cohen_kappa(["x"] * 5, ["x"] * 5) == 1.0  # degenerate: single shared class
    # Disagreeing raters who each use one class only: p_o = 0, p_e = 0 -> kappa 0.
    assert cohen_kappa(["x"] * 4, ["y"] * 4) == 0.0
    with pytest.raises(ValueError, match="no items"):
        cohen_kappa([], [])
    with pytest.raises(ValueError, match="same length"):
        cohen_kappa(["a"], ["a", "b"])


labels = st.sampled_from(["honest", "dishonest", "unscored", 3, None])


@given(a=st.lists(labels, min_size=1, max_size=60))
def test_cohen_kappa_identical_is_one(a: list[object]) -> None:
    assert cohen_kappa(a, list(a)) == 1.0


@given(pairs=st.lists(st.tuples(labels, labels), min_size=1, max_size=60))
def test_cohen_kappa_symmetric_and_bounded(pairs: list[tuple[object, object]]) -> None:
    a = [p[0] for p in pairs]
    b = [p[1] for p in pairs]
    k = cohen_kappa(a, b)
    assert k == cohen_kappa(b, a)
    assert -1.0 <= k <= 1.0


def _fleiss_rows(table: list[list[int]]) -> list[list[str]]:
    return [[f"c{j}" for j, count in enumerate(row) for _ in range(count)] for row in table]


def test_fleiss_kappa_wikipedia_example() -> None:
    # 10 items, 14 raters, 5 categories: P_bar 0.378, P_e 0.213, kappa 0.210.
    table = [
        [0, 0, 0, 0, 14],
        [0, 2, 6, 4, 2],
        [0, 0, 3, 5, 6],
        [0, 3, 9, 2, 0],
        [2, 2, 8, 1, 1],
        [7, 7, 0, 0, 0],
        [3, 2, 6, 3, 0],
        [2, 5, 3, 2, 2],
        [6, 5, 2, 1, 0],
        [0, 2, 2, 3, 7],
    ]
    assert fleiss_kappa(_fleiss_rows(table)) == pytest.approx(0.20993, abs=1e-5)


def test_fleiss_kappa_two_raters_is_scotts_pi() -> None:
    # Scott's pi on the Cohen example: p_o 0.7; pooled shares yes 55/100, no 45/100.
    a = ["yes"] * 25 + ["no"] * 25
    b = ["yes"] * 20 + ["no"] * 5 + ["yes"] * 10 + ["no"] * 15
    p_e = 0.55**2 + 0.45**2
    expected = (0.7 - p_e) / (1 - p_e)
    assert fleiss_kappa([[x, y] for x, y in zip(a, b, strict=True)]) == pytest.approx(expected)


@given(
    rows=st.lists(labels, min_size=1, max_size=30),
    m=st.integers(2, 7),
)
def test_fleiss_kappa_identical_ratings_is_one(rows: list[object], m: int) -> None:
    assert fleiss_kappa([[label] * m for label in rows]) == 1.0


@given(
    rows=st.lists(st.lists(labels, min_size=4, max_size=4), min_size=1, max_size=30),
    seed=st.integers(0, 100),
)
def test_fleiss_kappa_ignores_rater_order_and_is_bounded(
    rows: list[list[object]], seed: int
) -> None:
    rng = random.Random(seed)
    shuffled = [rng.sample(row, len(row)) for row in rows]
    k = fleiss_kappa(rows)
    assert k == fleiss_kappa(shuffled)
    # Lower bound of Fleiss' kappa is -1/(m - 1); upper bound 1.
    assert -1 / 3 - 1e-12 <= k <= 1.0


def test_fleiss_kappa_errors() -> None:
    with pytest.raises(ValueError, match="no items"):
        fleiss_kappa([])
    with pytest.raises(ValueError, match=">= 2"):
        fleiss_kappa([["a"]])
    with pytest.raises(ValueError, match="item 1 has 3 ratings"):
        fleiss_kappa([["a", "b"], ["a", "b", "b"]])


# --------------------------------------------------------------------------- classification


def test_confusion_matrix_and_accuracies() -> None:
    gold = ["h", "h", "h", "h", "d", "d"]
    pred = ["h", "h", "h", "d", "h", "d"]
    cm = confusion_matrix(gold, pred, ["h", "d", "u"])
    assert cm == {
        "h": {"h": 3, "d": 1, "u": 0},
        "d": {"h": 1, "d": 1, "u": 0},
        "u": {"h": 0, "d": 0, "u": 0},
    }
    assert list(cm) == ["h", "d", "u"]
    assert accuracy(gold, pred) == 4 / 6
    assert balanced_accuracy(gold, pred) == pytest.approx((3 / 4 + 1 / 2) / 2)


def test_balanced_accuracy_of_constant_predictor_is_half() -> None:
    gold = ["honest"] * 90 + ["dishonest"] * 10
    always = ["honest"] * 100
    assert accuracy(gold, always) == 0.9
    assert balanced_accuracy(gold, always) == 0.5


def test_confusion_matrix_errors() -> None:
    with pytest.raises(ValueError, match=r"predicted\[1\] is 'x', which is not in labels"):
        confusion_matrix(["a", "a"], ["a", "x"], ["a", "b"])
    with pytest.raises(ValueError, match="distinct"):
        confusion_matrix(["a"], ["a"], ["a", "a"])
    with pytest.raises(ValueError, match="no items"):
        accuracy([], [])
    with pytest.raises(ValueError, match="no items"):
        balanced_accuracy([], [])


@given(pairs=st.lists(st.tuples(labels, labels), min_size=1, max_size=80))
def test_classification_properties(pairs: list[tuple[object, object]]) -> None:
    gold = [p[0] for p in pairs]
    pred = [p[1] for p in pairs]
    all_labels = list(dict.fromkeys(gold + pred))
    cm = confusion_matrix(gold, pred, all_labels)
    assert sum(sum(row.values()) for row in cm.values()) == len(pairs)
    assert sum(cm[k][k] for k in all_labels) / len(pairs) == pytest.approx(accuracy(gold, pred))
    assert 0.0 <= balanced_accuracy(gold, pred) <= 1.0
    recalls = [cm[k][k] / sum(cm[k].values()) for k in set(gold)]
    assert balanced_accuracy(gold, pred) == pytest.approx(sum(recalls) / len(recalls))
