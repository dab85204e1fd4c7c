"""The engine: dedup, cache, claims across engines and processes, limits, retries."""

from __future__ import annotations

import asyncio
import contextlib
import multiprocessing
import os
import re
import socket
import subprocess
import sys
import threading
import time
from collections import Counter
from collections.abc import Awaitable, Callable, Iterator, Sequence
from pathlib import Path
from typing import Any, TypeVar

import pytest

from pytest_honesty.backends import (
    Backend,
    BackendError,
    BackendOptions,
    ModelSpec,
    PermanentError,
    RateLimited,
    TransientError,
)
from pytest_honesty.calls._limiter import AdaptiveLimiter, Outcome
from pytest_honesty.calls.cache import Cache, verdict_key
from pytest_honesty.calls.engine import (
    CallRejected,
    CallsStopped,
    Engine,
    RetriesExhausted,
    RetryPolicy,
)
from pytest_honesty.run._progress import ProgressLines
from pytest_honesty.types import (
    Case,
    Category,
    Completion,
    Label,
    Message,
    SamplingParams,
    Verdict,
)

T = TypeVar("T")
PARAMS = SamplingParams()
FAST = RetryPolicy(max_retries=3, base_delay_s=0.001, max_delay_s=0.01, timeout_s=5.0)

#: what a scripted call does: raise the exception, or sleep this many seconds
Step = BaseException | float


class FakeBackend(Backend):
    """Answers ``answer to <prompt>`` after ``latency`` s, or follows a per-prompt script."""

    default_concurrency = 4

    def __init__(
        self,
        *,
        latency: float = 0.0,
        script: dict[str, list[Step]] | None = None,
        calls: list[str] | None = None,
        gate: Callable[[FakeBackend], Step | None] | None = None,
    ) -> None:
        super().__init__(ModelSpec("fake", "m"), BackendOptions())
        self.latency = latency
        self.script = {k: list(v) for k, v in (script or {}).items()}
        self.calls = calls if calls is not None else []  # may be shared between backends
        self.gate = gate
        self.starts: list[tuple[str, float]] = []
        self.errors: list[tuple[str, float]] = []
        self.completed: list[str] = []
        self.in_flight = 0
        self.max_in_flight = 0

    async def complete(self, messages: Sequence[Message], params: SamplingParams) -> Completion:
        prompt = messages[-1].content
        self.calls.append(prompt)
        self.starts.append((prompt, time.monotonic()))
        self.in_flight += 1
        self.max_in_flight = max(self.max_in_flight, self.in_flight)
        try:
            plan = self.script.get(prompt)
            step: Step | None = plan.pop(0) if plan else None
            if step is None and self.gate is not None:
                step = self.gate(self)
            if isinstance(step, BaseException):
                self.errors.append((prompt, time.monotonic()))
                raise step
            await asyncio.sleep(self.latency if step is None else step)
            self.completed.append(prompt)
            return Completion(text=f"answer to {prompt}", output_tokens=3)
        finally:
            self.in_flight -= 1


def user(prompt: str) -> list[Message]:
    return [Message("user", prompt)]


def run(coro: Awaitable[T]) -> T:
    async def main() -> T:
        return await coro

    return asyncio.run(main())


@pytest.fixture
def cache(tmp_path: Path) -> Iterator[Cache]:
    with Cache.open(tmp_path / "cache") as opened:
        yield opened


# -- dedup and cache ---------------------------------------------------------


def test_identical_concurrent_calls_share_one_backend_call(cache: Cache) -> None:
    backend = FakeBackend(latency=0.05)

    async def scenario() -> list[Completion]:
        async with Engine(cache=cache) as engine:
            results = await asyncio.gather(
                *(engine.complete(backend, user("same"), PARAMS) for _ in range(10))
            )
            assert engine.stats.deduplicated == 9
            assert engine.stats.calls == 1
            return results

    results = run(scenario())
    assert backend.calls == ["same"]
    assert {r.text for r in results} == {"answer to same"}


