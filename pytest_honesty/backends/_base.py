"""The contract between the engine and a model provider."""

from __future__ import annotations

import abc
import importlib
import importlib.util
from collections.abc import Sequence
from dataclasses import dataclass, field
from types import ModuleType
from typing import Any

from .._specs import ModelSpec
from ..types import Completion, Message, SamplingParams

__all__ = [
    "AuthenticationFailed",
    "Backend",
    "BackendError",
    "BackendOptions",
    "BackendUnavailable",
    "ConnectionFailed",
    "ModelSpec",
    "PermanentError",
    "RateLimited",
    "StructuredOutputRejected",
    "TransientError",
    "import_optional",
    "require_installed",
]


class BackendError(Exception):
    """Base class of every error a backend raises."""


class BackendUnavailable(BackendError):
    """The backend cannot run at all (missing SDK, key, model file or server).

    Raised by :meth:`Backend.check` before any case runs, so that the user sees
    one clear error instead of one failure per case.
    """


class TransientError(BackendError):
    """A failure worth retrying (5xx, timeout, broken body)."""

    def __init__(self, message: str, *, retry_after: float | None = None) -> None:
        super().__init__(message)
        self.retry_after = retry_after


class RateLimited(TransientError):
    """HTTP 429: retry after ``retry_after`` seconds when the server says so."""


class ConnectionFailed(TransientError):
    """No connection to the provider at all (DNS failure, connection refused, no
    route). Retried like any transient error; a few in a row with no success and the
    engine stops the run (see :mod:`pytest_honesty.calls._reachability`)."""


class PermanentError(BackendError):
    """A failure that a retry cannot fix (400, 401, content policy...).

    ``status`` is the HTTP status when the server sent one (an LLM judge falls
    back from structured output on a 400, not on a 401)."""

    def __init__(self, message: str, *, status: int | None = None) -> None:
        super().__init__(message)
        self.status = status


class AuthenticationFailed(PermanentError):
    """The provider rejected the credentials (HTTP 401 or 403): every further call
    would be rejected too, so the engine stops the run at once."""


@dataclass(frozen=True)
class BackendOptions:
    """Settings that apply to every backend; providers read what they need."""

    base_url: str | None = None
    timeout_s: float = 60.0
    concurrency: int | None = None
    extra: dict[str, str] = field(default_factory=dict)


class StructuredOutputRejected(PermanentError):
    """The server refused the request's structured-output field (``response_format``,
    ``tools``), whatever status it answered with (llama-cpp-python's server answers a
    ``json_schema`` response_format with HTTP 500). A judge falls back to plain text."""


class Backend(abc.ABC):
    """A model provider. ``complete`` may be awaited many times concurrently."""

    #: honours ``SamplingParams.output_schema`` (a reply that follows a JSON schema)
    structured_output: bool = False

    #: concurrency used when the user sets none
    default_concurrency: int = 8
    #: the engine never gives a call less time than this (local models queue
    #: calls behind a running batch, which a network timeout would cut short)
    min_timeout_s: float = 0.0
    #: a self-hosted server that queues calls instead of answering 429 when full:
    #: the engine then limits concurrency by latency (see pytest_honesty.calls._latency)
    latency_limited: bool = False
    #: how many calls the server runs at once, where it says so (llama.cpp's
    #: ``total_slots``); the latency limit starts there instead of low
    server_slots: int | None = None

    def __init__(self, spec: ModelSpec, options: BackendOptions) -> None:
        self.spec = spec
        self.options = options

    @property
    def name(self) -> str:
        return str(self.spec)

    def check(self) -> None:  # noqa: B027 - optional hook, most backends need none
        """Raise :class:`BackendUnavailable` if the backend cannot run."""

    def fingerprint(self) -> str:
        """What identifies this model's outputs in the cache beyond its spec
        (e.g. a hash of adapter weights). Empty when the spec says it all.
        Never include API keys, tokens or other secrets: it goes into cache keys."""
        return ""

    def answers_by(self, messages: Sequence[Message]) -> str:
        """What this call's reply depends on beyond the spec, the fingerprint, the
        messages and the sampling parameters, e.g. the id of the case being run for a
        backend that scripts its replies by case. It goes into the call's cache key (and
        so into the in-flight dedup): two calls with the same messages but different
        answers must not share one reply. Empty for a real model. Called inside the
        call's context (``pytest_honesty.run._context.current_case`` is set). Never put
        secrets here."""
        return ""

    def generation_settings(self) -> dict[str, Any]:
        """How this backend generates (runtime, batching, threads...), for the run
        manifest; empty when the provider decides it all."""
        return {}

    @abc.abstractmethod
    async def complete(self, messages: Sequence[Message], params: SamplingParams) -> Completion:
        """Return the model's reply to a chat."""

    async def aclose(self) -> None:  # noqa: B027 - optional hook
        """Release connections, threads or models."""


def _not_installed(module: str, extra: str, purpose: str) -> BackendUnavailable:
    return BackendUnavailable(
        f"{purpose} needs the Python package {module!r}, which is not installed. "
        f"Install it with: pip install 'pytest-honesty[{extra}]'"
    )


def import_optional(module: str, *, extra: str, purpose: str) -> ModuleType:
    """Import an optional SDK, or explain which extra installs it."""
    try:
        return importlib.import_module(module)
    except ImportError as exc:
        raise _not_installed(module, extra, purpose) from exc


def require_installed(module: str, *, extra: str, purpose: str) -> None:
    """Fail like :func:`import_optional` when ``module`` is missing, without importing
    it: a run answered from the cache never pays for an SDK it does not call."""
    try:
        found = importlib.util.find_spec(module) is not None
    except (ImportError, ValueError):
        found = False
    if not found:
        raise _not_installed(module, extra, purpose)
