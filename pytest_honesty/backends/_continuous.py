"""Continuous batching for local greedy generation.

The micro-batcher runs one ``generate()`` per batch: every row of the batch
computes until the longest answer ends, and no new request joins before the
whole batch is done. With answers of 20 to 256 tokens most of that work is spent
on rows that already finished, and the batch thins out while callers wait.

Here a single worker keeps up to ``max_batch`` sequences in one KV cache and
steps them together one token at a time. A sequence that ends leaves the batch
at once (its result goes back to its caller right away, so the judge starts on
it while generation goes on), and waiting requests take the free slots. The
requests that join at the same moment share one prompt pass, left padded and
masked as batched ``generate()`` pads them (prompts of very different lengths go
in separate passes, see :func:`~._hf_runner.plan_buckets`). The running rows'
keys and values live in preallocated buffers written in place (see
:mod:`._kv_window`), right aligned as left padding aligns them in batched
``generate()``, which keeps greedy answers equal to one-by-one ones (up to the
float rounding that any change of batch shape may bring).

Only greedy requests take this path; sampled ones (temperature > 0) keep the
batched ``generate()`` of :class:`~._hf_runner.TransformersRunner`, which owns
their seeds, and so do all requests to a model whose cache is not plain full
attention in every layer (sliding window, recurrent layers).
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
from ._hf_runner import GenRequest, GenResult, LoadedModel, TransformersRunner, plan_buckets
from ._kv_window import KVWindow

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
    #: prompt passes (one forward each) and the prompts they carried
    prefills: int = 0
    prefill_rows: int = 0
    prefill_tokens: int = 0
    #: padding in the prompt passes (a group is left padded to its longest prompt)
    prefill_padded_tokens: int = 0
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
            "prefill_rows": self.prefill_rows,
            "prefill_tokens": self.prefill_tokens,
            "prefill_padded_tokens": self.prefill_padded_tokens,
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


def supports_window(state: LoadedModel) -> bool:
    """Whether the model's cache is plain full attention in every layer (what the
    window cache reproduces); sliding-window or recurrent layers are not."""
    from transformers import DynamicCache
    from transformers.cache_utils import DynamicLayer

    layers = DynamicCache(config=state.model.config).layers
    return bool(layers) and all(type(layer) is DynamicLayer for layer in layers)


def _window_cache(window: KVWindow, config: Any, layers: int) -> Any:
    """A transformers cache whose layers store into ``window`` in place."""
    from transformers import DynamicCache, cache_utils

    layer_base: Any = cache_utils.DynamicLayer

    class WindowLayer(layer_base):  # type: ignore[misc]
        def __init__(self, index: int) -> None:
            super().__init__()
            self.index = index
            self.is_initialized = True

        def update(self, key_states: Any, value_states: Any, *args: Any,
                   **kwargs: Any) -> tuple[Any, Any]:
            self.keys, self.values = window.write(self.index, key_states, value_states)
            return self.keys, self.values

        def get_seq_length(self) -> int:
            return window.width

    cache = DynamicCache(config=config)
    cache.layers = [WindowLayer(i) for i in range(layers)]
    return cache


class _Batch:
    """The running sequences and their shared, right-aligned KV cache (worker thread only)."""

    def __init__(self, state: LoadedModel, stats: ContinuousStats, max_rows: int) -> None:
        self.state = state
        self.stats = stats
        self.rows: list[_Row] = []
        self.window = KVWindow(state.torch, max_rows)
        self.layers = 0
        self.template: Any = None  # a tensor of the cache's dtype/device, for new buffers
        self.cache: Any = None

    def admit(self, group: list[tuple[_Waiting, list[int]]]) -> None:
        """One prompt pass for ``group`` together (left padded and masked, as batched
        ``generate()`` does), then the new rows join the running batch."""
        torch = self.state.torch
        model = self.state.model
        from transformers import DynamicCache

        started = time.perf_counter()
        lengths = [len(prompt) for _, prompt in group]
        width = max(lengths)
        input_ids, attention = self.state.left_padded([prompt for _, prompt in group])
        # positions count real tokens only (padding gets 1), exactly as generate() does
        positions = (attention.cumsum(-1) - 1).masked_fill(attention == 0, 1)
        prefill: Any = DynamicCache(config=model.config)
        with torch.inference_mode():
            out = model(
                input_ids=input_ids.to(model.device),
                # a prompt pass without padding needs no mask (as generate() passes none)
                attention_mask=attention.to(model.device) if min(lengths) < width else None,
                position_ids=positions.to(model.device),
                cache=prefill,
                use_cache=True,
                logits_to_keep=1,
            )
        firsts = out.logits[:, -1].argmax(-1).tolist()
        self.stats.prefills += 1
        self.stats.prefill_rows += len(group)
        self.stats.prefill_tokens += sum(lengths)
        self.stats.prefill_padded_tokens += len(group) * width - sum(lengths)
        if self.cache is None:
            self.layers = len(prefill.layers)
            self.template = prefill.layers[0].keys
            self.cache = _window_cache(self.window, model.config, self.layers)
        self.window.reserve(len(self.rows) + len(group), width, 1, self.template, self.layers)
        self.window.add_rows(prefill, lengths)
        for (waiting, prompt), first in zip(group, firsts, strict=True):
            self.rows.append(_Row(waiting, len(prompt), [int(first)],
                                  waiting.request.params.max_tokens))
        self.stats.prefill_s += time.perf_counter() - started
        self._finish([i for i, row in enumerate(self.rows) if self._done(row)])

    def _done(self, row: _Row) -> bool:
        return row.generated[-1] in self.state.eos_ids or len(row.generated) >= row.max_tokens

    def step(self) -> None:
        """One decode step for every row; rows that end leave the batch."""
        torch = self.state.torch
        model = self.state.model
        started = time.perf_counter()
        rows = len(self.rows)
        mask = self.window.open_column(self.template, self.layers)
        self.stats.decode_steps += 1
        self.stats.row_steps += rows
        self.stats.widths[rows] += 1
        self.stats.cache_cells += rows * self.window.width
        self.stats.padded_cells += self.window.padded_cells()
        last = torch.tensor([[r.generated[-1]] for r in self.rows], dtype=torch.long)
        # the new token's position: how many real tokens precede it (as generate() does)
        positions = torch.tensor(
            [[r.prompt_tokens + len(r.generated) - 1] for r in self.rows], dtype=torch.long
        )
        with torch.inference_mode():
            out = model(
                input_ids=last.to(model.device),
                attention_mask=mask,
                position_ids=positions.to(model.device),
                cache=self.cache,
                use_cache=True,
                logits_to_keep=1,
            )
        self.window.close_column()
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
        if deliver:
            for i in indexes:
                row = self.rows[i]
                _deliver(row.waiting, self.state.finish(row.generated, row.prompt_tokens,
                                                        row.max_tokens))
        order = self.window.remove(set(indexes))
        self.rows = [self.rows[i] for i in order]

    def fail_all(self, error: BaseException) -> None:
        for row in self.rows:
            _deliver(row.waiting, error)
        self.window.remove(set(range(len(self.rows))))
        self.rows = []


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
        # sampled calls, and models whose cache the window cannot hold (sliding
        # window, recurrent layers), take batched generate()
        stepped = supports_window(state)
        batch = _Batch(state, self.stats, self.max_batch)
        while True:
            # once closed, the sequences already running finish; nothing new joins
            room = 0 if self._closed else self.max_batch - len(batch.rows)
            taken = self._take(room, idle=not batch.rows)
            if taken is None:
                return
            generated = [w for w in taken if w.request.params.temperature > 0 or not stepped]
            if generated:
                self._run_generate(generated)
            ready: list[tuple[_Waiting, list[int]]] = []
            for waiting in taken:
                if waiting.request.params.temperature > 0 or not stepped:
                    continue
                prompt = state.prompt_or_error(waiting.request)
                if isinstance(prompt, BaseException):
                    _deliver(waiting, prompt)
                else:
                    ready.append((waiting, prompt))
            # prompts of close lengths share one prompt pass (padding is wasted work)
            for bucket in plan_buckets([len(p) for _, p in ready], [0] * len(ready)):
                group = [ready[i] for i in bucket]
                try:
                    batch.admit(group)
                except Exception as exc:
                    for waiting, _ in group:
                        _deliver(waiting, _failure(exc))
                    if batch.window.rows != len(batch.rows):  # failed half way in
                        batch.fail_all(_failure(exc))
            batch.drop_cancelled()
            if batch.rows:
                try:
                    batch.step()
                except Exception as exc:
                    batch.fail_all(_failure(exc))

    def _run_generate(self, calls: list[_Waiting]) -> None:
        self.stats.sampled_batches += 1
        outcomes = self.runner.run_batch([w.request for w in calls])
        for waiting, outcome in zip(calls, outcomes, strict=True):
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
