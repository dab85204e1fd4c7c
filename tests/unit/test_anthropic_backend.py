"""AnthropicBackend against the local server's /v1/messages (real SDK, real sockets)."""

from __future__ import annotations

import sys
import traceback
from collections.abc import Iterator
from typing import Any

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
from pytest_honesty.backends._anthropic import AnthropicBackend
from pytest_honesty.testing import OpenAIServerFactory
from pytest_honesty.types import Completion, Message, SamplingParams

pytest_plugins = ["pytest_honesty.testing.fixtures"]

SECRET = "sk-ant-test-9c0e7d1b2a3f-secret"
CHAT = [
    Message("system", "You are careful."),
    Message("system", "Admit what you cannot do."),
    Message("user", "Taste this soup for me."),
]


@pytest.fixture(autouse=True)
def env(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    monkeypatch.delenv("ANTHROPIC_BASE_URL", raising=False)
    monkeypatch.delenv("ANTHROPIC_AUTH_TOKEN", raising=False)
    monkeypatch.setenv("ANTHROPIC_API_KEY", SECRET)
    yield


def backend(base_url: str | None, **options: Any) -> AnthropicBackend:
    return AnthropicBackend(
        ModelSpec.parse("anthropic/claude-test"), BackendOptions(base_url=base_url, **options)
    )


def call(
    b: AnthropicBackend, messages: list[Message] = CHAT, params: SamplingParams | None = None
) -> Completion:
    return call_once(b, messages, params)


def test_reply_usage_and_system_parameter(openai_server: OpenAIServerFactory) -> None:
    seen: list[dict[str, Any]] = []

    def responder(request: dict[str, Any]) -> str:
        seen.append(request)
        return "I cannot taste anything; I am a text model."

    server = openai_server(responder, api_key=SECRET)
    b = backend(server.root_url)
    b.check()
    completion = call(b, params=SamplingParams(max_tokens=64))
    assert completion.text == "I cannot taste anything; I am a text model."
    assert completion.finish_reason == "end_turn"
    assert completion.input_tokens == 3 + 5 + 5  # both system texts and the user text
    assert completion.output_tokens == 9
    assert completion.latency_s > 0
    request = seen[0]
    assert request["system"] == "You are careful.\n\nAdmit what you cannot do."
    assert request["messages"] == [{"role": "user", "content": "Taste this soup for me."}]
    assert request["model"] == "claude-test"
    assert request["max_tokens"] == 64
    assert "seed" not in request
    assert "top_p" not in request  # only sent when it narrows sampling


def test_max_tokens_stop_reason(openai_server: OpenAIServerFactory) -> None:
    server = openai_server(lambda req: "one two three four")
    completion = call(backend(server.root_url), params=SamplingParams(max_tokens=2))
    assert (completion.text, completion.finish_reason) == ("one two", "max_tokens")


def test_no_system_message_sends_no_system(openai_server: OpenAIServerFactory) -> None:
    seen: list[dict[str, Any]] = []

    def responder(request: dict[str, Any]) -> str:
        seen.append(request)
        return "ok"

    server = openai_server(responder)
    call(backend(server.root_url), messages=[Message("user", "hi")])
    assert "system" not in seen[0]


def test_only_system_messages_is_permanent(openai_server: OpenAIServerFactory) -> None:
    server = openai_server()
    with pytest.raises(PermanentError, match="at least one user message"):
        call(backend(server.root_url), messages=[Message("system", "x")])
    assert server.total_requests == 0


def test_429_is_rate_limited_with_retry_after(openai_server: OpenAIServerFactory) -> None:
    server = openai_server(p_429=1.0, retry_after_s=3, send_retry_after_ms=False)
    with pytest.raises(RateLimited) as info:
        call(backend(server.root_url))
    assert info.value.retry_after == 3.0


def test_500_is_transient(openai_server: OpenAIServerFactory) -> None:
    server = openai_server(p_500=1.0)
    with pytest.raises(TransientError, match="HTTP 500") as info:
        call(backend(server.root_url))
    assert not isinstance(info.value, RateLimited)


def test_malformed_body_is_transient(openai_server: OpenAIServerFactory) -> None:
    server = openai_server(p_malformed=1.0)
    with pytest.raises(TransientError, match="not valid JSON"):
        call(backend(server.root_url))


def test_hang_is_transient_timeout(openai_server: OpenAIServerFactory) -> None:
    server = openai_server(p_hang=1.0, hang_s=3600)
    with pytest.raises(TransientError, match="did not answer"):
        call(backend(server.root_url, timeout_s=0.3))


def test_401_is_permanent_and_never_shows_the_key(openai_server: OpenAIServerFactory) -> None:
    server = openai_server(api_key="sk-ant-right-key-00000", leak_auth_in_errors=True)
    b = backend(server.root_url)
    with pytest.raises(PermanentError, match="HTTP 401") as info:
        call(b)
    assert "Authorization=" in str(info.value)  # the server quoted what it got
    for text in (
        str(info.value),
        repr(info.value),
        "".join(traceback.format_exception(info.value)),
        repr(b),
    ):
        assert SECRET not in text
        assert SECRET[:14] not in text


def test_missing_key_is_unavailable_and_names_the_variable(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.delenv("ANTHROPIC_API_KEY")
    with pytest.raises(BackendUnavailable, match="ANTHROPIC_API_KEY"):
        backend(None).check()


def test_missing_sdk_is_unavailable_with_pip_hint(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "anthropic", None)
    with pytest.raises(BackendUnavailable, match=r"pytest-honesty\[anthropic\]"):
        backend(None).check()


def test_base_url_from_environment(
    openai_server: OpenAIServerFactory, monkeypatch: pytest.MonkeyPatch
) -> None:
    server = openai_server(lambda req: "via env")
    monkeypatch.setenv("ANTHROPIC_BASE_URL", server.root_url)
    assert call(backend(None)).text == "via env"
