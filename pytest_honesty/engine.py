"""Runs model calls: cache, in-process and cross-process dedup, an adaptive
concurrency limit, per-call timeouts, bounded retries with backoff.

One :class:`Engine` per process serves every model and judge call of a run.
For each call (:meth:`Engine.complete`):

1. identical calls already in flight in this process share one future;
2. the cache is looked up (on the cache thread, never on the event loop);
   while lookups keep missing (a cold run) this read is skipped, since the
   claim below checks the cache inside its own transaction;
3. the call is *claimed* in the cache (inside a window of twice the limit, so
   a process claims only what it is about to run); if another live process
   holds the claim, the cache is polled with backoff, holding nothing, until
   the result appears, the lease runs out or the holder is found dead (same
   host, pid gone); the cache thread renews our own leases while we work;
4. the backend is called under a concurrency slot
   (:class:`~pytest_honesty._limiter.AdaptiveLimiter`, one per provider and
   base URL) and a timeout; 429s halve the limit and pause new calls for
   Retry-After; 429s, 5xx and timeouts are retried with full-jitter
   exponential backoff, a bounded number of times. For self-hosted servers
   (``backend.latency_limited``) the limit follows latency too, and the
   timeout counts from the server's last finished call: a call queued behind
   others at a busy server is not abandoned while the server keeps finishing
   calls (see :class:`_ProgressDeadline`);
5. the result is stored and the claim dropped in one transaction before
   ``complete`` returns, so an interrupted run never repeats a finished call.

The engine knows nothing of pytest.
"""

from __future__ import annotations

import asyncio
import os
import random
import secrets
import socket
import sqlite3
import sys
import time
import warnings
import weakref
from collections.abc import Awaitable, Iterable, Sequence
from dataclasses import asdict, dataclass, replace
from types import TracebackType
from typing import Any

from ._cacheworker import CacheWorker
from ._limiter import AdaptiveLimiter, LatencyGradient, Outcome, Ticket
from ._progress_timeout import TooSlow, call_self_hosted
from ._reachability import ProviderFailure, ProviderHealth
from .backends import (
    AuthenticationFailed,
    Backend,
    BackendError,
    ConnectionFailed,
    RateLimited,
    TransientError,
)
from .cache import Cache, CacheError, Claim, completion_key
from .types import Completion, Message, SamplingParams, Verdict

