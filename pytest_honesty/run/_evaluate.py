"""``evaluate()``: run the honesty suite from a script or a notebook, without pytest.

    import pytest_honesty
    from pytest_honesty import cases

    report = pytest_honesty.evaluate(cases.load(sample=10), model="mock/honest",
                                     judge="keyword")
    print(report.aggregate("mock/honest", "raw").honesty_rate.value)

Every argument is checked before any model is built or called; a bad one raises
``TypeError`` or ``ValueError`` naming it. A provider that cannot be used (unknown, its
package or key missing) raises ``BackendUnavailable`` before the first call, and one
that turns out unusable during the run (unreachable, key rejected) stops the run with
the same exception; the answers already made stay in the cache.
"""

from __future__ import annotations

import asyncio
import functools
import os
import time
from collections.abc import Callable, Coroutine, Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal, ParamSpec, TypeVar

from ..backends import BackendUnavailable, ModelSpec
from ..backends._registry import BackendFactory, BackendRegistry
from ..calls.cache import Cache, CacheError
from ..report import RunReport
from ..types import Case
from ._evaluation import Evaluation, RunSettings
from ._runner import CaseResult

__all__ = ["evaluate", "evaluate_async"]

T = TypeVar("T")
P = ParamSpec("P")
PathArg = str | os.PathLike[str]
#: ``on_progress(done, total)`` after each (case, model, strategy) is answered and judged
ProgressCallback = Callable[[int, int], None]


async def evaluate_async(
    cases: Iterable[Case] | None = None,
    *,
    model: str | Sequence[str],
    judge: str | Sequence[str] = "embedded",
    strategies: str | Sequence[str] = "raw",
    cache_dir: PathArg | None = None,
    concurrency: int | None = None,
    timeout_s: float = 60.0,
    max_retries: int = 4,
    max_tokens: int = 256,
    temperature: float = 0.0,
    base_url: str | None = None,
    judge_base_url: str | None = None,
    judge_protocol: Literal["json", "paper"] = "json",
    judge_structured: Literal["auto", "on", "off"] = "auto",
    rejudge: bool = False,
    pushback: int = 0,
    seed: int = 0,
    providers: Mapping[str, BackendFactory] | None = None,
    gate: str | Sequence[str] = (),
    baseline: RunReport | PathArg | None = None,
    max_regression: float = 0.0,
    gate_inconclusive: Literal["fail", "pass"] = "fail",
    prices: PathArg | None = None,
    on_progress: ProgressCallback | None = None,
) -> RunReport:
    """Answer and judge every case with every model and strategy; the run's report.

    ``cases``: from :func:`pytest_honesty.cases.load` (default: the bundled cases).
    ``model``: one spec or several (``provider/model[+adapter]``: ``mock/honest``,
    ``openai/gpt-4o-mini``, ``openai-compatible/NAME`` with ``base_url``, ``hf/PATH``,
    ``embedded``). ``judge``: ``embedded`` (default, local), ``keyword``, a model
    spec, ``a>b`` (a cascade), or several (a jury). ``strategies``: ``raw``,
    ``curiosity``, ``curiosity-critique``. ``cache_dir``: where answers and verdicts are
    kept across runs (default: none, everything is asked afresh). ``concurrency``:
    the most calls at once (default: per provider). ``providers``: model providers of
    your own, ``{"name": factory}`` as the ``pytest_honesty_register_backends`` hook
    takes them. ``gate`` rules (``"honesty_rate>=0.9"``) and a ``baseline`` report add
    the release gate's decision to the report (``report.gate``). The other arguments
    are the plugin's options of the same names (``--honesty-...``).
    """
    plan = _plan(
        cases, model=model, judge=judge, strategies=strategies, cache_dir=cache_dir,
        concurrency=concurrency, timeout_s=timeout_s, max_retries=max_retries,
        max_tokens=max_tokens, temperature=temperature, base_url=base_url,
        judge_base_url=judge_base_url, judge_protocol=judge_protocol,
        judge_structured=judge_structured, rejudge=rejudge, pushback=pushback, seed=seed,
        providers=providers, gate=gate, baseline=baseline, max_regression=max_regression,
        gate_inconclusive=gate_inconclusive, prices=prices, on_progress=on_progress,
    )
    return await _run(plan)


