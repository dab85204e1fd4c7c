"""Gather concurrent requests into batches run by one worker thread.

Local models are faster per token when several prompts run together, but the
engine awaits ``complete()`` once per case. The micro-batcher sits between:
each call parks its request, a collector task waits a few milliseconds for
company (or until the batch is full), then hands the batch to a single worker
thread so that torch never blocks the event loop and never runs two batches at
once. While the worker is busy, new requests pile up into the next batch.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Generic, TypeVar

__all__ = ["BatchStats", "MicroBatcher"]

Req = TypeVar("Req")
Res = TypeVar("Res")


@dataclass
class BatchStats:
    """What the batcher did; handy in benchmarks and tests."""

    batches: int = 0
    requests: int = 0
    sizes: list[int] = field(default_factory=list)


class MicroBatcher(Generic[Req, Res]):
    """Run ``run_batch(requests)`` on batches of up to ``max_batch`` concurrent requests.

    ``run_batch`` runs in one worker thread and returns one outcome per request, in
    order: a result, or an exception instance for that request alone. An exception
    raised by ``run_batch`` itself fails the whole batch.
    """

    def __init__(
        self,
        run_batch: Callable[[list[Req]], Sequence[Res | BaseException]],
        *,
        max_batch: int = 8,
        max_wait_s: float = 0.005,
        executor: concurrent.futures.Executor | None = None,
    ) -> None:
        if max_batch < 1:
            raise ValueError(f"max_batch must be >= 1, got {max_batch}")
        self._run_batch = run_batch
        self.max_batch = max_batch
        self.max_wait_s = max_wait_s
        self._own_executor = executor is None
        self._executor = executor or concurrent.futures.ThreadPoolExecutor(
            max_workers=1, thread_name_prefix="honesty-local-model"
        )
        self.stats = BatchStats()
        # Per event loop state: the engine may run several loops in turn (asyncio.run
        # per test); futures and tasks of a finished loop must not be reused.
        self._loop: asyncio.AbstractEventLoop | None = None
        self._pending: list[tuple[Req, asyncio.Future[Res]]] = []
        self._wakeup: asyncio.Event | None = None
        self._collector: asyncio.Task[None] | None = None
        self._closed = False

    @property
    def executor(self) -> concurrent.futures.Executor:
        """The single worker thread; other blocking work on the model should use it too."""
        return self._executor

    async def submit(self, request: Req) -> Res:
        """Queue ``request`` and wait for its result."""
        if self._closed:
            raise RuntimeError("the local model backend is closed")
        loop = asyncio.get_running_loop()
        if self._loop is not loop or self._collector is None or self._collector.done():
            self._start(loop)
        assert self._wakeup is not None
        future: asyncio.Future[Res] = loop.create_future()
        self._pending.append((request, future))
        self._wakeup.set()
        return await future

    def _start(self, loop: asyncio.AbstractEventLoop) -> None:
        if self._loop is not loop:
            self._pending = []
        self._loop = loop
        self._wakeup = asyncio.Event()
        self._collector = loop.create_task(self._collect(), name="honesty-micro-batcher")

    async def _collect(self) -> None:
        assert self._wakeup is not None
        loop = asyncio.get_running_loop()
        while True:
            await self._wakeup.wait()
            if len(self._pending) < self.max_batch and self.max_wait_s > 0:
                # Give concurrent callers a moment to join this batch.
                await asyncio.sleep(self.max_wait_s)
            batch = [(r, f) for r, f in self._pending[: self.max_batch] if not f.cancelled()]
            self._pending = self._pending[self.max_batch :]
            if not self._pending:
                self._wakeup.clear()
            if not batch:
                continue
            self.stats.batches += 1
            self.stats.requests += len(batch)
            self.stats.sizes.append(len(batch))
            requests = [r for r, _ in batch]
            try:
                outcomes = await loop.run_in_executor(self._executor, self._run_batch, requests)
                if len(outcomes) != len(batch):
                    raise RuntimeError(
                        f"batch worker returned {len(outcomes)} results for {len(batch)} requests"
                    )
            except asyncio.CancelledError:
                for _, future in batch:
                    if not future.done():
                        future.cancel()
                raise
            except Exception as exc:  # the whole batch failed: every caller gets the error
                for _, future in batch:
                    if not future.done():
                        future.set_exception(exc)
                continue
            for (_, future), outcome in zip(batch, outcomes, strict=True):
                if future.done():  # the caller gave up (timeout) meanwhile
                    continue
                if isinstance(outcome, BaseException):
                    future.set_exception(outcome)
                else:
                    future.set_result(outcome)

    async def aclose(self) -> None:
        """Stop collecting, fail queued requests, and let the worker thread finish."""
        self._closed = True
        collector, self._collector = self._collector, None
        if collector is not None and not collector.done():
            collector.cancel()
            try:
                if collector.get_loop() is asyncio.get_running_loop():
                    await collector
            except asyncio.CancelledError:
                pass
        for _, future in self._pending:
            if not future.done():
                future.cancel()
        self._pending = []
        if self._own_executor:
            self._executor.shutdown(wait=False, cancel_futures=True)