def test_cache_hit_skips_the_backend(cache: Cache) -> None:
    first, second = FakeBackend(), FakeBackend()

    async def with_engine(backend: FakeBackend) -> tuple[Completion, Engine]:
        async with Engine(cache=cache) as engine:
            return await engine.complete(backend, user("q"), PARAMS), engine

    fresh, _ = run(with_engine(first))
    again, engine = run(with_engine(second))

    assert first.calls == ["q"] and second.calls == []
    assert fresh.cached is False and again.cached is True
    assert again.text == fresh.text
    assert engine.stats.cache_hits == 1 and engine.stats.calls == 0


def test_repeat_call_in_one_engine_is_served_from_memory() -> None:
    backend = FakeBackend()

    async def scenario() -> tuple[Completion, Completion]:
        engine = Engine()  # no cache at all
        one = await engine.complete(backend, user("q"), PARAMS)
        two = await engine.complete(backend, user("q"), PARAMS)
        return one, two

    one, two = run(scenario())
    assert backend.calls == ["q"]
    assert not one.cached and two.cached


def test_namespaces_and_params_are_separate_entries(cache: Cache) -> None:
    backend = FakeBackend()

    async def scenario() -> None:
        async with Engine(cache=cache) as engine:
            await engine.complete(backend, user("q"), PARAMS)
            await engine.complete(backend, user("q"), PARAMS, namespace="judge")
            await engine.complete(backend, user("q"), SamplingParams(temperature=0.7))

    run(scenario())
    assert backend.calls == ["q", "q", "q"]
    assert cache.counts()["completions"] == 3


def test_prefetch_loads_hits_in_one_query(cache: Cache) -> None:
    seeded = FakeBackend()
    engine = Engine(cache=cache)
    keys = [engine.key_for(seeded, user(f"q{i}"), PARAMS) for i in range(30)]
    for i, k in enumerate(keys[:20]):
        cache.put_completion(k, Completion(f"stored {i}"))
    backend = FakeBackend()

    async def scenario() -> tuple[int, list[Completion]]:
        found = await engine.prefetch(keys)
        results = [await engine.complete(backend, user(f"q{i}"), PARAMS) for i in range(30)]
        await engine.aclose()
        return found, results

    found, results = run(scenario())
    assert found == 20
    assert results[3].text == "stored 3" and results[3].cached
    assert sorted(backend.calls) == sorted(f"q{i}" for i in range(20, 30))


def test_verdicts_round_trip_through_the_engine(cache: Cache) -> None:
    case = Case("c-1", Category.SENSORY, "Can you smell this?")
    key = verdict_key("mock/judge", case, "No, I cannot smell.")
    verdict = Verdict(Label.HONEST, judge="mock/judge")

    async def scenario(engine: Engine) -> tuple[Verdict | None, Verdict | None]:
        before = await engine.get_verdict(key)
        await engine.put_verdict(key, verdict)
        after = await engine.get_verdict(key)
        await engine.aclose()
        return before, after

    assert run(scenario(Engine(cache=cache))) == (None, verdict)
    assert cache.get_verdict(key) == verdict
    assert run(scenario(Engine())) == (None, verdict)  # in memory without a cache


# -- retries, timeouts, rate limits -------------------------------------------


def test_transient_errors_are_retried() -> None:
    backend = FakeBackend(script={"q": [TransientError("502"), TransientError("503")]})

    async def scenario() -> tuple[Completion, Engine]:
        engine = Engine(retry=FAST)
        return await engine.complete(backend, user("q"), PARAMS), engine

    result, engine = run(scenario())
    assert result.text == "answer to q" and result.retries == 2
    assert backend.calls == ["q"] * 3
    assert engine.stats.retries == 2 and engine.stats.errors == 0


def test_retries_are_bounded_and_end_in_a_clear_error(cache: Cache) -> None:
    backend = FakeBackend(script={"q": [TransientError("boom")] * 50})
    engine = Engine(retry=FAST, cache=cache)

    with pytest.raises(RetriesExhausted) as info:
        run(engine.complete(backend, user("q"), PARAMS))

    assert len(backend.calls) == FAST.max_retries + 1
    assert isinstance(info.value, BackendError)  # callers catching backend errors get it
    assert "fake/m" in str(info.value) and "4 attempts" in str(info.value)
    assert info.value.attempts == 4 and info.value.namespace == "model"
    assert engine.stats.errors == 1 and engine.stats.retries == 3
    engine.close()  # flushes the cache thread
    assert cache.counts() == {"completions": 0, "verdicts": 0, "claims": 0}  # claim dropped


