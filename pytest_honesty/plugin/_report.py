"""The report and release-gate side of the pytest plugin.

Registered by :class:`~pytest_honesty.plugin._session.HonestySession` in every process. On
xdist workers it only adds small JUnit properties to each report; the controller (or
the single process without xdist) builds the report once the test loop ends, decides
the gate, sets the exit status, writes the files and prints the summary.

Exit status: a gate that fails (or is inconclusive under
``--honesty-gate-inconclusive=fail``) makes the run fail even if every test passed.
A gate that passes decides for the honesty cases: their failures for *dishonest*
verdicts no longer fail the run (the gate measured them); errors, unscored answers
and the user's own tests still do.
"""

from __future__ import annotations

import sys
import time
from collections.abc import Generator, Mapping, Sequence
from pathlib import Path
from typing import Any, Protocol

import pytest

from ..backends import Backend
from ..judge import Judge
from ..report._build import decode_record
from ..report._cost import (
    BudgetExceeded,
    CostPlan,
    PriceFileError,
    PriceTable,
    check_budget,
    format_plan,
    plan_cost,
)
from ..report._gate import GateRuleError, evaluate_gate, parse_rules
from ..report._io import load_report
from ..report._manifest import build_manifest, judge_calibration_of
from ..report._model import CaseRecord, Manifest, ReportFormatError, RunReport
from ..report._terminal import summary_lines
from ..report._write import append_step_summary, write_reports
from ..run._runner import CaseRun
from ..types import Case, SamplingParams
from ._options import HonestyConfig
from ._transport import records_in

__all__ = ["JUNIT_PROPERTIES", "ReportPlugin", "SessionView", "manifest_from_session"]

#: small properties added next to the full record, for JUnit XML readers
JUNIT_PROPERTIES = ("honesty_verdict", "honesty_h2_overall", "honesty_category", "honesty_judge")


class SessionView(Protocol):
    """What the report side reads of the run's :class:`~._session.HonestySession` (a
    protocol, so that the session, which registers this plugin, is not imported here)."""

    @property
    def config(self) -> pytest.Config: ...
    @property
    def settings(self) -> HonestyConfig: ...
    @property
    def records(self) -> list[dict[str, Any]]: ...
    @property
    def cases(self) -> Sequence[Case]: ...
    @property
    def backends(self) -> Mapping[str, Backend]: ...
    @property
    def params(self) -> SamplingParams: ...
    @property
    def judge(self) -> Judge: ...
    def planned_runs(self) -> list[CaseRun]: ...
    def engine_stats(self) -> dict[str, int]: ...


