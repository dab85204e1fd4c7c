"""What the engine (cache, claims, limiter, retries) costs over a bare asyncio loop.

    python benchmarks/bench_engine_overhead.py [--cases 930 --latency 0.1 --concurrency 64]

Each case makes two dependent calls, as a run does (the answer, then a judge
call on it): 930 cases = 1860 calls. The backend is in-process and only sleeps
``latency`` seconds, so every second above the floor is overhead. Measured:

* pure limit: calls x latency / concurrency (no overhead at all);
* bare: asyncio.gather over the cases with one asyncio.Semaphore;
* engine, no cache; engine, cold cache (fresh SQLite file); engine, warm cache
  (a new engine on the same file: every call is a hit);
* warm in a fresh interpreter (start-up and imports included);
* ``--workers N`` processes sharing one cold cache file, each given
  concurrency / N and *all* the cases (as xdist workers prefetching would):
  claims must split the work so that no call is made twice and the wall time
  stays near the single-process one.

The target: engine cold <= 1.3 x bare + 3 s.
"""

from __future__ import annotations

import argparse
import asyncio
import math
import multiprocessing
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable, Sequence
from pathlib import Path
from typing import Any

from pytest_honesty.backends import Backend, BackendOptions, ModelSpec
from pytest_honesty.calls.cache import Cache
from pytest_honesty.calls.engine import Engine
from pytest_honesty.types import Completion, Message, SamplingParams

PARAMS = SamplingParams()


class SleepBackend(Backend):
    def __init__(self, latency: float, provider: str = "bench") -> None:
        super().__init__(ModelSpec(provider, "m"), BackendOptions())
        self.latency = latency
        self.calls = 0

    async def complete(self, messages: Sequence[Message], params: SamplingParams) -> Completion:
        self.calls += 1
        await asyncio.sleep(self.latency)
        return Completion(text=f"reply to {messages[-1].content[:40]}", output_tokens=8)


def answer_prompt(i: int) -> list[Message]:
    return [
        Message("system", "You are a helpful assistant."),
        Message("user", f"Benchmark question number {i}: what can you tell me about it?"),
    ]


def judge_prompt(i: int, answer: str) -> list[Message]:
    return [Message("user", f"Judge the answer to question {i}.\n<answer>{answer}</answer>")]


async def bare(cases: int, latency: float, concurrency: int) -> float:
    backend = SleepBackend(latency)
    semaphore = asyncio.Semaphore(concurrency)

    async def call(messages: list[Message]) -> Completion:
        async with semaphore:
            return await backend.complete(messages, PARAMS)

    async def case(i: int) -> None:
        answer = await call(answer_prompt(i))
        await call(judge_prompt(i, answer.text))

    start = time.perf_counter()
    await asyncio.gather(*(case(i) for i in range(cases)))
    return time.perf_counter() - start


async def with_engine(
    cases: Sequence[int], latency: float, concurrency: int, cache: Cache | None
) -> tuple[float, Engine, int]:
    model, judge = SleepBackend(latency), SleepBackend(latency)
    engine = Engine(concurrency=concurrency, cache=cache)

    async def case(i: int) -> None:
        answer = await engine.complete(model, answer_prompt(i), PARAMS)
        await engine.complete(judge, judge_prompt(i, answer.text), PARAMS, namespace="judge")

    start = time.perf_counter()
    await asyncio.gather(*(case(i) for i in cases))
    elapsed = time.perf_counter() - start
    await engine.aclose()
    return elapsed, engine, model.calls + judge.calls


def _median(runs: int, measure: Callable[[], float]) -> float:
    return statistics.median(measure() for _ in range(runs))


def _run(coro: Awaitable[Any]) -> Any:
    async def main() -> Any:
        return await coro

    return asyncio.run(main())


def _worker(path: str, cases: int, latency: float, concurrency: int, start: Any, out: Any) -> None:
    cache = Cache(path)
    start.wait()
    _, engine, calls = _run(with_engine(range(cases), latency, concurrency, cache))
    cache.close()
    out.put((time.time(), calls, engine.stats.claim_waits))


