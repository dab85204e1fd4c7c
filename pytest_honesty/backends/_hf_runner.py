"""Batched chat generation with a transformers model, run in the worker thread.

Everything here is synchronous: :class:`TransformersRunner.run_batch` is what the
micro-batcher calls in its single worker thread.
"""

from __future__ import annotations

import copy
import threading
from collections.abc import Callable, Hashable, Sequence
from dataclasses import dataclass
from typing import Any

from ..types import Message, SamplingParams
from ._base import BackendError, BackendUnavailable, PermanentError, import_optional
from ._row_sampling import RowSampler

__all__ = ["GenRequest", "GenResult", "LoadedModel", "TransformersRunner", "plan_buckets"]


@dataclass(frozen=True)
class GenRequest:
    messages: tuple[Message, ...]
    params: SamplingParams


@dataclass(frozen=True)
class GenResult:
    text: str
    input_tokens: int
    output_tokens: int
    finish_reason: str


# Prompts whose lengths differ by at most this many tokens (or by at most 2x) share
# one generate() call; beyond that the padding costs more than a separate call.
_BUCKET_SLACK_TOKENS = 64


def plan_buckets(lengths: Sequence[int], keys: Sequence[Hashable]) -> list[list[int]]:
    """Split one batch into generate() calls.

    Requests share a call only when their sampling ``keys`` are equal (generate takes
    one set of settings) and their prompt lengths are close (left padding is wasted
    work). Returns lists of indexes into ``lengths``.
    """
    if len(lengths) != len(keys):
        raise ValueError("lengths and keys must have the same length")
    groups: dict[Hashable, list[int]] = {}
    for index, key in enumerate(keys):
        groups.setdefault(key, []).append(index)
    buckets: list[list[int]] = []
    for members in groups.values():
        members.sort(key=lambda i: lengths[i])
        bucket: list[int] = []
        for index in members:
            if bucket:
                shortest = lengths[bucket[0]]
                if lengths[index] > max(2 * shortest, shortest + _BUCKET_SLACK_TOKENS):
                    buckets.append(bucket)
                    bucket = []
            bucket.append(index)
        buckets.append(bucket)
    return buckets


def _sampling_key(params: SamplingParams) -> Hashable:
    # Sampled rows each draw from their own generator (RowSampler), so their
    # temperatures, top_p and seeds need not split a batch either.
    return ("greedy",) if params.temperature <= 0 else ("sample",)


@dataclass(frozen=True)
class LoadedModel:
    """A loaded model with what generation needs. Immutable: a batch that holds one
    keeps working even if the runner is closed meanwhile."""

    model: Any
    tokenizer: Any
    torch: Any
    eos_ids: tuple[int, ...]
    pad_id: int
    max_positions: int | None

    def encode(self, messages: Sequence[Message]) -> list[int]:
        """The prompt tokens for a chat, ending with the assistant's turn opener."""
        chat = [m.to_dict() for m in messages]
        # Control tokens inside message text (e.g. a model answer quoted back to it)
        # are encoded as text, so they cannot end a turn or fake a role.
        encoded = self.tokenizer.apply_chat_template(
            chat,
            add_generation_prompt=True,
            tokenize=True,
            return_dict=True,
            sanitize_control_tokens=True,
        )
        return [int(i) for i in encoded["input_ids"]]

    def prompt_or_error(self, request: GenRequest) -> list[int] | PermanentError:
        """The prompt tokens of a request, or why it cannot run."""
        try:
            ids = self.encode(request.messages)
        except Exception as exc:
            return PermanentError(f"could not build the chat prompt: {exc}")
        limit = self.max_positions
        if limit is not None and len(ids) + request.params.max_tokens > limit:
            return PermanentError(
                f"prompt of {len(ids)} tokens + max_tokens {request.params.max_tokens} "
                f"exceeds the model's context of {limit} tokens; shorten the prompt or "
                "lower max_tokens"
            )
        return ids

    def finish(self, tokens: list[int], input_tokens: int, max_tokens: int) -> GenResult:
        """Turn generated tokens into a result: cut at the limit and the end token."""
        # A row may have run on after its own limit (the bucket used the largest
        # max_tokens); cutting it there gives what a call with its own limit gives.
        tokens = tokens[:max_tokens]
        finish = "length"
        for position, token in enumerate(tokens):
            if token in self.eos_ids:
                tokens = tokens[:position]
                finish = "stop"
                break
        text = self.tokenizer.decode(tokens, skip_special_tokens=True).strip()
        return GenResult(
            text=text, input_tokens=input_tokens, output_tokens=len(tokens), finish_reason=finish
        )

    def left_padded(self, prompts: Sequence[Sequence[int]]) -> tuple[Any, Any]:
        """(input_ids, attention_mask) for a batch of prompts, padded on the left: every
        prompt ends where generation starts, which keeps batched greedy output equal
        to one-by-one output."""
        torch = self.torch
        width = max(len(p) for p in prompts)
        input_ids = torch.full((len(prompts), width), self.pad_id, dtype=torch.long)
        attention = torch.zeros((len(prompts), width), dtype=torch.long)
        for row, ids in enumerate(prompts):
            input_ids[row, width - len(ids) :] = torch.tensor(ids, dtype=torch.long)
            attention[row, width - len(ids) :] = 1
        return input_ids, attention

    def generate(
        self, prompts: list[list[int]], params: list[SamplingParams]
    ) -> list[GenResult | BaseException]:
        """One generate() call for prompts that share sampling settings."""
        torch = self.torch
        model = self.model
        input_ids, attention = self.left_padded(prompts)
        config = copy.deepcopy(model.generation_config)
        config.max_new_tokens = max(p.max_tokens for p in params)
        # Greedy search; sampled rows are drawn by RowSampler, which leaves one token.
        config.do_sample = False
        config.temperature = None
        config.top_p = None
        config.top_k = None
        config.pad_token_id = self.pad_id
        config.eos_token_id = list(self.eos_ids)
        processors = []
        if params[0].temperature > 0:
            processors.append(RowSampler(torch, params))
        with torch.inference_mode():
            output = model.generate(
                input_ids=input_ids.to(model.device),
                attention_mask=attention.to(model.device),
                generation_config=config,
                logits_processor=processors,
            )
        generated = output[:, input_ids.shape[1] :].tolist()
        return [
            self.finish(tokens, len(prompt), p.max_tokens)
            for tokens, prompt, p in zip(generated, prompts, params, strict=True)
        ]


