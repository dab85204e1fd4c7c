"""Build the unlabelled real-answer sets of issue 14 (gold and judge training).

    python honeset_cases/gold/build_answers.py generate --set gold  [--work DIR]
    python honeset_cases/gold/build_answers.py generate --set train [--work DIR]
    python honeset_cases/gold/build_answers.py assemble --set gold  [--work DIR]

``generate`` puts questions to the embedded model (SmolLM2-135M-Instruct) through
the project's own machinery (backend registry, engine with its SQLite cache, the
``raw`` / ``curiosity`` / ``curiosity-critique`` strategies) following the PLANS
below, and appends one record per final answer to ``DIR/answers_<set>.s<I>of<N>.jsonl``
(``--shard I/N`` splits the work over N processes).
It resumes: answers already in that file are skipped, and model calls already in
``DIR/cache`` are not made again. No judge is called at any point, so no verdict
exists while the sets are prepared.

``assemble`` turns those records into
- ``DIR/<set>_unlabelled.jsonl``: ``{"id", "category", "question", "expected", "answer"}``
  per line (``expected`` only on control items), shuffled with a fixed seed, nothing
  about how the answer was made;
- ``DIR/<set>_sources.jsonl``: ``id`` -> case id, case file, strategy, temperature,
  seed, max tokens, finish reason, output tokens (kept apart for the analysis);
- ``DIR/GOLD_READY`` / ``DIR/TRAIN_READY`` once the set reaches its target size.

Questions: gold = the bundled cases (``honeset_cases/*.yaml``) + ``gold/real_questions.yaml``;
train = ``judge_train/real_questions.yaml`` (disjoint, see ``check_questions.py``).
Exact duplicate answers to the same question are kept once.
"""

from __future__ import annotations

import argparse
import asyncio
import hashlib
import json
import random
import sys
import time
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from pytest_honesty.backends import BackendOptions  # noqa: E402
from pytest_honesty.backends._registry import default_registry  # noqa: E402
from pytest_honesty.calls.cache import Cache  # noqa: E402
from pytest_honesty.calls.engine import Engine, RetryPolicy  # noqa: E402
from pytest_honesty.cases import (  # noqa: E402
    bundled_case_files,
    load_case_files,
    stratified_sample,
)
from pytest_honesty.run.strategies import get_strategy  # noqa: E402
from pytest_honesty.types import Case, SamplingParams  # noqa: E402

GOLD_EXTRA = ROOT / "honeset_cases" / "gold" / "real_questions.yaml"
TRAIN_QUESTIONS = ROOT / "honeset_cases" / "judge_train" / "real_questions.yaml"
SHUFFLE_SEED = 20261204
TARGET = {"gold": 380, "train": 600}


@dataclass(frozen=True)
class Step:
    """One batch of answers: a strategy and sampling settings over some questions."""

    name: str
    strategy: str
    temperature: float = 0.0
    seed: int = 0
    max_tokens: int = 256
    #: None: every question of the set; N: a stratified sample of N (fixed seed)
    sample: int | None = None
    sample_seed: int = 0
    #: a fine-tuned adapter's answers: the label given with ``--adapter LABEL=PATH``
    adapter: str = ""


# In priority order: a step starts when the previous one is done. Greedy raw answers
# with the tool's default limit (256 tokens) come first: they are what a plain
# ``honesty run`` of the embedded model judges.
PLANS: dict[str, tuple[Step, ...]] = {
    "gold": (
        Step("raw", "raw"),
        Step("curiosity", "curiosity", sample=35, sample_seed=1),
        # the same sample as curiosity: its first three turns come from the cache
        Step("critique", "curiosity-critique", sample=35, sample_seed=1),
        Step("sampled-t0.8", "raw", temperature=0.8, seed=11, sample=56, sample_seed=2),
        Step("sampled-t1.0", "raw", temperature=1.0, seed=12, sample=28, sample_seed=4),
        # issue 18's adapters (two-stage and direct DPO on HoneSet-query pairs, never on
        # these questions), greedy, on one sample: the same questions for both
        Step("adapter-two-stage", "raw", sample=35, sample_seed=8, adapter="two-stage"),
        Step("adapter-direct", "raw", sample=35, sample_seed=8, adapter="direct"),
    ),
    "train": (
        Step("raw", "raw"),
        Step("sampled-t0.8", "raw", temperature=0.8, seed=21),
        Step("curiosity", "curiosity", sample=35, sample_seed=5),
        Step("sampled-t1.0", "raw", temperature=1.0, seed=22, sample=70, sample_seed=6),
        Step("critique", "curiosity-critique", sample=35, sample_seed=5),
    ),
}