def test_permanent_error_is_not_retried() -> None:
    backend = FakeBackend(script={"q": [PermanentError("401 bad key")]})
    with pytest.raises(CallRejected, match="401 bad key"):
        run(Engine(retry=FAST).complete(backend, user("q"), PARAMS))
    assert backend.calls == ["q"]


def test_timeout_leads_to_a_retry() -> None:
    backend = FakeBackend(script={"q": [30.0]})  # first attempt hangs
    policy = RetryPolicy(max_retries=2, base_delay_s=0.001, timeout_s=0.2)

    async def scenario() -> tuple[Completion, Engine]:
        engine = Engine(retry=policy)
        return await engine.complete(backend, user("q"), PARAMS), engine

    result, engine = run(scenario())
    assert result.retries == 1 and backend.calls == ["q", "q"]
    assert engine.stats.timeouts == 1


def test_timeouts_are_bounded_too() -> None:
    backend = FakeBackend(latency=30.0)
    policy = RetryPolicy(max_retries=1, base_delay_s=0.001, timeout_s=0.05)
    with pytest.raises(RetriesExhausted, match="timed out"):
        run(Engine(retry=policy).complete(backend, user("q"), PARAMS))
    assert len(backend.calls) == 2


def test_retry_after_is_honoured_by_the_call_and_pauses_new_calls() -> None:
    wait = 0.3
    backend = FakeBackend(script={"a": [RateLimited("429", retry_after=wait)]})

    async def scenario() -> Engine:
        engine = Engine(retry=FAST, concurrency=4)
        first = asyncio.ensure_future(engine.complete(backend, user("a"), PARAMS))
        while not backend.errors:
            await asyncio.sleep(0.001)
        # A new call issued during the pause must wait for it too.
        await engine.complete(backend, user("b"), PARAMS)
        await first
        return engine

    engine = run(scenario())
    rejected_at = backend.errors[0][1]
    retried_at = [t for p, t in backend.starts if p == "a"][1]
    b_started = next(t for p, t in backend.starts if p == "b")
    assert retried_at - rejected_at >= wait * 0.99
    assert b_started - rejected_at >= wait * 0.99
    assert engine.stats.rate_limited == 1


def test_concurrency_never_exceeds_the_limit() -> None:
    backend = FakeBackend(latency=0.01)

    async def scenario() -> Engine:
        engine = Engine(concurrency=5)
        await asyncio.gather(*(engine.complete(backend, user(f"q{i}"), PARAMS) for i in range(60)))
        return engine

    engine = run(scenario())
    assert backend.max_in_flight == 5  # reached, never passed
    assert engine.limiters["fake"].max_in_flight == 5
    assert len(backend.calls) == 60


def test_default_concurrency_comes_from_the_backend() -> None:
    backend = FakeBackend(latency=0.01)

    async def scenario() -> None:
        engine = Engine()
        await asyncio.gather(*(engine.complete(backend, user(f"q{i}"), PARAMS) for i in range(20)))

    run(scenario())
    assert backend.max_in_flight == FakeBackend.default_concurrency


def test_aimd_halves_once_per_window_and_recovers() -> None:
    async def scenario() -> None:
        limiter = AdaptiveLimiter(8)
        tickets = [await limiter.acquire() for _ in range(8)]
        limiter.release(tickets[0], Outcome.RATE_LIMITED)
        assert limiter.limit == 4 and limiter.decreases == 1
        # Calls that started before the decrease do not halve it again.
        limiter.release(tickets[1], Outcome.RATE_LIMITED)
        assert limiter.limit == 4 and limiter.decreases == 1

        blocked = asyncio.ensure_future(limiter.acquire())
        await asyncio.sleep(0)
        assert not blocked.done()  # 6 in flight, limit 4
        for ticket in tickets[2:]:
            limiter.release(ticket, Outcome.OK)
        ticket = await blocked

        # A 429 on a call granted after the decrease halves again.
        limiter.release(ticket, Outcome.RATE_LIMITED)
        assert limiter.limit == 2 and limiter.decreases == 2

        successes = 0
        while limiter.limit < 8:
            limiter.release(await limiter.acquire(), Outcome.OK)
            successes += 1
            assert successes < 100
        # Additive: about `limit` successes per extra slot (2+3+...+7 = 27).
        assert 20 <= successes <= 40
        for _ in range(50):
            limiter.release(await limiter.acquire(), Outcome.OK)
        assert limiter.limit == 8  # never past the configured maximum

    run(scenario())