__all__ = [
    "CallRejected",
    "CallTooSlow",
    "CallsStopped",
    "Engine",
    "EngineError",
    "EngineStats",
    "ProviderUnreachable",
    "RetriesExhausted",
    "RetryPolicy",
    "make_owner",
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


def make_owner() -> str:
    """``hostname-pid-random``: unique per engine, and tells which process holds a claim."""
    return f"{socket.gethostname()}-{os.getpid()}-{secrets.token_hex(4)}"


def _owner_is_dead(owner: str) -> bool:
    """True only when ``owner`` ran on this host and its process is gone."""
    parts = owner.rsplit("-", 2)
    if len(parts) != 3 or os.name == "nt":  # os.kill(pid, 0) would kill on Windows
        return False
    host, pid_text, _ = parts
    if host != socket.gethostname() or not pid_text.isdigit():
        return False
    pid = int(pid_text)
    if pid == os.getpid():
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return True
    except OSError:  # exists but not ours (PermissionError), or unknown
        return False
    return False


#: where a latency limit starts when the server does not say how many slots it has
_LATENCY_INITIAL_LIMIT = 4

#: below this moving hit rate, calls claim without a read-only lookup first
_LOOKUP_MIN_HIT_RATE = 0.1
#: weight of the newest outcome in the moving hit rate (~36 misses from 1.0 to 0.1)
_HIT_RATE_WEIGHT = 1 / 16


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


class _Abandoned(Exception):
    """The caller that was making a shared call got cancelled."""


class Engine:
    """Every model and judge call of a run goes through one engine per process.

    ``concurrency`` caps calls in flight per provider (and base URL); ``None``
    uses the backend's ``options.concurrency`` or its ``default_concurrency``.
    Under xdist give each worker ``ceil(total / workers)`` so the run as a whole
    stays near the total. ``cache=None`` keeps results in memory only (no
    cross-process dedup); for ``--honesty-no-cache`` under xdist pass a
    ``Cache(path)`` on a per-run file instead. The caller closes the cache.
    An engine serves one event loop at a time (the run's loop thread).
    """

    def __init__(
        self,
        *,
        concurrency: int | None = None,
        retry: RetryPolicy | None = None,
        cache: Cache | None = None,
        owner: str | None = None,
        adaptive: bool = True,
        lease_s: float = 30.0,
        poll_interval_s: float = 0.05,
        max_poll_interval_s: float = 0.5,
    ) -> None:
        if concurrency is not None and concurrency < 1:
            raise ValueError(f"concurrency must be at least 1, got {concurrency}")
        if lease_s <= 0:
            raise ValueError(f"lease_s must be > 0, got {lease_s}")
        self.concurrency = concurrency
        self.retry = retry or RetryPolicy()
        self.cache = cache
        self.owner = owner or make_owner()
        self.adaptive = adaptive
        self.poll_interval_s = poll_interval_s
        self.max_poll_interval_s = max_poll_interval_s
        self.stats = EngineStats()
        self._lease_s = lease_s
        self._worker = CacheWorker(cache, self.owner, lease_s=lease_s) if cache else None
        self._limiters: dict[tuple[str, str | None], AdaptiveLimiter] = {}
        self._windows: dict[tuple[str, str | None], asyncio.Semaphore] = {}
        self._windows_loop: asyncio.AbstractEventLoop | None = None
        self._fingerprints: weakref.WeakKeyDictionary[Backend, str] = weakref.WeakKeyDictionary()
        self._inflight: dict[str, asyncio.Future[Completion]] = {}
        self._memo: dict[str, Completion] = {}
        self._verdicts: dict[str, Verdict] = {}  # used only without a cache
        self._warned_cache = False
        #: the last cache failure, if any (the run continues without the cache)
        self.cache_error: str | None = None
        # Moving hit rate of cache checks. While it stays low (a cold run) the
        # read-only lookup before a claim is skipped: ``acquire`` finds a stored
        # result inside its transaction anyway, so only a round trip is saved.
        self._hit_rate = 1.0
        self._stopped = False
        self._shown_limiter: AdaptiveLimiter | None = None
        self._health = ProviderHealth()
        #: output tokens of the calls the backends answered (for the progress bar)
        self.output_tokens = 0

    @property
    def provider_failure(self) -> ProviderFailure | None:
        """Set when a provider was found unusable (unreachable, or its key rejected):
        the engine then starts no more calls, and the run should end."""
        return self._health.failure

    def attach_cache(self, cache: Cache) -> None:
        """Use ``cache`` from now on, for an engine built without one, before its first
        call: a session opens the cache only once every model and judge spec checked
        out, so that a usage error leaves an existing cache untouched."""
        if self._worker is not None:
            raise RuntimeError("this engine already has a cache")
        if self.stats.calls or self._memo or self._inflight or self._verdicts:
            raise RuntimeError("attach the cache before the engine's first call")
        self.cache = cache
        self._worker = CacheWorker(cache, self.owner, lease_s=self._lease_s)

    # -- keys and limits ------------------------------------------------------

    def fingerprint(self, backend: Backend) -> str:
        """``backend.fingerprint()``, computed once per backend (it may hash weights)."""
        try:
            return self._fingerprints[backend]
        except KeyError:
            value = backend.fingerprint()
            self._fingerprints[backend] = value
            return value

    def key_for(
        self,
        backend: Backend,
        messages: Sequence[Message],
        params: SamplingParams,
        *,
        namespace: str = "model",
        context: str = "",
    ) -> str:
        """The cache key :meth:`complete` uses for this call."""
        return completion_key(
            backend.spec,
            messages,
            params,
            fingerprint=self.fingerprint(backend),
            namespace=namespace,
            context=context,
            answers_by=backend.answers_by(messages),
        )

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

    # -- cache helpers ------------------------------------------------------

    async def _cache_op(self, op: Awaitable[Any], default: Any) -> Any:
        """Await a cache operation; on failure warn once and carry on without it:
        a broken cache costs duplicate calls, never a failed run."""
        try:
            return await op
        except (CacheError, sqlite3.Error, RuntimeError, OSError) as exc:
            self.stats.cache_errors += 1
            self.cache_error = f"{type(exc).__name__}: {exc}"
            if not self._warned_cache:
                self._warned_cache = True
                warnings.warn(
                    f"pytest-honesty cache failed ({self.cache_error}); "
                    "continuing without it for the failing operations",
                    RuntimeWarning,
                    stacklevel=2,
                )
            return default

    async def prefetch(self, keys: Iterable[str]) -> int:
        """Load cached completions for ``keys`` in one query; returns the hits."""
        wanted = [k for k in dict.fromkeys(keys) if k not in self._memo]
        if self._worker is None or not wanted:
            return 0
        found: dict[str, Completion] = await self._cache_op(
            self._worker.call(lambda cache: cache.get_completions(wanted)), {}
        )
        self._memo.update(found)
        return len(found)

    async def get_verdict(self, key: str) -> Verdict | None:
        """A cached judge verdict (see :func:`pytest_honesty.cache.verdict_key`)."""
        if self._worker is None:
            return self._verdicts.get(key)
        result: Verdict | None = await self._cache_op(self._worker.get_verdict(key), None)
        return result

    async def put_verdict(self, key: str, verdict: Verdict) -> None:
        if self._worker is None:
            self._verdicts[key] = verdict
            return
        await self._cache_op(self._worker.put_verdict(key, verdict), None)

    # -- the call -----------------------------------------------------------

    async def complete(
        self,
        backend: Backend,
        messages: Sequence[Message],
        params: SamplingParams,
        *,
        namespace: str = "model",
        context: str = "",
    ) -> Completion:
        """The backend's completion for ``messages``, from the cache when possible.

        ``namespace`` is ``"model"`` for the model under test and ``"judge"`` for
        judge calls; ``context`` adds identity to the key (e.g. a template hash).
        Raises :class:`RetriesExhausted` or :class:`CallRejected` when the call
        fails for good.
        """
        key = self.key_for(backend, messages, params, namespace=namespace, context=context)
        while True:
            memo = self._memo.get(key)
            if memo is not None:
                self.stats.cache_hits += 1
                return memo if memo.cached else replace(memo, cached=True)
            pending = self._inflight.get(key)
            if pending is None:
                break
            # The same call is running in this process: share its result.
            self.stats.deduplicated += 1
            try:
                result = await asyncio.shield(pending)
            except _Abandoned:
                continue  # its caller was cancelled; make the call ourselves
            return result
        future: asyncio.Future[Completion] = asyncio.get_running_loop().create_future()
        self._inflight[key] = future
        try:
            result = await self._produce(key, backend, tuple(messages), params, namespace)
        except Exception as exc:
            self._settle(future, exc)
            raise
        except BaseException:  # cancelled: whoever shares this call retries it
            self._settle(future, _Abandoned())
            raise
        finally:
            if self._inflight.get(key) is future:
                del self._inflight[key]
        future.set_result(result)
        self._memo[key] = result
        return result

    def _note_hit(self, hit: bool) -> None:
        self._hit_rate += _HIT_RATE_WEIGHT * (float(hit) - self._hit_rate)

    @staticmethod
    def _settle(future: asyncio.Future[Completion], exc: Exception) -> None:
        future.set_exception(exc)
        future.exception()  # retrieved: no "never retrieved" log when nobody shared it

    async def _produce(
        self,
        key: str,
        backend: Backend,
        messages: tuple[Message, ...],
        params: SamplingParams,
        namespace: str,
    ) -> Completion:
        worker = self._worker
        if worker is None:
            return await self._attempts(key, backend, messages, params, namespace)
        looked_up = self._hit_rate >= _LOOKUP_MIN_HIT_RATE
        if looked_up:
            hit: Completion | None = await self._cache_op(worker.lookup(key), None)
            self._note_hit(hit is not None)
            if hit is not None:
                self.stats.cache_hits += 1
                return hit
        window = self._window_for(backend)
        steal_from: str | None = None
        while True:
            # The claim is taken inside a window of 2 x the limit, not under a
            # slot: the claim's round trip to the cache thread then overlaps
            # with calls in flight instead of idling a slot, and a process
            # still never claims much more than it is about to run (so xdist
            # workers split the work between them).
            async with window:
                state: Completion | Claim | None = await self._cache_op(
                    worker.acquire(key, steal_from=steal_from), None
                )
                if not looked_up:
                    self._note_hit(isinstance(state, Completion))
                    looked_up = True
                if isinstance(state, Completion):
                    self.stats.cache_hits += 1
                    return state
                if state is None or state.owner == self.owner:
                    stored = False
                    try:
                        result = await self._attempts(key, backend, messages, params, namespace)
                        await self._cache_op(
                            worker.store(key, result, namespace=namespace, model=str(backend.spec)),
                            None,
                        )
                        stored = True
                        return result
                    finally:
                        if not stored:
                            worker.release_soon(key)
            hit, steal_from = await self._wait_for_other(worker, state)
            if hit is not None:
                return hit

    def stop_new_calls(self) -> None:
        """Start no backend call from now on (call on the engine's loop): the calls in
        flight finish and are stored as usual; every caller still waiting for a slot,
        a claim or a retry gets :class:`CallsStopped` instead. For a graceful shutdown."""
        self._stopped = True

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

    async def _wait_for_other(
        self, worker: CacheWorker, claim: Claim
    ) -> tuple[Completion | None, str | None]:
        """Poll the cache, without a slot, until ``claim``'s owner stores the result,
        drops the claim, lets its lease run out or is found dead. Returns the result,
        or ``(None, owner_to_steal_from)`` when we should claim it ourselves."""
        self.stats.claim_waits += 1
        delay = self.poll_interval_s
        while True:
            if self._stopped:
                raise CallsStopped("not waited for: the run is shutting down")
            if _owner_is_dead(claim.owner):
                self.stats.takeovers += 1
                return None, claim.owner
            if claim.expired():
                self.stats.takeovers += 1
                return None, None
            await asyncio.sleep(delay * random.uniform(0.5, 1.0))
            delay = min(delay * 2, self.max_poll_interval_s)
            state: Completion | Claim | None = await self._cache_op(worker.peek(claim.key), None)
            if isinstance(state, Completion):
                self.stats.cache_hits += 1
                return state, None
            if state is None:
                return None, None
            claim = state

    # -- shutdown -----------------------------------------------------------

    async def aclose(self) -> None:
        """Commit pending cache writes, drop our claims, stop the cache thread.
        Cancel (and await) the tasks still calling :meth:`complete` first."""
        if self._worker is not None:
            await asyncio.to_thread(self._worker.close)

    def close(self) -> None:
        """Synchronous :meth:`aclose` for when no loop runs (calls must be finished)."""
        if self._worker is not None:
            self._worker.close()

    async def __aenter__(self) -> Engine:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.aclose()
