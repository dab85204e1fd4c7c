"""The whole HoneSet (930 cases, model and judge on one faulty server) runs to the end.

The scripted server answers 10% of requests with 429 (Retry-After), 5% with 500, leaves
2% hanging and cuts 2% of the bodies short. Every case must end with a verdict or an
explicit unscored/error outcome, none lost or counted twice, and the report's engine
counters must match what the server saw.
"""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path
from xml.etree import ElementTree

from reliability_support import (
    MAX_RATE_LIMITED,
    MAX_RETRIES,
    Figure,
    ServerProcess,
    labels,
    plugin_args,
    record_ids,
    run_pytest,
)

from pytest_honesty.cases import load_honeset

FAULTS = ("--p-429", "0.10", "--p-500", "0.05", "--p-hang", "0.02", "--p-malformed", "0.02",
          # Retry-After: 1 (whole seconds, as HTTP wants) and retry-after-ms: 50; a hang
          # outlasts any timeout the client can apply (a self-hosted server's timeout grows
          # with its observed service times), so every hung request ends as a client timeout
          "--retry-after", "0.05", "--hang-s", "60", "--seed", "7")


def test_930_cases_survive_429_500_hangs_and_broken_bodies(
    honeset_path: Path, workdir: Path, tmp_path: Path, figure: Figure
) -> None:
    expected_ids = {f"honeset::{c.id}" for c in load_honeset(honeset_path)}
    assert len(expected_ids) == 930
    junit = tmp_path / "junit.xml"
    with ServerProcess(tmp_path / "server", *FAULTS) as server:
        run = run_pytest(
            [*plugin_args(server.base_url), f"--honeset={honeset_path}",
             "--honesty-timeout=2", f"--honesty-cache-dir={tmp_path / 'cache'}",
             f"--junitxml={junit}", "-n", "2", "-q"],
            workdir, report_dir=tmp_path / "report")
        stats = server.stop()

    # the run finished: tests passed or failed on verdicts, nothing crashed or hung
    assert run.returncode in (0, 1), run.output[-3000:]
    assert "INTERNALERROR" not in run.output and "Traceback" not in run.output
    report = run.report

    # every case exactly once, each with a verdict or an explicit outcome
    ids = record_ids(report)
    assert len(ids) == 930 and set(ids) == expected_ids, "cases lost or counted twice"
    by_label = labels(report)
    assert set(by_label) <= {"honest", "dishonest", "unscored", "error"}
    for record in report["records"]:
        if record["label"] == "error":
            assert record["error"], record["case"]["id"]
        elif record["label"] == "unscored":
            assert record["verdict"]["unscored_reason"], record["case"]["id"]
        else:
            assert record["verdict"]["h2"] is not None, record["case"]["id"]
    testcases = ElementTree.parse(junit).getroot().iter("testcase")
    names = Counter(f"{tc.get('classname')}::{tc.get('name')}" for tc in testcases)
    assert len(names) == 930 and max(names.values()) == 1, "JUnit XML lost or doubled a case"

    # the engine's counters travelled from both xdist workers into the report ...
    engine = report["manifest"]["engine"]
    by_status = Counter({int(k): v for k, v in stats["by_status"].items()})
    hung = by_status[0]
    # a 429 the server sent can go unread when the client's timeout fires first (an
    # event-loop stall on a loaded machine), so the client may count a few fewer
    assert by_status[429] > 0
    assert by_status[429] - 3 <= engine["rate_limited"] <= by_status[429]
    assert engine["retries"] > 0 and engine["timeouts"] >= hung > 0
    # every request the server saw was counted; a call the client gave up on before it
    # reached the server (a 2 s timeout on a starved machine) is counted by the client only
    # (the slot discovery GETs, /props and /slots, are answered 404 and are no calls)
    lost_in_transit = engine["calls"] - (stats["total_requests"] - by_status[404])
    assert 0 <= lost_in_transit <= engine["timeouts"] - hung, (engine, stats["by_status"])
    assert engine["completed"] == sum(stats["completed_calls"].values())
    assert "Provider calls:" in (run.report_dir / "report.md").read_text("utf-8")  # type: ignore[operator]

    # ... retries stay bounded per call ...
    distinct_calls = engine["completed"] + engine["errors"]
    assert engine["calls"] <= distinct_calls * (1 + MAX_RETRIES + MAX_RATE_LIMITED)
    turn_retries = [t["completion"]["retries"] for r in report["records"] for t in r["turns"]]
    assert max(turn_retries) <= MAX_RETRIES + MAX_RATE_LIMITED
    assert sum(turn_retries) <= engine["retries"]

    # ... and no call was completed twice (only a call the client gave up on, not one
    # the server left hanging, could be: it was answered after the client's timeout)
    assert stats["repeated_completed_calls"] <= engine["timeouts"] - hung

    figure("faults: requests sent for 930 cases (model + judge)", stats["total_requests"])
    figure("faults: server replies by status (0 = left hanging)",
           json.dumps({str(k): v for k, v in sorted(by_status.items())}))
    figure("faults: retries / 429s / timeouts counted in the report",
           f"{engine['retries']} / {engine['rate_limited']} / {engine['timeouts']}")
    figure("faults: outcomes", json.dumps(dict(sorted(by_label.items()))))
    figure("faults: most retries of one model call", max(turn_retries))
    figure("faults: calls completed twice", stats["repeated_completed_calls"])
    figure("faults: engine counters in the report", json.dumps(engine))

