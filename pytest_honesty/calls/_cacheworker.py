"""Runs every cache operation of one engine on one dedicated thread.

Coroutines enqueue operations and await futures; the thread drains whatever
is queued, answers all reads with one ``SELECT ... IN`` and all writes with
one transaction, then hands the results back to each caller's loop in one
callback. The event loop therefore never waits on SQLite (nor on another
process holding the write lock), and commits are batched under load.

The thread also keeps this owner's claims alive: every ``lease_s / 3`` it
extends the lease of each key it holds, so a long call (timeout x retries) is
never taken over by another process while its owner is alive.
"""

from __future__ import annotations

import asyncio
import atexit
import contextlib
import enum
import queue
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from ..types import Completion, Verdict
from .cache import Cache, CacheBatch, Claim

__all__ = ["CacheWorker"]


class _Kind(enum.Enum):
    LOOKUP = "lookup"
    PEEK = "peek"
    GET_VERDICT = "get_verdict"
    ACQUIRE = "acquire"
    STORE = "store"
    PUT_VERDICT = "put_verdict"
    RELEASE = "release"
    CALL = "call"
    STOP = "stop"


_READS = {_Kind.LOOKUP, _Kind.PEEK, _Kind.GET_VERDICT}
_OTHERS = {_Kind.CALL, _Kind.STOP}


@dataclass
class _Op:
    kind: _Kind
    key: str = ""
    args: dict[str, Any] = field(default_factory=dict)
    future: asyncio.Future[Any] | None = None


_Delivery = tuple["asyncio.Future[Any]", bool, Any]


def _deliver(items: list[_Delivery]) -> None:
    for future, ok, value in items:
        if future.done():  # the caller was cancelled meanwhile
            continue
        if ok:
            future.set_result(value)
        else:
            future.set_exception(value)


