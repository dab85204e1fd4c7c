"""Agreement between raters and against gold labels: Cohen's and Fleiss' kappa, the
confusion matrix, accuracy and balanced accuracy (same conventions as the package
docstring of :mod:`pytest_honesty.stats`)."""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Hashable, Sequence
from typing import TypeVar

from ._checks import check_same_length

__all__ = ["accuracy", "balanced_accuracy", "cohen_kappa", "confusion_matrix", "fleiss_kappa"]

L = TypeVar("L", bound=Hashable)


# --------------------------------------------------------------------------- agreement


def cohen_kappa(labels_a: Sequence[L], labels_b: Sequence[L]) -> float:
    """Cohen's kappa between two raters: ``labels_a[i]`` and ``labels_b[i]`` label the same item.

    Test/convention: unweighted Cohen (1960) kappa, ``(p_o - p_e) / (1 - p_e)`` with chance
    agreement ``p_e`` from each rater's own marginal label frequencies (as
    ``sklearn.metrics.cohen_kappa_score``). Labels are any hashables. Computed in exact integer
    arithmetic, so the result is exactly symmetric and exactly 1.0 for identical labels.
    Degenerate case: when both raters give every item the same single class (``p_e == 1``),
    kappa is undefined (0/0); we return 1.0 because the raters agree perfectly (sklearn
    returns NaN). Raises ``ValueError`` on empty or mismatched inputs.
    """
    where = "cohen_kappa"
    check_same_length(labels_a, labels_b, "labels_a and labels_b", where)
    n = len(labels_a)
    if n == 0:
        raise ValueError(f"{where}: no items; need at least one item rated by both raters")
    agree = sum(1 for a, b in zip(labels_a, labels_b, strict=True) if a == b)
    count_a = Counter(labels_a)
    count_b = Counter(labels_b)
    chance = sum(count_a[k] * count_b[k] for k in count_a)
    # kappa = (agree/n - chance/n^2) / (1 - chance/n^2), scaled by n^2 to stay in integers.
    denom = n * n - chance
    if denom == 0:
        return 1.0
    return (n * agree - chance) / denom


def fleiss_kappa(ratings: Sequence[Sequence[L]]) -> float:
    """Fleiss' kappa for several raters: ``ratings[i]`` is the list of labels item ``i`` received.

    Test/convention: Fleiss (1971) kappa, ``(P_bar - P_e) / (1 - P_e)`` where ``P_bar`` is the
    mean per-item pairwise agreement and ``P_e`` the sum of squared overall label shares
    (``statsmodels.stats.inter_rater.fleiss_kappa`` on the item x category count table). Every
    item must have the same number of ratings, at least 2; which rater gave which label does
    not matter. Labels are any hashables. Exact integer arithmetic until the final division.
    Degenerate case: when every rating of every item is the same single label (``P_e == 1``),
    kappa is undefined (0/0); we return 1.0 (perfect agreement). Raises ``ValueError`` on no
    items, fewer than 2 ratings per item, or items with different numbers of ratings.
    """
    where = "fleiss_kappa"
    if len(ratings) == 0:
        raise ValueError(f"{where}: no items; need at least one item with 2 or more ratings")
    m = len(ratings[0])
    if m < 2:
        raise ValueError(f"{where}: item 0 has {m} rating(s); Fleiss' kappa needs >= 2 per item")
    for i, row in enumerate(ratings):
        if len(row) != m:
            raise ValueError(
                f"{where}: item {i} has {len(row)} ratings but item 0 has {m}; "
                "every item must be rated the same number of times"
            )
    n_items = len(ratings)
    totals: Counter[L] = Counter()
    sum_sq = 0
    for row in ratings:
        counts = Counter(row)
        totals.update(counts)
        sum_sq += sum(c * c for c in counts.values())
    n_ratings = n_items * m
    # P_bar = a / d1 and P_e = s / d2; kappa = (a*d2 - s*d1) / (d1 * (d2 - s)) in integers.
    a = sum_sq - n_ratings
    d1 = n_ratings * (m - 1)
    s = sum(t * t for t in totals.values())
    d2 = n_ratings * n_ratings
    if d2 == s:
        return 1.0
    return (a * d2 - s * d1) / (d1 * (d2 - s))


# --------------------------------------------------------------------------- classification


def confusion_matrix(
    gold: Sequence[L], predicted: Sequence[L], labels: Sequence[L]
) -> dict[L, dict[L, int]]:
    """Counts ``matrix[gold_label][predicted_label]`` (rows: gold, columns: predicted).

    Every label in ``labels`` gets a row and a column (zeros included), in that order.
    Convention: unlike ``sklearn.metrics.confusion_matrix``, a gold or predicted value missing
    from ``labels`` raises ``ValueError`` instead of being silently dropped: filter out
    e.g. unscored verdicts before calling if they should not count.
    """
    where = "confusion_matrix"
    check_same_length(gold, predicted, "gold and predicted", where)
    if len(set(labels)) != len(labels):
        dupes = sorted(repr(k) for k, c in Counter(labels).items() if c > 1)
        raise ValueError(f"{where}: labels must be distinct, repeated: {', '.join(dupes)}")
    matrix: dict[L, dict[L, int]] = {g: {p: 0 for p in labels} for g in labels}
    for i, (g, p) in enumerate(zip(gold, predicted, strict=True)):
        for name, value in (("gold", g), ("predicted", p)):
            if value not in matrix:
                raise ValueError(
                    f"{where}: {name}[{i}] is {value!r}, which is not in labels "
                    f"{list(labels)!r}; add it to labels or filter it out first"
                )
        matrix[g][p] += 1
    return matrix


def accuracy(gold: Sequence[L], predicted: Sequence[L]) -> float:
    """Share of items where ``predicted[i] == gold[i]``. Raises ``ValueError`` if empty."""
    where = "accuracy"
    check_same_length(gold, predicted, "gold and predicted", where)
    if not gold:
        raise ValueError(f"{where}: no items; accuracy of an empty set is undefined")
    return sum(1 for g, p in zip(gold, predicted, strict=True) if g == p) / len(gold)


def balanced_accuracy(gold: Sequence[L], predicted: Sequence[L]) -> float:
    """Mean per-class recall over the classes present in ``gold``.

    Convention: as ``sklearn.metrics.balanced_accuracy_score`` (not adjusted for chance):
    each gold class counts equally however many items it has, so a judge that always says
    "honest" scores 0.5 on a two-class set whatever the class balance. Predicted labels that
    never occur in ``gold`` only lower the recall of the class they were predicted for.
    Raises ``ValueError`` if empty.
    """
    where = "balanced_accuracy"
    check_same_length(gold, predicted, "gold and predicted", where)
    if not gold:
        raise ValueError(f"{where}: no items; balanced accuracy of an empty set is undefined")
    support = Counter(gold)
    hits = Counter(g for g, p in zip(gold, predicted, strict=True) if g == p)
    return math.fsum(hits[k] / support[k] for k in support) / len(support)
