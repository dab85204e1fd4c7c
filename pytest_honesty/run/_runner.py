"""Answer and judge every planned case concurrently, before the tests assert."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from ..backends import Backend, BackendError
from ..calls.engine import Engine
from ..types import Case, Response, SamplingParams, Verdict
from ._context import current_case
from .strategies import Strategy

if TYPE_CHECKING:
    from .pushback import PushbackTemplates

__all__ = ["CaseResult", "CaseRun", "JudgeAnswer", "Runner"]


@dataclass(frozen=True)
class CaseRun:
    """One unit of work: a case put to one model under one strategy."""

    case: Case
    model: str
    strategy: str
    #: pushback rounds after the strategy's answer (``--honesty-pushback``); 0: one turn
    pushback: int = 0

    @property
    def label(self) -> str:
        """The strategy as items and records name it: ``raw``, or ``raw-pushback1``."""
        if not self.pushback:
            return self.strategy
        from .pushback import arm_label

        return arm_label(self.strategy, self.pushback)

    @property
    def key(self) -> str:
        return f"{self.model}|{self.label}|{self.case.source}|{self.case.id}"


@dataclass
class CaseResult:
    """What happened to a CaseRun: an answer and verdict, or an explicit error."""

    run: CaseRun
    response: Response | None = None
    verdict: Verdict | None = None
    error: str | None = None
    extra: dict[str, Any] = field(default_factory=dict)

    def to_record(self) -> dict[str, Any]:
        return {
            "case": self.run.case.to_dict(),
            "model": self.run.model,
            "strategy": self.run.label,
            "response": self.response.to_dict() if self.response else None,
            "verdict": self.verdict.to_dict() if self.verdict else None,
            "error": self.error,
            **self.extra,
        }


#: judges one answer to a case (the run's judge behind its verdict cache)
JudgeAnswer = Callable[[Case, str], Awaitable[Verdict]]


class Runner:
    """Produces a CaseResult for each CaseRun with the run's objects (which
    :class:`~pytest_honesty.run._evaluation.Evaluation` builds)."""

    def __init__(
        self,
        *,
        backends: dict[str, Backend],
        strategies: dict[str, Strategy],
        engine: Engine,
        params: SamplingParams,
        judge_answer: JudgeAnswer,
        pushback: PushbackTemplates | None = None,
        seed: int = 0,
    ) -> None:
        self.backends = backends
        self.strategies = strategies
        self.engine = engine
        self.params = params
        self._judge_answer = judge_answer
        self.pushback = pushback
        self.seed = seed
        self.results: dict[str, CaseResult] = {}

    async def answer(self, case: Case, model: str, strategy: str) -> Response:
        """The model's answer to ``case`` under ``strategy``, not judged (backend errors
        propagate)."""
        token = current_case.set(case)
        try:
            return await self.strategies[strategy].answer(
                case, self.backends[model], self.engine, self.params
            )
        finally:
            current_case.reset(token)

    async def run_one(self, run: CaseRun) -> CaseResult:
        token = current_case.set(run.case)
        result = CaseResult(run)
        try:
            if run.pushback:
                await self._run_pushback(run, result)
            else:
                result.response = await self.answer(run.case, run.model, run.strategy)
                result.verdict = await self._judge_answer(run.case, result.response.answer)
        except (BackendError, asyncio.TimeoutError) as exc:
            result.error = f"{type(exc).__name__}: {exc}"
        finally:
            current_case.reset(token)
        self.results[run.key] = result
        return result

    async def _run_pushback(self, run: CaseRun, result: CaseResult) -> None:
        from .pushback import PushbackTemplates, judged_case, run_pushback

        if self.pushback is None:
            self.pushback = PushbackTemplates()
        response, first, steps = await run_pushback(
            run.case, self.strategies[run.strategy], self.backends[run.model], self.engine,
            self.params, rounds=run.pushback, templates=self.pushback, seed=self.seed,
        )
        result.response = response
        # the one-turn verdict is the one-turn item's own judge call (shared, cached):
        # the record says whether the model was honest before it was pushed
        before = await self._judge_answer(run.case, first.answer)
        result.verdict = await self._judge_answer(
            judged_case(run.case, first.answer, steps), response.answer)
        result.extra["pushback"] = {
            "rounds": run.pushback,
            "strategy": run.strategy,
            "first_answer": first.answer,
            "before": before.label.value,
            "steps": [step.to_dict() for step in steps],
        }

    async def run_all(
        self, runs: Iterable[CaseRun], on_done: Callable[[int, int], None] | None = None
    ) -> dict[str, CaseResult]:
        """Answer and judge every run not done yet; ``on_done(done, total)`` after each."""
        pending = [r for r in dict.fromkeys(runs) if r.key not in self.results]
        done = 0

        async def one(run: CaseRun) -> None:
            nonlocal done
            await self.run_one(run)
            done += 1
            if on_done is not None:
                on_done(done, len(pending))

        await asyncio.gather(*(one(r) for r in pending))
        return self.results
