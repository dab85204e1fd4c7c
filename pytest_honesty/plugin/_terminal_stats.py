"""Keeps pytest's end-of-run failure summary linear in the number of honesty cases.

pytest's terminal reporter files every passed setup and teardown report under the
category ``""``, and for each failed test scans that whole list for the test's
teardown output (``TerminalReporter._get_teardown_reports``): quadratic, about half
a second of a 930-case run in which half the cases fail. A passed setup or teardown
report with no captured sections prints nothing in any summary, so for the plugin's
own case items it is taken off that list as soon as every plugin has seen it.
"""

from __future__ import annotations

from collections.abc import Generator
from typing import Any

import pytest

__all__ = ["CASE_NODEID_PREFIX", "QuietPhaseReports"]

#: nodeids of the plugin's own case items start with this (``honesty/<source>::<id>``)
CASE_NODEID_PREFIX = "honesty/"


class QuietPhaseReports:
    NAME = "honesty-quiet-phase-reports"

    def __init__(self, config: pytest.Config) -> None:
        self.config = config

    @pytest.hookimpl(wrapper=True)
    def pytest_runtest_logreport(self, report: pytest.TestReport) -> Generator[None, Any, Any]:
        result = yield
        if (
            report.when != "call"
            and report.passed
            and not report.sections
            and report.nodeid.startswith(CASE_NODEID_PREFIX)
        ):
            reporter = self.config.pluginmanager.get_plugin("terminalreporter")
            filed = getattr(reporter, "stats", {}).get("")
            # the reporter has just appended it; anything else means another order of
            # events than this was written for, and the report stays where it is
            if filed and filed[-1] is report:
                filed.pop()
        return result