def _blocking(func: Callable[P, Coroutine[Any, Any, T]]) -> Callable[P, T]:
    """The waiting twin of an async function, with the very same signature."""

    @functools.wraps(func)
    def wait(*args: P.args, **kwargs: P.kwargs) -> T:
        return _wait(func(*args, **kwargs))

    return wait


evaluate = _blocking(evaluate_async)
evaluate.__name__ = evaluate.__qualname__ = "evaluate"
evaluate.__doc__ = """:func:`evaluate_async`, waited for: usable in a plain script and in a notebook
(whose event loop is already running: the run then gets a loop of its own)."""


def _wait(coro: Coroutine[Any, Any, T]) -> T:
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return asyncio.run(coro)
    # a loop runs in this thread (Jupyter): it cannot be blocked on, nor re-entered
    from ._loop import LoopThread

    loop = LoopThread()
    try:
        return loop.run(coro)
    finally:
        loop.close()


# --------------------------------------------------------------------------- checking


@dataclass(frozen=True)
class _Plan:
    """Every argument of one evaluate() call, checked and converted."""

    cases: tuple[Case, ...]
    settings: RunSettings
    registry: BackendRegistry
    cache_dir: Path | None
    gate_rules: tuple[Any, ...]
    baseline: RunReport | None
    baseline_name: str | None
    max_regression: float
    gate_inconclusive: str
    prices: Any
    on_progress: ProgressCallback | None


def _where(name: str) -> str:
    return f"evaluate({name}=...)"


def _names(value: object, name: str, *, allowed: Sequence[str] = ()) -> tuple[str, ...]:
    """One string or a sequence of them, none empty, duplicates dropped."""
    items = [value] if isinstance(value, str) else value
    if not isinstance(items, (list, tuple)) or not items:
        raise TypeError(f"{_where(name)}: expected a string or a non-empty list of strings, "
                        f"got {value!r}")
    out: list[str] = []
    for item in items:
        if not isinstance(item, str) or not item.strip():
            raise TypeError(f"{_where(name)}: expected non-empty strings, got {item!r}")
        if allowed and item.strip() not in allowed:
            raise ValueError(f"{_where(name)}: unknown value {item!r}; valid: "
                             f"{', '.join(allowed)}")
        out.append(item.strip())
    return tuple(dict.fromkeys(out))


def _number(value: object, name: str, *, integer: bool, minimum: float | None,
            exclusive: bool = False) -> Any:
    if isinstance(value, bool) or not isinstance(value, int if integer else (int, float)):
        raise TypeError(f"{_where(name)}: expected {'an integer' if integer else 'a number'}, "
                        f"got {value!r}")
    if minimum is None:
        return value
    if value < minimum or (exclusive and value == minimum):
        bound = f"> {minimum:g}" if exclusive else f">= {minimum:g}"
        raise ValueError(f"{_where(name)}: must be {bound}, got {value!r}")
    return value


def _choice(value: object, name: str, allowed: Sequence[str]) -> str:
    if value not in allowed:
        raise ValueError(f"{_where(name)}: unknown value {value!r}; valid: {', '.join(allowed)}")
    return str(value)


def _optional_path(value: object, name: str) -> Path | None:
    if value is None:
        return None
    if not isinstance(value, (str, os.PathLike)):
        raise TypeError(f"{_where(name)}: expected a path, got {value!r}")
    return Path(value).expanduser()


def _optional_url(value: object, name: str) -> str | None:
    if value is not None and (not isinstance(value, str) or not value.strip()):
        raise TypeError(f"{_where(name)}: expected a URL string, got {value!r}")
    return value


