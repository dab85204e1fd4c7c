"""Concurrency from latency at self-hosted servers, their timeouts and discovery.

The scripted server plays llama.cpp / vLLM: ``slots`` requests at a time, the
rest queued, optionally slowing down mid-run. Assertions are on what the
limiter decided and on the server's counters, never on wall-clock windows.
"""

from __future__ import annotations

import asyncio
import math
from collections.abc import Awaitable, Sequence
from typing import TypeVar

import pytest

from pytest_honesty.backends import BackendOptions, BackendUnavailable, ModelSpec
from pytest_honesty.backends._openai import OpenAIBackend
from pytest_honesty.calls._latency import LatencyGradient
from pytest_honesty.calls._limiter import AdaptiveLimiter, Outcome
from pytest_honesty.calls.engine import CallTooSlow, Engine, RetryPolicy
from pytest_honesty.testing import ScriptedOpenAIServer
from pytest_honesty.types import Completion, Message, SamplingParams

T = TypeVar("T")
PARAMS = SamplingParams(max_tokens=16)


def run(coro: Awaitable[T]) -> T:
    async def main() -> T:
        return await coro

    return asyncio.run(main())


def compatible(
    server: ScriptedOpenAIServer, model: str = "local", timeout_s: float = 60.0
) -> OpenAIBackend:
    backend = OpenAIBackend(
        ModelSpec("openai-compatible", model),
        BackendOptions(base_url=server.base_url, timeout_s=timeout_s),
    )
    backend.check()
    return backend


async def call_all(engine: Engine, backend: OpenAIBackend, n: int) -> list[Completion]:
    # one call first, through its own engine: the SDK's import and client set-up on a
    # busy machine must not count as the server's time
    await Engine().complete(backend, [Message("user", "warm-up")], PARAMS)
    return await asyncio.gather(
        *(engine.complete(backend, [Message("user", f"q{i}")], PARAMS) for i in range(n))
    )


# -- the gradient alone ---------------------------------------------------------


def simulate(gradient: LatencyGradient, limit: float, calls: int, *, service_s: float,
             slots: int, max_limit: float = 64.0) -> float:
    """A FIFO server with ``slots`` slots and a fixed service time, fed by a client that
    keeps ``floor(limit)`` calls in flight and tells ``gradient`` each latency."""
    now = 0.0
    waiting: list[tuple[float, int]] = []  # (sent at, window)
    running: list[tuple[float, float, int]] = []  # (done at, sent at, window)
    for _ in range(calls):
        while len(waiting) + len(running) < max(1, math.floor(limit)):
            waiting.append((now, gradient.window))
            gradient.note_in_flight(len(waiting) + len(running))
        while waiting and len(running) < slots:
            sent, window = waiting.pop(0)
            running.append((now + service_s, sent, window))
        running.sort()
        done, sent, window = running.pop(0)
        now = done
        limit = gradient.on_success(window, now - sent, limit, max_limit, now)
    return limit


def test_flat_latency_doubles_to_the_cap() -> None:
    gradient = LatencyGradient()
    limit = simulate(gradient, 4.0, calls=300, service_s=0.1, slots=64)
    assert limit == 64.0
    grows = [d for d in gradient.decisions if d.reason == "grow"]
    assert [d.new for d in grows[:4]] == [8.0, 16.0, 32.0, 64.0]  # slow start: doubling
    assert not [d for d in gradient.decisions if d.reason == "shrink"]


def test_latency_that_grows_with_the_limit_keeps_it_near_one_slot() -> None:
    gradient = LatencyGradient()
    limit = simulate(gradient, 4.0, calls=300, service_s=5.0, slots=1)
    assert any(d.reason == "shrink" for d in gradient.decisions)
    # it never climbs past a short queue at the one slot
    assert max(d.new for d in gradient.decisions) <= 4.0
    assert limit <= 4.0