def questions(which: str) -> list[Case]:
    if which == "gold":
        return load_case_files([*bundled_case_files(), GOLD_EXTRA], source="gold")
    return load_case_files([TRAIN_QUESTIONS], source="train")


def case_file(case: Case) -> str:
    if case.id.startswith("rg-"):
        return "honeset_cases/gold/real_questions.yaml"
    if case.id.startswith("rq-"):
        return "honeset_cases/judge_train/real_questions.yaml"
    return f"honeset_cases/{case.category.value}.yaml"


def record_key(case_id: str, step: Step) -> str:
    return f"{case_id}|{step.name}"


def load_done(path: Path) -> set[str]:
    if not path.exists():
        return set()
    done = set()
    for line in path.read_text(encoding="utf-8").splitlines():
        if line.strip():
            rec = json.loads(line)
            done.add(f"{rec['case_id']}|{rec['step']}")
    return done


def answer_files(which: str, work: Path) -> list[Path]:
    """Every answers file of a set: one per shard (``answers_<set>.s<I>of<N>.jsonl``)."""
    return sorted(work.glob(f"answers_{which}*.jsonl"))


@dataclass(frozen=True)
class Runtime:
    """Where the model runs: the spec (``embedded``, or ``hf/DIR`` holding the same
    weights), backend settings, and the cache folder."""

    model: str = "embedded"
    device: str | None = None
    batch_size: int = 16
    threads: int = 1
    cache: Path | None = None
    #: an OpenAI-compatible server holding the same weights (llama.cpp serving the
    #: SmolLM2 GGUF), with ``model`` ``openai-compatible/NAME``: several times faster
    #: than the transformers path on this machine
    base_url: str | None = None
    #: adapter label -> adapter folder, for the steps that name an adapter
    adapters: tuple[tuple[str, str], ...] = ()

    def spec(self, step: Step) -> str:
        if not step.adapter:
            return self.model
        found = dict(self.adapters).get(step.adapter)
        if found is None:
            raise SystemExit(f"step {step.name} needs --adapter {step.adapter}=PATH")
        return f"{self.model}+{found}"


async def generate(
    which: str, work: Path, runtime: Runtime, shard: tuple[int, int], limit: int | None = None,
    steps: Sequence[str] = (),
) -> None:
    index, count = shard
    tag = f".{'+'.join(steps)}" if steps else ""
    out = work / f"answers_{which}{tag}.s{index}of{count}.jsonl"
    cases = questions(which)
    # a server is configured by its URL alone; the local runtime by batch and threads
    extra: dict[str, str] = {} if runtime.base_url else {
        "batch_size": str(runtime.batch_size), "threads": str(runtime.threads)}
    if runtime.device and not runtime.base_url:
        extra["device"] = runtime.device
    options = BackendOptions(base_url=runtime.base_url, timeout_s=3600.0, extra=extra)
    backends: dict[str, Any] = {}
    engine = Engine(
        # a llama.cpp server works one request at a time: two keep it fed
        concurrency=2 if runtime.base_url else runtime.batch_size * 2,
        retry=RetryPolicy(timeout_s=3600.0),
        cache=Cache.open(runtime.cache or work / "cache"),
    )
    where = (f"{runtime.model} at {runtime.base_url}" if runtime.base_url
             else f"{runtime.model} on {runtime.device or 'cpu'}")
    started = time.monotonic()
    written = 0
    try:
        with out.open("a", encoding="utf-8") as sink:
            for step in PLANS[which]:
                if steps and step.name not in steps:
                    continue
                # read before each step: other processes may have done part of it
                done: set[str] = set()
                for path in answer_files(which, work):
                    done |= load_done(path)
                chosen = cases if step.sample is None else stratified_sample(
                    cases, step.sample, step.sample_seed
                )
                # shards split each step's questions; every shard runs every step
                todo = [
                    c for position, c in enumerate(chosen)
                    if position % count == index and record_key(c.id, step) not in done
                ][:limit]
                print(f"[{which}] step {step.name}: {len(todo)} of {len(chosen)} to do",
                      flush=True)
                if not todo:
                    continue
                spec = runtime.spec(step)
                if spec not in backends:
                    backends[spec] = default_registry().create(spec, options)
                backend = backends[spec]
                strategy = get_strategy(step.strategy)
                params = SamplingParams(
                    temperature=step.temperature, max_tokens=step.max_tokens, seed=step.seed
                )

                async def one(case: Case, step: Step = step, strategy: Any = strategy,
                              params: SamplingParams = params, backend: Any = backend,
                              spec: str = spec) -> None:
                    nonlocal written
                    response = await strategy.answer(case, backend, engine, params)
                    last = response.turns[-1].completion if response.turns else None
                    rec = {
                        "case_id": case.id,
                        "step": step.name,
                        "case_file": case_file(case),
                        "category": case.category.value,
                        "question": case.question,
                        "expected": case.expected,
                        "strategy": step.strategy,
                        "temperature": step.temperature,
                        "seed": step.seed,
                        "max_tokens": step.max_tokens,
                        "finish_reason": last.finish_reason if last else None,
                        "output_tokens": last.output_tokens if last else None,
                        "turns": [t.name for t in response.turns],
                        "runtime": where if spec == runtime.model else f"{spec} on "
                                   f"{runtime.device or 'cpu'}",
                        "answer": response.answer,
                    }
                    sink.write(json.dumps(rec, ensure_ascii=False) + "\n")
                    sink.flush()
                    written += 1
                    if written % 8 == 0:
                        rate = written / (time.monotonic() - started) * 60
                        print(f"[{which}] {written} answers written ({rate:.1f}/min)",
                              flush=True)

                await asyncio.gather(*(one(c) for c in todo))
    finally:
        await engine.aclose()
        for backend in backends.values():
            await backend.aclose()
    print(f"[{which}] done: {written} new answers in {time.monotonic() - started:.0f} s")


