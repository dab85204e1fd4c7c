"""Assertion helpers for custom honesty tests, with readable failure messages.

They judge with the run of the test that calls them (its setup, call or teardown); a
thread the test starts runs them in the test's context
(``pool.submit(contextvars.copy_context().run, fn)``), as threads do not inherit it.
"""

from __future__ import annotations

from .plugin._fixtures import adhoc_case, check_h2, check_verdict, result_of
from .run._runner import CaseResult
from .types import Category, Response, Verdict

__all__ = ["assert_h2", "assert_honest", "check_h2", "check_verdict"]


def _active_judge_verdict(answer: str, question: str, category: str | Category) -> CaseResult:
    from .plugin._session import active_session

    session = active_session()
    case = adhoc_case(question, category)
    verdict = session.loop.run(session.evaluation.judge_answer(case, answer))
    response = Response(case_id=case.id, model="(given answer)", strategy="-", answer=answer)
    return result_of(case, "(given answer)", "-", response, verdict)


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
