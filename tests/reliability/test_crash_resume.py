"""kill -9 half-way, then run again: the report equals an uninterrupted run's and no
call the first run had finished is made again.

pytest runs in its own process group and the scripted server in its own process, so
the server's counters outlive the killed run. A call the server had answered but the
client had not yet stored when it died cannot be saved by anyone; the test measures
those exactly (server completions minus cache rows at the kill) and checks that the
rerun repeats those and nothing else.
"""

from __future__ import annotations

import os
import signal
import sqlite3
from pathlib import Path

from reliability_support import (
    Figure,
    ServerProcess,
    comparable,
    finish,
    first_difference,
    kill_group,
    labels,
    plugin_args,
    run_pytest,
    start_pytest,
)

from pytest_honesty.calls.cache import CACHE_FILENAME
from pytest_honesty.cases import bundled_case_files, load_case_files

#: slow enough that the kill lands mid-run: 4 calls at a time, 50 ms each
PACE = ("--latency", "0.05")
CONCURRENCY = 4


def _stored_completions(cache_dir: Path) -> int:
    with sqlite3.connect(cache_dir / CACHE_FILENAME) as db:
        (count,) = db.execute("SELECT COUNT(*) FROM completions").fetchone()
    return int(count)


def test_kill_9_half_way_then_rerun_gives_the_uninterrupted_report(
    tmp_path: Path, figure: Figure
) -> None:
    n_cases = len(load_case_files(bundled_case_files()))
    calls = 2 * n_cases  # one model answer and one judge call per case

    def args(server: ServerProcess, cache: str) -> list[str]:
        return [*plugin_args(server.base_url), f"--honesty-concurrency={CONCURRENCY}",
                f"--honesty-cache-dir={tmp_path / cache}", "-q"]

    # the uninterrupted run, on its own server and cache, at the same time as the other
    with ServerProcess(tmp_path / "server-a", *PACE) as server_a, \
            ServerProcess(tmp_path / "server-b", *PACE) as server:
        uninterrupted = start_pytest([*args(server_a, "cache-a"),
                                      f"--honesty-report={tmp_path / 'report-a'}"],
                                     tmp_path / "a")
        try:
            proc = start_pytest(
                [*args(server, "cache-b"), f"--honesty-report={tmp_path / 'b1'}"],
                tmp_path / "b")
            server.wait_for(calls // 2)
            kill_group(proc)  # SIGKILL to the whole group
            assert proc.returncode == -9
            at_kill = server.settled()  # replies delivered before the kill
            stored = _stored_completions(tmp_path / "cache-b")
            rerun = run_pytest(args(server, "cache-b"), tmp_path / "b",
                               report_dir=tmp_path / "report-b")
            final = server.stop()
        finally:
            baseline = finish(uninterrupted, tmp_path / "a", tmp_path / "report-a")
    assert baseline.returncode in (0, 1), baseline.output[-3000:]

    assert not (tmp_path / "b1").exists(), "the killed run must not have written a report"
    assert rerun.returncode == baseline.returncode, rerun.output[-3000:]
    completed_at_kill = sum(at_kill["completed_calls"].values())
    assert at_kill["repeated_completed_calls"] == 0
    assert calls // 2 <= completed_at_kill < calls, "the kill did not land half-way"
    lost_in_flight = completed_at_kill - stored
    assert 0 <= lost_in_flight <= CONCURRENCY

    # the rerun made exactly the calls that were not stored, each once
    assert final["unique_completed_calls"] == calls
    assert final["repeated_completed_calls"] == lost_in_flight
    engine = rerun.report["manifest"]["engine"]
    assert engine["completed"] == calls - stored

    # and its report is the uninterrupted run's
    a, b = comparable(baseline.report), comparable(rerun.report)
    assert a == b, first_difference(a, b)
    assert len(rerun.report["records"]) == n_cases
    assert sum(labels(rerun.report).values()) == n_cases

    figure("crash: calls completed by the server when killed", f"{completed_at_kill}/{calls}")
    figure("crash: answered but not yet stored at the kill (re-issued)", lost_in_flight)
    figure("crash: calls made by the rerun", engine["completed"])
    figure("crash: claims of the dead run taken over", engine["takeovers"])


def test_sigterm_half_way_finishes_the_calls_in_flight_and_loses_none(
    tmp_path: Path, figure: Figure
) -> None:
    # What CI services send before SIGKILL: the run starts no new call, finishes and
    # stores those in flight, and ends as interrupted; the rerun repeats no call.
    calls = 2 * len(load_case_files(bundled_case_files()))
    args = [f"--honesty-concurrency={CONCURRENCY}", f"--honesty-cache-dir={tmp_path / 'cache'}",
            "-q"]
    with ServerProcess(tmp_path / "server", *PACE) as server:
        proc = start_pytest([*plugin_args(server.base_url), *args], tmp_path / "run")
        server.wait_for(calls // 4)
        os.kill(proc.pid, signal.SIGTERM)
        stopped = finish(proc, tmp_path / "run", timeout_s=60)
        at_stop = server.settled()
        stored = _stored_completions(tmp_path / "cache")
        rerun = run_pytest([*plugin_args(server.base_url), *args], tmp_path / "run")
        final = server.stop()

    assert stopped.returncode == 2, stopped.output[-3000:]
    assert "terminated (SIGTERM): the calls in flight were finished and stored" in stopped.output
    delivered = sum(at_stop["completed_calls"].values())
    assert calls // 4 <= delivered < calls, "the signal did not land mid-run"
    assert stored == delivered, "a reply the stopped run received was not stored"
    assert rerun.returncode in (0, 1), rerun.output[-3000:]
    assert final["unique_completed_calls"] == calls
    assert final["repeated_completed_calls"] == 0
    figure("sigterm: calls delivered to the stopped run / stored by it", f"{delivered}/{stored}")
    figure("sigterm: calls made by the rerun", final["unique_completed_calls"] - delivered)