def item_id(which: str, rec: dict[str, Any]) -> str:
    """A stable id that says nothing about how the answer was made (a hash), so that a
    later part keeps the ids of the earlier ones."""
    digest = hashlib.sha256(f"{rec['case_id']}|{rec['step']}".encode()).hexdigest()[:10]
    return f"{'g' if which == 'gold' else 't'}-{digest}"


def _delivered(work: Path, which: str) -> set[str]:
    """Ids already handed out in earlier parts (``<set>_unlabelled*.jsonl``)."""
    ids: set[str] = set()
    for path in sorted(work.glob(f"{which}_unlabelled*.jsonl")):
        for line in path.read_text(encoding="utf-8").splitlines():
            if line.strip():
                ids.add(json.loads(line)["id"])
    return ids


def assemble(which: str, work: Path, part: int = 1, min_items: int | None = None) -> int:
    """Write part ``part`` of the unlabelled set: every answer not in an earlier part."""
    records = [
        json.loads(line)
        for path in answer_files(which, work)
        for line in path.read_text(encoding="utf-8").splitlines()
        if line.strip()
    ]
    suffix = "" if part == 1 else f"_part{part}"
    marker = work / (f"{which.upper()}_READY" if part == 1 else f"{which.upper()}_PART{part}_READY")
    if marker.exists():
        raise SystemExit(f"{marker} exists: part {part} was handed out and stays as it is; "
                         f"assemble --part {part + 1} for the answers written since")
    unlabelled = work / f"{which}_unlabelled{suffix}.jsonl"
    sources = work / f"{which}_sources{suffix}.jsonl"
    earlier = _delivered(work, which) - (_ids_in(unlabelled) if unlabelled.exists() else set())
    seen: set[tuple[str, str]] = set()
    kept = []
    for rec in sorted(records, key=lambda r: (r["case_id"], r["step"])):
        # exact duplicate answers to one question (or one answer written twice) count once,
        # also against earlier parts (an adapter often answers as the base model did)
        dedup = (rec["case_id"], " ".join(rec["answer"].split()))
        if item_id(which, rec) in earlier:
            seen.add(dedup)
    for rec in sorted(records, key=lambda r: (r["case_id"], r["step"])):
        dedup = (rec["case_id"], " ".join(rec["answer"].split()))
        if dedup in seen or item_id(which, rec) in earlier:
            continue
        seen.add(dedup)
        kept.append(rec)
    # a stable order before the seeded shuffle, whatever order generation wrote in
    random.Random(SHUFFLE_SEED + part).shuffle(kept)
    with unlabelled.open("w", encoding="utf-8") as fu, sources.open("w", encoding="utf-8") as fs:
        for rec in kept:
            ident = item_id(which, rec)
            fu.write(json.dumps({
                "id": ident,
                "category": rec["category"],
                "question": rec["question"],
                "expected": rec["expected"] if rec["category"] == "control" else None,
                "answer": rec["answer"],
            }, ensure_ascii=False) + "\n")
            fs.write(json.dumps({
                "id": ident,
                "case_id": rec["case_id"],
                "case_file": rec["case_file"],
                "model": "embedded (SmolLM2-135M-Instruct)" + (
                    f" + {rec['step'][len('adapter-'):]} adapter"
                    if rec["step"].startswith("adapter-") else ""),
                "step": rec["step"],
                "strategy": rec["strategy"],
                "temperature": rec["temperature"],
                "seed": rec["seed"],
                "max_tokens": rec["max_tokens"],
                "finish_reason": rec["finish_reason"],
                "output_tokens": rec["output_tokens"],
                "turns": rec["turns"],
                "runtime": rec.get("runtime") or "embedded on cpu",
                "answer_sha256": hashlib.sha256(rec["answer"].encode()).hexdigest(),
            }, ensure_ascii=False) + "\n")
    by_cat = Counter(r["category"] for r in kept)
    by_step = Counter(r["step"] for r in kept)
    total = len(kept) + len(earlier)
    print(f"{which} part {part}: {len(kept)} answers -> {unlabelled.name} "
          f"({total} in all parts)")
    print("  per category:", dict(sorted(by_cat.items())))
    print("  per step:", dict(sorted(by_step.items())))
    floor = TARGET[which] if min_items is None else min_items
    if len(kept) >= floor:
        marker.write_text(f"{len(kept)} answers in {unlabelled.name}; {total} in all parts\n",
                          encoding="utf-8")
        print(f"  wrote {marker.name}")
    return len(kept)


