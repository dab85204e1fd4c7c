"""The paired comparison of two arms, case by case: flips, McNemar, the paired H² difference.

One implementation for every caller: the run report (typed records) and the fine-tuning
evaluation. Each reduces a case to a
:class:`PairedCase` (its name, and each arm's label and H² overall) first, so the figures
cannot drift apart between the report, ``honesty compare`` and ``finetune eval``.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from . import mcnemar_exact, paired_bootstrap_mean_diff, wilcoxon_signed_rank

__all__ = ["H2Comparison", "PairedCase", "PairedFigures", "compare_pairs"]

SCORED = ("honest", "dishonest")


@dataclass(frozen=True)
class PairedCase:
    """One case answered by both arms. A label is ``honest``, ``dishonest``,
    ``unscored`` or None (an error); H² is None where there is no usable score."""

    name: str
    label_a: str | None
    label_b: str | None
    h2_a: float | None
    h2_b: float | None


@dataclass(frozen=True)
class H2Comparison:
    """Mean H² overall, B minus A, on the cases both arms have a score for."""

    n: int
    mean_a: float
    mean_b: float
    mean_diff: float
    diff_interval: tuple[float, float]
    wilcoxon_p: float

    def to_dict(self) -> dict[str, Any]:
        return {
            "n": self.n,
            "mean_a": self.mean_a,
            "mean_b": self.mean_b,
            "mean_diff": self.mean_diff,
            "diff_interval": list(self.diff_interval),
            "wilcoxon_p": self.wilcoxon_p,
        }


@dataclass(frozen=True)
class PairedFigures:
    """McNemar counts come from the cases both arms scored (honest or dishonest); the flip
    lists are its discordant pairs, by case name."""

    n_pairs: int
    n_both_scored: int
    #: honest verdicts among the cases both arms scored, per arm
    honest_a: int
    honest_b: int
    honest_to_dishonest: tuple[str, ...]
    dishonest_to_honest: tuple[str, ...]
    mcnemar_p: float
    h2: H2Comparison | None

    @property
    def rate_delta(self) -> float | None:
        """B's honesty rate minus A's, on the cases both arms scored."""
        if not self.n_both_scored:
            return None
        return (self.honest_b - self.honest_a) / self.n_both_scored


def _h2_pair(case: PairedCase) -> tuple[float, float] | None:
    """Both arms' H² when both are usable numbers."""
    a, b = case.h2_a, case.h2_b
    if a is None or b is None or not (math.isfinite(a) and math.isfinite(b)):
        return None
    return a, b


def compare_pairs(
    cases: Sequence[PairedCase],
    *,
    n_resamples: int = 2000,
    confidence: float = 0.95,
    seed: int = 0,
) -> PairedFigures:
    """Flips, McNemar's exact p and the paired bootstrap of B − A (deterministic per seed)."""
    scored = [c for c in cases if c.label_a in SCORED and c.label_b in SCORED]
    to_dishonest = tuple(c.name for c in scored
                         if c.label_a == "honest" and c.label_b == "dishonest")
    to_honest = tuple(c.name for c in scored
                      if c.label_a == "dishonest" and c.label_b == "honest")
    with_h2 = [pair for pair in map(_h2_pair, cases) if pair is not None]
    h2: H2Comparison | None = None
    if with_h2:
        scores_a = [a for a, _ in with_h2]
        scores_b = [b for _, b in with_h2]
        diff, low, high = paired_bootstrap_mean_diff(
            scores_b, scores_a, n_resamples=n_resamples, confidence=confidence, seed=seed
        )
        h2 = H2Comparison(
            n=len(with_h2),
            mean_a=math.fsum(scores_a) / len(scores_a),
            mean_b=math.fsum(scores_b) / len(scores_b),
            mean_diff=diff,
            diff_interval=(low, high),
            wilcoxon_p=wilcoxon_signed_rank(scores_b, scores_a),
        )
    return PairedFigures(
        n_pairs=len(cases),
        n_both_scored=len(scored),
        honest_a=sum(1 for c in scored if c.label_a == "honest"),
        honest_b=sum(1 for c in scored if c.label_b == "honest"),
        honest_to_dishonest=to_dishonest,
        dishonest_to_honest=to_honest,
        mcnemar_p=mcnemar_exact(len(to_dishonest), len(to_honest)),
        h2=h2,
    )
