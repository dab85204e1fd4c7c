"""The main job end to end: ``honesty run`` on the bundled cases, embedded model and judge.

    python benchmarks/bench_main_job.py [--sample N] [--prompting raw,curiosity]
        [--bare 12] [--batching continuous|static] [--save answers.json]

Runs the job in this process exactly as ``honesty run --report DIR`` does (a fresh,
empty answer cache; the exported model folder is reused if it is there), then a bare
one-by-one loop: one ``model.generate`` call per prompt, batch of 1, over ``--bare``
of the very prompts the job sent (every k-th model call, so that short and long
answers are both in it). Prints wall time, answer tokens, tokens/s, the ratio of the
job's tokens/s to the bare loop's, how wide the generator's batches were, how much of
the cache was padding, and whether the bare loop's greedy answers equal the job's.

The machine may be shared: the load average is printed beside every phase. The
ratio (both measured in the same process, minutes apart) is the robust figure.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import pytest

from pytest_honesty.backends._hf_runner import GenRequest, TransformersRunner
from pytest_honesty.backends._local_model import (
    default_threads,
    embedded_model_dir,
    load_causal_lm,
)
from pytest_honesty.plugin import SESSION_KEY
from pytest_honesty.run._cli_run import add_arguments
from pytest_honesty.types import Message, SamplingParams


def _load() -> str:
    one, five, _ = os.getloadavg()
    return f"load avg {one:.1f} (1 min) {five:.1f} (5 min) on {os.cpu_count()} CPUs"


class _Probe:
    """Takes what the job did from the session before it closes."""

    def __init__(self) -> None:
        self.calls: list[dict[str, Any]] = []
        self.batching: dict[str, Any] = {}
        self.settings: dict[str, Any] = {}

    @pytest.hookimpl(tryfirst=True)
    def pytest_sessionfinish(self, session: pytest.Session) -> None:
        honesty = session.config.stash[SESSION_KEY]
        for result in honesty.runner.results.values():
            response = result.response
            if response is None:
                continue
            for turn in response.turns:
                if turn.completion.cached:
                    continue
                self.calls.append({
                    "case": result.run.case.id, "strategy": result.run.strategy,
                    "turn": turn.name, "messages": [m.to_dict() for m in turn.messages],
                    "text": turn.completion.text,
                    "tokens": turn.completion.output_tokens or 0,
                })
        for backend in honesty.backends.values():
            self.batching = dict(getattr(backend, "batch_stats", {}))
            self.settings = backend.generation_settings()


def _run_job(args: argparse.Namespace, workdir: Path) -> tuple[float, int, _Probe]:
    parser = argparse.ArgumentParser()
    add_arguments(parser)
    extra = ["--honesty-cache-dir", str(workdir / "cache"), "-p", "no:xdist", "-q"]
    if args.sample:
        extra += ["--honesty-sample", str(args.sample)]
    if args.prompting:
        extra += ["--honesty-prompting", args.prompting]
    run_args = parser.parse_args(["--report", str(workdir / "report"), "--", *extra])
    probe = _Probe()
    if args.batching:
        os.environ["PYTEST_HONESTY_LOCAL_BATCHING"] = args.batching
    from pytest_honesty.run import _cli_run

    started = time.perf_counter()
    with tempfile.TemporaryDirectory(prefix="honesty-run-") as empty:
        argv = [
            f"--honesty-model={run_args.model}", f"--honesty-judge={run_args.judge}",
            f"--honesty-report={run_args.report}", "-p", "no:cacheprovider", "--rootdir", ".",
            "-W", "ignore::pytest.PytestAssertRewriteWarning",
            *[a for a in run_args.pytest_args if a != "--"], empty,
        ]
        assert _cli_run.run  # the same argv as honesty run builds (see _cli_run._pytest_main)
        code = int(pytest.main(argv, plugins=[probe]))
    return time.perf_counter() - started, code, probe


def _bare_loop(
    calls: list[dict[str, Any]], n: int, max_tokens: int
) -> tuple[float, float, int, int]:
    """One generate() per prompt over every k-th call; (wall s, CPU s, tokens, identical)."""
    step = max(1, len(calls) // n)
    subset = calls[::step][:n]
    runner = TransformersRunner(lambda: load_causal_lm(embedded_model_dir()),
                                threads=default_threads())
    state = runner.load()
    params = SamplingParams(temperature=0.0, max_tokens=max_tokens)
    state.generate([state.encode([Message("user", "Hello!")])], [params])  # warm-up
    tokens = same = 0
    started, cpu_started = time.perf_counter(), time.process_time()
    for call in subset:
        request = GenRequest(tuple(Message.from_dict(m) for m in call["messages"]), params)
        result = state.generate([state.encode(request.messages)], [params])[0]
        assert not isinstance(result, BaseException)
        tokens += result.output_tokens
        same += result.text == call["text"]
    return time.perf_counter() - started, time.process_time() - cpu_started, tokens, same


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sample", type=int, default=None, help="stratified sample of cases")
    parser.add_argument("--prompting", default=None, help="e.g. raw,curiosity (default raw)")
    parser.add_argument("--bare", type=int, default=12, help="prompts in the bare loop")
    parser.add_argument("--max-tokens", type=int, default=256, help="the run's max_tokens")
    parser.add_argument("--batching", choices=("continuous", "static"), default=None)
    parser.add_argument("--save", type=Path, default=None, help="write the answers here")
    args = parser.parse_args()

    print(f"job starts: {_load()}", flush=True)
    with tempfile.TemporaryDirectory(prefix="bench-main-job-") as tmp:
        cpu0 = time.process_time()
        wall, code, probe = _run_job(args, Path(tmp))
        cpu = time.process_time() - cpu0
    print(f"job ends (exit {code}): {_load()}", flush=True)
    tokens = sum(c["tokens"] for c in probe.calls)
    if args.save:
        args.save.write_text(json.dumps(probe.calls, indent=1), encoding="utf-8")
    print(f"bare loop starts: {_load()}", flush=True)
    bare_wall, bare_cpu, bare_tokens, same = _bare_loop(probe.calls, args.bare, args.max_tokens)
    print(f"bare loop ends: {_load()}", flush=True)

    job_rate = tokens / wall
    bare_rate = bare_tokens / bare_wall
    n = min(args.bare, len(probe.calls))
    print(f"\nmain job: {len(probe.calls)} model calls, prompting "
          f"{args.prompting or 'raw'}, settings {probe.settings}")
    print(f"{'phase':<22} {'wall s':>8} {'CPU s':>8} {'tokens':>7} {'tok/s':>7} {'tok/CPU s':>9}")
    print(f"{'honesty run (all)':<22} {wall:>8.1f} {cpu:>8.1f} {tokens:>7} {job_rate:>7.1f}"
          f" {tokens / cpu:>9.1f}")
    gen_s = float(probe.batching.get("prefill_s", 0)) + float(probe.batching.get("decode_s", 0))
    if gen_s:
        print(f"{'  of which generating':<22} {gen_s:>8.1f} {'':>8} {tokens:>7}"
              f" {tokens / gen_s:>7.1f}")
    print(f"{f'bare loop ({n} calls)':<22} {bare_wall:>8.1f} {bare_cpu:>8.1f} {bare_tokens:>7}"
          f" {bare_rate:>7.1f} {bare_tokens / bare_cpu:>9.1f}")
    print(f"ratio job tok/s (whole wall) / bare loop tok/s: {job_rate / bare_rate:.2f}x "
          "(target >= 5x)")
    print(f"ratio per CPU second (job incl. load, judge, report / bare loop): "
          f"{tokens / cpu / (bare_tokens / bare_cpu):.2f}x")
    print(f"generator: {probe.batching}")
    print(f"bare loop answers identical to the job's: {same}/{n}")
    sys.exit(code)


if __name__ == "__main__":
    main()
