"""A sustained run against a server limited to R requests per second stays within R
and finishes: the engine's adaptive limit halves on 429s, waits out Retry-After and
then paces its calls.

The server is a token bucket (R per second, a burst of one second's worth) that answers
429 beyond it; a bucket left to fill while the client dawdles would accept up to 2R in
a second, so "within R" is the client's doing. R is 20: well below what the client can
send here (about 60 calls a second on two busy cores), so it must adapt, and a second
run of 75 cases (150 calls) takes about 8 s. Accepted and sent requests are counted over
sliding 1-second windows of the server's request log, after the first second (the
bucket starts full).
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

    # without the slot discovery GETs (/props, /slots), which this server answers 404
    log = [(t, status) for t, status in server.request_log if status != 404]
    start = log[0][0]
    accepted = [t for t, status in log if status == 200]
    refused = [t for t, status in log if status == 429]
    assert len(accepted) == 2 * n_cases and len(log) == len(accepted) + len(refused)
    duration = log[-1][0] - start

    # within R: a little over it at most (the bucket refills while the client waits out
    # a Retry-After), far from the 2R a full bucket would let through
    steady = [t for t in accepted if t >= start + 1.0]
    assert sliding_window_max(steady) <= 1.5 * RATE
    # and the client does not hammer: what it sends stays near the rate too, and most of
    # it is accepted
    sent_steady = [t for t, _ in log if t >= start + 1.0]
    assert sliding_window_max(sent_steady) <= 2 * RATE
    assert len(refused) <= 0.35 * len(log)
    engine = report["manifest"]["engine"]
    assert engine["rate_limited"] == len(refused)

    figure(f"rate: most requests accepted in any 1-s window after the first (R={RATE})",
           sliding_window_max(steady))
    figure("rate: most requests sent in any 1-s window after the first",
           sliding_window_max(sent_steady))
    figure("rate: mean accepted per second after the first second",
           round(len(steady) / (duration - 1.0), 1))
    figure("rate: requests refused with 429", f"{len(refused)}/{len(log)}")
