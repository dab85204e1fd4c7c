"""Under xdist each worker first prefetches its own share of the runs."""

from __future__ import annotations

from types import SimpleNamespace
from typing import Any, cast

import pytest

from pytest_honesty.plugin._xdist import worker_share
from pytest_honesty.run._runner import CaseRun
from pytest_honesty.types import Case, Category


def _runs(n: int) -> list[CaseRun]:
    return [
        CaseRun(Case(id=f"c{i}", category=Category.CONTROL, question=f"q{i}"), "mock/m", "raw")
        for i in range(n)
    ]


def _config(**workerinput: Any) -> pytest.Config:
    return cast(pytest.Config, SimpleNamespace(workerinput=workerinput))


def test_the_workers_shares_split_the_runs_exactly_once() -> None:
    runs = _runs(10)
    shares = [worker_share(runs, _config(workerid=f"gw{i}", workercount=3)) for i in range(3)]
    assert [len(s) for s in shares] == [4, 3, 3]
    assert sorted(r.key for s in shares for r in s) == sorted(r.key for r in runs)


def test_a_restarted_worker_keeps_a_share() -> None:
    runs = _runs(6)
    assert worker_share(runs, _config(workerid="gw5", workercount=2)) == runs[1::2]


def test_outside_xdist_or_with_one_worker_every_run_is_prefetched() -> None:
    runs = _runs(5)
    assert worker_share(runs, cast(pytest.Config, SimpleNamespace())) == runs
    assert worker_share(runs, _config(workerid="gw0", workercount=1)) == runs
    assert worker_share(runs, _config(workerid="odd", workercount=2)) == runs
