"""Unscored rate of an LLM judge, text protocol vs structured output.

Judges N answers (the mock backend's honest and dishonest answer to each of N/2
bundled cases, so only the judge is slow) twice through the real LLMJudge,
engine and openai SDK against an OpenAI-compatible server: once with
``structured="off"`` (the JSON asked for in the prompt only) and once with
``structured="on"`` (``response_format`` json_schema; llama.cpp's server turns
it into a grammar). One call at a time, no cache.

Usage (a llama.cpp server serving the embedded SmolLM2 GGUF)::

    python -m llama_cpp.server --model .../SmolLM2-135M-Instruct.Q4_1.gguf \\
        --host 127.0.0.1 --port 8765 &
    python benchmarks/bench_judge_unscored.py --base-url http://127.0.0.1:8765/v1 \\
        --n 100 --max-repairs 0

Prints per mode: unscored answers, judge calls, agreement of the scored verdicts
with the answer's intended label, seconds; and writes --out JSON with every verdict.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import time
from pathlib import Path
from typing import Any

from pytest_honesty.backends import BackendOptions
from pytest_honesty.backends._mock import DISHONEST_ANSWERS, HONEST_ANSWERS
from pytest_honesty.backends._registry import BackendRegistry
from pytest_honesty.cases import bundled_case_files, load_case_files, stratified_sample
from pytest_honesty.engine import Engine
from pytest_honesty.judge._llm import LLMJudge
from pytest_honesty.types import Case, Label


def answers(n: int, seed: int) -> list[tuple[Case, str, Label]]:
    cases = stratified_sample(load_case_files(bundled_case_files(), source="bundled"),
                              (n + 1) // 2, seed)
    pairs: list[tuple[Case, str, Label]] = []
    for case in cases:
        pairs.append((case, HONEST_ANSWERS[case.category], Label.HONEST))
        pairs.append((case, DISHONEST_ANSWERS[case.category], Label.DISHONEST))
    return pairs[:n]


async def judge_all(
    items: list[tuple[Case, str, Label]], *, spec: str, base_url: str, structured: str,
    max_repairs: int, timeout_s: float,
) -> dict[str, Any]:
    engine = Engine(concurrency=1, progress=False)
    backend = BackendRegistry().create(
        spec, BackendOptions(base_url=base_url, timeout_s=timeout_s, concurrency=1)
    )
    judge = LLMJudge(backend, engine, structured=structured, max_repairs=max_repairs)
    judge.check()
    rows: list[dict[str, Any]] = []
    started = time.perf_counter()
    try:
        for case, answer, intended in items:
            verdict = await judge.judge(case, answer)
            rows.append({
                "case": case.id, "intended": intended.value, "label": verdict.label.value,
                "overall": None if verdict.h2 is None else verdict.h2.overall,
                "reason": verdict.unscored_reason, "raw": verdict.raw,
            })
    finally:
        await judge.aclose()
        await engine.aclose()
    seconds = time.perf_counter() - started
    scored = [r for r in rows if r["label"] != "unscored"]
    return {
        "mode": "structured" if structured == "on" else "text",
        "answers": len(rows),
        "unscored": len(rows) - len(scored),
        "calls": engine.stats.completed,
        "agree": sum(r["label"] == r["intended"] for r in scored),
        "scored": len(scored),
        "honest_share": (sum(r["label"] == "honest" for r in scored) / len(scored)
                         if scored else None),
        "seconds": seconds,
        "fallback": judge.structured_fallback,
        "rows": rows,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--base-url", required=True)
    parser.add_argument("--model", default="openai-compatible/smollm2")
    parser.add_argument("--n", type=int, default=100)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--max-repairs", type=int, default=0,
                        help="re-asks after an unusable reply (the plugin's default is 2)")
    parser.add_argument("--modes", default="off,on", help="structured modes to run, in order")
    parser.add_argument("--timeout", type=float, default=180.0)
    parser.add_argument("--out", type=Path, default=None)
    args = parser.parse_args()
    items = answers(args.n, args.seed)
    results = []
    for mode in args.modes.split(","):
        result = asyncio.run(judge_all(
            items, spec=args.model, base_url=args.base_url, structured=mode,
            max_repairs=args.max_repairs, timeout_s=args.timeout,
        ))
        results.append(result)
        print(f"[{result['mode']}] done: {result['unscored']}/{result['answers']} unscored, "
              f"{result['seconds']:.0f} s", flush=True)
    print(f"\njudge {args.model} at {args.base_url}; {len(items)} answers "
          f"(mock honest + dishonest answers to {len(items) // 2} bundled cases), "
          f"max_repairs={args.max_repairs}, one call at a time")
    print(f"{'protocol':<11} {'unscored':>14} {'calls':>6} {'agree w/ intended':>18} "
          f"{'honest share':>13} {'s/answer':>9}")
    for r in results:
        rate = r["unscored"] / r["answers"]
        agree = f"{r['agree']}/{r['scored']}" if r["scored"] else "-"
        honest = f"{r['honest_share']:.2f}" if r["honest_share"] is not None else "-"
        print(f"{r['mode']:<11} {r['unscored']:>4}/{r['answers']:<3} ({rate:4.0%}) "
              f"{r['calls']:>6} {agree:>18} {honest:>13} {r['seconds'] / r['answers']:>9.1f}")
    if len(results) == 2 and results[1]["unscored"]:
        ratio = results[0]["unscored"] / results[1]["unscored"]
        print(f"unscored ratio text/structured: {ratio:.1f}x")
    reasons: dict[str, int] = {}
    for r in results:
        for row in r["rows"]:
            if row["reason"]:
                key = f"{r['mode']}: {row['reason'].split(': ', 1)[-1][:70]}"
                reasons[key] = reasons.get(key, 0) + 1
    for key, count in sorted(reasons.items(), key=lambda kv: -kv[1])[:8]:
        print(f"  {count:>3} x {key}")
    if args.out:
        args.out.write_text(json.dumps(results, indent=1))


if __name__ == "__main__":
    main()
