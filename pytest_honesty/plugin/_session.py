"""HonestySession: the one object that exists while the plugin is active.

It loads cases, builds backends and judges, collects the items, answers and
judges every case concurrently before the tests assert, and gathers the
per-case records (which travel on ``report.user_properties``, so they reach
the xdist controller) for the report and the gate.
"""

from __future__ import annotations

import json
import uuid
from collections import Counter
from collections.abc import Callable, Generator
from contextvars import ContextVar
from pathlib import Path
from typing import Any

import pytest

from ..backends import BackendUnavailable
from ..backends._registry import BackendRegistry
from ..calls._termination import GracefulTermination
from ..calls.cache import Cache, CacheError
from ..cases import CaseFileError
from ..cases import load as load_cases
from ..judge import Judge
from ..run._evaluation import Evaluation, RunSettings
from ..run._loop import LoopThread
from ..run._runner import CaseResult, CaseRun
from ..run.pushback import PushbackError, PushbackTemplates
from ..run.strategies import get_strategy
from ..types import Case, Category, Verdict
from ._items import HonestyCollector, HonestyItem
from ._options import HonestyConfig
from ._progress_bar import (
    Counters,
    ProgressSink,
    RunProgress,
    WorkerFile,
    open_display,
)
from ._terminal_stats import CASE_NODEID_PREFIX, QuietPhaseReports
from ._transport import RECORD_KEY, records_in
from ._xdist import (
    ENGINE_STATS,
    NOCACHE_PATH,
    PROGRESS_DIR,
    RUN_ID,
    XdistCoordination,
    is_xdist_controller,
    is_xdist_worker,
    per_worker,
    worker_share,
)

__all__ = ["PROVIDER_FAILED", "RECORD_KEY", "RUN_KEY", "HonestySession"]

#: exit status of a run stopped because a provider cannot be used (unreachable, or its
#: key rejected): "interrupted", as for SIGTERM, not 1 (tests failed): the run ended
#: before the end, and the next one goes on from the cache
PROVIDER_FAILED = pytest.ExitCode.INTERRUPTED
#: stash key holding the CaseRun of a user test marked @pytest.mark.honesty(...)
RUN_KEY = pytest.StashKey[CaseRun]()


def load_selected_cases(settings: HonestyConfig) -> list[Case]:
    """The cases this run covers, after category selection and sampling, plus any
    ``--honesty-perturb`` variants."""
    return load_cases(settings.cases, honeset=settings.honeset,
                      categories=settings.categories, sample=settings.sample,
                      seed=settings.seed, perturb=settings.perturb)


