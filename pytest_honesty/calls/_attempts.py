"""The calling side of the engine: a concurrency limit per provider (and base URL),
a slot of it and a timeout for each call, and bounded retries with backoff.

:class:`Engine` inherits it; the cache, the in-flight dedup and the claims stay in
:mod:`pytest_honesty.calls.engine`.
"""

from __future__ import annotations

import asyncio
import random
import sys
import time
from dataclasses import replace
from types import TracebackType

from ..backends import (
    AuthenticationFailed,
    Backend,
    BackendError,
    ConnectionFailed,
    RateLimited,
    TransientError,
)
from ..types import Completion, Message, SamplingParams
from ._limiter import AdaptiveLimiter, LatencyGradient, Outcome, Ticket
from ._policy import (
    CallRejected,
    CallsStopped,
    CallTooSlow,
    EngineStats,
    ProviderUnreachable,
    RetriesExhausted,
    RetryPolicy,
)
from ._progress_timeout import TooSlow, call_self_hosted
from ._reachability import ProviderFailure, ProviderHealth

__all__ = ["LimitedCalls"]

#: where a latency limit starts when the server does not say how many slots it has
_LATENCY_INITIAL_LIMIT = 4


class _Slot:
    """Gives a limiter slot back exactly once (neutral unless told otherwise)."""

    def __init__(self, limiter: AdaptiveLimiter, ticket: Ticket) -> None:
        self._limiter = limiter
        self._ticket = ticket
        self._held = True

    def release(self, outcome: Outcome = Outcome.NEUTRAL, retry_after: float | None = None) -> None:
        if self._held:
            self._held = False
            self._limiter.release(self._ticket, outcome, retry_after=retry_after)

    def __enter__(self) -> _Slot:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.release()


