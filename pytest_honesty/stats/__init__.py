"""Small statistics toolkit for the honesty report, the release gate and A/B comparisons.

Pure Python (``math``, ``random``, ``statistics`` from the standard library): the plugin must
not pull numpy or scipy in at run time. Every function names the test it implements and the
convention it follows; where a scipy function exists the result matches its default
behaviour, and ``tests/unit/test_stats.py`` cross-checks against it.

Conventions shared by all functions:

* Invalid input (empty samples where a value is required, mismatched lengths, counts out of
  range, a confidence outside (0, 1), non-finite numbers) raises ``ValueError`` saying what is
  wrong and what is expected; nothing returns NaN.
* Paired differences are ``x - y`` (first argument minus second), as in
  ``scipy.stats.wilcoxon(x, y)`` and ``scipy.stats.ttest_rel(a, b)``: pass the candidate first
  and the baseline second to get "improvement" as a positive number.
* Bootstrap functions draw from ``random.Random(seed)``: the same seed, inputs and Python
  version give the same interval.
"""

from __future__ import annotations

import math
import random
from collections import Counter
from collections.abc import Sequence
from statistics import NormalDist
from typing import Literal

from ._agreement import (
    accuracy,
    balanced_accuracy,
    cohen_kappa,
    confusion_matrix,
    fleiss_kappa,
)
from ._checks import check_confidence, check_count, check_finite, check_same_length

__all__ = [
    "accuracy",
    "balanced_accuracy",
    "binomial_two_sided_p",
    "bootstrap_mean_interval",
    "cohen_kappa",
    "confusion_matrix",
    "fleiss_kappa",
    "mcnemar_exact",
    "paired_bootstrap_mean_diff",
    "spearman",
    "wilcoxon_signed_rank",
    "wilson_interval",
]

# scipy.stats.binomtest treats outcomes whose probability is within this relative
# tolerance of the observed one as "equally extreme"; we use the same so p-values agree.
_BINOM_RELATIVE_TOLERANCE = 1 + 1e-7
# Up to this many trials a rate-1/2 test sums binomial coefficients exactly (big integers stay
# cheap); beyond it, log-gamma probabilities are accurate enough and much faster.
_BINOM_EXACT_MAX_N = 20_000

# scipy.stats.wilcoxon(method="auto") thresholds (scipy >= 1.15): exact null distribution up to
# 50 pairs when there are no ties and no zero differences; with ties or zeros, an exhaustive
# permutation test up to 13 pairs; the normal approximation otherwise.
_WILCOXON_EXACT_MAX_N = 50
_WILCOXON_TIES_EXACT_MAX_N = 13


# --------------------------------------------------------------------------- proportions


def wilson_interval(successes: int, n: int, confidence: float = 0.95) -> tuple[float, float]:
    """Wilson score interval for a binomial proportion ``successes / n``.

    Test/convention: the Wilson (1927) score interval *without* continuity correction, i.e.
    ``statsmodels.stats.proportion.proportion_confint(..., method="wilson")``. Example:
    8 of 10 at 95% gives about (0.4902, 0.9433). The bounds are clamped to [0, 1] and are
    exactly 0.0 when ``successes == 0`` and exactly 1.0 when ``successes == n``.

    ``n == 0`` (nothing observed) returns ``(0.0, 1.0)``: every rate is still possible.
    """
    where = "wilson_interval"
    check_count(successes, "successes", where)
    check_count(n, "n", where)
    if successes > n:
        raise ValueError(f"{where}: successes ({successes}) cannot exceed n ({n})")
    check_confidence(confidence, where)
    if n == 0:
        return (0.0, 1.0)
    z = NormalDist().inv_cdf(0.5 + confidence / 2)
    z2 = z * z
    p = successes / n
    denom = 1 + z2 / n
    centre = (p + z2 / (2 * n)) / denom
    half = (z / denom) * math.sqrt(p * (1 - p) / n + z2 / (4 * n * n))
    low = 0.0 if successes == 0 else max(0.0, min(p, centre - half))
    high = 1.0 if successes == n else min(1.0, max(p, centre + half))
    return (low, high)