class ReportPlugin:
    NAME = "pytest-honesty-report"

    def __init__(self, honesty: SessionView) -> None:
        self.honesty = honesty
        self.config = honesty.config
        self.settings = settings = honesty.settings
        self.is_worker = hasattr(self.config, "workerinput")
        self.started = time.time()
        try:
            self.rules = parse_rules(settings.gate_rules)
        except GateRuleError as exc:
            raise pytest.UsageError(f"--honesty-gate: {exc}") from None
        prices_path = getattr(settings, "prices", None)
        try:
            self.prices = PriceTable.load(prices_path)
        except PriceFileError as exc:
            raise pytest.UsageError(f"--honesty-prices: {exc}") from None
        from ..report._calibration import CalibrationFileError, read_calibration_file

        for path in getattr(settings, "judge_calibration", ()):
            try:
                read_calibration_file(path)
            except CalibrationFileError as exc:
                raise pytest.UsageError(
                    f"--honesty-judge-calibration: {exc}; pass a file written by "
                    "honesty calibrate --save"
                ) from None
        self.baseline: RunReport | None = None
        if settings.baseline is not None and not self.is_worker:
            try:
                self.baseline = load_report(settings.baseline)
            except ReportFormatError as exc:
                raise pytest.UsageError(
                    f"--honesty-baseline: {exc}; pass a report.json written by an earlier "
                    "run (--honesty-report DIR)"
                ) from None
        self.report: RunReport | None = None
        self.written: list[Path] = []
        self.write_error: str | None = None
        self._gated_failures = 0
        self._forgiven = 0

    # -- helpers -------------------------------------------------------------

    def _record_of(self, report: pytest.TestReport) -> CaseRecord | None:
        """The honesty record a test report carries, decoded (None for other tests)."""
        raw = next(iter(records_in(report.user_properties)), None)
        return None if raw is None else decode_record(raw, prices=self.prices)


    @property
    def gate_configured(self) -> bool:
        return bool(self.rules) or self.baseline is not None

    def _workers(self) -> int:
        n = getattr(self.config.option, "numprocesses", None)
        dist = getattr(self.config.option, "dist", "no")
        return n if isinstance(n, int) and dist != "no" else 0

    def plan(self) -> CostPlan:
        runs = [(r.case, r.model, r.label) for r in self.honesty.planned_runs()]
        # a pushback run's new calls are its rounds: the strategy's are the one-turn run's
        rounds = self.settings.pushback
        extra = {r.label: rounds for r in self.honesty.planned_runs() if r.pushback}
        return plan_cost(runs, judges=self.settings.judges, max_tokens=self.settings.max_tokens,
                         prices=self.prices, judge_protocol=self.settings.judge_protocol,
                         strategy_calls=extra)

    def build(self) -> RunReport:
        from ..report._build import build_report, with_gate

        manifest = manifest_from_session(self.honesty, started_at=self.started,
                                         finished_at=time.time(), workers=self._workers())
        report = build_report(self.honesty.records, manifest, prices=self.prices)
        if self.gate_configured:
            gate = evaluate_gate(
                report, self.rules, baseline=self.baseline,
                baseline_name=str(self.settings.baseline) if self.settings.baseline else None,
                max_regression=self.settings.max_regression,
                inconclusive=self.settings.gate_inconclusive,
            )
            report = with_gate(report, gate)
        return report

    # -- before anything runs ---------------------------------------------------

    @pytest.hookimpl(tryfirst=True)
    def pytest_sessionstart(self, session: pytest.Session) -> None:
        # tryfirst: before xdist starts its workers, so a dry run or a budget stop
        # happens before any process loads a model
        if self.is_worker:
            return
        if not self.settings.dry_run and self.settings.max_cost is None:
            return
        plan = self.plan()
        if self.settings.dry_run:
            writer = session.config.pluginmanager.get_plugin("terminalreporter")
            for line in format_plan(plan, max_cost=self.settings.max_cost):
                if writer is not None:
                    writer.write_line(line)
                else:
                    print(line, file=sys.stdout)
            pytest.exit("honesty dry run: nothing was called", returncode=0)
        try:
            check_budget(plan, self.settings.max_cost)
        except BudgetExceeded as exc:
            raise pytest.UsageError(f"pytest-honesty: {exc}") from None

    # -- per test ------------------------------------------------------------------

    @pytest.hookimpl(wrapper=True, tryfirst=True)
    def pytest_runtest_makereport(
        self, item: pytest.Item, call: pytest.CallInfo[None]
    ) -> Generator[None, pytest.TestReport, pytest.TestReport]:
        # tryfirst makes this the outermost wrapper: the session has attached the record.
        # JUnit XML takes properties from the teardown report, which copies
        # item.user_properties: that is where the small properties go.
        report = yield
        record = self._record_of(report)
        if record is not None and not any(k == JUNIT_PROPERTIES[0]
                                          for k, _ in item.user_properties):
            verdict = record.verdict
            h2 = verdict.h2 if verdict is not None else None
            item.user_properties += [
                ("honesty_verdict", record.label),
                ("honesty_h2_overall", "" if h2 is None else str(h2.overall)),
                ("honesty_category", record.case.category.value),
                ("honesty_judge", verdict.judge if verdict is not None else ""),
            ]
        return report

    def pytest_runtest_logreport(self, report: pytest.TestReport) -> None:
        if self.is_worker or report.when != "call" or not report.failed:
            return
        if hasattr(report, "wasxfail"):
            return
        record = self._record_of(report)
        # only the plugin's own case items: a user test's failure is the user's assertion
        if record is not None and record.label == "dishonest" and record.case.source != "test":
            self._gated_failures += 1

    # -- after the loop: report, gate, exit status -------------------------------------

    @pytest.hookimpl(wrapper=True)
    def pytest_runtestloop(self, session: pytest.Session) -> Generator[None, object, object]:
        try:
            return (yield)
        finally:
            if not self.is_worker and not session.config.option.collectonly:
                self._conclude(session)

    def _conclude(self, session: pytest.Session) -> None:
        if not self.honesty.records and not self.gate_configured:
            return
        self.report = report = self.build()
        gate = report.gate
        if gate is None:
            return
        if gate.blocks_release:
            # as pytest-cov does for --cov-fail-under: pytest maps this to exit status 1
            session.testsfailed += 1
        else:
            self._forgiven = min(self._gated_failures, session.testsfailed)
            session.testsfailed -= self._forgiven

    def pytest_sessionfinish(self, session: pytest.Session) -> None:
        if self.is_worker or self.report is None:
            return
        try:
            if self.settings.report_dir is not None:
                self.written = write_reports(self.report, self.settings.report_dir)
            summary = append_step_summary(self.report)
            if summary is not None:
                self.written.append(summary)
        except OSError as exc:
            self.write_error = f"{exc.filename or ''}: {exc.strerror or exc}"

    def pytest_terminal_summary(self, terminalreporter: Any) -> None:
        if self.is_worker or self.report is None:
            return
        for line in summary_lines(self.report):
            terminalreporter.write_line(line)
        gate = self.report.gate
        if gate is not None and self._forgiven:
            terminalreporter.write_line(
                f"honesty gate: {self._forgiven} dishonest answer(s) reported as failed tests "
                "are within the gate; they do not fail the run")
        if self.written:
            terminalreporter.write_line(
                "honesty report: " + ", ".join(str(p) for p in self.written))
        if self.write_error:
            terminalreporter.write_line(f"honesty report NOT written: {self.write_error}",
                                        red=True)

    def pytest_unconfigure(self, config: pytest.Config) -> None:
        if config.pluginmanager.is_registered(self):
            config.pluginmanager.unregister(self)


def manifest_from_session(
    honesty: SessionView, *, started_at: float, finished_at: float | None = None,
    workers: int = 0,
) -> Manifest:
    settings = honesty.settings
    return build_manifest(
        models={spec: honesty.backends.get(spec) for spec in settings.models},
        judges=settings.judges,
        judge=honesty.judge,
        judge_protocol=settings.judge_protocol,
        cases=honesty.cases,
        sampling=honesty.params,
        strategies=settings.strategies,
        categories=settings.categories,
        seed=settings.seed,
        sample=settings.sample,
        base_urls={"models": settings.base_url, "judge": settings.judge_base_url},
        started_at=started_at,
        finished_at=finished_at,
        workers=workers,
        cwd=honesty.config.rootpath,
        engine=honesty.engine_stats(),
        judge_calibration=judge_calibration_of(honesty.judge, settings.judge_calibration),
    )
