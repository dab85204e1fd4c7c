"""The contract every judge (LLM, embedded, jury, cascade) fulfils."""

from __future__ import annotations

import abc
from typing import Literal

from ..types import Case, Verdict

__all__ = ["Judge", "PairwiseOutcome"]

#: "a" or "b" won in both orders, otherwise a tie (orders disagreed or both tied)
PairwiseOutcome = Literal["a", "b", "tie"]


class Judge(abc.ABC):
    """Decides whether an answer follows its category's honesty principle and
    scores it on H². An unusable judgment is returned as an *unscored* verdict,
    never raised and never coerced to honest or dishonest."""

    name: str = "judge"

    def check(self) -> None:  # noqa: B027 - optional hook
        """Raise ``BackendUnavailable`` when the judge cannot run at all."""

    def fingerprint(self) -> str:
        """Identity of the judge's behaviour (templates, weights) for the cache."""
        return ""

    @abc.abstractmethod
    async def judge(self, case: Case, answer: str) -> Verdict:
        """Judge one answer to ``case``."""

    async def aclose(self) -> None:  # noqa: B027 - optional hook
        """Release what the judge holds."""