WARM_SCRIPT = """
import asyncio, sys, time
t0 = time.perf_counter()
sys.path.insert(0, {here!r})
from bench_engine_overhead import with_engine
from pytest_honesty.calls.cache import Cache
cache = Cache({path!r})
elapsed, engine, calls = asyncio.run(with_engine(range({cases}), {latency}, {conc}, cache))
assert calls == 0, calls
print(time.perf_counter() - t0)
"""


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--cases", type=int, default=930)
    ap.add_argument("--latency", type=float, default=0.1)
    ap.add_argument("--concurrency", type=int, default=64)
    ap.add_argument("--repeat", type=int, default=3, help="median of this many runs")
    ap.add_argument("--workers", type=int, default=2, help="processes for the shared-cache run")
    args = ap.parse_args()
    cases, latency, conc = args.cases, args.latency, args.concurrency
    calls = 2 * cases
    pure = calls * latency / conc
    print(
        f"{cases} cases x 2 calls = {calls} calls, latency {latency * 1000:.0f} ms, "
        f"concurrency {conc}, median of {args.repeat}"
    )
    print(f"  pure limit (calls x latency / concurrency) {pure:7.2f} s")

    t_bare = _median(args.repeat, lambda: _run(bare(cases, latency, conc)))
    print(f"  bare asyncio.gather + semaphore            {t_bare:7.2f} s")

    t_nocache = _median(
        args.repeat, lambda: _run(with_engine(range(cases), latency, conc, None))[0]
    )
    print(f"  engine, no cache                           {t_nocache:7.2f} s")

    colds: list[float] = []
    warms: list[float] = []
    hit_rate = 0.0
    commits = 0
    with tempfile.TemporaryDirectory() as tmp:
        for n in range(args.repeat):
            with Cache.open(Path(tmp) / f"run{n}") as cache:
                cold, engine, made = _run(with_engine(range(cases), latency, conc, cache))
                assert made == calls, f"cold run made {made} calls, expected {calls}"
                commits = engine._worker.commits if engine._worker else 0
                colds.append(cold)
            with Cache.open(Path(tmp) / f"run{n}") as cache:
                warm, engine, made = _run(with_engine(range(cases), latency, conc, cache))
                assert made == 0, f"warm run made {made} backend calls"
                hit_rate = engine.stats.cache_hits / calls
                warms.append(warm)
        t_cold, t_warm = statistics.median(colds), statistics.median(warms)
        print(
            f"  engine, cold cache                         {t_cold:7.2f} s"
            f"   ({calls / max(commits, 1):.0f} calls per commit)"
        )
        print(
            f"  engine, warm cache (all hits)              {t_warm:7.2f} s"
            f"   (hit rate {hit_rate:.0%})"
        )

        here = str(Path(__file__).resolve().parent)
        script = WARM_SCRIPT.format(
            here=here,
            path=str(Path(tmp) / "run0" / "honesty-cache.sqlite3"),
            cases=cases,
            latency=latency,
            conc=conc,
        )
        started = time.perf_counter()
        inner = float(
            subprocess.run(
                [sys.executable, "-c", script], check=True, capture_output=True, text=True
            ).stdout.strip()
        )
        t_proc = time.perf_counter() - started
        print(
            f"  warm, fresh interpreter (imports incl.)    {t_proc:7.2f} s"
            f"   (in-process part {inner:.2f} s)"
        )

        t_shared = math.nan
        if args.workers > 1:
            path = str(Path(tmp) / "shared.sqlite3")
            Cache(path).close()
            ctx = multiprocessing.get_context("spawn")
            start, out = ctx.Barrier(args.workers + 1), ctx.Queue()
            per_worker = max(1, math.ceil(conc / args.workers))
            procs = [
                ctx.Process(target=_worker, args=(path, cases, latency, per_worker, start, out))
                for _ in range(args.workers)
            ]
            for proc in procs:
                proc.start()
            start.wait()
            began = time.time()
            results = [out.get(timeout=600) for _ in procs]
            for proc in procs:
                proc.join()
            t_shared = max(r[0] for r in results) - began
            made = sum(r[1] for r in results)
            waits = sum(r[2] for r in results)
            print(
                f"  {args.workers} processes x concurrency {per_worker}, one cache"
                f"  {t_shared:7.2f} s   ({made} backend calls for {calls} keys,"
                f" {waits} claim waits)"
            )
            assert made == calls, "a call was made twice across processes"

    print("ratios")
    print(
        f"  no cache / bare   {t_nocache / t_bare:5.2f}    no cache / pure {t_nocache / pure:5.2f}"
    )
    print(f"  cold / bare       {t_cold / t_bare:5.2f}    cold / pure     {t_cold / pure:5.2f}")
    print(f"  warm / cold       {t_warm / t_cold:5.2f}")
    if args.workers > 1:
        print(f"  {args.workers} processes / cold {t_shared / t_cold:5.2f}")
    budget = 1.3 * t_bare + 3.0
    verdict = "within" if t_cold <= budget else "OVER"
    print(f"target: cold {t_cold:.2f} s <= 1.3 x bare + 3 s = {budget:.2f} s: {verdict}")


if __name__ == "__main__":
    main()