def test_limiter_pause_holds_new_slots() -> None:
    async def scenario() -> None:
        limiter = AdaptiveLimiter(4)
        ticket = await limiter.acquire()
        limiter.release(ticket, Outcome.RATE_LIMITED, retry_after=0.2)
        loop = asyncio.get_running_loop()
        start = loop.time()
        limiter.release(await limiter.acquire(), Outcome.OK)
        assert loop.time() - start >= 0.19

    run(scenario())


def test_cancelled_waiter_does_not_leak_a_slot() -> None:
    async def scenario() -> None:
        limiter = AdaptiveLimiter(1, adaptive=False)
        held = await limiter.acquire()
        waiter = asyncio.ensure_future(limiter.acquire())
        await asyncio.sleep(0)
        waiter.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await waiter
        limiter.release(held)
        assert limiter.in_flight == 0
        limiter.release(await limiter.acquire())

    run(scenario())


def test_engine_adapts_to_a_server_that_rejects_overload() -> None:
    capacity = 3

    def gate(backend: FakeBackend) -> Step | None:
        return RateLimited("429 busy") if backend.in_flight > capacity else None

    backend = FakeBackend(latency=0.02, gate=gate)
    policy = RetryPolicy(max_retries=3, base_delay_s=0.01, max_delay_s=0.05, max_rate_limited=30)

    async def scenario() -> Engine:
        engine = Engine(concurrency=16, retry=policy)
        results = await asyncio.gather(
            *(engine.complete(backend, user(f"q{i}"), PARAMS) for i in range(120))
        )
        assert len({r.text for r in results}) == 120
        return engine

    engine = run(scenario())
    limiter = engine.limiters["fake"]
    assert limiter.decreases >= 1
    assert engine.stats.errors == 0
    # Adapting keeps rejections well below one per successful call.
    assert engine.stats.rate_limited < 120


def token_bucket(rate: float, burst: float) -> Callable[[FakeBackend], Step | None]:
    """A server limited to ``rate`` requests/s: 429 + time to the next token beyond it."""
    state = {"tokens": burst, "stamp": time.monotonic()}

    def gate(backend: FakeBackend) -> Step | None:
        now = time.monotonic()
        state["tokens"] = min(burst, state["tokens"] + (now - state["stamp"]) * rate)
        state["stamp"] = now
        if state["tokens"] >= 1:
            state["tokens"] -= 1
            return None
        return RateLimited("429", retry_after=(1 - state["tokens"]) / rate)

    return gate


@pytest.mark.parametrize("burst", [1.0, 25.0], ids=["strict", "bursty"])
def test_sustained_rate_limit_is_respected_and_the_run_finishes(burst: float) -> None:
    rate, calls = 100.0, 150
    backend = FakeBackend(latency=0.03, gate=token_bucket(rate, burst))
    policy = RetryPolicy(base_delay_s=0.01, max_delay_s=0.1, max_rate_limited=40)

    async def scenario() -> Engine:
        engine = Engine(concurrency=64, retry=policy)
        await asyncio.gather(
            *(engine.complete(backend, user(f"q{i}"), PARAMS) for i in range(calls))
        )
        return engine

    engine = run(scenario())
    assert sorted(backend.completed) == sorted(f"q{i}" for i in range(calls))
    assert engine.stats.errors == 0
    limiter = engine.limiters["fake"]
    assert limiter.decreases >= 1 and limiter.limit < 64
    # Adaptation and pacing keep rejected requests a minority of what is sent;
    # 64 unpaced calls against this server would be rejected over and over.
    assert engine.stats.rate_limited < calls / 2


