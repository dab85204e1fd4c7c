"""OpenAIBackend against the real local ScriptedOpenAIServer (real SDK, real sockets)."""

from __future__ import annotations

import asyncio
import sys
import traceback
from collections.abc import Awaitable, Iterator
from typing import Any, TypeVar

import pytest
from _sdk_helpers import call_once

from pytest_honesty.backends import (
    BackendOptions,
    BackendUnavailable,
    ModelSpec,
    PermanentError,
    RateLimited,
    TransientError,
)
from pytest_honesty.backends._openai import OpenAIBackend
from pytest_honesty.calls.engine import Engine, RetryPolicy
from pytest_honesty.testing import OpenAIServerFactory
from pytest_honesty.types import Completion, Message, SamplingParams

pytest_plugins = ["pytest_honesty.testing.fixtures"]

T = TypeVar("T")
SECRET = "sk-test-5f1d2c9a7b3e4f60-secret"
CHAT = [Message("system", "You are careful."), Message("user", "What is the time in Paris?")]


@pytest.fixture(autouse=True)
def clean_env(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    for name in ("OPENAI_API_KEY", "OPENAI_BASE_URL"):
        monkeypatch.delenv(name, raising=False)
    yield


def backend(spec: str = "openai-compatible/tiny", **options: Any) -> OpenAIBackend:
    return OpenAIBackend(ModelSpec.parse(spec), BackendOptions(**options))


def call(
    b: OpenAIBackend, messages: list[Message] = CHAT, params: SamplingParams | None = None
) -> Completion:
    return call_once(b, messages, params)


def run(coro: Awaitable[T]) -> T:
    async def go() -> T:
        return await coro

    return asyncio.run(go())


def test_reply_text_and_usage(openai_server: OpenAIServerFactory) -> None:
    server = openai_server(lambda req: "I cannot see live clocks, but Paris is on CET.")
    completion = call(backend(base_url=server.base_url))
    assert completion.text == "I cannot see live clocks, but Paris is on CET."
    assert completion.input_tokens == 3 + 6  # words of both messages
    assert completion.output_tokens == 10
    assert completion.finish_reason == "stop"
    assert completion.latency_s > 0
    assert server.status_counts == {200: 1}


def test_request_carries_model_messages_and_sampling(openai_server: OpenAIServerFactory) -> None:
    seen: list[dict[str, Any]] = []

    def responder(request: dict[str, Any]) -> str:
        seen.append(request)
        return "ok"

    server = openai_server(responder)
    call(backend(base_url=server.base_url), params=SamplingParams(0.7, 33, 0.9, 42))
    call(backend(base_url=server.base_url), params=SamplingParams(seed=None))
    first, second = seen
    assert first["model"] == "tiny"
    assert first["messages"] == [m.to_dict() for m in CHAT]
    assert (first["temperature"], first["max_tokens"], first["top_p"], first["seed"]) == (
        0.7,
        33,
        0.9,
        42,
    )
    assert "seed" not in second


def test_openai_provider_sends_max_completion_tokens(
    openai_server: OpenAIServerFactory, monkeypatch: pytest.MonkeyPatch
) -> None:
    seen: list[dict[str, Any]] = []

    def responder(request: dict[str, Any]) -> str:
        seen.append(request)
        return "ok"

    server = openai_server(responder, api_key=SECRET)
    monkeypatch.setenv("OPENAI_API_KEY", SECRET)
    monkeypatch.setenv("OPENAI_BASE_URL", server.base_url)
    assert call(backend("openai/gpt-x")).text == "ok"
    assert seen[0]["max_completion_tokens"] == 256 and "max_tokens" not in seen[0]


def test_length_finish_reason(openai_server: OpenAIServerFactory) -> None:
    server = openai_server(lambda req: "a b c d e f")
    completion = call(backend(base_url=server.base_url), params=SamplingParams(max_tokens=3))
    assert (completion.text, completion.finish_reason, completion.output_tokens) == (
        "a b c",
        "length",
        3,
    )


def test_429_is_rate_limited_with_retry_after_ms(openai_server: OpenAIServerFactory) -> None:
    server = openai_server(p_429=1.0, retry_after_s=0.25)
    with pytest.raises(RateLimited) as info:
        call(backend(base_url=server.base_url))
    assert info.value.retry_after == 0.25
    assert "429" in str(info.value)


def test_429_retry_after_header_in_seconds(openai_server: OpenAIServerFactory) -> None:
    server = openai_server(p_429=1.0, retry_after_s=2, send_retry_after_ms=False)
    with pytest.raises(RateLimited) as info:
        call(backend(base_url=server.base_url))
    assert info.value.retry_after == 2.0


def test_token_bucket_429_is_rate_limited(openai_server: OpenAIServerFactory) -> None:
    server = openai_server(rate_limit_rps=1)
    b = backend(base_url=server.base_url)

    async def burst() -> list[BaseException | Completion]:
        try:
            return await asyncio.gather(
                *(b.complete([Message("user", f"q{i}")], SamplingParams()) for i in range(4)),
                return_exceptions=True,
            )
        finally:
            await b.aclose()

    results = asyncio.run(burst())
    limited = [r for r in results if isinstance(r, RateLimited)]
    assert limited and all(r.retry_after is not None and r.retry_after > 0 for r in limited)


def test_500_is_transient_not_rate_limited(openai_server: OpenAIServerFactory) -> None:
    server = openai_server(p_500=1.0)
    with pytest.raises(TransientError) as info:
        call(backend(base_url=server.base_url))
    assert not isinstance(info.value, RateLimited)
    assert "500" in str(info.value)


def test_malformed_body_is_transient(openai_server: OpenAIServerFactory) -> None:
    server = openai_server(p_malformed=1.0)
    with pytest.raises(TransientError, match="not valid JSON"):
        call(backend(base_url=server.base_url))


@pytest.mark.parametrize(
    "reply",
    [[], ["a list"], "text", {"choices": []}, {"choices": "x"}, {"choices": [None]}, {"id": "x"}],
    ids=["empty-list", "list", "string", "no-choices", "choices-not-list", "choice-null", "no-key"],
)
def test_a_reply_without_a_choice_is_transient(reply: Any) -> None:
    with pytest.raises(TransientError, match="without choices"):
        backend()._completion(reply, "the server", 0.1)


def test_a_sparse_reply_is_read_with_what_it_has() -> None:
    # What llama.cpp-style servers may send: no usage, a refusal instead of content,
    # token counts of the wrong type (never taken as counts).
    sparse = {"choices": [{"message": {"content": None, "refusal": "I can't help with that."}}]}
    got = backend()._completion(sparse, "the server", 0.25)
    assert got == Completion("I can't help with that.", latency_s=0.25)
    odd = {"choices": [{"message": {"content": "Hi"}, "finish_reason": "length"}],
           "usage": {"prompt_tokens": True, "completion_tokens": "7"}}
    got = backend()._completion(odd, "the server", 0.25)
    assert (got.text, got.finish_reason, got.input_tokens, got.output_tokens) == (
        "Hi", "length", None, None)


def test_hang_is_transient_timeout(
    openai_server: OpenAIServerFactory, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("OPENAI_API_KEY", "sk-test")
    server = openai_server(p_hang=1.0, hang_s=3600)
    with pytest.raises(TransientError, match=r"did not answer within 0\.3 s"):
        call(backend("openai/tiny", base_url=server.base_url, timeout_s=0.3))


def test_self_hosted_servers_get_no_sdk_timeout() -> None:
    """At a self-hosted server a call may rightly wait behind a backlog; the engine
    times it out by the server's progress (tests/unit/test_latency_limit.py)."""
    compatible = backend(base_url="http://127.0.0.1:9/v1", timeout_s=0.3)
    assert compatible.latency_limited and compatible._sdk_timeout() is None
    hosted = backend("openai/tiny", timeout_s=0.3)
    assert not hosted.latency_limited and hosted._sdk_timeout() == 0.3


def test_connection_refused_is_transient(openai_server: OpenAIServerFactory) -> None:
    server = openai_server()
    url = server.base_url
    server.stop()
    with pytest.raises(TransientError, match="cannot connect"):
        call(backend(base_url=url))


def test_400_is_permanent(openai_server: OpenAIServerFactory) -> None:
    server = openai_server()
    with pytest.raises(PermanentError, match="HTTP 400"):
        call(backend(base_url=server.base_url), messages=[])


def test_401_is_permanent_and_never_shows_the_key(
    openai_server: OpenAIServerFactory, monkeypatch: pytest.MonkeyPatch
) -> None:
    # This server quotes the credentials it got, as some real providers do.
    server = openai_server(api_key="sk-the-right-key-000000", leak_auth_in_errors=True)
    monkeypatch.setenv("OPENAI_API_KEY", SECRET)
    b = backend(base_url=server.base_url)
    with pytest.raises(PermanentError, match="HTTP 401") as info:
        call(b)
    rendered = "".join(traceback.format_exception(info.value))
    assert "Authorization=" in str(info.value)  # the server did quote it...
    for text in (str(info.value), repr(info.value), rendered, repr(b)):
        assert SECRET not in text  # ...but we scrubbed it
        assert SECRET[:12] not in text
    assert info.value.__cause__ is None and info.value.__suppress_context__


def test_500_that_quotes_the_key_is_scrubbed(
    openai_server: OpenAIServerFactory, monkeypatch: pytest.MonkeyPatch
) -> None:
    server = openai_server(p_500=1.0, leak_auth_in_errors=True)
    monkeypatch.setenv("OPENAI_API_KEY", SECRET)
    with pytest.raises(TransientError) as info:
        call(backend(base_url=server.base_url))
    assert SECRET not in "".join(traceback.format_exception(info.value))


def test_right_key_is_sent(
    openai_server: OpenAIServerFactory, monkeypatch: pytest.MonkeyPatch
) -> None:
    server = openai_server(api_key=SECRET)
    monkeypatch.setenv("OPENAI_API_KEY", SECRET)
    assert call(backend(base_url=server.base_url)).text == CHAT[-1].content


def test_compatible_without_key_sends_placeholder(openai_server: OpenAIServerFactory) -> None:
    server = openai_server(api_key="not-needed")
    b = backend(base_url=server.base_url)
    b.check()
    assert call(b).text == CHAT[-1].content


def test_missing_key_is_unavailable_and_names_the_variable() -> None:
    with pytest.raises(BackendUnavailable, match="OPENAI_API_KEY"):
        backend("openai/gpt-4o-mini").check()


def test_compatible_without_base_url_names_the_option() -> None:
    with pytest.raises(BackendUnavailable, match="--honesty-base-url"):
        backend("openai-compatible/tiny").check()


def test_base_url_from_environment(
    openai_server: OpenAIServerFactory, monkeypatch: pytest.MonkeyPatch
) -> None:
    server = openai_server(lambda req: "from env")
    monkeypatch.setenv("OPENAI_BASE_URL", server.base_url)
    b = backend()
    b.check()
    assert call(b).text == "from env"


def test_spec_without_model_is_unavailable() -> None:
    with pytest.raises(BackendUnavailable, match="names no model"):
        backend("openai-compatible", base_url="http://127.0.0.1:1/v1").check()


def test_bad_base_url_scheme_is_unavailable() -> None:
    with pytest.raises(BackendUnavailable, match="http://"):
        backend(base_url="127.0.0.1:8000/v1").check()


def test_missing_sdk_is_unavailable_with_pip_hint(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "openai", None)  # makes `import openai` fail
    with pytest.raises(BackendUnavailable, match=r"pytest-honesty\[openai\]"):
        backend(base_url="http://127.0.0.1:1/v1").check()


def test_repr_hides_credentials_in_url(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("OPENAI_API_KEY", SECRET)
    b = backend(base_url="http://user:hunter2@127.0.0.1:9/v1")
    assert "hunter2" not in repr(b) and SECRET not in repr(b)
    assert "127.0.0.1:9" in repr(b)


def test_backend_survives_successive_event_loops(openai_server: OpenAIServerFactory) -> None:
    server = openai_server()
    b = backend(base_url=server.base_url)

    async def once(text: str) -> str:
        return (await b.complete([Message("user", text)], SamplingParams())).text

    # each asyncio.run() is a new loop; the client must not be reused across them
    assert asyncio.run(once("one")) == "one"
    assert asyncio.run(once("two")) == "two"
    run(b.aclose())


def test_calls_take_the_pooled_clients_in_turn_and_close_them_all(
    openai_server: OpenAIServerFactory,
) -> None:
    server = openai_server()
    b = backend(base_url=server.base_url)

    async def go() -> tuple[list[str], list[Any]]:
        texts = await asyncio.gather(
            *(b.complete([Message("user", f"q{i}")], SamplingParams()) for i in range(8))
        )
        clients = list(b._clients)
        await b.aclose()
        return [t.text for t in texts], clients

    texts, clients = asyncio.run(go())
    assert texts == [f"q{i}" for i in range(8)]
    assert len(clients) > 1  # several small pools, see SDKBackend._client_for_running_loop
    assert all(c.is_closed() for c in clients)
    assert b._clients == []


def test_engine_retries_faults_without_repeating_completed_calls(
    openai_server: OpenAIServerFactory,
) -> None:
    server = openai_server(p_429=0.2, p_500=0.2, p_malformed=0.1, retry_after_s=0.01, seed=3)
    b = backend(base_url=server.base_url)
    engine = Engine(
        concurrency=8, retry=RetryPolicy(max_retries=20, base_delay_s=0.01, max_delay_s=0.05)
    )

    async def go() -> list[Completion]:
        try:
            return await asyncio.gather(
                *(
                    engine.complete(b, [Message("user", f"question {i}")], SamplingParams())
                    for i in range(30)
                )
            )
        finally:
            await b.aclose()

    results = asyncio.run(go())
    assert [c.text for c in results] == [f"question {i}" for i in range(30)]
    assert engine.stats.retries > 0 and sum(c.retries for c in results) == engine.stats.retries
    assert server.repeated_completed_calls() == 0
    assert sum(server.completed_calls.values()) == 30
