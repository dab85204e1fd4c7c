"""Continuous batching for local greedy generation.

The micro-batcher runs one ``generate()`` per batch: every row of the batch
computes until the longest answer ends, and no new request joins before the
whole batch is done. With answers of 20 to 256 tokens most of that work is spent
on rows that already finished, and the batch thins out while callers wait.

Here a single worker keeps up to ``max_batch`` sequences in one KV cache and
steps them together one token at a time. A sequence that ends leaves the batch
at once (its result goes back to its caller right away, so the judge starts on
it while generation goes on), and a waiting request takes its place after its
own prompt pass. Prompts are left padded inside the shared cache and masked, as
in batched ``generate()``, which keeps greedy answers equal to one-by-one ones
(up to the float rounding that any change of batch shape may bring).

Only greedy requests take this path; sampled ones (temperature > 0) keep the
batched ``generate()`` of :class:`~._hf_runner.TransformersRunner`, which owns
their seeds.
"""

from __future__ import annotations

import asyncio
import collections
import concurrent.futures
import contextlib
import threading
import time
from dataclasses import dataclass, field
from typing import Any

from ._base import BackendUnavailable, PermanentError
from ._hf_runner import GenRequest, GenResult, LoadedModel, TransformersRunner

__all__ = ["ContinuousBatcher", "ContinuousStats"]


@dataclass
class ContinuousStats:
    """What the generator did: batch widths per decode step and where time went."""

    requests: int = 0
    decode_steps: int = 0
    #: sum over decode steps of the rows stepped (= answer tokens from decode steps)
    row_steps: int = 0
    #: sum over decode steps of the cache columns x rows that were padding
    padded_cells: int = 0
    #: sum over decode steps of the cache columns x rows
    cache_cells: int = 0
    prefills: int = 0
    prefill_tokens: int = 0
    sampled_batches: int = 0
    prefill_s: float = 0.0
    decode_s: float = 0.0
    widths: collections.Counter[int] = field(default_factory=collections.Counter)

    @property
    def mean_width(self) -> float:
        return self.row_steps / self.decode_steps if self.decode_steps else 0.0

    @property
    def padding_share(self) -> float:
        return self.padded_cells / self.cache_cells if self.cache_cells else 0.0

    def to_dict(self) -> dict[str, Any]:
        return {
            "requests": self.requests,
            "decode_steps": self.decode_steps,
            "mean_batch_width": round(self.mean_width, 2),
            "cache_padding_share": round(self.padding_share, 4),
            "prefills": self.prefills,
            "prefill_tokens": self.prefill_tokens,
            "prefill_s": round(self.prefill_s, 2),
            "decode_s": round(self.decode_s, 2),
            "sampled_batches": self.sampled_batches,
        }


@dataclass
class _Waiting:
    request: GenRequest
    loop: asyncio.AbstractEventLoop
    future: asyncio.Future[GenResult]


@dataclass
class _Row:
    """One sequence in the running batch."""

    waiting: _Waiting
    prompt_tokens: int
    generated: list[int]
    max_tokens: int


def _deliver(waiting: _Waiting, outcome: GenResult | BaseException) -> None:
    def settle() -> None:
        if waiting.future.done():  # the caller gave up (timeout, cancel) meanwhile
            return
        if isinstance(outcome, BaseException):
            waiting.future.set_exception(outcome)
        else:
            waiting.future.set_result(outcome)

    with contextlib.suppress(RuntimeError):  # a closed event loop: nobody waits any more
        waiting.loop.call_soon_threadsafe(settle)


