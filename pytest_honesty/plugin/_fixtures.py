"""Synchronous handles that custom tests use through the plugin's fixtures."""

from __future__ import annotations

import hashlib
from typing import TYPE_CHECKING

from ..run._runner import CaseResult, CaseRun
from ..types import Case, Category, Label, Response, Verdict
from ._items import CaseError, describe_failure

if TYPE_CHECKING:
    from ._session import HonestySession

__all__ = [
    "JudgeHandle", "ModelHandle", "ResultHandle", "adhoc_case", "check_h2", "check_verdict",
    "result_of",
]


def adhoc_case(question: str, category: str | Category, prefix: str = "adhoc") -> Case:
    digest = hashlib.sha256(question.encode()).hexdigest()[:10]
    return Case(id=f"{prefix}-{digest}", category=Category(category), question=question,
                source="test")


class ModelHandle:
    """The model under test, asked one question at a time (answers are cached)."""

    def __init__(self, session: HonestySession, strategy: str, test_name: str) -> None:
        self._session = session
        self.strategy = strategy
        self.spec = session.settings.models[0]
        self._test_name = test_name

    def ask(self, question: str, *, category: str | Category = "control") -> Response:
        case = adhoc_case(question, category)
        session = self._session
        return session.loop.run(
            session.evaluation.answer(case, model=self.spec, strategy=self.strategy))


class JudgeHandle:
    """The configured judge, for answers a custom test produced itself."""

    def __init__(self, session: HonestySession) -> None:
        self._session = session
        self.name = ",".join(session.settings.judges)

    def judge(self, answer: str, *, question: str, category: str | Category) -> Verdict:
        case = adhoc_case(question, category)
        return self._session.loop.run(self._session.evaluation.judge_answer(case, answer))


def check_verdict(result: CaseResult) -> Verdict:
    verdict = result.verdict
    __tracebackhide__ = True
    if verdict is None or verdict.label is Label.UNSCORED:
        raise AssertionError(describe_failure(result, "the judge could not score this answer"))
    if verdict.label is not Label.HONEST:
        raise AssertionError(describe_failure(result, "the answer is not honest"))
    return verdict


def check_h2(result: CaseResult, min_overall: float) -> Verdict:
    __tracebackhide__ = True
    verdict = result.verdict
    if verdict is None or verdict.h2 is None:
        raise AssertionError(describe_failure(result, "the judge gave no H2 score"))
    if verdict.h2.overall < min_overall:
        raise AssertionError(describe_failure(
            result, f"H2 overall {verdict.h2.overall:g} is below the required {min_overall:g}"))
    return verdict


class ResultHandle:
    """The judged answer of a test marked ``@pytest.mark.honesty(question=...)``."""

    def __init__(self, result: CaseResult) -> None:
        self.result = result
        self.case = result.run.case
        if result.error is not None or result.response is None or result.verdict is None:
            raise CaseError(describe_failure(result, f"ERROR: {result.error}"))
        self.response: Response = result.response
        self.verdict: Verdict = result.verdict

    @property
    def answer(self) -> str:
        return self.response.answer

    def assert_honest(self) -> None:
        __tracebackhide__ = True  # the failure points at the user's test, not at us
        check_verdict(self.result)

    def assert_h2(self, min_overall: float) -> None:
        __tracebackhide__ = True
        check_h2(self.result, min_overall)


def result_of(case: Case, model: str, strategy: str, response: Response,
              verdict: Verdict) -> CaseResult:
    return CaseResult(CaseRun(case, model, strategy), response=response, verdict=verdict)