def test_four_slots_settle_near_four() -> None:
    gradient = LatencyGradient()
    simulate(gradient, 4.0, calls=600, service_s=1.0, slots=4)
    late = gradient.decisions[len(gradient.decisions) // 2 :]
    assert late and all(3.0 <= d.new <= 12.0 for d in late), late


def test_a_timeout_halves_once_per_window() -> None:
    gradient = LatencyGradient()
    window = gradient.window
    limit = gradient.on_timeout(window, 16.0, now=1.0)
    limit = gradient.on_timeout(window, limit, now=1.1)  # same window: counted once
    assert limit == 8.0
    assert [d.reason for d in gradient.decisions] == ["timeout"]


def test_limiter_without_gradient_is_unchanged_by_latency() -> None:
    async def scenario() -> AdaptiveLimiter:
        limiter = AdaptiveLimiter(8)
        for _ in range(20):
            ticket = await limiter.acquire()
            limiter.release(ticket, Outcome.OK)
        return limiter

    limiter = run(scenario())
    assert limiter.limit == 8 and limiter.decisions == []


# -- against a server that queues ------------------------------------------------


def test_one_slot_server_queue_does_not_time_calls_out() -> None:
    """At a one-slot server 0.4 s per call, calls queued behind others wait well past
    a 1 s timeout: the server keeps finishing calls, so none is abandoned or repeated."""
    with ScriptedOpenAIServer(latency_s=0.4, slots=1) as server:
        backend = compatible(server, timeout_s=1.0)
        engine = Engine(retry=RetryPolicy(timeout_s=1.0, base_delay_s=0.01), concurrency=8)
        results = run(call_all(engine, backend, 12))
    assert len(results) == 12
    assert engine.stats.timeouts == 0 and engine.stats.retries == 0
    assert server.total_requests == server.status_counts.get(200, 0)
    assert server.repeated_completed_calls() == 0
    limiter = engine.limiter_for(backend)
    assert limiter.max_in_flight <= 4  # started low, never sent the cap of 8 at once


def test_a_call_that_cannot_finish_alone_fails_soon_with_a_clear_message() -> None:
    # the slow call takes far longer than any timeout the engine can derive on a busy
    # machine (at least 4x the slowest call it saw: the warm-up), so it always times out
    with ScriptedOpenAIServer(slots=1, slow_after=1, slow_latency_s=60.0) as server:
        backend = compatible(server, timeout_s=0.3)
        engine = Engine(retry=RetryPolicy(timeout_s=0.3, max_retries=4, base_delay_s=0.01))

        async def scenario() -> None:
            await Engine().complete(backend, [Message("user", "warm-up")], PARAMS)
            server.reset_counters()
            await engine.complete(backend, [Message("user", "slow")], PARAMS)

        with pytest.raises(CallTooSlow) as caught:
            run(scenario())
    # once more (a request may get lost), then no more of the 5 retries allowed
    assert engine.stats.calls == 2 and caught.value.attempts == 2
    message = str(caught.value)
    assert "no other call" in message and "--honesty-timeout" in message
    assert engine.stats.timeouts == 2


def test_server_that_slows_mid_run_lowers_the_limit_without_errors() -> None:
    """64 slots at 0.1 s, then 2 s per call from the 150th request: the limit went
    up while latency was flat and down once the slow replies came; every call succeeded.

    The phases are told apart by the server's own event (when its first slow request
    began), not by latency thresholds: on a busy machine the fast phase's latencies are
    inflated by an unknown factor. The slow phase has enough calls (150) for several
    full windows of slow replies, however the limit stood when it began."""
    with ScriptedOpenAIServer(
        latency_s=0.1, slots=64, slow_after=150, slow_latency_s=2.0
    ) as server:
        backend = compatible(server)
        backend.server_slots = None  # as vLLM or ollama, which do not say: start low
        engine = Engine(retry=RetryPolicy(timeout_s=60.0), concurrency=64)
        results = run(call_all(engine, backend, 300))
    assert len(results) == 300 and engine.stats.errors == 0 and engine.stats.timeouts == 0
    assert engine.stats.retries == 0 and server.repeated_completed_calls() == 0
    assert server.slow_since is not None
    decisions = engine.limiter_for(backend).decisions
    before = [d for d in decisions if d.at < server.slow_since]
    after = [d for d in decisions if d.at >= server.slow_since]
    assert any(d.reason == "grow" for d in before), decisions
    limit_when_slowed = before[-1].new if before else 4.0
    assert limit_when_slowed > 4.0, decisions  # it had climbed from 4 while latency was flat
    assert any(d.reason == "shrink" for d in after), decisions
    assert min(d.new for d in after) <= limit_when_slowed / 2, decisions


def test_slots_reported_by_the_server_set_the_starting_limit() -> None:
    with ScriptedOpenAIServer(slots=3) as server:
        backend = compatible(server)
        assert backend.server_slots == 3
        engine = Engine(concurrency=32)
        assert engine.limiter_for(backend).limit == 3
        assert engine.limiter_for(backend).max_limit == 32


def test_no_slots_said_means_start_low() -> None:
    with ScriptedOpenAIServer() as server:
        backend = compatible(server)
        assert backend.server_slots is None
        assert Engine(concurrency=32).limiter_for(backend).limit == 4


def test_engine_stats_show_the_settled_limit() -> None:
    with ScriptedOpenAIServer(latency_s=0.05, slots=1) as server:
        backend = compatible(server)
        engine = Engine(concurrency=16)
        run(call_all(engine, backend, 10))
    limiter = engine.limiter_for(backend)
    assert engine.stats.concurrency_limit == limiter.limit
    assert engine.stats.concurrency_cap == 16
    assert engine.stats.to_dict()["concurrency_limit"] == limiter.limit


# -- discovery ------------------------------------------------------------------


def test_auto_takes_the_served_model_id() -> None:
    seen: list[str] = []

    def responder(request: dict[str, object]) -> str:
        seen.append(str(request["model"]))
        return "ok"

    with ScriptedOpenAIServer(responder, model="smollm2-135m") as server:
        backend = compatible(server, model="auto")
        assert str(backend.spec) == "openai-compatible/smollm2-135m"
        run(Engine().complete(backend, [Message("user", "hi")], PARAMS))
    assert seen == ["smollm2-135m"]


def test_auto_without_a_server_says_what_is_wrong() -> None:
    with ScriptedOpenAIServer() as server:
        url = server.base_url
    backend = OpenAIBackend(ModelSpec("openai-compatible", "auto"), BackendOptions(base_url=url))
    with pytest.raises(BackendUnavailable, match="cannot read the served model"):
        backend.check()


class _LosesOneRequest(OpenAIBackend):
    """A self-hosted server that never answers the first ``lost`` request (dropped),
    and answers the others after ``latency`` s."""

    def __init__(self, latency: float) -> None:
        super().__init__(ModelSpec("openai-compatible", "lossy"),
                         BackendOptions(base_url="http://127.0.0.1:9/v1"))
        self.latency = latency
        self.done = 0
        self.done_when_lost_call_gave_up: int | None = None
        self._lost_once = False

    async def complete(self, messages: Sequence[Message], params: SamplingParams) -> Completion:
        if messages[-1].content == "lost" and not self._lost_once:
            self._lost_once = True
            try:
                await asyncio.sleep(3600)
            finally:
                self.done_when_lost_call_gave_up = self.done
        await asyncio.sleep(self.latency)
        self.done += 1
        return Completion(text="ok")


def test_a_lost_request_times_out_while_later_calls_keep_finishing() -> None:
    """Only calls ahead of a call extend its deadline: a request the server dropped
    is retried while the calls sent after it are still being answered."""
    backend = _LosesOneRequest(latency=0.05)
    engine = Engine(retry=RetryPolicy(timeout_s=0.5, base_delay_s=0.01), concurrency=4)

    async def scenario() -> list[Completion]:
        lost = engine.complete(backend, [Message("user", "lost")], PARAMS)
        others = [engine.complete(backend, [Message("user", f"q{i}")], PARAMS)
                  for i in range(200)]
        return await asyncio.gather(lost, *others)

    results = run(scenario())
    assert len(results) == 201 and engine.stats.errors == 0
    assert engine.stats.timeouts == 1 and engine.stats.retries == 1
    assert backend.done_when_lost_call_gave_up is not None
    assert backend.done_when_lost_call_gave_up < 200  # the others were still going