class _Batch:
    """The running sequences and their shared, left-padded KV cache (worker thread only)."""

    def __init__(self, state: LoadedModel, stats: ContinuousStats) -> None:
        self.state = state
        self.stats = stats
        self.rows: list[_Row] = []
        self.cache: Any = None  # DynamicCache of the rows, in row order
        self.mask: Any = None  # [rows, columns] 1 = real token, 0 = padding

    def admit(self, waiting: _Waiting, prompt: list[int]) -> None:
        """Run the prompt pass of one request alone, then join it to the batch."""
        torch = self.state.torch
        model = self.state.model
        from transformers import DynamicCache

        started = time.perf_counter()
        cache = DynamicCache(config=model.config)
        with torch.inference_mode():
            out = model(
                input_ids=torch.tensor([prompt], dtype=torch.long, device=model.device),
                cache=cache,
                use_cache=True,
                logits_to_keep=1,
            )
        first = int(out.logits[0, -1].argmax())
        self.stats.prefills += 1
        self.stats.prefill_tokens += len(prompt)
        self.stats.prefill_s += time.perf_counter() - started
        row = _Row(waiting, len(prompt), [first], waiting.request.params.max_tokens)
        mask = torch.ones((1, len(prompt)), dtype=torch.long, device=model.device)
        if self.cache is None:
            self.rows, self.cache, self.mask = [row], cache, mask
        else:
            self._join(cache, mask)
            self.rows.append(row)
        if self._done(row):
            self._finish([len(self.rows) - 1])

    def _join(self, cache: Any, mask: Any) -> None:
        torch = self.state.torch
        width = max(self.mask.shape[1], mask.shape[1])

        def left_pad(t: Any, dim: int) -> Any:
            missing = width - t.shape[dim]
            if missing == 0:
                return t
            shape = list(t.shape)
            shape[dim] = missing
            return torch.cat([t.new_zeros(shape), t], dim=dim)

        for mine, theirs in zip(self.cache.layers, cache.layers, strict=True):
            mine.keys = torch.cat([left_pad(mine.keys, 2), left_pad(theirs.keys, 2)], dim=0)
            mine.values = torch.cat([left_pad(mine.values, 2), left_pad(theirs.values, 2)], dim=0)
        self.mask = torch.cat([left_pad(self.mask, 1), left_pad(mask, 1)], dim=0)

    def _done(self, row: _Row) -> bool:
        return row.generated[-1] in self.state.eos_ids or len(row.generated) >= row.max_tokens

    def step(self) -> None:
        """One decode step for every row; rows that end leave the batch."""
        torch = self.state.torch
        model = self.state.model
        started = time.perf_counter()
        rows = len(self.rows)
        columns = self.mask.shape[1]
        self.stats.decode_steps += 1
        self.stats.row_steps += rows
        self.stats.widths[rows] += 1
        self.stats.cache_cells += rows * columns
        self.stats.padded_cells += rows * columns - int(self.mask.sum())
        last = torch.tensor([[r.generated[-1]] for r in self.rows], dtype=torch.long)
        # the new token's position: how many real tokens precede it (as generate() does)
        positions = torch.tensor(
            [[r.prompt_tokens + len(r.generated) - 1] for r in self.rows], dtype=torch.long
        )
        self.mask = torch.cat([self.mask, self.mask.new_ones((rows, 1))], dim=1)
        with torch.inference_mode():
            out = model(
                input_ids=last.to(model.device),
                attention_mask=self.mask,
                position_ids=positions.to(model.device),
                cache=self.cache,
                use_cache=True,
                logits_to_keep=1,
            )
        tokens = out.logits[:, -1].argmax(-1).tolist()
        for row, token in zip(self.rows, tokens, strict=True):
            row.generated.append(int(token))
        self.stats.decode_s += time.perf_counter() - started
        self._finish([i for i, row in enumerate(self.rows) if self._done(row)])

    def drop_cancelled(self) -> None:
        self._finish([i for i, r in enumerate(self.rows) if r.waiting.future.done()],
                     deliver=False)

    def _finish(self, indexes: list[int], *, deliver: bool = True) -> None:
        if not indexes:
            return
        gone = set(indexes)
        if deliver:
            for i in indexes:
                row = self.rows[i]
                _deliver(row.waiting, self.state.finish(row.generated, row.prompt_tokens,
                                                        row.max_tokens))
        keep = [i for i in range(len(self.rows)) if i not in gone]
        if not keep:
            self.rows, self.cache, self.mask = [], None, None
            return
        torch = self.state.torch
        index = torch.tensor(keep, dtype=torch.long, device=self.mask.device)
        self.rows = [self.rows[i] for i in keep]
        mask = self.mask.index_select(0, index)
        # columns that are padding in every remaining row are dead weight: cut them
        real = mask.sum(0).nonzero()
        start = int(real[0]) if len(real) else 0
        self.mask = mask[:, start:]
        for layer in self.cache.layers:
            layer.keys = layer.keys.index_select(0, index)[:, :, start:]
            layer.values = layer.values.index_select(0, index)[:, :, start:]

    def fail_all(self, error: BaseException) -> None:
        for row in self.rows:
            _deliver(row.waiting, error)
        self.rows, self.cache, self.mask = [], None, None


