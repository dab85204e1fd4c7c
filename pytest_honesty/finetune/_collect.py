"""A tiny pytest plugin that writes every honesty record to a JSONL file.

``honesty finetune run`` loads it with ``-p pytest_honesty.finetune._collect`` in
the pytest process it starts, so that the pipeline gets the per-case records
(answers, turns, verdicts) whether or not a run report is written. The file is
named by ``$HONESTY_FINETUNE_RECORDS``; without it the plugin does nothing.

The records are those the session attaches to each test report (they reach the
xdist controller too), one JSON object per line, written when the session ends.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import pytest

from .._atomic import atomic_write_text
from .._transport import records_in

__all__ = ["RECORDS_ENV"]

#: the environment variable that names the output file
RECORDS_ENV = "HONESTY_FINETUNE_RECORDS"

# Keyed by test and run: the teardown report may carry the same user_properties
# as the call report, and the later one (with the final outcome) wins.
_records: dict[tuple[str, ...], dict[str, Any]] = {}


def _key(record: dict[str, Any]) -> tuple[str, ...]:
    case = record.get("case") or {}
    return (
        str(record.get("nodeid", "")),
        str(record.get("model", "")),
        str(record.get("strategy", "")),
        str(case.get("source", "")),
        str(case.get("id", "")),
    )


def pytest_runtest_logreport(report: pytest.TestReport) -> None:
    if not os.environ.get(RECORDS_ENV):
        return
    for record in records_in(report.user_properties):
        if report.when != "teardown" or _key(record) not in _records:
            record["outcome"] = "xfailed" if hasattr(report, "wasxfail") else report.outcome
        else:
            record["outcome"] = _records[_key(record)].get("outcome", report.outcome)
        _records[_key(record)] = record


@pytest.hookimpl(tryfirst=True)
def pytest_sessionfinish(session: pytest.Session) -> None:
    target = os.environ.get(RECORDS_ENV)
    if not target or hasattr(session.config, "workerinput"):
        return
    atomic_write_text(
        Path(target), "".join(json.dumps(r, ensure_ascii=False) + "\n" for r in _records.values())
    )