class TransformersRunner:
    """Holds one causal LM (loaded lazily, once) and generates replies in batches."""

    def __init__(self, loader: Callable[[], tuple[Any, Any]], *, threads: int | None) -> None:
        self._loader = loader
        self._threads = threads
        self._lock = threading.Lock()
        self._state: LoadedModel | None = None
        self._closed = False

    @property
    def loaded(self) -> bool:
        return self._state is not None

    def load(self) -> LoadedModel:
        """Load the model once; safe to call from any thread, any number of times."""
        state = self._state
        if state is not None:
            return state
        with self._lock:
            if self._closed:
                raise BackendUnavailable("the local model backend is closed")
            if self._state is not None:
                return self._state
            torch = import_optional("torch", extra="local", purpose="Running a local model")
            if self._threads:
                torch.set_num_threads(self._threads)
            model, tokenizer = self._loader()
            eos: set[int] = set()
            for source in (tokenizer.eos_token_id, model.generation_config.eos_token_id):
                if isinstance(source, int):
                    eos.add(source)
                elif isinstance(source, list | tuple):
                    eos.update(int(i) for i in source)
            if not eos:
                raise BackendUnavailable("the local model's tokenizer defines no end-of-turn token")
            pad = tokenizer.pad_token_id
            self._state = LoadedModel(
                model=model,
                tokenizer=tokenizer,
                torch=torch,
                eos_ids=tuple(sorted(eos)),
                pad_id=int(pad) if pad is not None else min(eos),
                max_positions=getattr(model.config, "max_position_embeddings", None),
            )
            return self._state

    def close(self) -> None:
        """Drop the model; a batch already running finishes with its own reference."""
        with self._lock:
            self._closed = True
            self._state = None

    def run_batch(self, requests: list[GenRequest]) -> list[GenResult | BaseException]:
        """Generate a reply for each request; one outcome per request, in order."""
        state = self.load()
        outcomes: list[GenResult | BaseException | None] = [None] * len(requests)
        prompts: dict[int, list[int]] = {}
        for index, request in enumerate(requests):
            ids = state.prompt_or_error(request)
            if isinstance(ids, BaseException):
                outcomes[index] = ids
                continue
            prompts[index] = ids
        order = list(prompts)
        buckets = plan_buckets(
            [len(prompts[i]) for i in order], [_sampling_key(requests[i].params) for i in order]
        )
        for bucket in buckets:
            members = [order[i] for i in bucket]
            try:
                results = state.generate(
                    [prompts[i] for i in members], [requests[i].params for i in members]
                )
            except BackendError as exc:
                results = [exc] * len(members)
            except Exception as exc:
                error = PermanentError(f"local generation failed: {type(exc).__name__}: {exc}")
                error.__cause__ = exc
                results = [error] * len(members)
            for index, result in zip(members, results, strict=True):
                outcomes[index] = result
        return [o if o is not None else PermanentError("request was not run") for o in outcomes]
