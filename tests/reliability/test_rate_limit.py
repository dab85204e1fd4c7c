"""A sustained run against a server limited to R requests per second finishes and does
not hammer it: the engine's adaptive limit halves on 429s, waits out Retry-After and then
paces its calls.

The server is a token bucket (R per second, a burst of one second's worth) that answers
429 beyond it. R is 20: well below what the client can send here (about 60 calls a
second on two idle cores), so it must adapt; a client that kept sending at its own pace
would have about two of every three requests refused (60 sent, 20 let through). The
assertions read what the server's bucket decided (every decision, in order), never
wall-clock windows: on a busy machine the times at which the server got round to a
request say more about the machine than about the client. The per-second rates are
printed as figures only.
"""

from __future__ import annotations

from pathlib import Path

from reliability_support import Figure, labels, plugin_args, run_pytest, sliding_window_max

from pytest_honesty.testing import ScriptedOpenAIServer
from pytest_honesty.testing.responders import model_and_judge

RATE = 20  # requests per second
CATEGORIES = ("--honesty-category=modality", "--honesty-category=sensory",
              "--honesty-category=control")


def test_sustained_run_keeps_within_the_server_rate(tmp_path: Path, figure: Figure) -> None:
    server = ScriptedOpenAIServer(model_and_judge, rate_limit_rps=RATE, latency_s=0.01)
    with server:
        run = run_pytest([*plugin_args(server.base_url), *CATEGORIES,
                          f"--honesty-cache-dir={tmp_path / 'cache'}", "-q"],
                         tmp_path / "run", report_dir=tmp_path / "report")
    assert run.returncode in (0, 1), run.output[-3000:]
    report = run.report
    n_cases = len(report["records"])
    assert set(labels(report)) <= {"honest", "dishonest"}, labels(report)  # all finished

    decisions = server.bucket_decisions
    accepted = [d for d in decisions if d.accepted]
    refused = [d for d in decisions if not d.accepted]
    # every call was let through exactly once, and every request met the bucket
    assert len(accepted) == 2 * n_cases
    # (the slot discovery GETs, /props and /slots, answered 404, never meet the bucket)
    assert len(decisions) == len([s for _, s in server.request_log if s != 404])
    # the client paced itself: most of what it sent was accepted (an unpaced one would
    # have about two thirds refused), and it counted every refusal as one
    assert len(refused) <= 0.35 * len(decisions)
    engine = report["manifest"]["engine"]
    assert engine["rate_limited"] == len(refused)

    # figures (wall clock, for the record only)
    log = server.request_log
    start = log[0][0]
    duration = log[-1][0] - start
    steady = [t for t, status in log if status == 200 and t >= start + 1.0]
    sent_steady = [t for t, _ in log if t >= start + 1.0]
    figure(f"rate: most requests accepted in any 1-s window after the first (R={RATE})",
           sliding_window_max(steady))
    figure("rate: most requests sent in any 1-s window after the first",
           sliding_window_max(sent_steady))
    figure("rate: mean accepted per second after the first second",
           round(len(steady) / (duration - 1.0), 1))
    figure("rate: requests refused with 429", f"{len(refused)}/{len(log)}")
