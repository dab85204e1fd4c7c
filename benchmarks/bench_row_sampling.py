"""Sampled generation: per-row generators (RowSampler) vs transformers' own sampling.

    python benchmarks/bench_row_sampling.py [--rows 8 --max-tokens 96 --repeat 3]

One batch of ``--rows`` of our own prompts on the embedded model (SmolLM2-135M,
transformers runtime), temperature 0.8, top_p 0.95, generated to exactly
``--max-tokens`` tokens (no early stop, so both ways do the same work). Prints
the seconds per batch each way (best of ``--repeat``, the two ways interleaved)
and the ratio, then checks what the per-row generators are for: every row's
answer equals the answer of its request generated alone.
"""

from __future__ import annotations

import argparse
import copy
import time
from typing import Any

from bench_embedded_batching import PROMPTS  # our own short prompts

from pytest_honesty.backends import BackendOptions, ModelSpec
from pytest_honesty.backends._hf import EmbeddedBackend
from pytest_honesty.backends._row_sampling import RowSampler
from pytest_honesty.types import Message, SamplingParams


def _batch(model: Any, prompts: list[list[int]], max_tokens: int, sampler: Any) -> float:
    torch = model.torch
    ids, mask = model.left_padded(prompts)
    config = copy.deepcopy(model.model.generation_config)
    config.max_new_tokens = config.min_new_tokens = max_tokens
    config.pad_token_id = model.pad_id
    config.top_k = None
    if sampler is None:  # transformers' sampling: one global generator for the batch
        config.do_sample, config.temperature, config.top_p = True, 0.8, 0.95
        torch.manual_seed(7)
        processors = []
    else:
        config.do_sample, config.temperature, config.top_p = False, None, None
        processors = [sampler]
    start = time.perf_counter()
    with torch.inference_mode():
        model.model.generate(input_ids=ids, attention_mask=mask, generation_config=config,
                             logits_processor=processors)
    return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=8)
    parser.add_argument("--max-tokens", type=int, default=96)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    backend = EmbeddedBackend(ModelSpec.parse("embedded"), BackendOptions())
    model = backend._transformers_runner().load()
    messages = [[Message("user", PROMPTS[i % len(PROMPTS)])] for i in range(args.rows)]
    prompts = [model.encode(m) for m in messages]
    params = [SamplingParams(temperature=0.8, top_p=0.95, max_tokens=args.max_tokens, seed=s)
              for s in range(args.rows)]
    _batch(model, prompts[:1], 4, None)  # warm-up
    builtin_s, rows_s = [], []
    for _ in range(args.repeat):  # interleaved, so that a load change hits both ways
        builtin_s.append(_batch(model, prompts, args.max_tokens, None))
        rows_s.append(_batch(model, prompts, args.max_tokens, RowSampler(model.torch, params)))
    builtin, rows = min(builtin_s), min(rows_s)
    print(f"{args.rows} rows x {args.max_tokens} tokens: transformers sampling {builtin:.2f} s, "
          f"per-row generators {rows:.2f} s; ratio {rows / builtin:.2f}")

    batched = model.generate(prompts, params)
    alone = [model.generate([p], [q])[0] for p, q in zip(prompts, params, strict=True)]
    same = sum(getattr(a, "text", a) == getattr(b, "text", b)
               for a, b in zip(batched, alone, strict=True))
    print(f"answers equal alone and batched: {same}/{args.rows}")
    backend.close()


if __name__ == "__main__":
    main()