class CacheWorker:
    """The engine's gateway to :class:`Cache`; every method is a coroutine
    except :meth:`release_soon` and :meth:`close`."""

    def __init__(self, cache: Cache, owner: str, *, lease_s: float = 30.0) -> None:
        self.cache = cache
        self.owner = owner
        self.lease_s = lease_s
        self._queue: queue.SimpleQueue[_Op] = queue.SimpleQueue()
        self._held: set[str] = set()  # touched by the worker thread only
        self._thread = threading.Thread(target=self._run, name="honesty-cache", daemon=True)
        self._started = False
        self._start_lock = threading.Lock()
        self._stopped = threading.Event()
        self._closing = False
        #: write transactions committed (for the benchmark: calls per commit)
        self.commits = 0

    # -- API used by the engine (on its event loop) --------------------------

    def _submit(self, kind: _Kind, key: str = "", **args: Any) -> asyncio.Future[Any]:
        if self._closing:
            raise RuntimeError("the cache worker is closed")
        if not self._started:
            with self._start_lock:
                if not self._started:
                    self._thread.start()
                    self._started = True
                    # A run that ends without close() (an interrupt the caller did
                    # not handle) still commits what it finished.
                    atexit.register(self.close, 5.0)
        future: asyncio.Future[Any] = asyncio.get_running_loop().create_future()
        self._queue.put(_Op(kind, key, args, future))
        return future

    async def lookup(self, key: str) -> Completion | None:
        result: Completion | None = await self._submit(_Kind.LOOKUP, key)
        return result

    async def peek(self, key: str) -> Completion | Claim | None:
        result: Completion | Claim | None = await self._submit(_Kind.PEEK, key)
        return result

    async def acquire(self, key: str, *, steal_from: str | None = None) -> Completion | Claim:
        result: Completion | Claim = await self._submit(_Kind.ACQUIRE, key, steal_from=steal_from)
        return result

    async def store(self, key: str, completion: Completion, *, namespace: str, model: str) -> None:
        """Store and drop our claim in one transaction; returns once committed."""
        await self._submit(
            _Kind.STORE, key, completion=completion, namespace=namespace, model=model
        )

    async def get_verdict(self, key: str) -> Verdict | None:
        result: Verdict | None = await self._submit(_Kind.GET_VERDICT, key)
        return result

    async def put_verdict(self, key: str, verdict: Verdict) -> None:
        await self._submit(_Kind.PUT_VERDICT, key, verdict=verdict)

    async def call(self, fn: Callable[[Cache], Any]) -> Any:
        """Run ``fn(cache)`` on the worker thread (bulk reads, maintenance)."""
        return await self._submit(_Kind.CALL, fn=fn)

    def release_soon(self, key: str) -> None:
        """Drop our claim on ``key`` without waiting (failures, cancellation)."""
        if not self._closing and self._started:
            self._queue.put(_Op(_Kind.RELEASE, key))

    def close(self, timeout: float = 30.0) -> None:
        """Commit what is queued, drop every claim still held, stop the thread."""
        if self._stopped.is_set():
            return
        self._closing = True
        if self._started:
            atexit.unregister(self.close)
            self._queue.put(_Op(_Kind.STOP))
            self._thread.join(timeout)
        self._stopped.set()

    # -- the thread ------------------------------------------------------------

    def _run(self) -> None:
        heartbeat_every = max(0.05, self.lease_s / 3)
        next_heartbeat = time.monotonic() + heartbeat_every
        while True:
            ops: list[_Op] = []
            try:
                ops.append(self._queue.get(timeout=max(0.0, next_heartbeat - time.monotonic())))
                while True:
                    ops.append(self._queue.get_nowait())
            except queue.Empty:
                pass
            heartbeat = time.monotonic() >= next_heartbeat
            if heartbeat:
                next_heartbeat = time.monotonic() + heartbeat_every
            stop = any(op.kind is _Kind.STOP for op in ops)
            try:
                self._process(ops, heartbeat=heartbeat, stop=stop)
            except Exception as exc:  # a bug here must not leave callers waiting forever
                for op in ops:
                    if op.future is not None:
                        with contextlib.suppress(RuntimeError):
                            op.future.get_loop().call_soon_threadsafe(
                                _deliver, [(op.future, False, exc)]
                            )
            if stop:
                self._closing = True
                self._stopped.set()
                self._fail_leftovers()
                return

    def _fail_leftovers(self) -> None:
        # Anything queued after STOP would otherwise wait forever.
        leftovers: list[_Delivery] = []
        try:
            while True:
                op = self._queue.get_nowait()
                if op.future is not None:
                    error = RuntimeError("the cache worker was closed before this operation ran")
                    leftovers.append((op.future, False, error))
        except queue.Empty:
            pass
        for future, ok, value in leftovers:
            with contextlib.suppress(RuntimeError):
                future.get_loop().call_soon_threadsafe(_deliver, [(future, ok, value)])

    def _process(self, ops: list[_Op], *, heartbeat: bool, stop: bool) -> None:
        deliveries: dict[asyncio.AbstractEventLoop, list[_Delivery]] = {}

        def answer(op: _Op, ok: bool, value: Any) -> None:
            if op.future is not None:
                deliveries.setdefault(op.future.get_loop(), []).append((op.future, ok, value))

        reads = [op for op in ops if op.kind in _READS]
        calls = [op for op in ops if op.kind is _Kind.CALL]
        writes = [op for op in ops if op.kind not in _READS and op.kind not in _OTHERS]
        if reads:
            self._do_reads(reads, answer)
        if writes or (heartbeat and self._held) or (stop and self._held):
            self._do_writes(writes, answer, heartbeat=heartbeat, stop=stop)
        for op in calls:
            try:
                answer(op, True, op.args["fn"](self.cache))
            except Exception as exc:
                answer(op, False, exc)
        for loop, items in deliveries.items():
            # RuntimeError: that loop is closed, so nobody is waiting any more.
            with contextlib.suppress(RuntimeError):
                loop.call_soon_threadsafe(_deliver, items)

    def _do_reads(self, ops: list[_Op], answer: Callable[[_Op, bool, Any], None]) -> None:
        try:
            lookups = [op.key for op in ops if op.kind is _Kind.LOOKUP]
            peeks = [op.key for op in ops if op.kind is _Kind.PEEK]
            verdict_keys = [op.key for op in ops if op.kind is _Kind.GET_VERDICT]
            completions = self.cache.get_completions(lookups) if lookups else {}
            states = self.cache.peek(peeks) if peeks else {}
            verdicts = self.cache.get_verdicts(verdict_keys) if verdict_keys else {}
        except Exception as exc:  # reported to every caller; the engine decides
            for op in ops:
                answer(op, False, exc)
            return
        for op in ops:
            if op.kind is _Kind.LOOKUP:
                answer(op, True, completions.get(op.key))
            elif op.kind is _Kind.PEEK:
                answer(op, True, states.get(op.key))
            else:
                answer(op, True, verdicts.get(op.key))

    def _do_writes(
        self,
        ops: list[_Op],
        answer: Callable[[_Op, bool, Any], None],
        *,
        heartbeat: bool,
        stop: bool,
    ) -> None:
        held = set(self._held)
        results: list[tuple[_Op, bool, Any]] = []
        try:
            with self.cache.batch() as batch:
                for op in ops:
                    results.append(self._write_one(batch, op, held))
                if held and stop:
                    for key in held:
                        batch.release(key, self.owner)
                    held.clear()
                elif held and heartbeat:
                    # Only on the heartbeat: every lease_s / 3 keeps each claim alive,
                    # and refreshing all held keys (up to 2 x the concurrency) in every
                    # write batch cost more CPU than the batch's own writes.
                    batch.refresh(held, self.owner, self.lease_s)
        except Exception as exc:
            for op in ops:
                answer(op, False, exc)
            return
        self.commits += 1
        self._held = held
        for op, ok, value in results:
            answer(op, ok, value)

    def _write_one(self, batch: CacheBatch, op: _Op, held: set[str]) -> tuple[_Op, bool, Any]:
        if op.kind is _Kind.ACQUIRE:
            state = batch.acquire(
                op.key, self.owner, self.lease_s, steal_from=op.args.get("steal_from")
            )
            if isinstance(state, Claim) and state.owner == self.owner:
                held.add(op.key)
            return op, True, state
        if op.kind is _Kind.STORE:
            batch.put_completion(
                op.key,
                op.args["completion"],
                namespace=op.args["namespace"],
                model=op.args["model"],
                release=self.owner,
            )
            held.discard(op.key)
            return op, True, None
        if op.kind is _Kind.RELEASE:
            batch.release(op.key, self.owner)
            held.discard(op.key)
            return op, True, None
        if op.kind is _Kind.PUT_VERDICT:
            batch.put_verdict(op.key, op.args["verdict"])
            return op, True, None
        raise AssertionError(f"unexpected cache operation {op.kind}")