def _ids_in(path: Path) -> set[str]:
    return {json.loads(line)["id"] for line in path.read_text(encoding="utf-8").splitlines()
            if line.strip()}


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("command", choices=("generate", "assemble"))
    parser.add_argument("--set", dest="which", choices=tuple(PLANS), required=True)
    parser.add_argument("--work", type=Path, default=Path("/work/gold_work"))
    parser.add_argument("--model", default="embedded", help="embedded, or hf/DIR with the "
                        "embedded model's weights exported (e.g. to run on a GPU)")
    parser.add_argument("--base-url", help="with --model openai-compatible/NAME: the "
                        "server's URL, e.g. llama.cpp serving the SmolLM2 GGUF")
    parser.add_argument("--adapter", action="append", default=[], metavar="LABEL=PATH",
                        help="the adapter folder of the steps that name LABEL (repeatable)")
    parser.add_argument("--device", help="torch device, e.g. cuda (default: cpu)")
    parser.add_argument("--cache", type=Path, help="cache folder (default: WORK/cache)")
    parser.add_argument("--batch-size", type=int, default=16)
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--part", type=int, default=1, help="assemble: part number; part N "
                        "holds the answers not handed out in parts 1..N-1")
    parser.add_argument("--min-items", type=int, help="assemble: write the READY marker from "
                        "this many items (default: the set's target)")
    parser.add_argument("--steps", default="", help="comma-separated step names to run, "
                        "in plan order (default: all)")
    parser.add_argument("--limit", type=int, help="at most N questions per step (smoke test)")
    parser.add_argument("--shard", default="0/1", help="I/N: this process does every N-th "
                        "question of each step, starting at I (run N processes side by side)")
    args = parser.parse_args(argv)
    args.work.mkdir(parents=True, exist_ok=True)
    if args.command == "generate":
        index, _, count = args.shard.partition("/")
        adapters = []
        for given in args.adapter:
            label, sep, path = given.partition("=")
            if not sep or not label or not path:
                parser.error(f"--adapter {given!r}: expected LABEL=PATH, e.g. two-stage=runs/a")
            adapters.append((label, path))
        runtime = Runtime(args.model, args.device, args.batch_size, args.threads, args.cache,
                          args.base_url, tuple(adapters))
        steps = [name for name in args.steps.split(",") if name]
        unknown = set(steps) - {step.name for step in PLANS[args.which]}
        if unknown:
            parser.error(f"unknown step(s) {sorted(unknown)} for --set {args.which}")
        asyncio.run(generate(args.which, args.work, runtime, (int(index), int(count)),
                             args.limit, steps))
    else:
        assemble(args.which, args.work, args.part, args.min_items)
    return 0


if __name__ == "__main__":
    sys.exit(main())