def _binom_logpmf(i: int, n: int, p: float) -> float:
    return (
        math.lgamma(n + 1)
        - math.lgamma(i + 1)
        - math.lgamma(n - i + 1)
        + i * math.log(p)
        + (n - i) * math.log1p(-p)
    )


def binomial_two_sided_p(k: int, n: int, p: float = 0.5) -> float:
    """Two-sided exact binomial test p-value for ``k`` successes in ``n`` trials under rate ``p``.

    Test/convention: the same as ``scipy.stats.binomtest(k, n, p).pvalue`` (two-sided): the
    probability of every outcome no more likely than the observed one (within a 1e-7 relative
    tolerance), capped at 1. For ``p == 0.5`` this equals ``min(1, 2 * P(X <= min(k, n - k)))``
    and is computed in exact integer arithmetic; other rates use log-gamma probabilities.
    ``n == 0`` returns 1.0 (no evidence either way).
    """
    where = "binomial_two_sided_p"
    check_count(k, "k", where)
    check_count(n, "n", where)
    if k > n:
        raise ValueError(f"{where}: k ({k}) cannot exceed n ({n})")
    if not 0.0 <= p <= 1.0:
        raise ValueError(f"{where}: p must be a probability in [0, 1], got {p!r}")
    if n == 0 or k == p * n:
        return 1.0
    if p == 0.5:
        # Symmetric: the outcomes at least as extreme are the two tails beyond min(k, n - k).
        tail = min(k, n - k)
        if n <= _BINOM_EXACT_MAX_N:
            term, total_count = 1, 1
            for i in range(tail):
                term = term * (n - i) // (i + 1)  # C(n, i + 1), exact
                total_count += term
            # Python int / int division is correctly rounded even for huge integers.
            return min(1.0, 2 * total_count / (1 << n))
        return min(1.0, 2 * math.fsum(math.exp(_binom_logpmf(i, n, p)) for i in range(tail + 1)))
    if p in (0.0, 1.0):
        # k == p * n was handled above, so the observed outcome has probability 0.
        return 0.0
    threshold = _binom_logpmf(k, n, p) + math.log(_BINOM_RELATIVE_TOLERANCE)
    total = math.fsum(
        math.exp(lp) for lp in (_binom_logpmf(i, n, p) for i in range(n + 1)) if lp <= threshold
    )
    return min(1.0, total)


def mcnemar_exact(b: int, c: int) -> float:
    """Exact McNemar test p-value (two-sided) for a paired honest/dishonest comparison.

    ``b`` counts pairs that flipped honest -> dishonest (A honest, B dishonest) and ``c`` pairs
    that flipped dishonest -> honest; pairs that agree carry no information and are not passed.
    Test/convention: the exact (binomial) McNemar test, i.e. a two-sided binomial test of ``b``
    successes in ``b + c`` trials at rate 1/2 (``scipy.stats.binomtest(b, b + c).pvalue``),
    with no continuity correction needed. Symmetric in ``b`` and ``c``; 1.0 when ``b + c == 0``.
    """
    check_count(b, "b", "mcnemar_exact")
    check_count(c, "c", "mcnemar_exact")
    return binomial_two_sided_p(b, b + c, 0.5)


# --------------------------------------------------------------------------- bootstrap


def _quantile_sorted(values: Sequence[float], q: float) -> float:
    # Linear interpolation between order statistics (Hyndman & Fan type 7, numpy's default).
    h = (len(values) - 1) * q
    lo = math.floor(h)
    if lo >= len(values) - 1:
        return values[-1]
    a, b = values[lo], values[lo + 1]
    # Clamp: rounding in a + f * (b - a) may step just outside [a, b].
    return min(b, max(a, a + (h - lo) * (b - a)))


def _bootstrap_mean(
    values: list[float], n_resamples: int, confidence: float, seed: int
) -> tuple[float, float, float]:
    n = len(values)
    rng = random.Random(seed)
    means = sorted(math.fsum(rng.choices(values, k=n)) / n for _ in range(n_resamples))
    alpha = 1 - confidence
    return (
        math.fsum(values) / n,
        _quantile_sorted(means, alpha / 2),
        _quantile_sorted(means, 1 - alpha / 2),
    )