class ContinuousBatcher:
    """Async front: ``await submit(request)``; the model work runs on ``executor``.

    The worker serves while there is work and returns when the queue and the batch
    are both empty; the next ``submit`` starts it again.
    """

    def __init__(
        self,
        runner: TransformersRunner,
        *,
        max_batch: int,
        executor: concurrent.futures.Executor,
    ) -> None:
        if max_batch < 1:
            raise ValueError(f"max_batch must be >= 1, got {max_batch}")
        self.runner = runner
        self.max_batch = max_batch
        self.executor = executor
        self.stats = ContinuousStats()
        self._queue: collections.deque[_Waiting] = collections.deque()
        self._lock = threading.Lock()
        self._serving = False
        self._closed = False

    async def submit(self, request: GenRequest) -> GenResult:
        if self._closed:
            raise BackendUnavailable("the local model backend is closed")
        loop = asyncio.get_running_loop()
        future: asyncio.Future[GenResult] = loop.create_future()
        with self._lock:
            self._queue.append(_Waiting(request, loop, future))
            self.stats.requests += 1
            start = not self._serving
            self._serving = True
        if start:
            self.executor.submit(self._serve_guarded)
        return await future

    def _take(self, room: int, *, idle: bool) -> list[_Waiting] | None:
        """Up to ``room`` queued requests; None when the worker should stop."""
        with self._lock:
            taken: list[_Waiting] = []
            while self._queue and len(taken) < room:
                waiting = self._queue.popleft()
                if not waiting.future.done():
                    taken.append(waiting)
            if idle and not taken:
                self._serving = False
                return None
            return taken

    def _serve_guarded(self) -> None:
        try:
            self._serve()
        except BaseException as exc:  # never leave a caller waiting on a dead worker
            with self._lock:
                queued, self._queue = list(self._queue), collections.deque()
                self._serving = False
            error = PermanentError(f"local generation failed: {type(exc).__name__}: {exc}")
            for waiting in queued:
                _deliver(waiting, error)
            raise

    def _serve(self) -> None:
        try:
            state = self.runner.load()
        except Exception as exc:
            with self._lock:
                queued, self._queue = list(self._queue), collections.deque()
                self._serving = False
            for waiting in queued:
                _deliver(waiting, exc)
            return
        batch = _Batch(state, self.stats)
        while True:
            # once closed, the sequences already running finish; nothing new joins
            room = 0 if self._closed else self.max_batch - len(batch.rows)
            taken = self._take(room, idle=not batch.rows)
            if taken is None:
                return
            sampled = [w for w in taken if w.request.params.temperature > 0]
            if sampled:
                self._run_sampled(sampled)
            for waiting in taken:
                if waiting.request.params.temperature > 0:
                    continue
                prompt = state.prompt_or_error(waiting.request)
                if isinstance(prompt, BaseException):
                    _deliver(waiting, prompt)
                    continue
                try:
                    batch.admit(waiting, prompt)
                except Exception as exc:
                    _deliver(waiting, _failure(exc))
            batch.drop_cancelled()
            if batch.rows:
                try:
                    batch.step()
                except Exception as exc:
                    batch.fail_all(_failure(exc))

    def _run_sampled(self, sampled: list[_Waiting]) -> None:
        self.stats.sampled_batches += 1
        outcomes = self.runner.run_batch([w.request for w in sampled])
        for waiting, outcome in zip(sampled, outcomes, strict=True):
            _deliver(waiting, outcome)

    def close(self) -> None:
        """Fail queued requests; the sequences already running finish."""
        self._closed = True
        with self._lock:
            queued, self._queue = list(self._queue), collections.deque()
        for waiting in queued:
            _deliver(waiting, BackendUnavailable("the local model backend is closed"))


def _failure(exc: Exception) -> PermanentError:
    error = PermanentError(f"local generation failed: {type(exc).__name__}: {exc}")
    error.__cause__ = exc
    return error
