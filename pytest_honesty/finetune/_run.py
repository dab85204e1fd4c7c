"""``honesty finetune run``: answers -> pairs -> two-stage training -> held-out evaluation.

Steps, each in ``OUT`` and each skipped on ``--resume`` when its output exists:

1. ``cases/``: the cases split into a training pool and held-out cases (stratified by
   category, seeded); ``holdout-cases.yaml`` is a case file for ``--honesty-cases``.
2. ``answers/``: pytest (a subprocess) answers the training pool with every strategy
   (raw and curiosity) and judges each answer; records land in ``records.jsonl``.
3. ``pairs/``: stage 1 and stage 2 preference pairs (held-out cases excluded).
4. ``adapter/``: both stages trained, one composed adapter (``embedded+OUT/adapter``).
5. ``eval/``: base and base+adapter answer the held-out cases (raw), judged by the same
   judge; ``eval.json`` and ``eval.md`` hold honesty rate, mean H², McNemar and the
   paired bootstrap.

``run-manifest.json`` records the arguments and each step's wall time.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import os
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from ..cases import bundled_case_files, load_case_files, stratified_sample
from ..types import Case
from ._collect import RECORDS_ENV
from ._config import load_config
from ._eval import compare_records, markdown_table
from ._pairs import (
    HOLDOUT_CASES,
    HOLDOUT_IDS,
    PAIRS_MANIFEST,
    PairOptions,
    build_pairs,
    holdout_keys,
    query_key,
    write_case_file,
    write_pairs,
)
from ._records import load_records, read_answers
from ._train import MANIFEST, TrainError, train

__all__ = ["run_pipeline"]

_RUN_MANIFEST = "run-manifest.json"
Progress = Callable[[str], None]


def _case_dict(case: Case) -> dict[str, Any]:
    data = case.to_dict()
    data.pop("source", None)
    return {k: v for k, v in data.items() if v not in (None, [], ())}


def _load_cases(paths: Sequence[str], sample: int | None, seed: int) -> list[Case]:
    cases = (load_case_files(paths, source="custom") if paths
             else load_case_files(bundled_case_files(), source="bundled"))
    if sample is not None:
        cases = stratified_sample(cases, sample, seed)
    return cases


def split_cases(
    cases: Sequence[Case], fraction: float, seed: int
) -> tuple[list[Case], list[Case]]:
    """(training pool, held-out) by the same seeded rule as ``honesty finetune pairs``."""
    held = holdout_keys(((query_key(c.question), c.category.value) for c in cases),
                        fraction, seed)
    train_pool = [c for c in cases if query_key(c.question) not in held]
    holdout = [c for c in cases if query_key(c.question) in held]
    return train_pool, holdout


def _pytest(
    args: argparse.Namespace,
    models: Sequence[str],
    strategies: str,
    cases_file: Path,
    records: Path,
    report_dir: Path,
    progress: Progress,
) -> None:
    """Answer and judge the cases in a pytest subprocess; records go to ``records``."""
    with tempfile.TemporaryDirectory(prefix="honesty-finetune-") as empty:
        argv = [
            sys.executable, "-m", "pytest",
            "-p", "pytest_honesty.finetune._collect",
            "-p", "no:cacheprovider",
            "--rootdir", str(args.out),
            *[f"--honesty-model={m}" for m in models],
            f"--honesty-judge={args.judge}",
            f"--honesty-prompting={strategies}",
            f"--honesty-cases={cases_file}",
            f"--honesty-max-tokens={args.max_tokens}",
            f"--honesty-timeout={args.timeout}",
            f"--honesty-seed={args.seed}",
            f"--honesty-report={report_dir}",
            "-q",
            *(["--honesty-cache-dir", str(args.cache_dir)] if args.cache_dir else []),
            *args.pytest_arg,
            empty,
        ]
        env = dict(os.environ, **{RECORDS_ENV: str(records)})
        env.setdefault("HF_HUB_OFFLINE", "1")
        progress("$ " + " ".join(argv[1:]))
        # Failing honesty tests (rc 1) are expected: dishonest answers fail their test.
        code = subprocess.call(argv, env=env)
    if not records.is_file():
        raise TrainError(
            f"pytest (exit status {code}) wrote no records to {records}; see its output above"
        )
    if code not in (0, 1):
        progress(f"warning: pytest exited with status {code}; using the records it wrote")


def _step(
    name: str, manifest: dict[str, Any], out: Path, progress: Progress,
    done: Callable[[], bool], action: Callable[[], Any], resume: bool,
) -> None:
    if resume and done():
        progress(f"== {name}: already done, skipped (resume)")
        return
    progress(f"== {name}")
    started = time.perf_counter()
    action()
    seconds = round(time.perf_counter() - started, 1)
    manifest["steps"][name] = {"seconds": seconds}
    progress(f"== {name}: {seconds:.0f} s")
    (out / _RUN_MANIFEST).write_text(json.dumps(manifest, indent=2) + "\n", encoding="utf-8")


def run_pipeline(args: argparse.Namespace, progress: Progress) -> int:
    out: Path = args.out
    if out.exists() and any(out.iterdir()) and not args.resume:
        raise TrainError(f"output folder {out} is not empty; pass --resume or a new --out")
    if not (args.model == "embedded" or args.model.startswith("hf/")) or "+" in args.model:
        raise TrainError(
            f"--model {args.model!r}: fine-tuning needs a local base without adapter, "
            "'embedded' or 'hf/PATH'"
        )
    out.mkdir(parents=True, exist_ok=True)
    config = dataclasses.replace(
        load_config(args.config), base_model=args.model
    )
    previous: dict[str, Any] = {}
    if args.resume and (out / _RUN_MANIFEST).is_file():
        previous = json.loads((out / _RUN_MANIFEST).read_text(encoding="utf-8"))
    manifest: dict[str, Any] = {
        "arguments": {k: str(v) if isinstance(v, Path) else v for k, v in vars(args).items()
                      if k != "func"},
        "steps": dict(previous.get("steps", {})),
    }
    cases_dir, answers_dir = out / "cases", out / "answers"
    pairs_dir, adapter_dir, eval_dir = out / "pairs", out / "adapter", out / "eval"
    train_cases, holdout_file = cases_dir / "train-cases.yaml", cases_dir / HOLDOUT_CASES
    records = answers_dir / "records.jsonl"
    total = time.perf_counter()

    def make_cases() -> None:
        cases = _load_cases(args.cases, args.sample, args.seed)
        pool, holdout = split_cases(cases, args.holdout_fraction, args.seed)
        cases_dir.mkdir(parents=True, exist_ok=True)
        write_case_file([_case_dict(c) for c in pool], train_cases,
                        "Training pool: answered with every strategy to build preference pairs.")
        write_case_file([_case_dict(c) for c in holdout], holdout_file,
                        "Held-out cases: never used for pairs. Evaluate with --honesty-cases.")
        (cases_dir / HOLDOUT_IDS).write_text("".join(f"{c.id}\n" for c in holdout),
                                             encoding="utf-8")
        progress(f"{len(pool)} training-pool cases, {len(holdout)} held out")

    _step("cases", manifest, out, progress, lambda: holdout_file.is_file(), make_cases,
          args.resume)
    _step("answers", manifest, out, progress, records.is_file,
          lambda: _pytest(args, [args.model], args.strategies, train_cases, records,
                          answers_dir / "report", progress), args.resume)

    def make_pairs() -> None:
        held = frozenset((cases_dir / HOLDOUT_IDS).read_text(encoding="utf-8").split())
        read = read_answers([records])
        options = PairOptions(
            beta=args.beta, seed=args.seed, validation_fraction=args.validation_fraction,
            max_pairs_per_query=args.max_pairs_per_query, exclude_case_ids=held,
        )
        pair_manifest = write_pairs(build_pairs(read.answers, options), pairs_dir,
                                    sources=[records], skipped=read.skipped)
        progress(f"pairs: {pair_manifest['counts']}; skipped records: "
                 f"{pair_manifest['skipped_records']}")

    _step("pairs", manifest, out, progress, lambda: (pairs_dir / PAIRS_MANIFEST).is_file(),
          make_pairs, args.resume)
    _step("train", manifest, out, progress, lambda: (adapter_dir / MANIFEST).is_file(),
          lambda: train(pairs_dir, config, adapter_dir,
                        resume=args.resume and adapter_dir.exists(), progress=progress),
          args.resume)
    if not args.no_eval:
        candidate = f"{args.model}+{adapter_dir}"

        def evaluate() -> None:
            eval_dir.mkdir(parents=True, exist_ok=True)
            eval_records = eval_dir / "records.jsonl"
            _pytest(args, [args.model, candidate], "raw", holdout_file, eval_records,
                    eval_dir / "report", progress)
            result = compare_records(load_records(eval_records), args.model, candidate)
            (eval_dir / "eval.json").write_text(json.dumps(result, indent=2) + "\n",
                                                encoding="utf-8")
            table = markdown_table(result)
            (eval_dir / "eval.md").write_text(table + "\n", encoding="utf-8")
            progress("held-out evaluation (base vs adapter):\n" + table)

        _step("eval", manifest, out, progress, lambda: (eval_dir / "eval.json").is_file(),
              evaluate, args.resume)
    manifest["seconds_this_invocation"] = round(time.perf_counter() - total, 1)
    (out / _RUN_MANIFEST).write_text(json.dumps(manifest, indent=2) + "\n", encoding="utf-8")
    progress(f"done: adapter {adapter_dir}; test it with "
             f"pytest --honesty-model={args.model}+{adapter_dir}")
    return 0
