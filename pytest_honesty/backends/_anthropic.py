"""Anthropic's Messages API: ``anthropic/MODEL``.

System messages go to the ``system`` parameter (the Messages API has no
system role). The SDK is imported lazily: the plugin must start without it.
"""

from __future__ import annotations

import json
import os
from collections.abc import Sequence
from types import ModuleType
from typing import Any

from ..types import Completion, Message, SamplingParams
from ._base import (
    BackendOptions,
    BackendUnavailable,
    ModelSpec,
    PermanentError,
    TransientError,
)
from ._sdk import SDKBackend, SDKSettings, accepted_parameters

__all__ = ["AnthropicBackend"]

_KEY_ENV = "ANTHROPIC_API_KEY"


class AnthropicBackend(SDKBackend):
    """Calls ``/v1/messages`` through the official ``anthropic`` SDK, with the
    SDK's retries off (the Engine retries)."""

    sdk_module = "anthropic"
    base_url_env = "ANTHROPIC_BASE_URL"
    # through tool use: one tool whose input schema is the reply's, forced by tool_choice
    structured_output = True

    def __init__(self, spec: ModelSpec, options: BackendOptions) -> None:
        super().__init__(spec, options)
        self._accepted: frozenset[str] = frozenset()

    def _settings(self) -> SDKSettings:
        """Key and base URL (None for the SDK default), or explain what to set."""
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
        return SDKSettings(api_key=key, base_url=self._base_url())

    def _new_client(self, sdk: ModuleType, **kwargs: Any) -> Any:
        client = sdk.AsyncAnthropic(**kwargs)
        self._accepted = accepted_parameters(type(client.messages).create)
        return client

    def _request(self, messages: Sequence[Message], params: SamplingParams) -> dict[str, Any]:
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
        if "temperature" in self._accepted:
            request["temperature"] = params.temperature
        if "top_p" in self._accepted and params.top_p < 1.0:
            request["top_p"] = params.top_p
        if params.output_schema is not None:
            # The Messages API's structured output: the model must "call" the one tool,
            # and the call's input (a dict following input_schema) is the reply.
            request["tools"] = [{
                "name": params.output_schema.name,
                "description": "Record your reply in this structure.",
                "input_schema": params.output_schema.schema,
            }]
            request["tool_choice"] = {"type": "tool", "name": params.output_schema.name}
        return request

    async def _send(self, client: Any, request: dict[str, Any]) -> Any:
        return await client.messages.create(**request)

    def _completion(self, reply: Any, what: str, latency_s: float) -> Completion:
        blocks = getattr(reply, "content", None)
        if blocks is None:
            raise TransientError(f"{what} sent a message without content")
        tool_inputs = [
            getattr(block, "input", None)
            for block in blocks
            if getattr(block, "type", None) == "tool_use"
        ]
        if tool_inputs:
            # the forced tool call (structured output): its input, as JSON text for the parser
            text = "".join(json.dumps(value, ensure_ascii=False) for value in tool_inputs)
        else:
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