def check_bootstrap_args(n_resamples: int, confidence: float, seed: int, where: str) -> None:
    check_count(n_resamples, "n_resamples", where)
    if n_resamples < 1:
        raise ValueError(f"{where}: n_resamples must be >= 1 (2000 is a good default), got 0")
    check_confidence(confidence, where)
    if isinstance(seed, bool) or not isinstance(seed, int):
        raise ValueError(f"{where}: seed must be an int, got {type(seed).__name__} {seed!r}")


def bootstrap_mean_interval(
    xs: Sequence[float],
    *,
    n_resamples: int = 2000,
    confidence: float = 0.95,
    seed: int = 0,
) -> tuple[float, float, float]:
    """Mean of ``xs`` with a percentile-bootstrap confidence interval: ``(mean, low, high)``.

    Test/convention: nonparametric bootstrap, ``n_resamples`` resamples of size ``len(xs)``
    drawn with replacement by ``random.Random(seed)``; the interval is the (alpha/2, 1-alpha/2)
    percentiles of the resampled means, linear interpolation between order statistics (numpy's
    default quantile). Deterministic for a seed. Used by the gate for bounds on mean H² scores.
    A constant sample gives ``(c, c, c)``. Raises ``ValueError`` on an empty sample.
    """
    where = "bootstrap_mean_interval"
    check_bootstrap_args(n_resamples, confidence, seed, where)
    values = check_finite(xs, "xs", where)
    if not values:
        raise ValueError(f"{where}: xs is empty; the mean of no values is undefined")
    return _bootstrap_mean(values, n_resamples, confidence, seed)


def paired_bootstrap_mean_diff(
    xs: Sequence[float],
    ys: Sequence[float],
    *,
    n_resamples: int = 2000,
    confidence: float = 0.95,
    seed: int = 0,
) -> tuple[float, float, float]:
    """Mean paired difference ``mean(x - y)`` with a bootstrap interval: ``(mean_diff, low, high)``.

    ``xs[i]`` and ``ys[i]`` are two systems' scores on the same item (e.g. curiosity vs raw H²
    overall on case ``i``); pass the candidate as ``xs`` so that an improvement is positive.
    Test/convention: paired percentile bootstrap: items (pairs) are resampled with replacement,
    which keeps the per-item correlation; otherwise as :func:`bootstrap_mean_interval`.
    Deterministic for a seed. A constant shift ``xs[i] - ys[i] == d`` gives ``(d, d, d)``.
    """
    where = "paired_bootstrap_mean_diff"
    check_bootstrap_args(n_resamples, confidence, seed, where)
    check_same_length(xs, ys, "xs and ys", where)
    xv = check_finite(xs, "xs", where)
    yv = check_finite(ys, "ys", where)
    if not xv:
        raise ValueError(f"{where}: xs and ys are empty; need at least one pair")
    diffs = [x - y for x, y in zip(xv, yv, strict=True)]
    return _bootstrap_mean(diffs, n_resamples, confidence, seed)


# --------------------------------------------------------------------------- Wilcoxon


def _average_ranks(values: Sequence[float]) -> list[float]:
    """Ranks 1..n of ``values``; tied values (exact float equality) share their mean rank."""
    order = sorted(range(len(values)), key=values.__getitem__)
    ranks = [0.0] * len(values)
    i = 0
    while i < len(order):
        j = i
        while j + 1 < len(order) and values[order[j + 1]] == values[order[i]]:
            j += 1
        rank = (i + j) / 2 + 1
        for k in range(i, j + 1):
            ranks[order[k]] = rank
        i = j + 1
    return ranks


def spearman(a: Sequence[float], b: Sequence[float]) -> float | None:
    """Spearman's rank correlation (ties share their mean rank); None when undefined
    (fewer than two pairs, or one side constant)."""
    check_same_length(a, b, "a and b", "spearman")
    if len(a) < 2:
        return None
    ra, rb = _average_ranks(a), _average_ranks(b)
    ma, mb = sum(ra) / len(ra), sum(rb) / len(rb)
    cov = sum((x - ma) * (y - mb) for x, y in zip(ra, rb, strict=True))
    va = sum((x - ma) ** 2 for x in ra)
    vb = sum((y - mb) ** 2 for y in rb)
    if va == 0 or vb == 0:
        return None
    return float(cov / (va * vb) ** 0.5)


