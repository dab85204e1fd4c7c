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
   (:class:`~pytest_honesty.calls._limiter.AdaptiveLimiter`, one per provider and
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
import random
import sqlite3
import warnings
import weakref
from collections.abc import Awaitable, Iterable, Sequence
from dataclasses import replace
from types import TracebackType
from typing import Any

from ..backends import Backend
from ..types import Completion, Message, SamplingParams, Verdict
from ._attempts import LimitedCalls
from ._cacheworker import CacheWorker
from ._limiter import AdaptiveLimiter
from ._owner import make_owner, owner_is_dead
from ._policy import (
    CallRejected,
    CallsStopped,
    CallTooSlow,
    EngineError,
    EngineStats,
    ProviderUnreachable,
    RetriesExhausted,
    RetryPolicy,
)
from ._reachability import ProviderFailure, ProviderHealth
from .cache import Cache, CacheError, Claim, completion_key

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


#: below this moving hit rate, calls claim without a read-only lookup first
_LOOKUP_MIN_HIT_RATE = 0.1
#: weight of the newest outcome in the moving hit rate (~36 misses from 1.0 to 0.1)
_HIT_RATE_WEIGHT = 1 / 16


class _Abandoned(Exception):
    """The caller that was making a shared call got cancelled."""


class Engine(LimitedCalls):
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
        """A cached judge verdict (see :func:`pytest_honesty.calls.cache.verdict_key`)."""
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
            if owner_is_dead(claim.owner):
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
