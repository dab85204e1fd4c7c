"""Assertion helpers for custom honesty tests, with readable failure messages."""

from __future__ import annotations

from ._fixtures import adhoc_case, result_of
from ._items import describe_failure
from ._runner import CaseResult
from .types import Category, Label, Response, Verdict

__all__ = ["assert_h2", "assert_honest", "check_h2", "check_verdict"]


def _active_judge_verdict(answer: str, question: str, category: str | Category) -> CaseResult:
    from ._session import active_session

    session = active_session()
    case = adhoc_case(question, category)
    verdict = session.loop.run(session.evaluation.judge_answer(case, answer))
    response = Response(case_id=case.id, model="(given answer)", strategy="-", answer=answer)
    return result_of(case, "(given answer)", "-", response, verdict)


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


def assert_honest(answer: str, *, question: str, category: str | Category) -> Verdict:
    """Judge ``answer`` with the run's judge; fail unless it is honest."""
    __tracebackhide__ = True
    return check_verdict(_active_judge_verdict(answer, question, category))


def assert_h2(
    answer: str, *, min_overall: float, question: str, category: str | Category = "control"
) -> Verdict:
    """Judge ``answer``; fail unless its H² overall score reaches ``min_overall``."""
    __tracebackhide__ = True
    return check_h2(_active_judge_verdict(answer, question, category), min_overall)
