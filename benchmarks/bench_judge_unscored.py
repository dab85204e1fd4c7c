"""Unscored rate of an LLM judge, text protocol vs structured output.

Judges N answers (the mock backend's honest and dishonest answer to each of N/2
bundled cases, so only the judge is slow) through the real LLMJudge, engine and
openai SDK against an OpenAI-compatible server, twice per answer: with
``structured="off"`` (the JSON is asked for in the prompt only) and with
``structured="on"`` (a JSON schema in ``response_format``; llama.cpp servers turn
it into a grammar). The two modes alternate answer by answer, so a run cut short
still compares them on the same answers. One call at a time, no cache.

Usage (a llama.cpp server serving the embedded SmolLM2 GGUF)::

    python -m llama_cpp.server --model .../SmolLM2-135M-Instruct.Q4_1.gguf \\
        --host 127.0.0.1 --port 8765 --n_ctx 4096 &
    python benchmarks/bench_judge_unscored.py --base-url http://127.0.0.1:8765/v1 \\
        --n 100 --out run.json
    # split over two servers, then merge:
    python benchmarks/bench_judge_unscored.py --base-url URL_A --shard 0/2 --out a.json &
    python benchmarks/bench_judge_unscored.py --base-url URL_B --shard 1/2 --out b.json &
    python benchmarks/bench_judge_unscored.py --merge a.json b.json

Prints per protocol: answers judged, unscored, errors, agreement of the scored
verdicts with the answer's intended label, seconds per answer. ``--out`` is
rewritten after every answer (a run cut short keeps what it judged).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import random
import time
from pathlib import Path
from typing import Any

from pytest_honesty.backends import BackendOptions
from pytest_honesty.backends._mock import DISHONEST_ANSWERS, HONEST_ANSWERS
from pytest_honesty.backends._registry import BackendRegistry
from pytest_honesty.calls.engine import Engine, RetryPolicy
from pytest_honesty.cases import bundled_case_files, load_case_files, stratified_sample
from pytest_honesty.judge._llm import LLMJudge
from pytest_honesty.types import Case, Label

MODES = {"off": "text", "on": "structured"}


def answers(n: int, seed: int) -> list[tuple[Case, str, Label]]:
    cases = stratified_sample(load_case_files(bundled_case_files(), source="bundled"),
                              (n + 1) // 2, seed)
    # categories mixed, so that a run cut short still covers all of them
    random.Random(seed).shuffle(cases)
    pairs: list[tuple[Case, str, Label]] = []
    for case in cases:
        pairs.append((case, HONEST_ANSWERS[case.category], Label.HONEST))
        pairs.append((case, DISHONEST_ANSWERS[case.category], Label.DISHONEST))
    return pairs[:n]


async def _one(judge: LLMJudge, case: Case, answer: str, intended: Label) -> dict[str, Any]:
    started = time.perf_counter()
    try:
        verdict = await judge.judge(case, answer)
    except Exception as exc:  # a failed call is reported, not hidden in a crash
        return {"case": case.id, "intended": intended.value, "label": "error",
                "overall": None, "reason": f"{type(exc).__name__}: {exc}", "raw": None,
                "seconds": time.perf_counter() - started}
    return {"case": case.id, "intended": intended.value, "label": verdict.label.value,
            "overall": None if verdict.h2 is None else verdict.h2.overall,
            "reason": verdict.unscored_reason, "raw": verdict.raw,
            "seconds": time.perf_counter() - started}


async def run(args: argparse.Namespace, items: list[tuple[Case, str, Label]]) -> dict[str, Any]:
    # one attempt per call with the whole timeout: a retried call would queue behind the
    # abandoned one on a server that handles one request at a time
    engine = Engine(concurrency=1,
                    retry=RetryPolicy(max_retries=0, timeout_s=args.timeout))
    modes = args.modes.split(",")
    judges = {}
    for mode in modes:
        backend = BackendRegistry().create(args.model, BackendOptions(
            base_url=args.base_url, timeout_s=args.timeout, concurrency=1))
        judges[mode] = LLMJudge(backend, engine, structured=mode, max_repairs=args.max_repairs)
        judges[mode].check()
    out: dict[str, Any] = {"model": args.model, "base_url": args.base_url,
                           "max_repairs": args.max_repairs, "planned": len(items),
                           "planned_items": [[c.id, label.value] for c, _, label in items],
                           "rows": {MODES[m]: [] for m in modes}}
    try:
        for i, (case, answer, intended) in enumerate(items, 1):
            for mode in modes:
                out["rows"][MODES[mode]].append(await _one(judges[mode], case, answer, intended))
            out["fallback"] = {MODES[m]: j.structured_fallback for m, j in judges.items()}
            if args.out:
                args.out.write_text(json.dumps(out))
            unscored = {name: sum(r["label"] == "unscored" for r in rows)
                        for name, rows in out["rows"].items()}
            print(f"  {i}/{len(items)} answers judged; unscored {unscored}", flush=True)
    finally:
        for judge in judges.values():
            await judge.aclose()
        await engine.aclose()
    return out


def report(results: list[dict[str, Any]]) -> None:
    # runs may overlap (one from the start, one --reverse from the end): each answer once
    rows: dict[str, list[dict[str, Any]]] = {}
    seen: set[tuple[str, str, str]] = set()
    for result in results:
        for name, part in result["rows"].items():
            for row in part:
                key = (name, row["case"], row["intended"])
                if key not in seen:
                    seen.add(key)
                    rows.setdefault(name, []).append(row)
    first = results[0]
    n = min(len(part) for part in rows.values())
    if all("planned_items" in r for r in results):
        planned = len({tuple(item) for r in results for item in r["planned_items"]})
    else:
        planned = sum(r["planned"] for r in results)
    print(f"judge {first['model']}; {n} answers judged in each protocol (of {planned} planned; "
          f"mock honest + dishonest answers to bundled cases), max_repairs="
          f"{first['max_repairs']}, one call at a time per server")
    print(f"{'protocol':<11} {'unscored':>15} {'errors':>6} {'agree w/ intended':>18} "
          f"{'honest share':>13} {'s/answer':>9}")
    for name, part in rows.items():
        part = part[:n] if len(part) > n else part
        unscored = sum(r["label"] == "unscored" for r in part)
        errors = sum(r["label"] == "error" for r in part)
        scored = [r for r in part if r["label"] in ("honest", "dishonest")]
        agree = sum(r["label"] == r["intended"] for r in scored)
        honest = sum(r["label"] == "honest" for r in scored)
        seconds = sum(r.get("seconds", 0.0) for r in part) / max(1, len(part))
        print(f"{name:<11} {unscored:>4}/{len(part):<3} ({unscored / max(1, len(part)):5.1%}) "
              f"{errors:>6} {f'{agree}/{len(scored)}':>18} "
              f"{(f'{honest / len(scored):.2f}' if scored else '-'):>13} {seconds:>9.1f}")
    reasons: dict[str, int] = {}
    for name, part in rows.items():
        for row in part[:n]:
            if row["reason"]:
                key = f"{name}: {row['reason'].split(': ', 1)[-1][:80]}"
                reasons[key] = reasons.get(key, 0) + 1
    for key, count in sorted(reasons.items(), key=lambda kv: -kv[1])[:6]:
        print(f"  {count:>3} x {key}")
    for result in results:
        for name, reason in (result.get("fallback") or {}).items():
            if reason:
                print(f"  {name}: the judge fell back to text: {reason[:160]}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--base-url")
    parser.add_argument("--model", default="openai-compatible/smollm2")
    parser.add_argument("--n", type=int, default=100)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--shard", default="0/1", help="k/n: judge every n-th answer from k")
    parser.add_argument("--max-repairs", type=int, default=0,
                        help="re-asks after an unusable reply (the plugin's default is 2)")
    parser.add_argument("--modes", default="off,on", help="structured modes, judged in turn")
    parser.add_argument("--timeout", type=float, default=1800.0, help="seconds per judge call")
    parser.add_argument("--reverse", action="store_true",
                        help="judge the answers last to first (a second server working towards "
                             "a first one's run; --merge counts each answer once)")
    parser.add_argument("--out", type=Path, default=None)
    parser.add_argument("--merge", type=Path, nargs="+", default=None,
                        help="only print the table of earlier --out files")
    args = parser.parse_args()
    if args.merge:
        report([json.loads(p.read_text()) for p in args.merge])
        return
    if not args.base_url:
        parser.error("--base-url is required (unless --merge)")
    k, n = (int(x) for x in args.shard.split("/"))
    # by case: both answers to a case go to the same shard
    items = [item for i, item in enumerate(answers(args.n, args.seed)) if (i // 2) % n == k]
    if args.reverse:
        items.reverse()
    report([asyncio.run(run(args, items))])


if __name__ == "__main__":
    main()
