"""What the HTTP SDK backends (openai, anthropic) share: the SDK's lazy import,
a client per running event loop, and one ``complete`` that times the call and
maps the SDK's errors. A provider supplies only its settings, client class,
request and reply parsing.
"""

from __future__ import annotations

import abc
import asyncio
import functools
import inspect
import os
import time
from collections.abc import Sequence
from dataclasses import dataclass
from types import ModuleType
from typing import Any, ClassVar

from ..types import Completion, Message, SamplingParams
from ._base import (
    Backend,
    BackendOptions,
    BackendUnavailable,
    ModelSpec,
    TransientError,
    import_optional,
    require_installed,
)
from ._sdk_errors import map_sdk_error, safe_url

__all__ = ["SDKBackend", "SDKSettings", "accepted_parameters"]

#: HTTP clients per backend, taken in turn (see _client_for_running_loop); with 4, a
#: 930-case run at concurrency 64 spent a third as long in httpx's pool bookkeeping
_CLIENTS = 4


@functools.cache
def accepted_parameters(method: Any) -> frozenset[str]:
    """The parameter names of an SDK method, e.g. ``type(client.messages).create``.
    Cached: the signature of a create method with all its overloads takes
    milliseconds, and every event loop (and xdist worker) makes new clients."""
    return frozenset(inspect.signature(method).parameters)


@dataclass(frozen=True)
class SDKSettings:
    api_key: str
    base_url: str | None


class SDKBackend(Backend):
    """A backend over a Stainless-generated async SDK, with the SDK's retries
    off (``max_retries=0``): the Engine retries, with its own backoff and
    Retry-After handling, and counts every attempt."""

    default_concurrency = 32
    #: the SDK's module name, also the pip extra that installs it
    sdk_module: ClassVar[str]
    #: the environment variable the SDK reads for its base URL
    base_url_env: ClassVar[str]

    def __init__(self, spec: ModelSpec, options: BackendOptions) -> None:
        super().__init__(spec, options)
        self._clients: list[Any] = []
        self._next_client = 0
        self._client_loop: asyncio.AbstractEventLoop | None = None
        self._sdk: ModuleType | None = None

    def __repr__(self) -> str:
        base_url = self.options.base_url or os.environ.get(self.base_url_env)
        return f"{type(self).__name__}(spec={str(self.spec)!r}, base_url={safe_url(base_url)!r})"

    def _import_sdk(self) -> ModuleType:
        if self._sdk is None:
            self._sdk = import_optional(
                self.sdk_module, extra=self.sdk_module, purpose=f"the {self.spec.provider} backend"
            )
        return self._sdk

    def _base_url(self) -> str | None:
        """The configured base URL (None for the SDK default), or explain what is wrong."""
        base_url = self.options.base_url or os.environ.get(self.base_url_env) or None
        if base_url is not None and not base_url.startswith(("http://", "https://")):
            raise BackendUnavailable(
                f"{self.spec.provider} base URL {safe_url(base_url)!r} "
                "must start with http:// or https://"
            )
        return base_url

    @abc.abstractmethod
    def _settings(self) -> SDKSettings:
        """Resolve key and base URL, or explain what to set."""

    def check(self) -> None:
        require_installed(
            self.sdk_module, extra=self.sdk_module, purpose=f"the {self.spec.provider} backend"
        )
        self._settings()

    def _sdk_timeout(self) -> float | None:
        """The SDK's own timeout per request (None: none; the engine still times out)."""
        return self.options.timeout_s

    @abc.abstractmethod
    def _new_client(self, sdk: ModuleType, **kwargs: Any) -> Any:
        """Construct the SDK's async client from ``kwargs`` (and note what its
        create method accepts)."""

    def _client_for_running_loop(self) -> Any:
        # httpx connection pools belong to the event loop that opened them; a
        # client reused from a loop that asyncio.run() already closed fails.
        loop = asyncio.get_running_loop()
        if not self._clients or self._client_loop is not loop:
            sdk = self._import_sdk()
            settings = self._settings()
            self._clients = [
                self._new_client(
                    sdk,
                    api_key=settings.api_key,
                    base_url=settings.base_url,
                    max_retries=0,
                    timeout=self._sdk_timeout(),
                    # Our own pool, not the SDK's wrapper: the wrapper's __del__
                    # schedules aclose() on whatever loop runs next and logs
                    # "Event loop is closed" when the pool belonged to an old one.
                    http_client=sdk.DefaultAsyncHttpxClient(timeout=self._sdk_timeout()),
                )
                for _ in range(_CLIENTS)
            ]
            self._client_loop = loop
        # Calls take the clients in turn: httpx walks its whole pool (and probes
        # each idle socket) on every request and every response, so several small
        # pools cost less CPU per call than one pool as large as the concurrency.
        client = self._clients[self._next_client % len(self._clients)]
        self._next_client += 1
        return client

    @abc.abstractmethod
    def _request(self, messages: Sequence[Message], params: SamplingParams) -> dict[str, Any]:
        """The keyword arguments of the create call."""

    @abc.abstractmethod
    async def _send(self, client: Any, request: dict[str, Any]) -> Any:
        """Make the create call."""

    @abc.abstractmethod
    def _completion(self, reply: Any, what: str, latency_s: float) -> Completion:
        """Read a parsed reply; ``what`` names the call for error messages."""

    async def complete(self, messages: Sequence[Message], params: SamplingParams) -> Completion:
        client = self._client_for_running_loop()
        request = self._request(messages, params)
        sdk = self._import_sdk()
        what = f"{self.spec.provider} API at {safe_url(str(client.base_url).rstrip('/'))}"
        started = time.perf_counter()
        try:
            reply = await self._send(client, request)
            if isinstance(reply, str):  # the SDK returns the raw text for non-JSON content types
                raise TransientError(f"{what} answered with a non-JSON body")
            return self._completion(reply, what, time.perf_counter() - started)
        except Exception as exc:
            mapped = map_sdk_error(
                exc, sdk, what=what, secrets=[client.api_key], timeout_s=self.options.timeout_s
            )
            if mapped is None:
                raise
            raise mapped from None

    async def aclose(self) -> None:
        clients, loop = self._clients, self._client_loop
        self._clients, self._client_loop = [], None
        if loop is asyncio.get_running_loop():
            for client in clients:
                await client.close()
