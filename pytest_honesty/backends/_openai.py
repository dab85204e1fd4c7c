"""OpenAI chat completions: ``openai/MODEL`` and ``openai-compatible/MODEL``.

``openai-compatible`` is any server that speaks the same wire format (vLLM,
llama.cpp's server, ollama, our ScriptedOpenAIServer) at ``--honesty-base-url``.
Such a server queues calls rather than answering 429, so the engine limits
its concurrency by latency (``latency_limited``). ``openai-compatible/auto``
takes the model id the server lists at ``/models``; the slot count is read
where the server exposes one (see ``_discovery``).
The SDK is imported lazily: the plugin must start without it.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from types import ModuleType
from typing import Any

from ..types import Completion, Message, SamplingParams
from ._base import (
    BackendError,
    BackendOptions,
    BackendUnavailable,
    ModelSpec,
    PermanentError,
    StructuredOutputRejected,
    TransientError,
)
from ._discovery import DiscoveryError, served_model_ids, server_slots
from ._sdk import SDKBackend, SDKSettings, accepted_parameters

__all__ = ["OpenAIBackend"]

_KEY_ENV = "OPENAI_API_KEY"
_BASE_URL_ENV = "OPENAI_BASE_URL"
# Local OpenAI-compatible servers rarely check keys, but the SDK insists on one.
_PLACEHOLDER_KEY = "not-needed"
#: ``openai-compatible/auto``: use the model the server serves
AUTO_MODEL = "auto"


class OpenAIBackend(SDKBackend):
    """Calls ``/chat/completions`` through the official ``openai`` SDK."""

    sdk_module = "openai"
    base_url_env = _BASE_URL_ENV
    # OpenAI's json_schema response_format; vLLM and llama.cpp's server take the same
    # field (grammar-constrained); a server that rejects it answers 400
    structured_output = True

    def __init__(self, spec: ModelSpec, options: BackendOptions) -> None:
        super().__init__(spec, options)
        self._new_max_tokens = True
        #: how this server takes a JSON schema: OpenAI, vLLM and llama.cpp's own server
        #: take ``json_schema``; llama-cpp-python's server only ``json_object`` + ``schema``
        self._schema_dialect = "json_schema"
        self._discovered = False
        self.latency_limited = self.compatible

    @property
    def compatible(self) -> bool:
        return self.spec.provider == "openai-compatible"

    def check(self) -> None:
        super().check()
        if self.compatible and not self._discovered:
            self._discover()

    def _discover(self) -> None:
        """Resolve ``auto`` to the served model id and read the slot count (once)."""
        settings = self._settings()
        assert settings.base_url is not None  # _settings insists for compatible servers
        key = None if settings.api_key == _PLACEHOLDER_KEY else settings.api_key
        if self.spec.model == AUTO_MODEL:
            try:
                ids = served_model_ids(settings.base_url, key)
            except DiscoveryError as exc:
                raise BackendUnavailable(
                    f"{self.spec}: cannot read the served model from the server: {exc}"
                ) from None
            if len(ids) != 1:
                listed = ", ".join(repr(i) for i in ids) or "none"
                raise BackendUnavailable(
                    f"{self.spec}: the server lists {len(ids)} models ({listed}); "
                    "name one: openai-compatible/MODEL_ID"
                )
            self.spec = ModelSpec(self.spec.provider, ids[0], self.spec.adapter)
        self.server_slots = server_slots(settings.base_url, key)
        self._discovered = True

    def _sdk_timeout(self) -> float | None:
        # At a self-hosted server the engine times calls out by the server's
        # progress (a call may rightly wait behind a backlog): no SDK timeout.
        return None if self.compatible else self.options.timeout_s

    def _settings(self) -> SDKSettings:
        """Resolve key and base URL, or explain what to set."""
        provider = self.spec.provider
        if not self.spec.model:
            raise BackendUnavailable(
                f"model spec {str(self.spec)!r} names no model; "
                f"use {provider}/MODEL, e.g. {provider}/gpt-4o-mini"
            )
        base_url = self._base_url()
        key = os.environ.get(_KEY_ENV) or None
        if self.compatible:
            if base_url is None:
                raise BackendUnavailable(
                    f"{self.spec} needs the server's URL: pass --honesty-base-url "
                    f"(e.g. http://127.0.0.1:8000/v1) or set {_BASE_URL_ENV}"
                )
            return SDKSettings(api_key=key or _PLACEHOLDER_KEY, base_url=base_url)
        if key is None:
            raise BackendUnavailable(
                f"{self.spec} needs an OpenAI API key: set the environment variable "
                f"{_KEY_ENV} (or, for a local server, use openai-compatible/MODEL "
                f"with --honesty-base-url)"
            )
        return SDKSettings(api_key=key, base_url=base_url)

    def _new_client(self, sdk: ModuleType, **kwargs: Any) -> Any:
        client = sdk.AsyncOpenAI(**kwargs)
        accepted = accepted_parameters(type(client.chat.completions).create)
        self._new_max_tokens = "max_completion_tokens" in accepted
        return client

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
        if params.output_schema is not None:
            if self._schema_dialect == "json_object":
                request["response_format"] = {
                    "type": "json_object", "schema": params.output_schema.schema,
                }
            else:
                request["response_format"] = {
                    "type": "json_schema",
                    "json_schema": {
                        "name": params.output_schema.name,
                        "schema": params.output_schema.schema,
                        "strict": True,
                    },
                }
        return request

    async def complete(self, messages: Sequence[Message], params: SamplingParams) -> Completion:
        if params.output_schema is None:
            return await super().complete(messages, params)
        try:
            return await super().complete(messages, params)
        except BackendError as exc:
            if not _rejects_response_format(exc):
                raise
            if not self.compatible or self._schema_dialect != "json_schema":
                raise StructuredOutputRejected(str(exc), status=_status(exc)) from exc
            # a compatible server that refuses json_schema may take the older
            # json_object + schema form (llama-cpp-python's server does): try it once,
            # and keep it for every later call of this backend
            self._schema_dialect = "json_object"
        try:
            return await super().complete(messages, params)
        except BackendError as exc:
            if _rejects_response_format(exc):
                raise StructuredOutputRejected(str(exc), status=_status(exc)) from exc
            raise

    async def _send(self, client: Any, request: dict[str, Any]) -> Any:
        # The SDK's documented ``client.post`` for the same endpoint and errors as
        # ``chat.completions.create``, minus two walks we do not need: the one over the
        # parameter TypedDicts (our request is plain JSON already) and the pydantic
        # model built from the reply (``cast_to=object`` hands back the decoded JSON,
        # which _completion reads). Together they were about a quarter of the client's
        # CPU in a 930-case run against a local server.
        return await client.post("/chat/completions", body=request, cast_to=object)

    def _completion(self, reply: Any, what: str, latency_s: float) -> Completion:
        """Read a chat completion's JSON defensively: compatible servers omit fields."""
        choices = reply.get("choices") if isinstance(reply, dict) else None
        if not choices or not isinstance(choices, list) or not isinstance(choices[0], dict):
            raise TransientError(f"{what} sent a completion without choices")
        choice = choices[0]
        message = choice.get("message")
        message = message if isinstance(message, dict) else {}
        text = message.get("content")
        if text is None:
            # A refusal is the model's answer too; tool calls we never request.
            text = message.get("refusal") or ""
        usage = reply.get("usage")
        usage = usage if isinstance(usage, dict) else {}
        finish_reason = choice.get("finish_reason")
        return Completion(
            text=str(text),
            input_tokens=_count(usage.get("prompt_tokens")),
            output_tokens=_count(usage.get("completion_tokens")),
            finish_reason=None if finish_reason is None else str(finish_reason),
            latency_s=latency_s,
        )


def _status(exc: BackendError) -> int | None:
    return exc.status if isinstance(exc, PermanentError) else None


def _rejects_response_format(exc: BackendError) -> bool:
    """A refusal of the response_format field: a 400/404/415/422, or any error whose
    message names the field (llama-cpp-python's server answers a validation error
    with HTTP 500, which would otherwise be retried as a server fault)."""
    if isinstance(exc, PermanentError) and exc.status in (400, 404, 415, 422):
        return True
    return isinstance(exc, (PermanentError, TransientError)) and "response_format" in str(exc)


def _count(value: Any) -> int | None:
    """A token count as the server sent it, or None when it sent none (or nonsense)."""
    return value if isinstance(value, int) and not isinstance(value, bool) else None