class LimitedCalls:
    """Per-provider limits and the retry loop of one call; the state lives on the
    :class:`~pytest_honesty.calls.engine.Engine` that inherits this."""

    concurrency: int | None
    adaptive: bool
    retry: RetryPolicy
    stats: EngineStats
    #: output tokens of the calls the backends answered (for the progress bar)
    output_tokens: int
    _limiters: dict[tuple[str, str | None], AdaptiveLimiter]
    _windows: dict[tuple[str, str | None], asyncio.Semaphore]
    _windows_loop: asyncio.AbstractEventLoop | None
    _shown_limiter: AdaptiveLimiter | None
    _health: ProviderHealth
    _stopped: bool

    def limiter_for(self, backend: Backend) -> AdaptiveLimiter:
        group = (backend.spec.provider, backend.options.base_url)
        limiter = self._limiters.get(group)
        if limiter is None:
            limit = self.concurrency or backend.options.concurrency or backend.default_concurrency
            if backend.latency_limited and self.adaptive:
                # start low (or at the slots the server reports) and let latency decide
                initial = backend.server_slots or _LATENCY_INITIAL_LIMIT
                limiter = AdaptiveLimiter(
                    max(1, limit), latency=LatencyGradient(), initial=min(initial, max(1, limit))
                )
            else:
                limiter = AdaptiveLimiter(max(1, limit), adaptive=self.adaptive)
            self._limiters[group] = limiter
        return limiter

    def _report_limit(self, limiter: AdaptiveLimiter) -> None:
        """Show the limit of the busiest limiter (latency-limited ones first) in the stats."""
        shown = self._shown_limiter
        if shown is not limiter and shown is not None:
            rank = (limiter.latency is not None, limiter.completed)
            if rank < (shown.latency is not None, shown.completed):
                return
        self._shown_limiter = limiter
        self.stats.concurrency_limit = limiter.limit
        self.stats.concurrency_cap = limiter.max_limit

    def _window_for(self, backend: Backend) -> asyncio.Semaphore:
        loop = asyncio.get_running_loop()
        if loop is not self._windows_loop:
            # An asyncio.Semaphore belongs to one loop; a new loop gets new windows.
            self._windows, self._windows_loop = {}, loop
        group = (backend.spec.provider, backend.options.base_url)
        window = self._windows.get(group)
        if window is None:
            window = asyncio.Semaphore(2 * self.limiter_for(backend).max_limit)
            self._windows[group] = window
        return window

    @property
    def limiters(self) -> dict[str, AdaptiveLimiter]:
        """Limiters by ``provider`` (``provider@base_url`` when one is set)."""
        return {
            (f"{provider}@{url}" if url else provider): limiter
            for (provider, url), limiter in self._limiters.items()
        }

    def _check_not_stopped(self, backend: Backend) -> None:
        if self._stopped:
            raise CallsStopped(f"{backend.name}: not called, the run is shutting down")

    async def _attempts(
        self,
        key: str,
        backend: Backend,
        messages: tuple[Message, ...],
        params: SamplingParams,
        namespace: str,
    ) -> Completion:
        """Call the backend under a slot, retrying transient failures (bounded)."""
        limiter = self.limiter_for(backend)
        failures = 0
        rate_limited = 0
        attempts = 0
        alone_timeouts = 0
        while True:
            self._check_not_stopped(backend)
            with _Slot(limiter, await limiter.acquire()) as slot:
                # the wait for a slot may have outlasted the run
                self._check_not_stopped(backend)
                attempts += 1
                self.stats.calls += 1
                started = time.perf_counter()
                try:
                    completion = await self._call_backend(backend, messages, params, limiter)
                except RateLimited as exc:
                    rate_limited += 1
                    self.stats.rate_limited += 1
                    retry_after = self._retry_after(exc)
                    slot.release(Outcome.RATE_LIMITED, retry_after)
                    if rate_limited > self.retry.max_rate_limited:
                        raise self._exhausted(backend, namespace, key, attempts, exc) from exc
                    delay = self._delay(rate_limited, retry_after)
                except TooSlow as exc:
                    self.stats.timeouts += 1
                    slot.release(Outcome.TIMED_OUT)
                    alone_timeouts += 1
                    if alone_timeouts > 1 or failures >= self.retry.max_retries:
                        # twice with the server to itself: it cannot finish this call
                        self.stats.errors += 1
                        raise self._too_slow(backend, namespace, key, attempts, exc) from None
                    failures += 1  # once may be a lost request: one more try
                    delay = self._delay(failures, None)
                except (TransientError, asyncio.TimeoutError, TimeoutError) as exc:
                    failures += 1
                    timed_out = not isinstance(exc, TransientError)
                    if timed_out:
                        self.stats.timeouts += 1
                    retry_after = self._retry_after(exc)
                    slot.release(Outcome.TIMED_OUT if timed_out else Outcome.NEUTRAL, retry_after)
                    exhausted = failures > self.retry.max_retries
                    if isinstance(exc, ConnectionFailed):
                        failure = self._health.connection_failed(
                            self._group(backend), backend.name, str(exc),
                            exhausted_after=attempts if exhausted else None)
                        if failure is not None:
                            self.stats.errors += 1
                            raise self._give_up(
                                failure, backend, namespace, key, attempts) from None
                    if exhausted:
                        raise self._exhausted(backend, namespace, key, attempts, exc) from exc
                    delay = self._delay(failures, retry_after)
                except AuthenticationFailed as exc:
                    self.stats.errors += 1
                    failure = self._health.rejected_credentials(backend.name, str(exc))
                    raise self._give_up(failure, backend, namespace, key, attempts) from None
                except BackendError as exc:
                    self.stats.errors += 1
                    raise CallRejected(
                        f"{backend.name} rejected a {namespace} call: {type(exc).__name__}: {exc}",
                        backend=backend.name,
                        namespace=namespace,
                        key=key,
                        attempts=attempts,
                    ) from exc
                except Exception:
                    self.stats.errors += 1  # a bug in the backend: let it show
                    raise
                else:
                    slot.release(Outcome.OK)
                    self._health.succeeded(self._group(backend))
                    self._report_limit(limiter)
                    self.stats.completed += 1
                    self.output_tokens += completion.output_tokens or 0
                    return replace(
                        completion,
                        retries=attempts - 1,
                        cached=False,
                        latency_s=completion.latency_s or time.perf_counter() - started,
                    )
            self.stats.retries += 1
            await asyncio.sleep(delay)

    async def _call_backend(
        self,
        backend: Backend,
        messages: tuple[Message, ...],
        params: SamplingParams,
        limiter: AdaptiveLimiter,
    ) -> Completion:
        timeout = max(self.retry.timeout_s, backend.min_timeout_s)
        if sys.version_info >= (3, 11):
            if limiter.latency is not None:
                return await call_self_hosted(backend, messages, params, limiter, timeout)
            # Cheaper than wait_for on 3.11, which wraps the call in another task.
            async with asyncio.timeout(timeout):
                return await backend.complete(messages, params)
        return await asyncio.wait_for(backend.complete(messages, params), timeout)

    @staticmethod
    def _group(backend: Backend) -> tuple[str, str | None]:
        return (backend.spec.provider, backend.options.base_url)

    def _give_up(
        self, failure: ProviderFailure, backend: Backend, namespace: str, key: str, attempts: int
    ) -> ProviderUnreachable:
        """Stop the run's calls: the provider cannot be used (the calls in flight
        finish and are stored; the waiting ones get CallsStopped)."""
        self._stopped = True
        return ProviderUnreachable(
            str(failure), backend=backend.name, namespace=namespace, key=key, attempts=attempts
        )

    def _retry_after(self, exc: BaseException) -> float | None:
        value = getattr(exc, "retry_after", None)
        if value is None:
            return None
        return max(0.0, min(float(value), self.retry.max_retry_after_s))

    def _delay(self, failures: int, retry_after: float | None) -> float:
        """Full-jitter exponential backoff; never shorter than a Retry-After."""
        cap = min(self.retry.max_delay_s, self.retry.base_delay_s * 2 ** (failures - 1))
        backoff = random.uniform(0.0, cap)
        if retry_after is None:
            return backoff
        # A little jitter past Retry-After so the waiting calls do not return at once.
        return retry_after + random.uniform(0.0, min(1.0, 0.1 * retry_after + 0.01))

    def _exhausted(
        self, backend: Backend, namespace: str, key: str, attempts: int, exc: BaseException
    ) -> RetriesExhausted:
        self.stats.errors += 1
        timed_out = isinstance(exc, (asyncio.TimeoutError, TimeoutError))
        what = "timed out" if timed_out else f"{type(exc).__name__}: {exc}"
        return RetriesExhausted(
            f"{backend.name} {namespace} call failed after {attempts} attempts "
            f"(last: {what}). The provider kept failing; retry later, raise the "
            "timeout or lower the concurrency.",
            backend=backend.name,
            namespace=namespace,
            key=key,
            attempts=attempts,
        )

    def _too_slow(
        self, backend: Backend, namespace: str, key: str, attempts: int, exc: TooSlow
    ) -> CallTooSlow:
        return CallTooSlow(
            f"{backend.name} {namespace} call did not finish within {exc.timeout_s:.3g} s "
            "twice, although the server had no other call of this run to work on: it "
            "cannot finish even one call in time. Raise --honesty-timeout "
            f"(now {self.retry.timeout_s:g} s), lower --honesty-max-tokens, or serve a "
            "smaller model.",
            backend=backend.name,
            namespace=namespace,
            key=key,
            attempts=attempts,
        )
