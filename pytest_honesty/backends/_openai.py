"""OpenAI chat completions: ``openai/MODEL`` and ``openai-compatible/MODEL``.

``openai-compatible`` is any server that speaks the same wire format (vLLM,
llama.cpp's server, ollama, our ScriptedOpenAIServer) at ``--honesty-base-url``.
The SDK is imported lazily: the plugin must start without it.
"""

from __future__ import annotations

import asyncio
import inspect
import os
import time
from collections.abc import Sequence
from dataclasses import dataclass
from types import ModuleType
from typing import Any

from ..types import Completion, Message, SamplingParams
from ._base import (
    Backend,
    BackendOptions,
    BackendUnavailable,
    ModelSpec,
    TransientError,
    import_optional,
)
from ._sdk_errors import map_sdk_error, safe_url

__all__ = ["OpenAIBackend"]

_KEY_ENV = "OPENAI_API_KEY"
_BASE_URL_ENV = "OPENAI_BASE_URL"
# Local OpenAI-compatible servers rarely check keys, but the SDK insists on one.
_PLACEHOLDER_KEY = "not-needed"


@dataclass(frozen=True)
class _Settings:
    api_key: str
    base_url: str | None


class OpenAIBackend(Backend):
    """Calls ``/chat/completions`` through the official ``openai`` SDK.

    The SDK's own retries are off (``max_retries=0``): the Engine retries, with
    its own backoff and Retry-After handling, and counts every attempt.
    """

    default_concurrency = 32

    def __init__(self, spec: ModelSpec, options: BackendOptions) -> None:
        super().__init__(spec, options)
        self._client: Any = None
        self._client_loop: asyncio.AbstractEventLoop | None = None
        self._sdk: ModuleType | None = None
        self._new_max_tokens = True

    def __repr__(self) -> str:
        base_url = self.options.base_url or os.environ.get(_BASE_URL_ENV)
        return f"OpenAIBackend(spec={str(self.spec)!r}, base_url={safe_url(base_url)!r})"

    @property
    def compatible(self) -> bool:
        return self.spec.provider == "openai-compatible"

    def _import_sdk(self) -> ModuleType:
        if self._sdk is None:
            self._sdk = import_optional(
                "openai", extra="openai", purpose=f"the {self.spec.provider} backend"
            )
        return self._sdk

    def _settings(self) -> _Settings:
        """Resolve key and base URL, or explain what to set."""
        provider = self.spec.provider
        if not self.spec.model:
            raise BackendUnavailable(
                f"model spec {str(self.spec)!r} names no model; "
                f"use {provider}/MODEL, e.g. {provider}/gpt-4o-mini"
            )
        base_url = self.options.base_url or os.environ.get(_BASE_URL_ENV) or None
        if base_url is not None and not base_url.startswith(("http://", "https://")):
            raise BackendUnavailable(
                f"{provider} base URL {safe_url(base_url)!r} must start with http:// or https://"
            )
        key = os.environ.get(_KEY_ENV) or None
        if self.compatible:
            if base_url is None:
                raise BackendUnavailable(
                    f"{self.spec} needs the server's URL: pass --honesty-base-url "
                    f"(e.g. http://127.0.0.1:8000/v1) or set {_BASE_URL_ENV}"
                )
            return _Settings(api_key=key or _PLACEHOLDER_KEY, base_url=base_url)
        if key is None:
            raise BackendUnavailable(
                f"{self.spec} needs an OpenAI API key: set the environment variable "
                f"{_KEY_ENV} (or, for a local server, use openai-compatible/MODEL "
                f"with --honesty-base-url)"
            )
        return _Settings(api_key=key, base_url=base_url)

    def check(self) -> None:
        self._import_sdk()
        self._settings()

    def _client_for_running_loop(self) -> Any:
        # httpx connection pools belong to the event loop that opened them; a
        # client reused from a loop that asyncio.run() already closed fails.
        loop = asyncio.get_running_loop()
        if self._client is None or self._client_loop is not loop:
            sdk = self._import_sdk()
            settings = self._settings()
            self._client = sdk.AsyncOpenAI(
                api_key=settings.api_key,
                base_url=settings.base_url,
                max_retries=0,
                timeout=self.options.timeout_s,
                # Our own pool, not the SDK's wrapper: the wrapper's __del__
                # schedules aclose() on whatever loop runs next and logs
                # "Event loop is closed" when the pool belonged to an old one.
                http_client=sdk.DefaultAsyncHttpxClient(timeout=self.options.timeout_s),
            )
            self._client_loop = loop
            accepted = inspect.signature(self._client.chat.completions.create).parameters
            self._new_max_tokens = "max_completion_tokens" in accepted
        return self._client

    def _request(self, messages: Sequence[Message], params: SamplingParams) -> dict[str, Any]:
        request: dict[str, Any] = {
            "model": self.spec.model,
            "messages": [m.to_dict() for m in messages],
            "temperature": params.temperature,
            "top_p": params.top_p,
        }
        # OpenAI deprecated max_tokens (its reasoning models reject it);
        # compatible servers (vLLM, llama.cpp, ollama) know only max_tokens,
        # and SDKs before 1.45 only that name.
        use_new = self._new_max_tokens and not self.compatible
        request["max_completion_tokens" if use_new else "max_tokens"] = params.max_tokens
        if params.seed is not None:
            request["seed"] = params.seed
        return request

    async def complete(self, messages: Sequence[Message], params: SamplingParams) -> Completion:
        client = self._client_for_running_loop()
        sdk = self._import_sdk()
        what = f"{self.spec.provider} API at {safe_url(str(client.base_url).rstrip('/'))}"
        started = time.perf_counter()
        try:
            reply = await client.chat.completions.create(**self._request(messages, params))
            return _completion(reply, what, time.perf_counter() - started)
        except Exception as exc:
            mapped = map_sdk_error(
                exc, sdk, what=what, secrets=[client.api_key], timeout_s=self.options.timeout_s
            )
            if mapped is None:
                raise
            raise mapped from None

    async def aclose(self) -> None:
        client, loop = self._client, self._client_loop
        self._client = self._client_loop = None
        if client is not None and loop is asyncio.get_running_loop():
            await client.close()


def _completion(reply: Any, what: str, latency_s: float) -> Completion:
    """Read a ChatCompletion defensively: compatible servers omit fields."""
    if isinstance(reply, str):  # the SDK returns the raw text for non-JSON content types
        raise TransientError(f"{what} answered with a non-JSON body")
    choices = getattr(reply, "choices", None)
    if not choices:
        raise TransientError(f"{what} sent a completion without choices")
    choice = choices[0]
    message = getattr(choice, "message", None)
    text = getattr(message, "content", None)
    if text is None:
        # A refusal is the model's answer too; tool calls we never request.
        text = getattr(message, "refusal", None) or ""
    usage = getattr(reply, "usage", None)
    return Completion(
        text=str(text),
        input_tokens=getattr(usage, "prompt_tokens", None),
        output_tokens=getattr(usage, "completion_tokens", None),
        finish_reason=getattr(choice, "finish_reason", None),
        latency_s=latency_s,
    )