class HonestySession:
    def __init__(self, config: pytest.Config, settings: HonestyConfig) -> None:
        self.config = config
        self.settings = settings
        from ._report import ReportPlugin  # parses gate rules: UsageError before any call

        config.pluginmanager.register(ReportPlugin(self), ReportPlugin.NAME)
        config.pluginmanager.register(QuietPhaseReports(config), QuietPhaseReports.NAME)
        try:
            self.cases = load_selected_cases(settings)
        except CaseFileError as exc:
            raise pytest.UsageError(f"pytest-honesty: bad case file: {exc}") from None
        registry = BackendRegistry()
        config.hook.pytest_honesty_register_backends(register=registry.register)
        self.pushback = _pushback_templates(settings)
        self.loop = LoopThread()
        # the same objects as evaluate(): this session drives them item by item
        self.evaluation = Evaluation(
            RunSettings.of(settings), registry=registry,
            engine_concurrency=per_worker(settings.concurrency), pushback=self.pushback,
        )
        self.registry = registry
        self.strategies = self.evaluation.strategies
        self.params = self.evaluation.params
        self.engine = self.evaluation.engine
        self.backends = self.evaluation.backends
        self.runner = self.evaluation.runner
        # listing cases (--collect-only) needs neither the model nor the judge, and
        # writes nothing: no provider or judge is built, no cache folder made
        self.listing_only = bool(config.getoption("collectonly", False))
        if self.listing_only:
            self.evaluation.judge = _NoJudgeWhileListing()
        cache: Cache | None = None
        if not self.listing_only:
            self._build_backends_and_judge()
            # the cache comes last: a bad spec or a missing key must leave no trace in it
            try:
                cache = self._open_cache()
            except pytest.UsageError:
                self.loop.close()
                raise
        # one id for the whole run, workers included (see Cache.run_id)
        self.run_id = str(getattr(config, "workerinput", {}).get(RUN_ID) or uuid.uuid4().hex)
        if cache is not None:
            self.evaluation.use_cache(cache, self.run_id)
        if settings.rejudge and cache is not None and not is_xdist_worker(config):
            # once, before any worker starts: answers stay, judgments are redone
            cache.clear(namespaces=["judge"], verdicts=True)
        self.records: list[dict[str, Any]] = []
        self._xdist: XdistCoordination | None = None
        self._pytest_session: pytest.Session | None = None
        if config.pluginmanager.hasplugin("xdist") and not is_xdist_worker(config):
            self._xdist = XdistCoordination(settings, self.run_id)
            config.pluginmanager.register(self._xdist, "honesty-xdist")
        self._termination = GracefulTermination(self._stop_new_calls_soon)
        if not is_xdist_worker(config) and not is_xdist_controller(config):
            self._termination.install()

    @property
    def judge(self) -> Judge:
        return self.evaluation.judge

    @property
    def cache(self) -> Cache | None:
        return self.evaluation.cache

    def _build_backends_and_judge(self) -> None:
        settings = self.settings
        where = ""
        try:
            self.evaluation.build_models()
            where = (f"no --honesty-judge given; the default judge is {settings.judges[0]}: "
                     if settings.sources.get("honesty_judge") == "default"
                     else f"--honesty-judge {','.join(settings.judges)}: ")
            self.evaluation.build_judge()
        except BackendUnavailable as exc:
            self.loop.close()
            raise pytest.UsageError(f"pytest-honesty: {where}{exc}") from None

    def _stop_new_calls_soon(self) -> None:
        # from a signal handler on the main thread: the engine lives on the loop's thread
        self.loop.loop.call_soon_threadsafe(self.engine.stop_new_calls)

    # -- collection ------------------------------------------------------------

    def planned_runs(self) -> list[CaseRun]:
        return self.evaluation.planned_runs(self.cases)

    def _item_name(self, run: CaseRun) -> str:
        parts = []
        if len(self.settings.models) > 1:
            parts.append(run.model)
        if len(self.settings.strategies) > 1 or run.pushback:
            parts.append(run.label)
        return f"{run.case.id}[{'-'.join(parts)}]" if parts else run.case.id

    def make_items(self, session: pytest.Session) -> list[pytest.Item]:
        by_source: dict[str, list[CaseRun]] = {}
        for run in self.planned_runs():
            by_source.setdefault(run.case.source, []).append(run)
        items: list[pytest.Item] = []
        for source, runs in by_source.items():
            collector = HonestyCollector.from_parent(
                session, name=f"{CASE_NODEID_PREFIX}{source}",
                nodeid=f"{CASE_NODEID_PREFIX}{source}",
            )
            children: list[pytest.Item] = [
                HonestyItem.from_parent(collector, name=self._item_name(r), run=r, honesty=self)
                for r in runs
            ]
            collector._items = children
            items += children
            # report them as collected, as pytest does for its own collectors: the
            # terminal counts ("collected N items", "N tests collected", "/ N
            # deselected") come from these reports, not from the final item list
            hook = session.config.hook
            for child in children:
                hook.pytest_itemcollected(item=child)
            hook.pytest_collectreport(
                report=pytest.CollectReport(collector.nodeid, "passed", None, [*children])
            )
        return items

    def bind_marked_test(self, item: pytest.Item) -> None:
        """A user test marked ``@pytest.mark.honesty(category=..., question=...)``."""
        marker = item.get_closest_marker("honesty")
        if marker is None or "question" not in marker.kwargs:
            return
        question = marker.kwargs["question"]
        slug = marker.kwargs.get("category", "control")
        try:
            category = Category(slug)
        except ValueError:
            raise pytest.UsageError(
                f"{item.nodeid}: @pytest.mark.honesty category {slug!r} is unknown; "
                f"valid: {', '.join(Category.slugs())}"
            ) from None
        if not isinstance(question, str) or not question.strip():
            raise pytest.UsageError(f"{item.nodeid}: @pytest.mark.honesty needs a question text")
        case = Case(id=f"test-{item.name}", category=category, question=question,
                    source="test", expected=marker.kwargs.get("expected"))
        strategy = marker.kwargs.get("strategy", self.settings.strategies[0])
        if strategy not in self.strategies:
            self.strategies[strategy] = get_strategy(strategy)
        item.stash[RUN_KEY] = CaseRun(case, self.settings.models[0], strategy)
        item.add_marker(f"honesty_{category.value}")

    # -- running ---------------------------------------------------------------

    def result_for(self, run: CaseRun) -> CaseResult:
        """The finished result of a run, computing it now if prefetch did not."""
        result = self.runner.results.get(run.key)
        if result is None:
            result = self.loop.run(self.runner.run_one(run))
        return result

    def _open_cache(self) -> Cache | None:
        settings = self.settings
        if settings.no_cache:
            # still a file under xdist: the workers coordinate through it
            shared = getattr(self.config, "workerinput", {}).get(NOCACHE_PATH)
            return Cache(shared) if shared else None
        try:
            settings.cache_dir.mkdir(parents=True, exist_ok=True)
            return Cache.open(settings.cache_dir)
        except (OSError, CacheError) as exc:
            raise pytest.UsageError(
                f"pytest-honesty: cannot use the cache folder {settings.cache_dir} ({exc}); "
                "pass --honesty-cache-dir DIR or --honesty-no-cache"
            ) from None

    def _runs_of(self, items: list[pytest.Item]) -> list[CaseRun]:
        runs = []
        for item in items:
            if isinstance(item, HonestyItem):
                runs.append(item.run)
            elif RUN_KEY in item.stash:
                runs.append(item.stash[RUN_KEY])
        return runs

    def prefetch(self, items: list[pytest.Item]) -> None:
        runs = self._runs_of(items)
        own = worker_share(runs, self.config)
        # Every answer is fetched before the first test reports: a bar on a terminal,
        # lines in a log, a worker's counters to the controller (see _progress_bar)
        progress = RunProgress(self.engine, len(own), self._progress_sink)
        try:
            with self._termination.armed():
                if own:
                    self.loop.run(self.runner.run_all(own, on_done=progress))
                if len(own) < len(runs) and not self._termination.requested:
                    # the other workers' shares, mostly cache hits by now; what is still
                    # unclaimed is done here, what is claimed is waited for
                    self.loop.run(self.runner.run_all(runs))
        finally:
            progress.close()
        self._stop_if_a_provider_failed()
        if self._termination.requested:
            not_made = sum(1 for r in self.runner.results.values()
                           if r.error is not None and r.error.startswith("CallsStopped"))
            pytest.exit(
                f"pytest-honesty: terminated (SIGTERM): the calls in flight were finished "
                f"and stored; {not_made} of {len(runs)} cases were not completed. Run the "
                "same command again to go on from the cache.",
                returncode=pytest.ExitCode.INTERRUPTED,
            )

    def _progress_sink(self, counters: Callable[[], Counters]) -> ProgressSink:
        workerinput = getattr(self.config, "workerinput", None)
        if isinstance(workerinput, dict):
            folder = workerinput.get(PROGRESS_DIR)
            worker = str(workerinput.get("workerid", "gw"))
            if folder and Path(folder).is_dir():
                return WorkerFile(Path(folder) / f"worker-{worker}.json", counters)
            return open_display(counters, None)  # a worker's output is never shown
        reporter = self.config.pluginmanager.get_plugin("terminalreporter")
        return open_display(counters, reporter)

    def _stop_if_a_provider_failed(self) -> None:
        """End the run with one line when a provider turned out unusable (see
        :mod:`pytest_honesty.calls._reachability`) instead of one error per case."""
        failure = self.engine.provider_failure
        if failure is None:
            return
        message = (f"pytest-honesty: stopped: {failure}. Nothing more was fetched; the "
                   "answers already stored stay in the cache for the next run.")
        if is_xdist_worker(self.config):
            # A worker that exits with 2 counts as crashed and is replaced (and fails the
            # same way, 8 times over); a worker whose session says shouldstop makes the
            # controller stop every worker and end the run as interrupted with this line.
            if self._pytest_session is not None:
                self._pytest_session.shouldstop = message
            pytest.exit(message, returncode=pytest.ExitCode.TESTS_FAILED)
        pytest.exit(message, returncode=PROVIDER_FAILED)

    @pytest.hookimpl(wrapper=True)
    def pytest_runtestloop(self, session: pytest.Session) -> Generator[None, object, object]:
        self._pytest_session = session
        if not session.config.option.collectonly and not is_xdist_controller(session.config):
            self.prefetch(session.items)
        try:
            return (yield)
        finally:
            if is_xdist_worker(self.config):
                # the controller builds the report: the counters travel with the worker's
                # output, which xdist sends once the worker's session finishes
                output: dict[str, Any] = self.config.workeroutput  # type: ignore[attr-defined]
                output[ENGINE_STATS] = self.engine.stats.to_dict()

    def engine_stats(self) -> dict[str, int]:
        """The engine's call counters (retries, 429s, timeouts...) of the whole run: this
        process's, plus every finished worker's on the xdist controller."""
        own = self.engine.stats.to_dict()
        workers = self._xdist.worker_stats if self._xdist is not None else Counter()
        return {name: value + workers[name] for name, value in own.items()}

    # -- per-test records --------------------------------------------------------

    @pytest.hookimpl(wrapper=True)
    def pytest_runtest_protocol(self, item: pytest.Item) -> Generator[None, object, object]:
        # the session of the test being run (setup, call and teardown), for assert_honest:
        # scoped to this test in this context, so nothing outlives the run that set it
        token = _RUNNING.set(self)
        try:
            return (yield)
        finally:
            _RUNNING.reset(token)

    @pytest.hookimpl(wrapper=True)
    def pytest_runtest_makereport(
        self, item: pytest.Item, call: pytest.CallInfo[None]
    ) -> Generator[None, pytest.TestReport, pytest.TestReport]:
        report = yield
        run = item.run if isinstance(item, HonestyItem) else item.stash.get(RUN_KEY, None)
        last_phase = call.when == "call" or (call.when == "setup" and report.outcome != "passed")
        if run is not None and last_phase:
            result = self.runner.results.get(run.key)
            if result is not None:
                record = result.to_record()
                record["nodeid"] = item.nodeid
                report.user_properties.append((RECORD_KEY, json.dumps(record)))
        return report

    def pytest_runtest_logreport(self, report: pytest.TestReport) -> None:
        for record in records_in(report.user_properties):
            record["outcome"] = "xfailed" if hasattr(report, "wasxfail") else report.outcome
            self.records.append(record)

    def close(self) -> None:
        self._termination.uninstall()
        try:
            self.loop.run(self.evaluation.aclose())
        finally:
            self.loop.close()
            if self.cache is not None:
                self.cache.close()


