"""Four xdist workers and a second pytest process share one cache folder at the same time.

The second process starts once the first has begun calling the server, and the server
answers slowly enough that both are still working when it arrives. Afterwards the cache
passes SQLite's integrity check, every distinct call reached the server exactly once
across the five processes, and both reports are equal.
"""

from __future__ import annotations

import sqlite3
from pathlib import Path

from reliability_support import (
    Figure,
    ServerProcess,
    comparable,
    finish,
    first_difference,
    plugin_args,
    record_ids,
    start_pytest,
)

from pytest_honesty.calls.cache import CACHE_FILENAME
from pytest_honesty.cases import bundled_case_files, load_case_files


def test_four_workers_and_a_second_process_on_one_cache(
    tmp_path: Path, figure: Figure
) -> None:
    n_cases = len(load_case_files(bundled_case_files()))
    calls = 2 * n_cases
    cache = tmp_path / "shared-cache"
    with ServerProcess(tmp_path / "server", "--latency", "0.2") as server:
        common = [*plugin_args(server.base_url), f"--honesty-cache-dir={cache}",
                  "--honesty-concurrency=8", "-q"]
        xdist = start_pytest([*common, "-n", "4", f"--honesty-report={tmp_path / 'rep-x'}"],
                             tmp_path / "x")
        try:
            server.wait_for(1)  # the workers are calling: start the second process now
            plain = start_pytest([*common, f"--honesty-report={tmp_path / 'rep-p'}"],
                                 tmp_path / "p")
            second = finish(plain, tmp_path / "p", tmp_path / "rep-p")
        finally:
            first = finish(xdist, tmp_path / "x", tmp_path / "rep-x")
        stats = server.stop()

    assert first.returncode in (0, 1), first.output[-3000:]
    assert second.returncode == first.returncode, second.output[-3000:]

    with sqlite3.connect(cache / CACHE_FILENAME) as db:
        assert db.execute("PRAGMA integrity_check").fetchall() == [("ok",)]
        (rows,) = db.execute("SELECT COUNT(*) FROM completions").fetchone()
        (claims,) = db.execute("SELECT COUNT(*) FROM claims").fetchone()
    assert rows == calls and claims == 0

    # each distinct call reached the server once, whoever made it
    assert stats["unique_completed_calls"] == calls
    assert stats["repeated_completed_calls"] == 0
    made_x = first.report["manifest"]["engine"]["completed"]
    made_p = second.report["manifest"]["engine"]["completed"]
    assert made_x + made_p == calls
    assert made_x > 0 and made_p > 0, "the two runs did not overlap"

    # the same results
    assert len(record_ids(first.report)) == len(set(record_ids(first.report))) == n_cases
    a, b = comparable(first.report), comparable(second.report)
    assert a == b, first_difference(a, b)

    figure("concurrency: calls made by the 4 workers / the second process",
           f"{made_x} / {made_p} of {calls}")
    figure("concurrency: calls completed twice", stats["repeated_completed_calls"])
    waits = (first.report["manifest"]["engine"]["claim_waits"]
             + second.report["manifest"]["engine"]["claim_waits"])
    figure("concurrency: waits on another process's claim", waits)
