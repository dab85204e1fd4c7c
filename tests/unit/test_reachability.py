"""When the engine gives up on a provider for the whole run: at once on a rejected key,
after a few connection failures in a row to a provider never reached, and, for one
that answered before, only when a call spent its whole retry schedule failing to
connect."""

from __future__ import annotations

import asyncio
import importlib
from collections.abc import Sequence

import pytest

from pytest_honesty.backends import (
    AuthenticationFailed,
    Backend,
    BackendOptions,
    ConnectionFailed,
    ModelSpec,
)
from pytest_honesty.calls._reachability import NEVER_REACHED_LIMIT
from pytest_honesty.calls.engine import CallsStopped, Engine, ProviderUnreachable, RetryPolicy
from pytest_honesty.types import Completion, Message, SamplingParams

PARAMS = SamplingParams()
FAST = RetryPolicy(max_retries=3, base_delay_s=0.001, max_delay_s=0.01, timeout_s=30.0)


class Scripted(Backend):
    """Fails with the next scripted error, or answers when the script says None."""

    def __init__(self, script: list[Exception | None], repeat: Exception | None = None) -> None:
        super().__init__(ModelSpec("fake", "m"), BackendOptions())
        self.script = list(script)
        self.repeat = repeat
        self.calls = 0

    async def complete(self, messages: Sequence[Message], params: SamplingParams) -> Completion:
        self.calls += 1
        step = self.script.pop(0) if self.script else self.repeat
        await asyncio.sleep(0)
        if step is not None:
            raise step
        return Completion(text=f"answer to {messages[-1].content}")


def ask(engine: Engine, backend: Backend, prompt: str) -> asyncio.Future[Completion]:
    return asyncio.ensure_future(engine.complete(backend, [Message("user", prompt)], PARAMS))


def refused() -> ConnectionFailed:
    return ConnectionFailed("cannot connect (ConnectError: connection refused)")


def test_a_provider_never_reached_stops_the_run_after_a_few_failures() -> None:
    backend = Scripted([], repeat=refused())

    async def scenario() -> tuple[list[BaseException | Completion], Engine]:
        engine = Engine(retry=FAST, concurrency=1)
        calls = [ask(engine, backend, f"q{i}") for i in range(20)]
        return await asyncio.gather(*calls, return_exceptions=True), engine

    results, engine = asyncio.run(scenario())
    assert backend.calls == NEVER_REACHED_LIMIT  # not 20 x 4 attempts
    # the call whose attempt tripped it says why; every other one was not made
    kinds = [type(r) for r in results]
    assert kinds.count(ProviderUnreachable) == 1
    assert kinds.count(CallsStopped) == len(results) - 1
    failure = engine.provider_failure
    assert failure is not None and "cannot be reached" in str(failure)
    assert "connection refused" in str(failure)


def test_a_rejected_key_stops_the_run_at_once() -> None:
    backend = Scripted([AuthenticationFailed("HTTP 401: invalid API key")])

    async def scenario() -> tuple[list[BaseException | Completion], Engine]:
        engine = Engine(retry=FAST, concurrency=1)
        calls = [ask(engine, backend, f"q{i}") for i in range(5)]
        return await asyncio.gather(*calls, return_exceptions=True), engine

    results, engine = asyncio.run(scenario())
    assert backend.calls == 1
    assert isinstance(results[0], ProviderUnreachable)
    assert all(isinstance(r, CallsStopped) for r in results[1:])
    assert "rejected the API key" in str(engine.provider_failure)


def test_a_provider_that_answered_survives_a_few_failed_connections() -> None:
    # answered once, then two refused connections, then it is back: a restart
    backend = Scripted([None, refused(), refused(), None, None])

    async def scenario() -> Engine:
        engine = Engine(retry=FAST, concurrency=1)
        for i in range(3):
            await ask(engine, backend, f"q{i}")
        return engine

    engine = asyncio.run(scenario())
    assert engine.provider_failure is None and backend.calls == 5


def test_a_provider_that_answered_and_went_away_stops_the_run_when_a_call_gives_up() -> None:
    backend = Scripted([None], repeat=refused())

    async def scenario() -> tuple[BaseException | Completion, Engine]:
        engine = Engine(retry=FAST, concurrency=1)
        await ask(engine, backend, "q0")
        second = await asyncio.gather(ask(engine, backend, "q1"), return_exceptions=True)
        return second[0], engine

    result, engine = asyncio.run(scenario())
    assert isinstance(result, ProviderUnreachable)
    assert backend.calls == 1 + FAST.max_retries + 1  # the whole retry schedule, no more
    assert "can no longer be reached" in str(engine.provider_failure)


@pytest.mark.parametrize("status", [401, 403])
def test_the_sdk_mapping_tells_rejected_keys_and_refused_connections_apart(status: int) -> None:
    openai = pytest.importorskip("openai")
    from pytest_honesty.backends._sdk_errors import map_sdk_error

    # the HTTP library the SDK is built on (httpx, or its successor in newer SDKs)
    httpx = importlib.import_module(openai.DefaultAsyncHttpxClient.__mro__[1].__module__)

    request = httpx.Request("POST", "http://127.0.0.1:9/v1/chat/completions")
    response = httpx.Response(status, request=request, json={"error": {"message": "bad key"}})
    rejected = openai.APIStatusError("bad key", response=response, body=None)
    mapped = map_sdk_error(rejected, openai, what="api", secrets=[], timeout_s=1)
    assert isinstance(mapped, AuthenticationFailed)

    def wrapped(cause: BaseException) -> BaseException:
        try:
            raise openai.APIConnectionError(request=request) from cause
        except openai.APIConnectionError as exc:
            return exc

    never = map_sdk_error(wrapped(httpx.ConnectError("refused")), openai, what="api",
                          secrets=[], timeout_s=1)
    dropped = map_sdk_error(wrapped(httpx.ReadError("reset")), openai, what="api",
                            secrets=[], timeout_s=1)
    assert isinstance(never, ConnectionFailed)
    assert dropped is not None and not isinstance(dropped, ConnectionFailed)