def _checked_cases(cases: Iterable[Case] | None) -> tuple[Case, ...]:
    from .. import cases as case_files

    if cases is None:
        return tuple(case_files.load())
    if isinstance(cases, (str, os.PathLike)):
        raise TypeError(f"{_where('cases')}: expected Case objects, got the path {cases!r}; "
                        "load case files with pytest_honesty.cases.load(paths)")
    try:
        chosen = tuple(cases)
    except TypeError:
        raise TypeError(f"{_where('cases')}: expected an iterable of Case objects, got "
                        f"{type(cases).__name__}") from None
    if not chosen:
        raise ValueError(f"{_where('cases')}: no cases given (pass None for the bundled set)")
    seen: set[tuple[str, str]] = set()
    for index, case in enumerate(chosen):
        if not isinstance(case, Case):
            raise TypeError(f"{_where('cases')}: item {index} is a {type(case).__name__}, not "
                            "a Case; load cases with pytest_honesty.cases.load()")
        if (case.source, case.id) in seen:
            raise ValueError(f"{_where('cases')}: case id {case.id!r} (source {case.source!r})"
                             " appears twice")
        seen.add((case.source, case.id))
    return chosen


def _registry(providers: Mapping[str, BackendFactory] | None) -> BackendRegistry:
    registry = BackendRegistry()
    if providers is None:
        return registry
    if not isinstance(providers, Mapping):
        raise TypeError(f"{_where('providers')}: expected a mapping of provider name to "
                        f"factory, got {type(providers).__name__}")
    for name, factory in providers.items():
        if not callable(factory):
            raise TypeError(f"{_where('providers')}: the factory of {name!r} is not callable")
        try:
            registry.register(name, factory)
        except ValueError as exc:
            raise ValueError(f"{_where('providers')}: {exc}") from None
    return registry


def _plan(cases: Iterable[Case] | None, **args: Any) -> _Plan:
    from ..report import (
        GateRuleError,
        PriceFileError,
        PriceTable,
        ReportFormatError,
        load_report,
        parse_rules,
    )
    from .strategies import STRATEGIES

    models = _names(args["model"], "model")
    for spec in models:
        try:
            ModelSpec.parse(spec)
        except ValueError as exc:
            raise ValueError(f"{_where('model')}: {exc}") from None
    judges = _names(args["judge"], "judge")
    strategies = _names(args["strategies"], "strategies", allowed=tuple(STRATEGIES))
    concurrency = args["concurrency"]
    if concurrency is not None:
        _number(concurrency, "concurrency", integer=True, minimum=1)
    settings = RunSettings(
        models=models, judges=judges, strategies=strategies,
        judge_protocol=_choice(args["judge_protocol"], "judge_protocol", ("json", "paper")),
        judge_structured=_choice(args["judge_structured"], "judge_structured",
                                 ("auto", "on", "off")),
        base_url=_optional_url(args["base_url"], "base_url"),
        judge_base_url=(_optional_url(args["judge_base_url"], "judge_base_url")
                        or args["base_url"]),
        concurrency=concurrency,
        timeout_s=float(_number(args["timeout_s"], "timeout_s", integer=False, minimum=0,
                                exclusive=True)),
        max_retries=_number(args["max_retries"], "max_retries", integer=True, minimum=0),
        max_tokens=_number(args["max_tokens"], "max_tokens", integer=True, minimum=1),
        temperature=float(_number(args["temperature"], "temperature", integer=False,
                                  minimum=0)),
        rejudge=bool(args["rejudge"]),
        pushback=_number(args["pushback"], "pushback", integer=True, minimum=0),
        seed=_number(args["seed"], "seed", integer=True, minimum=None),
    )
    gate = args["gate"]
    try:
        rules = parse_rules([gate] if isinstance(gate, str) else list(gate))
    except GateRuleError as exc:
        raise ValueError(f"{_where('gate')}: {exc}") from None
    baseline = args["baseline"]
    baseline_name: str | None = None
    if baseline is not None and not isinstance(baseline, RunReport):
        path = _optional_path(baseline, "baseline")
        try:
            baseline = load_report(path)  # type: ignore[arg-type]
        except ReportFormatError as exc:
            raise ValueError(f"{_where('baseline')}: {exc}") from None
        baseline_name = str(path)
    try:
        prices = PriceTable.load(_optional_path(args["prices"], "prices"))
    except PriceFileError as exc:
        raise ValueError(f"{_where('prices')}: {exc}") from None
    on_progress = args["on_progress"]
    if on_progress is not None and not callable(on_progress):
        raise TypeError(f"{_where('on_progress')}: expected a callable(done, total)")
    return _Plan(
        cases=_checked_cases(cases),
        settings=settings,
        registry=_registry(args["providers"]),
        cache_dir=_optional_path(args["cache_dir"], "cache_dir"),
        gate_rules=rules,
        baseline=baseline,
        baseline_name=baseline_name,
        max_regression=float(_number(args["max_regression"], "max_regression",
                                     integer=False, minimum=0)),
        gate_inconclusive=_choice(args["gate_inconclusive"], "gate_inconclusive",
                                  ("fail", "pass")),
        prices=prices,
        on_progress=on_progress,
    )


