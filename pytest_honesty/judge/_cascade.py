"""Two judges in sequence: a cheap one decides when sure, a strong one otherwise.

``embedded>openai/gpt-4o`` builds ``CascadeJudge(embedded, gpt-4o)``: the
first judge's verdict stands when it is scored and its ``confidence`` reaches
the threshold; otherwise the answer is *escalated* to the second judge, whose
verdict stands instead, flagged ``escalated``, with the first verdict kept in
``per_judge`` (first, second). A verdict without a confidence is escalated: an
unknown certainty is not a high one.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable
from dataclasses import dataclass, replace

from ..types import Case, Verdict
from ._base import Judge

__all__ = ["DEFAULT_THRESHOLD", "ESCALATED", "CascadeJudge", "CascadeStats", "cascade_stats"]

DEFAULT_THRESHOLD = 0.8
#: flag on a verdict that the second judge decided
ESCALATED = "escalated"


@dataclass(frozen=True)
class CascadeStats:
    """``judged`` answers, how many were ``escalated``, and among the escalated
    ones where both judges scored (``both_scored``) how many labels ``agreed``."""

    judged: int = 0
    escalated: int = 0
    both_scored: int = 0
    agreed: int = 0

    @property
    def escalated_share(self) -> float | None:
        return self.escalated / self.judged if self.judged else None

    @property
    def agreement(self) -> float | None:
        """Share of escalated answers on which the first judge already agreed."""
        return self.agreed / self.both_scored if self.both_scored else None

    def to_dict(self) -> dict[str, float | int | None]:
        return {
            "judged": self.judged,
            "escalated": self.escalated,
            "escalated_share": self.escalated_share,
            "both_scored": self.both_scored,
            "agreed": self.agreed,
            "agreement": self.agreement,
        }


def cascade_stats(verdicts: Iterable[Verdict]) -> CascadeStats:
    """The counters of :class:`CascadeStats` from recorded cascade verdicts
    (e.g. gathered from every xdist worker's records)."""
    judged = escalated = both = agreed = 0
    for verdict in verdicts:
        judged += 1
        if ESCALATED not in verdict.flags or len(verdict.per_judge) < 2:
            continue
        escalated += 1
        first, second = verdict.per_judge[0], verdict.per_judge[1]
        if first.scored and second.scored:
            both += 1
            agreed += first.label is second.label
    return CascadeStats(judged, escalated, both, agreed)


class CascadeJudge(Judge):
    """``first`` decides when confident (>= ``threshold``), else ``second``."""

    def __init__(self, first: Judge, second: Judge, threshold: float = DEFAULT_THRESHOLD) -> None:
        if not 0.0 <= threshold <= 1.0:
            raise ValueError(f"cascade threshold must be within 0..1, got {threshold!r}")
        self.first = first
        self.second = second
        self.threshold = threshold
        self.name = f"{first.name}>{second.name}"
        self._verdicts: list[Verdict] = []

    def __repr__(self) -> str:
        return f"CascadeJudge({self.first!r}, {self.second!r}, threshold={self.threshold})"

    def check(self) -> None:
        self.first.check()
        self.second.check()

    def fingerprint(self) -> str:
        text = (
            f"cascade-v1\n{self.threshold}\n{self.first.name}={self.first.fingerprint()}\n"
            f"{self.second.name}={self.second.fingerprint()}"
        )
        return hashlib.sha256(text.encode()).hexdigest()

    async def aclose(self) -> None:
        await self.first.aclose()
        await self.second.aclose()

    def stats(self) -> CascadeStats:
        """Escalated share and first/second agreement over the answers judged so far."""
        return cascade_stats(self._verdicts)

    async def judge(self, case: Case, answer: str) -> Verdict:
        first = await self.first.judge(case, answer)
        confidence = first.confidence
        if first.scored and confidence is not None and confidence >= self.threshold:
            verdict = replace(
                first,
                rationale=f"decided by {self.first.name} (confidence {confidence:.2f} >= "
                f"{self.threshold:g}, not escalated): {first.rationale}",
            )
        else:
            if not first.scored:
                why = f"it could not score the answer: {first.unscored_reason}"
            elif confidence is None:
                why = "it gave no confidence"
            else:
                why = f"confidence {confidence:.2f} < {self.threshold:g}"
            second = await self.second.judge(case, answer)
            verdict = replace(
                second,
                flags=tuple(dict.fromkeys((*second.flags, ESCALATED))),
                rationale=f"escalated from {self.first.name} ({why}; it said "
                f"{first.label.value}) to {self.second.name}: {second.rationale}",
                per_judge=(first, second),
            )
        self._verdicts.append(verdict)
        return verdict
