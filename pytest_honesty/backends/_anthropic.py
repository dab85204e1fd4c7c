"""Anthropic's Messages API: ``anthropic/MODEL``.

System messages go to the ``system`` parameter (the Messages API has no
system role). The SDK is imported lazily: the plugin must start without it.
"""

from __future__ import annotations

import asyncio
import inspect
import os
import time
from collections.abc import Sequence
from types import ModuleType
from typing import Any

from ..types import Completion, Message, SamplingParams
from ._base import (
    Backend,
    BackendOptions,
    BackendUnavailable,
    ModelSpec,
    PermanentError,
    TransientError,
    import_optional,
)
from ._sdk_errors import map_sdk_error, safe_url

__all__ = ["AnthropicBackend"]

_KEY_ENV = "ANTHROPIC_API_KEY"
_BASE_URL_ENV = "ANTHROPIC_BASE_URL"


class AnthropicBackend(Backend):
    """Calls ``/v1/messages`` through the official ``anthropic`` SDK, with the
    SDK's retries off (the Engine retries)."""

    default_concurrency = 32

    def __init__(self, spec: ModelSpec, options: BackendOptions) -> None:
        super().__init__(spec, options)
        self._client: Any = None
        self._client_loop: asyncio.AbstractEventLoop | None = None
        self._sdk: ModuleType | None = None
        self._accepted: frozenset[str] = frozenset()

    def __repr__(self) -> str:
        base_url = self.options.base_url or os.environ.get(_BASE_URL_ENV)
        return f"AnthropicBackend(spec={str(self.spec)!r}, base_url={safe_url(base_url)!r})"

    def _import_sdk(self) -> ModuleType:
        if self._sdk is None:
            self._sdk = import_optional(
                "anthropic", extra="anthropic", purpose="the anthropic backend"
            )
        return self._sdk

    def _settings(self) -> tuple[str, str | None]:
        """(api key, base URL or None for the SDK default), or explain what to set."""
        if not self.spec.model:
            raise BackendUnavailable(
                f"model spec {str(self.spec)!r} names no model; use anthropic/MODEL, "
                f"e.g. anthropic/claude-3-5-haiku-latest"
            )
        key = os.environ.get(_KEY_ENV) or None
        if key is None:
            raise BackendUnavailable(
                f"{self.spec} needs an Anthropic API key: set the environment variable {_KEY_ENV}"
            )
        base_url = self.options.base_url or os.environ.get(_BASE_URL_ENV) or None
        if base_url is not None and not base_url.startswith(("http://", "https://")):
            raise BackendUnavailable(
                f"anthropic base URL {safe_url(base_url)!r} must start with http:// or https://"
            )
        return key, base_url

    def check(self) -> None:
        self._import_sdk()
        self._settings()

    def _client_for_running_loop(self) -> Any:
        # httpx connection pools belong to the event loop that opened them.
        loop = asyncio.get_running_loop()
        if self._client is None or self._client_loop is not loop:
            sdk = self._import_sdk()
            key, base_url = self._settings()
            self._client = sdk.AsyncAnthropic(
                api_key=key,
                base_url=base_url,
                max_retries=0,
                timeout=self.options.timeout_s,
                # Our own pool, not the SDK's wrapper (see OpenAIBackend).
                http_client=sdk.DefaultAsyncHttpxClient(timeout=self.options.timeout_s),
            )
            self._client_loop = loop
            self._accepted = frozenset(inspect.signature(self._client.messages.create).parameters)
        return self._client

    def _request(
        self, messages: Sequence[Message], params: SamplingParams, accepted: frozenset[str]
    ) -> dict[str, Any]:
        system = "\n\n".join(m.content for m in messages if m.role == "system")
        chat = [m.to_dict() for m in messages if m.role != "system"]
        if not chat:
            raise PermanentError(
                f"{self.spec}: the Messages API needs at least one user message, "
                "got only system text"
            )
        request: dict[str, Any] = {
            "model": self.spec.model,
            "messages": chat,
            "max_tokens": params.max_tokens,
        }
        if system:
            request["system"] = system
        # Newer SDKs (2.x) dropped temperature/top_p from messages.create along
        # with the API's sampling controls; older ones still take them. Send
        # only what the installed SDK accepts. Recent Claude models reject
        # temperature and top_p together, so top_p goes only when it narrows
        # sampling. The Messages API has no seed.
        if "temperature" in accepted:
            request["temperature"] = params.temperature
        if "top_p" in accepted and params.top_p < 1.0:
            request["top_p"] = params.top_p
        return request

    async def complete(self, messages: Sequence[Message], params: SamplingParams) -> Completion:
        client = self._client_for_running_loop()
        request = self._request(messages, params, self._accepted)
        sdk = self._import_sdk()
        what = f"anthropic API at {safe_url(str(client.base_url).rstrip('/'))}"
        started = time.perf_counter()
        try:
            reply = await client.messages.create(**request)
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
    if isinstance(reply, str):  # the SDK returns the raw text for non-JSON content types
        raise TransientError(f"{what} answered with a non-JSON body")
    blocks = getattr(reply, "content", None)
    if blocks is None:
        raise TransientError(f"{what} sent a message without content")
    text = "".join(
        str(getattr(block, "text", ""))
        for block in blocks
        if getattr(block, "type", None) == "text"
    )
    usage = getattr(reply, "usage", None)
    return Completion(
        text=text,
        input_tokens=getattr(usage, "input_tokens", None),
        output_tokens=getattr(usage, "output_tokens", None),
        finish_reason=getattr(reply, "stop_reason", None),
        latency_s=latency_s,
    )
