"""The objects of one run, built in one place: backends, judge, engine, runner.

Every way of running goes through :class:`Evaluation`: :func:`pytest_honesty.evaluate`
(a script or a notebook), the pytest session and its fixtures, ``honesty calibrate``
and ``honesty finetune rejudge``. They differ only in what they put to it (planned
runs, single questions, recorded answers) and in who owns the event loop and the
cache.
"""

from __future__ import annotations

import asyncio
import dataclasses
import warnings
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from ..backends import Backend, BackendOptions
from ..backends._registry import BackendRegistry
from ..calls._cachekeys import verdict_key
from ..calls.cache import Cache
from ..calls.engine import Engine, RetryPolicy
from ..judge import Judge, build_judge
from ..judge._hygiene import PATTERNS_SHA256
from ..types import Case, Response, SamplingParams, Verdict
from ._runner import CaseRun, Runner
from .pushback import PushbackTemplates
from .strategies import Strategy, get_strategy

__all__ = ["Evaluation", "RunSettings"]


@dataclass(frozen=True)
class RunSettings:
    """What a run needs to know to call models and judges (a subset of the plugin's
    :class:`~pytest_honesty.plugin._options.HonestyConfig`, under the same names)."""

    models: tuple[str, ...] = ()
    judges: tuple[str, ...] = ("embedded",)
    strategies: tuple[str, ...] = ("raw",)
    judge_protocol: str = "json"
    judge_structured: str = "auto"
    base_url: str | None = None
    judge_base_url: str | None = None
    #: the limit of concurrent calls the backends are told (the whole run's)
    concurrency: int | None = None
    timeout_s: float = 60.0
    max_retries: int = 4
    max_tokens: int = 256
    temperature: float = 0.0
    #: judge every answer again instead of reading its verdict from the cache
    rejudge: bool = False
    #: pushback rounds after each one-turn answer (0: none)
    pushback: int = 0
    seed: int = 0

    @classmethod
    def of(cls, settings: Any) -> RunSettings:
        """The run settings of any object with these attributes (the plugin's config)."""
        names = [f.name for f in dataclasses.fields(cls)]
        return cls(**{name: getattr(settings, name) for name in names})


class _JudgeNotBuilt(Judge):
    """Stands in until :meth:`Evaluation.build_judge` (or where nothing is judged)."""

    name = "none"

    async def judge(self, case: Case, answer: str) -> Verdict:
        raise RuntimeError("pytest-honesty: no judge was built for this run")


