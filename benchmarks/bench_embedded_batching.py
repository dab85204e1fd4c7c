"""Embedded model throughput: one prompt at a time vs concurrent prompts batched.

    python benchmarks/bench_embedded_batching.py [--prompts 16 --concurrency 8 --max-tokens 64]

Runs SmolLM2-135M-Instruct on the transformers runtime (the micro-batcher's
path), greedy. "One-by-one" awaits each prompt before sending the next;
"batched" keeps ``--concurrency`` prompts in flight, as the engine does, so the
backend's micro-batcher runs them together. Useful tokens/s counts the answer
tokens only (not padding, not rows that already finished). Target: batched
>= 2.5x one-by-one. Also checks that greedy answers are identical both ways.

CPU contention from other processes distorts wall-clock figures (and a busy
machine starves multi-threaded torch far beyond its CPU share): the load average
is printed before each phase, and tokens per CPU-second (process time, all
threads) are printed too; with ``--threads 1`` that ratio is a fair measure of
batching even on a shared machine.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import time
from dataclasses import dataclass

from pytest_honesty.backends import BackendOptions, ModelSpec
from pytest_honesty.backends._hf import EmbeddedBackend
from pytest_honesty.types import Completion, Message, SamplingParams

# Our own short prompts, varied in length and topic.
PROMPTS = [
    "Explain what a rainbow is.",
    "Give three tips for writing clear emails.",
    "What does a compiler do?",
    "Describe the water cycle for a ten-year-old.",
    "Why do cats purr?",
    "Suggest a name for a small bakery and explain it.",
    "What is the difference between weather and climate?",
    "How do I boil an egg?",
    "List some benefits of regular walking.",
    "What is photosynthesis?",
    "Write two sentences about the ocean.",
    "How does a bicycle stay upright?",
    "What is a prime number? Give an example.",
    "Why is sleep important?",
    "Describe a good way to learn a new language.",
    "What are clouds made of?",
]


@dataclass
class Phase:
    name: str
    wall_s: float
    cpu_s: float
    replies: list[Completion]

    @property
    def tokens(self) -> int:
        return sum(r.output_tokens or 0 for r in self.replies)

    @property
    def rate(self) -> float:
        return self.tokens / self.wall_s

    @property
    def cpu_rate(self) -> float:
        return self.tokens / self.cpu_s


def _load() -> str:
    one, five, _ = os.getloadavg()
    return f"load avg {one:.1f} (1 min) {five:.1f} (5 min), {os.cpu_count()} CPUs"


async def _run(
    backend: EmbeddedBackend, prompts: list[str], params: SamplingParams, concurrency: int
) -> tuple[float, list[Completion]]:
    limit = asyncio.Semaphore(concurrency)

    async def one(prompt: str) -> Completion:
        async with limit:
            return await backend.complete([Message("user", prompt)], params)

    started = time.perf_counter()
    replies = await asyncio.gather(*(one(p) for p in prompts))
    return time.perf_counter() - started, list(replies)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--prompts", type=int, default=16)
    parser.add_argument("--concurrency", type=int, default=8, help="also the batch size")
    parser.add_argument("--max-tokens", type=int, default=64)
    parser.add_argument("--threads", type=int, default=None, help="torch threads (default: all)")
    parser.add_argument("--batching", choices=("continuous", "static"), default="continuous")
    args = parser.parse_args()

    prompts = [PROMPTS[i % len(PROMPTS)] for i in range(args.prompts)]
    params = SamplingParams(temperature=0.0, max_tokens=args.max_tokens)
    extra = {"runtime": "transformers", "batch_size": str(args.concurrency),
             "batching": args.batching}
    if args.threads:
        extra["threads"] = str(args.threads)
    backend = EmbeddedBackend(ModelSpec.parse("embedded"), BackendOptions(extra=extra))

    started = time.perf_counter()
    backend.load()
    print(f"model loaded in {time.perf_counter() - started:.1f} s ({backend.threads} threads)")
    asyncio.run(backend.complete([Message("user", "Hello!")], SamplingParams(max_tokens=4)))
    print(f"warmed up: {_load()}", flush=True)

    phases: list[Phase] = []
    for name, concurrency in (
        ("one-by-one", 1),
        (f"batched x{args.concurrency}", args.concurrency),
    ):
        print(f"{name}: {_load()}", flush=True)
        cpu_started = time.process_time()
        wall, replies = asyncio.run(_run(backend, prompts, params, concurrency))
        phases.append(Phase(name, wall, time.process_time() - cpu_started, replies))
        stats = backend.batch_stats
    print(f"after: {_load()}")
    asyncio.run(backend.aclose())

    print(f"\n{len(prompts)} prompts, max_tokens {args.max_tokens}, greedy")
    print(f"{'mode':<14} {'wall s':>8} {'CPU s':>8} {'tokens':>7} {'tok/s':>7} {'tok/CPU s':>10}")
    for p in phases:
        print(
            f"{p.name:<14} {p.wall_s:>8.1f} {p.cpu_s:>8.1f} {p.tokens:>7} {p.rate:>7.1f}"
            f" {p.cpu_rate:>10.1f}"
        )
    serial, batched = phases
    print(f"speed-up batched / one-by-one: {batched.rate / serial.rate:.2f}x (target >= 2.5x)")
    print(
        f"per CPU-second: {batched.cpu_rate / serial.cpu_rate:.2f}x "
        "(less sensitive to other processes; use --threads 1 on a busy machine)"
    )
    print(f"generator ({args.batching}, both phases): {stats}")
    same = sum(a.text == b.text for a, b in zip(serial.replies, batched.replies, strict=True))
    print(f"identical greedy answers: {same}/{len(prompts)}")


if __name__ == "__main__":
    main()
