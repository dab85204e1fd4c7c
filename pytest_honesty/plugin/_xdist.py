"""pytest-xdist support: the keys passed to and from workers, each worker's share of
the runs and of the concurrency, and the controller's side (:class:`XdistCoordination`)."""

from __future__ import annotations

import math
import os
import shutil
import tempfile
from collections import Counter
from pathlib import Path
from typing import Any

import pytest

from ..calls.cache import Cache
from ..run._runner import CaseRun
from ._options import HonestyConfig
from ._progress_bar import ProgressSink, open_display, read_worker_files, wait_for_workers

__all__ = [
    "ENGINE_STATS",
    "NOCACHE_PATH",
    "PROGRESS_DIR",
    "RUN_ID",
    "XdistCoordination",
    "is_xdist_controller",
    "is_xdist_worker",
    "per_worker",
    "worker_share",
]

NOCACHE_PATH = "honesty_nocache_path"
#: workerinput key of the folder where workers leave their progress counters
PROGRESS_DIR = "honesty_progress_dir"
RUN_ID = "honesty_run_id"
#: workeroutput key of a worker's engine counters
ENGINE_STATS = "honesty_engine_stats"


def worker_share(runs: list[CaseRun], config: pytest.Config) -> list[CaseRun]:
    """An xdist worker's share of the runs: every Nth one in collection order (the
    same order on every worker). Each worker first computes its own share, so the
    workers split the calls without contending for the same claims; xdist may then
    send it any test, whose result is in the cache by then (or is made or waited
    for on demand)."""
    workerinput = getattr(config, "workerinput", None)
    if not isinstance(workerinput, dict):
        return runs
    count = int(workerinput.get("workercount") or 1)
    worker = str(workerinput.get("workerid", ""))
    if count <= 1 or not worker.startswith("gw") or not worker[2:].isdigit():
        return runs
    return runs[int(worker[2:]) % count :: count]


def per_worker(concurrency: int | None) -> int | None:
    """Each xdist worker takes its share, so the run as a whole stays near the limit."""
    workers = int(os.environ.get("PYTEST_XDIST_WORKER_COUNT", "1") or 1)
    if concurrency is None or workers <= 1:
        return concurrency
    return max(1, math.ceil(concurrency / workers))


class XdistCoordination:
    """Controller side under xdist: the workers get the run's id, and with
    --honesty-no-cache they still share one throw-away cache file, so no call is made
    twice across them."""

    def __init__(self, settings: HonestyConfig, run_id: str) -> None:
        self.run_id = run_id
        self.path: Path | None = None
        #: the engine counters of the workers that finished, summed
        self.worker_stats: Counter[str] = Counter()
        if settings.no_cache:
            folder = Path(tempfile.mkdtemp(prefix="honesty-run-"))
            self.path = folder / "honesty-cache.sqlite3"
        #: made for the first worker (only under -n): where workers leave their counters
        self.progress_dir: Path | None = None
        self._display: ProgressSink | None = None
        self._workers = 0

    def pytest_configure_node(self, node: Any) -> None:
        node.workerinput[RUN_ID] = self.run_id
        if self.path is not None:
            node.workerinput[NOCACHE_PATH] = str(self.path)
        if self.progress_dir is None:
            self.progress_dir = Path(tempfile.mkdtemp(prefix="honesty-progress-"))
        self._workers += 1
        node.workerinput[PROGRESS_DIR] = str(self.progress_dir)

    @pytest.hookimpl(tryfirst=True)
    def pytest_runtestloop(self, session: pytest.Session) -> None:
        # the workers answer every case before the first test reports: until then the
        # controller shows the sum of their counters
        folder = self.progress_dir
        if folder is not None and not session.config.option.collectonly:
            reporter = session.config.pluginmanager.get_plugin("terminalreporter")
            self._display = open_display(lambda: read_worker_files(folder), reporter,
                                         polled=True)

    def pytest_runtest_logreport(self) -> None:
        # a worker runs tests only once every answer is in (it waits for the others'
        # claims), so the first report ends the answering phase
        self._close_display()

    def _close_display(self) -> None:
        if self._display is not None:
            display, self._display = self._display, None
            if self.progress_dir is not None:
                wait_for_workers(self.progress_dir, self._workers)
            display.close()

    def pytest_testnodedown(self, node: Any, error: object) -> None:
        output = getattr(node, "workeroutput", None) or {}
        stats = output.get(ENGINE_STATS)
        if isinstance(stats, dict):
            self.worker_stats.update({str(k): int(v) for k, v in stats.items()})

    def pytest_unconfigure(self) -> None:
        self._close_display()
        if self.progress_dir is not None:
            shutil.rmtree(self.progress_dir, ignore_errors=True)
        if self.path is not None:
            Cache.remove_files(self.path)
            shutil.rmtree(self.path.parent, ignore_errors=True)


def is_xdist_worker(config: pytest.Config) -> bool:
    return hasattr(config, "workerinput")


def is_xdist_controller(config: pytest.Config) -> bool:
    return bool(getattr(config.option, "dist", "no") != "no" and not is_xdist_worker(config))