class Evaluation:
    """Builds and holds what one run calls; hands out answers and verdicts.

    Build order matters for the error a user sees: models first, then the judge, and
    the cache last (see :meth:`use_cache`), so a bad spec leaves no trace anywhere.
    The owner closes it with :meth:`aclose` on the loop that ran it, and closes the
    cache it attached itself.
    """

    def __init__(
        self,
        settings: RunSettings,
        *,
        registry: BackendRegistry | None = None,
        engine_concurrency: int | None = None,
        pushback: PushbackTemplates | None = None,
    ) -> None:
        """``engine_concurrency``: the limit of this process's engine, where it differs
        from ``settings.concurrency`` (an xdist worker's share); default: the same."""
        self.settings = settings
        self.registry = registry if registry is not None else BackendRegistry()
        self.strategies: dict[str, Strategy] = {s: get_strategy(s) for s in settings.strategies}
        self.params = SamplingParams(temperature=settings.temperature,
                                     max_tokens=settings.max_tokens)
        self.engine = Engine(
            concurrency=engine_concurrency if engine_concurrency is not None
            else settings.concurrency,
            retry=RetryPolicy(max_retries=settings.max_retries, timeout_s=settings.timeout_s),
        )
        self.backends: dict[str, Backend] = {}
        self.judge: Judge = _JudgeNotBuilt()
        self.cache: Cache | None = None
        self._verdicts: dict[tuple[str, str, str], asyncio.Future[Verdict]] = {}
        self.runner = Runner(
            backends=self.backends, strategies=self.strategies, engine=self.engine,
            params=self.params, judge_answer=self.judge_answer, pushback=pushback,
            seed=settings.seed,
        )

    # -- building --------------------------------------------------------------

    def make_backend(self, spec: str, *, base_url: str | None = None) -> Backend:
        options = BackendOptions(
            base_url=base_url or self.settings.base_url,
            timeout_s=self.settings.timeout_s,
            concurrency=self.settings.concurrency,
        )
        return self.registry.create(spec, options)

    def build_models(self) -> None:
        """Build and check the backend of every model under test (``BackendUnavailable``
        when one cannot be used: unknown provider, missing package or key)."""
        for spec in self.settings.models:
            if spec not in self.backends:
                self.backends[spec] = self.make_backend(spec)
        for backend in self.backends.values():
            backend.check()

    def build_judge(self) -> None:
        """Build and check the judge (a jury for several specs, ``a>b`` a cascade)."""
        self.judge = build_judge(
            self.settings.judges, self._make_judge_backend, self.engine,
            protocol=self.settings.judge_protocol, structured=self.settings.judge_structured,
        )
        self.judge.check()

    def _make_judge_backend(self, spec: str) -> Backend:
        if spec in self.settings.models:
            warnings.warn(
                f"pytest-honesty: the judge {spec!r} is also the model under test; a model "
                "judging its own answers is biased. Use a different judge for release gating.",
                stacklevel=1,
            )
        return self.make_backend(spec, base_url=self.settings.judge_base_url)

    def use_cache(self, cache: Cache, run_id: str | None = None) -> None:
        """Read and store answers and verdicts in ``cache`` (before the first call)."""
        self.cache = cache
        cache.run_id = run_id
        self.engine.attach_cache(cache)

    # -- answering and judging -----------------------------------------------------

    def planned_runs(self, cases: Sequence[Case]) -> list[CaseRun]:
        """Every case put to every model under every strategy; with pushback, each
        case's pushback run follows its one-turn run."""
        rounds = (0, self.settings.pushback) if self.settings.pushback else (0,)
        return [
            CaseRun(case, model, strategy, n)
            for model in self.settings.models
            for strategy in self.settings.strategies
            for case in cases
            for n in rounds
        ]

    async def answer(self, case: Case, *, model: str | None = None,
                     strategy: str | None = None) -> Response:
        """One answer, not judged: the first model and strategy unless named."""
        model = model or self.settings.models[0]
        strategy = strategy or self.settings.strategies[0]
        if strategy not in self.strategies:
            self.strategies[strategy] = get_strategy(strategy)
        return await self.runner.answer(case, model, strategy)

    async def judge_answer(self, case: Case, answer: str) -> Verdict:
        """The run's verdict on ``answer``. Identical (category, question, answer) are
        judged once per run, and through the verdict cache once across runs (unless
        ``rejudge``)."""
        key = (case.category.value, case.question, answer)
        future = self._verdicts.get(key)
        if future is None:
            future = asyncio.ensure_future(self._judge_cached(case, answer))
            self._verdicts[key] = future
        return await asyncio.shield(future)

    async def _judge_cached(self, case: Case, answer: str) -> Verdict:
        # the grader-address patterns decide flags after the judge call: part of the identity
        key = verdict_key(self.judge.name, case, answer,
                          fingerprint=f"{self.judge.fingerprint()}:{PATTERNS_SHA256}")
        if not self.settings.rejudge:
            cached = await self.engine.get_verdict(key)
            if cached is not None:
                return cached
        verdict = await self.judge.judge(case, answer)
        if verdict.scored:  # an unscored verdict is retried by the next run
            await self.engine.put_verdict(key, verdict)
        return verdict

    # -- closing -------------------------------------------------------------------

    async def aclose(self) -> None:
        """Release the backends, the judge and the engine (not the cache: its owner
        closes it once the loop is done)."""
        try:
            for backend in self.backends.values():
                await backend.aclose()
            await self.judge.aclose()
        finally:
            await self.engine.aclose()

