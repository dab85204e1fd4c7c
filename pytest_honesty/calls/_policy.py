"""How hard the engine tries (:class:`RetryPolicy`), how a call fails for good (the
:class:`EngineError` family) and what the engine counts (:class:`EngineStats`)."""

from __future__ import annotations

from dataclasses import asdict, dataclass

from ..backends import BackendError

__all__ = [
    "CallRejected",
    "CallTooSlow",
    "CallsStopped",
    "EngineError",
    "EngineStats",
    "ProviderUnreachable",
    "RetriesExhausted",
    "RetryPolicy",
]


@dataclass(frozen=True)
class RetryPolicy:
    """How hard to try. ``max_retries`` bounds retries after 5xx, timeouts and
    other transient errors; ``max_rate_limited`` bounds retries after 429s
    (higher, since the limiter adapts and they cost the server little)."""

    max_retries: int = 4
    base_delay_s: float = 0.5
    max_delay_s: float = 30.0
    timeout_s: float = 60.0
    max_rate_limited: int = 12
    #: a Retry-After longer than this is cut to it
    max_retry_after_s: float = 120.0

    def __post_init__(self) -> None:
        if self.max_retries < 0 or self.max_rate_limited < 0:
            raise ValueError("retry counts must be >= 0")
        if self.timeout_s <= 0:
            raise ValueError(f"timeout_s must be > 0, got {self.timeout_s}")


class EngineError(BackendError):
    """A model call failed for good. Subclasses :class:`BackendError` so that code
    catching backend failures also gets these; turn it into an error outcome."""

    def __init__(
        self, message: str, *, backend: str, namespace: str, key: str, attempts: int
    ) -> None:
        super().__init__(message)
        self.backend = backend
        self.namespace = namespace
        self.key = key
        self.attempts = attempts


class RetriesExhausted(EngineError):
    """Every attempt hit a transient failure (429, 5xx, timeout, broken body)."""


class CallRejected(EngineError):
    """The backend raised a permanent error (bad request, auth, policy...)."""


class ProviderUnreachable(EngineError):
    """The provider cannot be used at all (no connection, or the key was rejected):
    the engine starts no more calls (see :attr:`Engine.provider_failure`)."""


class CallTooSlow(RetriesExhausted):
    """A self-hosted server did not finish one call in time, twice, although it had
    no other call of ours: more retries would take as long, so none is made."""


class CallsStopped(BackendError):
    """The engine starts no more calls: the run is shutting down (see
    :meth:`Engine.stop_new_calls`). The call was not made; a rerun makes it."""


@dataclass
class EngineStats:
    """Counters for the report. ``calls`` counts backend invocations (retries
    included); ``completed`` counts calls answered by the backend."""

    calls: int = 0
    completed: int = 0
    cache_hits: int = 0
    deduplicated: int = 0
    retries: int = 0
    rate_limited: int = 0
    timeouts: int = 0
    errors: int = 0
    claim_waits: int = 0
    takeovers: int = 0
    cache_errors: int = 0
    #: the concurrency limit the busiest limiter settled on (latency-limited
    #: servers first), and its cap; 0 before any call
    concurrency_limit: int = 0
    concurrency_cap: int = 0

    def to_dict(self) -> dict[str, int]:
        return asdict(self)