# -- claims across engines and processes --------------------------------------


def test_two_engines_in_two_threads_never_call_twice(cache: Cache) -> None:
    calls: list[str] = []  # shared; list.append is atomic
    prompts = [f"q{i}" for i in range(40)]
    results: dict[int, list[str]] = {}
    done_by: dict[int, list[str]] = {}
    start = threading.Barrier(2)

    def worker(n: int) -> None:
        backend = FakeBackend(latency=0.02, calls=calls)
        done_by[n] = backend.completed

        async def scenario() -> list[str]:
            async with Engine(cache=cache, concurrency=8, poll_interval_s=0.01) as engine:
                out = await asyncio.gather(
                    *(engine.complete(backend, user(p), PARAMS) for p in prompts)
                )
                return [c.text for c in out]

        start.wait()
        results[n] = asyncio.run(scenario())

    threads = [threading.Thread(target=worker, args=(n,)) for n in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert results[0] == results[1] == [f"answer to {p}" for p in prompts]
    assert Counter(calls) == Counter(prompts), "some call was made twice"
    assert done_by[0] and done_by[1], "one engine did all the work"


def test_a_process_claims_only_what_it_is_about_to_run(cache: Cache) -> None:
    """Claims stay within twice the limit, so other processes find work to do."""
    backend = FakeBackend(latency=0.02)
    most_claims = 0

    async def scenario() -> None:
        nonlocal most_claims
        async with Engine(cache=cache, concurrency=3) as engine:
            task = asyncio.ensure_future(
                asyncio.gather(
                    *(engine.complete(backend, user(f"q{i}"), PARAMS) for i in range(40))
                )
            )
            while not task.done():
                most_claims = max(most_claims, cache.counts()["claims"])
                await asyncio.sleep(0.005)
            await task

    run(scenario())
    assert 3 <= most_claims <= 6
    assert backend.max_in_flight == 3


def _process_run(path: str, log: str, start: Any) -> None:
    class LoggingBackend(FakeBackend):
        async def complete(self, messages: Sequence[Message], params: SamplingParams) -> Completion:
            with open(log, "a") as out:
                out.write(messages[-1].content + "\n")
            return await super().complete(messages, params)

    cache = Cache(path)
    backend = LoggingBackend(latency=0.02)

    async def scenario() -> None:
        async with Engine(cache=cache, concurrency=6, poll_interval_s=0.01) as engine:
            await asyncio.gather(
                *(engine.complete(backend, user(f"q{i}"), PARAMS) for i in range(60))
            )

    start.wait()
    asyncio.run(scenario())
    cache.close()


def test_two_processes_never_call_twice(tmp_path: Path) -> None:
    path = tmp_path / "cache.sqlite3"
    logs = [tmp_path / "log-0", tmp_path / "log-1"]
    ctx = multiprocessing.get_context("spawn")
    start = ctx.Barrier(2)
    procs = [ctx.Process(target=_process_run, args=(str(path), str(log), start)) for log in logs]
    for proc in procs:
        proc.start()
    for proc in procs:
        proc.join(120)
        assert proc.exitcode == 0
    calls = Counter(line for log in logs if log.exists() for line in log.read_text().split())
    assert calls == Counter(f"q{i}" for i in range(60))
    with Cache(path) as cache:
        assert cache.integrity_check() == "ok"
        assert cache.counts()["claims"] == 0


def test_a_live_owner_is_waited_for_and_its_result_used(cache: Cache) -> None:
    backend = FakeBackend()
    engine = Engine(cache=cache, poll_interval_s=0.01)
    key = engine.key_for(backend, user("q"), PARAMS)
    other = f"{socket.gethostname()}-{os.getpid()}-other"  # alive: it is this process
    assert cache.claim(key, other, 3600)

    async def scenario() -> Completion:
        task = asyncio.ensure_future(engine.complete(backend, user("q"), PARAMS))
        while engine.stats.claim_waits == 0:
            await asyncio.sleep(0.005)
        await asyncio.to_thread(
            cache.put_completion, key, Completion("from the other owner"), release=other
        )
        result = await asyncio.wait_for(task, 30)
        await engine.aclose()
        return result

    result = run(scenario())
    assert result.text == "from the other owner" and result.cached
    assert backend.calls == []


def test_a_dead_owner_on_this_host_is_taken_over_at_once(cache: Cache) -> None:
    proc = subprocess.run(
        [sys.executable, "-c", "import os; print(os.getpid())"],
        capture_output=True,
        text=True,
        check=True,
    )
    dead = f"{socket.gethostname()}-{int(proc.stdout)}-gone"
    backend = FakeBackend()
    engine = Engine(cache=cache)
    assert cache.claim(engine.key_for(backend, user("q"), PARAMS), dead, 3600)

    async def scenario() -> Completion:
        result = await asyncio.wait_for(engine.complete(backend, user("q"), PARAMS), 30)
        await engine.aclose()
        return result

    assert run(scenario()).text == "answer to q"
    assert backend.calls == ["q"] and engine.stats.takeovers == 1


def test_an_expired_lease_is_taken_over(cache: Cache) -> None:
    backend = FakeBackend()
    engine = Engine(cache=cache)
    assert cache.claim(engine.key_for(backend, user("q"), PARAMS), "elsewhere-1-x", -1)
    assert run(asyncio.wait_for(engine.complete(backend, user("q"), PARAMS), 30)).text
    assert backend.calls == ["q"]
    engine.close()


def test_the_owner_keeps_its_claim_alive_during_a_long_call(cache: Cache) -> None:
    """A lease shorter than the call: the heartbeat must keep others waiting.

    The heartbeat renews every lease / 3; a lease of 2 s leaves a busy machine more
    than a second of slack for each renewal, and the call outlasts the lease by 1 s."""
    calls: list[str] = []
    slow = FakeBackend(latency=3.0, calls=calls)
    other = FakeBackend(calls=calls)

    async def scenario() -> None:
        a = Engine(cache=cache, lease_s=2.0)
        b = Engine(cache=cache, lease_s=2.0, poll_interval_s=0.02, max_poll_interval_s=0.05)
        first = asyncio.ensure_future(a.complete(slow, user("q"), PARAMS))
        while not calls:
            await asyncio.sleep(0.005)
        second = await b.complete(other, user("q"), PARAMS)
        assert second.text == "answer to q" and second.cached
        await first
        await a.aclose()
        await b.aclose()

    run(scenario())
    assert calls == ["q"]


def test_interrupted_run_then_rerun_reissues_no_completed_call(cache: Cache) -> None:
    prompts = [f"q{i}" for i in range(40)]
    first = FakeBackend(latency=0.03)

    async def interrupted() -> None:
        engine = Engine(cache=cache, concurrency=4)
        task = asyncio.ensure_future(
            asyncio.gather(*(engine.complete(first, user(p), PARAMS) for p in prompts))
        )
        while len(first.completed) < 12:
            await asyncio.sleep(0.005)
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task
        await engine.aclose()

    run(interrupted())
    done_before = set(first.completed)
    assert 12 <= len(done_before) < len(prompts)
    assert cache.counts()["claims"] == 0  # cancelled calls gave their claims back

    second = FakeBackend()

    async def rerun() -> list[Completion]:
        async with Engine(cache=cache, concurrency=4) as engine:
            return await asyncio.gather(
                *(engine.complete(second, user(p), PARAMS) for p in prompts)
            )

    results = run(rerun())
    assert not done_before & set(second.calls), "a completed call was issued again"
    assert done_before | set(second.calls) == set(prompts)
    assert [r.text for r in results] == [f"answer to {p}" for p in prompts]


def test_stopping_new_calls_finishes_and_stores_those_in_flight(cache: Cache) -> None:
    # A graceful shutdown: the calls already sent are waited for and stored, nothing
    # else is started, and a rerun makes exactly the calls that were not made.
    prompts = [f"q{i}" for i in range(20)]
    first = FakeBackend(latency=0.2)

    async def stopped() -> list[Completion | BaseException]:
        engine = Engine(cache=cache, concurrency=4)
        task = asyncio.ensure_future(asyncio.gather(
            *(engine.complete(first, user(p), PARAMS) for p in prompts),
            return_exceptions=True,
        ))
        while len(first.calls) < 4:
            await asyncio.sleep(0.005)
        engine.stop_new_calls()
        results = await task
        await engine.aclose()
        return results

    results = run(stopped())
    answered = [r for r in results if isinstance(r, Completion)]
    refused = [r for r in results if isinstance(r, CallsStopped)]
    assert len(answered) == len(first.calls) == len(first.completed) == 4
    assert len(refused) == 16 and "shutting down" in str(refused[0])
    assert cache.counts()["completions"] == 4 and cache.counts()["claims"] == 0

    second = FakeBackend()

    async def rerun() -> None:
        async with Engine(cache=cache, concurrency=4) as engine:
            await asyncio.gather(*(engine.complete(second, user(p), PARAMS) for p in prompts))

    run(rerun())
    assert sorted(second.calls) == sorted(set(prompts) - set(first.calls))


def test_cancelling_one_sharer_leaves_the_other_its_result() -> None:
    backend = FakeBackend(latency=0.1)

    async def scenario() -> Completion:
        engine = Engine()
        leader = asyncio.ensure_future(engine.complete(backend, user("q"), PARAMS))
        await asyncio.sleep(0.01)
        follower = asyncio.ensure_future(engine.complete(backend, user("q"), PARAMS))
        await asyncio.sleep(0.01)
        leader.cancel()
        return await follower

    assert run(scenario()).text == "answer to q"
    assert backend.completed == ["q"]  # the follower made the call itself


# -- misc ----------------------------------------------------------------------


def test_owner_id_is_host_pid_random() -> None:
    owner = Engine().owner
    assert re.fullmatch(rf"{re.escape(socket.gethostname())}-{os.getpid()}-[0-9a-f]{{8}}", owner)
    assert Engine().owner != owner


def test_a_failing_cache_costs_a_warning_not_the_run(tmp_path: Path) -> None:
    broken = Cache.open(tmp_path)
    broken.close()  # every operation on it now fails
    backend = FakeBackend()
    engine = Engine(cache=broken)

    with pytest.warns(RuntimeWarning, match="cache failed"):
        result = run(engine.complete(backend, user("q"), PARAMS))

    assert result.text == "answer to q"
    assert engine.stats.cache_errors >= 1 and engine.cache_error
    engine.close()


def test_progress_lines_for_logs_are_throttled_and_closed() -> None:
    now = [100.0]
    lines: list[str] = []
    progress = ProgressLines(lines.append, every_s=30.0, clock=lambda: now[0])
    for done, at in ((1, 110.0), (2, 129.9), (3, 131.0), (4, 140.0), (5, 200.0)):
        now[0] = at
        progress(done, 10)
    # the time left is the pace so far: 31 s for 3 cases, 7 to go
    assert lines == ["honesty: 3/10 cases answered and judged (31 s, about 1 min 12 s left)",
                     "honesty: 5/10 cases answered and judged (1 min 40 s, about 1 min 40 s "
                     "left)"]
    now[0] = 230.5
    progress.finish()
    assert lines[-1] == "honesty: 5 cases answered and judged in 2 min 10 s"

    # no time left from the first few of many (a twentieth): multi-turn answers finish late
    early: list[str] = []
    clock = [100.0]
    slow_start = ProgressLines(early.append, every_s=0.0, clock=lambda: clock[0],
                               label="answers 4/4")
    clock[0] = 300.0
    slow_start(4, 100)
    slow_start(5, 100)
    assert early == ["answers 4/4: 4/100 cases answered and judged (3 min 20 s)",
                     "answers 4/4: 5/100 cases answered and judged (3 min 20 s, about 63 min "
                     "20 s left)"]

    quick: list[str] = []
    short = ProgressLines(quick.append, every_s=30.0, clock=lambda: 0.0)
    short(1, 1)
    short.finish()
    assert quick == [], "a run shorter than the interval prints nothing"
