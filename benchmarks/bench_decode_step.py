"""One decode step of the embedded model, transformers' DynamicCache vs the in-place window.

    python benchmarks/bench_decode_step.py [--rows 32] [--cached 400] [--threads 1]

Fills a cache of ``--rows`` rows x ``--cached`` tokens (random contents; the cost
does not depend on them), then profiles 3 decode steps with each cache and prints
the step time and the top operators (``torch.cat`` is DynamicCache's per-step copy).
"""

from __future__ import annotations

import argparse
import os
from typing import Any

import torch
from torch.profiler import ProfilerActivity, profile
from transformers import DynamicCache

from pytest_honesty.backends._continuous import _window_cache
from pytest_honesty.backends._kv_window import KVWindow
from pytest_honesty.backends._local_model import embedded_model_dir, load_causal_lm


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rows", type=int, default=32)
    parser.add_argument("--cached", type=int, default=400)
    parser.add_argument("--threads", type=int, default=1)
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    model, _ = load_causal_lm(embedded_model_dir())
    rows, width = args.rows, args.cached
    layers = model.config.num_hidden_layers
    heads = model.config.num_key_value_heads
    dim = model.config.hidden_size // model.config.num_attention_heads

    def filled() -> Any:
        cache = DynamicCache(config=model.config)
        for layer in range(layers):
            cache.update(torch.randn(rows, heads, width, dim), torch.randn(rows, heads, width, dim),
                         layer)
        return cache

    def step(cache: Any, mask: Any, offset: int) -> None:
        model(input_ids=torch.randint(0, 1000, (rows, 1)), attention_mask=mask,
              position_ids=torch.full((rows, 1), width + offset), cache=cache, use_cache=True,
              logits_to_keep=1)

    print(f"load avg {os.getloadavg()[0]:.1f}; {rows} rows x {width} cached tokens, "
          f"{args.threads} thread(s)")
    with torch.inference_mode():
        cache, mask = filled(), torch.ones(rows, width, dtype=torch.long)
        with profile(activities=[ProfilerActivity.CPU]) as before:
            for offset in range(3):
                mask = torch.cat([mask, mask.new_ones((rows, 1))], 1)
                step(cache, mask, offset)
        prefill = filled()
        window = KVWindow(torch, rows)
        template = prefill.layers[0].keys
        window.reserve(rows, width, 1, template, layers)
        window.add_rows(prefill, [width] * rows)
        cache = _window_cache(window, model.config, layers)
        with profile(activities=[ProfilerActivity.CPU]) as after:
            for offset in range(3):
                step(cache, window.open_column(template, layers), offset)
                window.close_column()
    for name, prof in (("DynamicCache (torch.cat per step)", before),
                       ("in-place window", after)):
        total = sum(e.self_cpu_time_total for e in prof.key_averages()) / 3 / 1000
        print(f"\n{name}: {total:.0f} ms per step (CPU)")
        print(prof.key_averages().table(sort_by="self_cpu_time_total", row_limit=4))


if __name__ == "__main__":
    main()