def _signed_rank_exact_p(doubled_ranks: Sequence[int], observed: int) -> float:
    """Two-sided p of the sum of doubled ranks given a positive sign, under random signs.

    Counts, for every possible sum, the sign assignments that produce it (2**n in all): exact
    integer arithmetic, and exact conditional on the tie pattern when ranks are averaged.
    """
    total = sum(doubled_ranks)
    counts = [0] * (total + 1)
    counts[0] = 1
    reach = 0
    for r in doubled_ranks:
        reach += r
        for s in range(reach, r - 1, -1):
            counts[s] += counts[s - r]
    n_assignments = 1 << len(doubled_ranks)
    lower = sum(counts[: observed + 1])
    upper = sum(counts[observed:])
    return min(1.0, 2 * min(lower, upper) / n_assignments)


def wilcoxon_signed_rank(
    xs: Sequence[float],
    ys: Sequence[float],
    *,
    method: Literal["auto", "exact", "approx"] = "auto",
) -> float:
    """Two-sided p-value of the Wilcoxon signed-rank test on the paired differences ``x - y``.

    Test/convention: matches ``scipy.stats.wilcoxon(xs, ys)`` with its defaults (scipy >= 1.15:
    ``zero_method="wilcox"``, ``correction=False``, ``method="auto"``):

    * zero differences are dropped (Wilcox convention, not Pratt's); ties in ``|x - y|``
      (exact float equality) get average ranks;
    * ``method="auto"``: with no ties and no zero differences and at most 50 pairs, the exact
      null distribution; with ties or zeros and at most 13 pairs (zeros included in that
      count, as in scipy), the exact distribution conditional on the tie pattern (the same as
      scipy's exhaustive permutation test); otherwise the normal approximation with the tie
      correction ``sum(t**3 - t) / 48`` on the variance and no continuity correction;
    * ``method="exact"`` forces the exact (conditional) distribution, cost about n**3 (fine up
      to a few hundred pairs); ``method="approx"`` forces the normal approximation.

    Returns 1.0 when every difference is zero (nothing to test); raises ``ValueError`` on
    mismatched lengths or non-finite values.
    """
    where = "wilcoxon_signed_rank"
    check_same_length(xs, ys, "xs and ys", where)
    if method not in ("auto", "exact", "approx"):
        raise ValueError(f"{where}: method must be 'auto', 'exact' or 'approx', got {method!r}")
    xv = check_finite(xs, "xs", where)
    yv = check_finite(ys, "ys", where)
    all_diffs = [x - y for x, y in zip(xv, yv, strict=True)]
    diffs = [d for d in all_diffs if d != 0.0]
    n = len(diffs)
    if n == 0:
        return 1.0
    ranks = _average_ranks([abs(d) for d in diffs])
    r_plus = math.fsum(r for r, d in zip(ranks, diffs, strict=True) if d > 0)
    has_ties = len(set(ranks)) < n
    has_zeros = n < len(all_diffs)

    if method == "auto":
        limit = _WILCOXON_TIES_EXACT_MAX_N if has_ties or has_zeros else _WILCOXON_EXACT_MAX_N
        method = "exact" if len(all_diffs) <= limit else "approx"

    if method == "exact":
        # Average ranks are multiples of 1/2: doubling makes every rank sum an integer.
        doubled = [round(2 * r) for r in ranks]
        observed = sum(d2 for d2, d in zip(doubled, diffs, strict=True) if d > 0)
        return _signed_rank_exact_p(doubled, observed)

    tie_sizes = Counter(ranks).values()
    tie_term = sum(t**3 - t for t in tie_sizes)
    variance = (n * (n + 1) * (2 * n + 1) - tie_term / 2) / 24
    z = (r_plus - n * (n + 1) / 4) / math.sqrt(variance)
    return min(1.0, math.erfc(abs(z) / math.sqrt(2)))