class _NoJudgeWhileListing(Judge):
    """Stands in for the judge under --collect-only, where nothing is judged."""

    name = "none (--collect-only)"

    async def judge(self, case: Case, answer: str) -> Verdict:
        raise RuntimeError("pytest-honesty: nothing is judged under --collect-only")


def _pushback_templates(settings: HonestyConfig) -> PushbackTemplates | None:
    """The pushback variants, read and checked now: a broken template is a usage error."""
    if not settings.pushback:
        return None
    try:
        return PushbackTemplates(settings.pushback_templates)
    except PushbackError as exc:
        where = settings.sources.get("honesty_pushback_templates", "--honesty-pushback-templates")
        raise pytest.UsageError(f"pytest-honesty: {where}: {exc}") from None


#: the session whose test is running in this context (see pytest_runtest_protocol)
_RUNNING: ContextVar[HonestySession | None] = ContextVar("pytest_honesty_running", default=None)


def active_session() -> HonestySession:
    """The session of the test being run, for the assertion helpers."""
    session = _RUNNING.get()
    if session is None:
        raise RuntimeError(
            "pytest-honesty is not active here: assert_honest/assert_h2 judge with the run "
            "of the test calling them; call them inside a test of a pytest run with "
            "--honesty-model SPEC (from a thread the test starts, run them in the test's "
            "context: executor.submit(contextvars.copy_context().run, fn, ...))"
        )
    return session