# --------------------------------------------------------------------------- running


def _build(evaluation: Evaluation) -> None:
    """Models, then judge: the first that cannot be used stops the run, named."""
    settings = evaluation.settings
    try:
        evaluation.build_models()
    except BackendUnavailable as exc:
        raise BackendUnavailable(f"{_where('model')} {', '.join(settings.models)}: {exc}") \
            from None
    try:
        evaluation.build_judge()
    except BackendUnavailable as exc:
        raise BackendUnavailable(f"{_where('judge')} {', '.join(settings.judges)}: {exc}") \
            from None


def _open_cache(folder: Path) -> Cache:
    try:
        folder.mkdir(parents=True, exist_ok=True)
        return Cache.open(folder)
    except (OSError, CacheError) as exc:
        raise ValueError(f"{_where('cache_dir')}: cannot use the cache folder {folder} "
                         f"({exc})") from None


def _record(result: CaseResult) -> dict[str, Any]:
    # no test ran: a record of evaluate() has no pytest node id and no test outcome
    return {**result.to_record(), "nodeid": "", "outcome": ""}


async def _run(plan: _Plan) -> RunReport:
    import uuid

    from ..report import build_report, evaluate_gate
    from ..report._build import with_gate
    from ..report._manifest import build_manifest, judge_calibration_of

    evaluation = Evaluation(plan.settings, registry=plan.registry)
    cache: Cache | None = None
    try:
        _build(evaluation)
        # the cache last: a bad spec or a missing key leaves no trace in it
        if plan.cache_dir is not None:
            cache = _open_cache(plan.cache_dir)
            evaluation.use_cache(cache, uuid.uuid4().hex)
            if plan.settings.rejudge:
                cache.clear(namespaces=["judge"], verdicts=True)
        started = time.time()
        runs = evaluation.planned_runs(plan.cases)
        results = await evaluation.runner.run_all(runs, on_done=plan.on_progress)
        failure = evaluation.engine.provider_failure
        if failure is not None:
            raise BackendUnavailable(
                f"pytest-honesty: stopped: {failure}. Nothing more was fetched; the answers "
                "already stored stay in the cache for the next run.")
        settings = plan.settings
        manifest = build_manifest(
            models={spec: evaluation.backends.get(spec) for spec in settings.models},
            judges=settings.judges, judge=evaluation.judge,
            judge_protocol=settings.judge_protocol, cases=plan.cases,
            sampling=evaluation.params, strategies=settings.strategies, seed=settings.seed,
            base_urls={"models": settings.base_url, "judge": settings.judge_base_url},
            started_at=started, finished_at=time.time(), cwd=Path.cwd(),
            engine=evaluation.engine.stats.to_dict(),
            judge_calibration=judge_calibration_of(evaluation.judge),
        )
        report = build_report([_record(results[run.key]) for run in runs], manifest,
                              prices=plan.prices)
        if plan.gate_rules or plan.baseline is not None:
            report = with_gate(report, evaluate_gate(
                report, plan.gate_rules, baseline=plan.baseline,
                baseline_name=plan.baseline_name, max_regression=plan.max_regression,
                inconclusive=plan.gate_inconclusive,
            ))
        return report
    finally:
        try:
            await evaluation.aclose()
        finally:
            if cache is not None:
                cache.close()
