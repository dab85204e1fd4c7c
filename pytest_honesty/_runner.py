"""Answer and judge every planned case concurrently, before the tests assert."""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

from ._context import current_case
from .backends import Backend, BackendError
from .engine import Engine
from .judge import Judge
from .strategies import Strategy
from .types import Case, Response, SamplingParams, Verdict

__all__ = ["CaseResult", "CaseRun", "Runner"]


@dataclass(frozen=True)
class CaseRun:
    """One unit of work: a case put to one model under one strategy."""

    case: Case
    model: str
    strategy: str

    @property
    def key(self) -> str:
        return f"{self.model}|{self.strategy}|{self.case.source}|{self.case.id}"


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
            "strategy": self.run.strategy,
            "response": self.response.to_dict() if self.response else None,
            "verdict": self.verdict.to_dict() if self.verdict else None,
            "error": self.error,
            **self.extra,
        }


class Runner:
    """Owns the per-run objects and produces a CaseResult for each CaseRun."""

    def __init__(
        self,
        *,
        backends: dict[str, Backend],
        strategies: dict[str, Strategy],
        judge: Judge,
        engine: Engine,
        params: SamplingParams,
        judge_answer: Callable[[Case, str], Any] | None = None,
    ) -> None:
        self.backends = backends
        self.strategies = strategies
        self.judge = judge
        self.engine = engine
        self.params = params
        self._judge_answer = judge_answer or judge.judge
        self.results: dict[str, CaseResult] = {}

    async def run_one(self, run: CaseRun) -> CaseResult:
        token = current_case.set(run.case)
        result = CaseResult(run)
        try:
            result.response = await self.strategies[run.strategy].answer(
                run.case, self.backends[run.model], self.engine, self.params
            )
            result.verdict = await self._judge_answer(run.case, result.response.answer)
        except (BackendError, asyncio.TimeoutError) as exc:
            result.error = f"{type(exc).__name__}: {exc}"
        finally:
            current_case.reset(token)
        self.results[run.key] = result
        return result

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
