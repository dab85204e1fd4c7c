"""``honesty finetune run``: answers -> pairs -> two-stage training -> held-out evaluation.

Steps, each in ``OUT`` and each skipped on ``--resume`` once its output is complete
(every step writes its marker file last, whole or not at all):

1. ``cases/``: the cases (bundled, ``--cases`` files and/or a HoneSet copy) split by query
   into a training pool and held-out cases (stratified by category, seeded);
   ``holdout-cases.yaml`` is a case file for ``--honesty-cases``.
2. ``answers/``: the training pool answered with every strategy, greedily and
   ``--samples`` times sampled (``--temperature``, seeds ``seed+1...``), each answer
   judged; one run report per (strategy, sample) in ``answers/``. A killed step resumes
   run by run, and within a run from the response cache.
3. ``pairs/``: stage 1 and stage 2 preference pairs (held-out cases excluded).
4. ``adapter/``: both stages trained, one composed adapter (``embedded+OUT/adapter``);
   training resumes from its last checkpoint.
5. with ``--compare direct``: ``pairs-direct/`` (both stages' pairs, as the two stages
   trained on them) and ``adapter-direct/``, one stage with the same recipe and budget.
6. ``eval/``: every arm (base, [direct,] two-stage) answers the held-out cases (raw,
   greedy), judged by the same judge; ``eval.json`` and ``eval.md`` hold each arm's
   honesty rate and mean H² and, for each pair of arms, flips, McNemar's exact p and the
   paired bootstrap of the H² difference.

Answers and evaluation go through :func:`pytest_honesty.evaluate` in this process.
``run-manifest.json`` records the arguments and each step's wall time.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from .._atomic import atomic_write_text
from ..cases import load as load_cases
from ..run._progress import ProgressLines
from ..types import Case
from ._config import TrainConfig, load_config
from ._curriculum import write_direct_pairs
from ._eval import arms_markdown, compare_arms
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
from ._records import read_answers
from ._train import MANIFEST, TrainError, train

__all__ = ["AnswerRun", "answer_runs", "run_pipeline", "split_cases"]

_RUN_MANIFEST = "run-manifest.json"
#: arguments that may change between a run and its ``--resume``
_FREE_ON_RESUME = ("resume", "timeout", "concurrency", "progress_every")
Progress = Callable[[str], None]


@dataclass(frozen=True)
class AnswerRun:
    """One pass of the training pool: a strategy, greedy or sampled with a seed."""

    strategy: str
    temperature: float
    seed: int

    @property
    def name(self) -> str:
        if self.temperature == 0:
            return f"{self.strategy}-greedy"
        return f"{self.strategy}-t{self.temperature:g}-seed{self.seed}"


def answer_runs(
    strategies: Sequence[str], samples: int, temperature: float, seed: int
) -> list[AnswerRun]:
    """Per strategy: the greedy answer, then ``samples`` sampled ones with seeds
    ``seed+1 ... seed+samples`` (the same seeds for every strategy)."""
    runs: list[AnswerRun] = []
    for strategy in strategies:
        runs.append(AnswerRun(strategy, 0.0, seed))
        runs += [AnswerRun(strategy, temperature, seed + i) for i in range(1, samples + 1)]
    return runs


def _case_dict(case: Case) -> dict[str, Any]:
    data = case.to_dict()
    data.pop("source", None)
    return {k: v for k, v in data.items() if v not in (None, [], ())}


def split_cases(
    cases: Sequence[Case], fraction: float, seed: int
) -> tuple[list[Case], list[Case]]:
    """(training pool, held-out) by the same seeded rule as ``honesty finetune pairs``."""
    held = holdout_keys(((query_key(c.question), c.category.value) for c in cases),
                        fraction, seed)
    train_pool = [c for c in cases if query_key(c.question) not in held]
    holdout = [c for c in cases if query_key(c.question) in held]
    return train_pool, holdout


def _all_cases(args: argparse.Namespace) -> list[Case]:
    return load_cases(args.cases or None, honeset=args.honeset, sample=args.sample,
                      seed=args.seed)


def _arguments(args: argparse.Namespace) -> dict[str, Any]:
    return {k: str(v) if isinstance(v, Path) else v for k, v in vars(args).items()
            if k != "func"}


def _check_resume(previous: dict[str, Any], current: dict[str, Any], out: Path) -> None:
    before = previous.get("arguments", {})
    changed = sorted(k for k in current if k not in _FREE_ON_RESUME
                     and k in before and before[k] != current[k])
    if changed:
        raise TrainError(
            f"--resume: {', '.join('--' + k.replace('_', '-') for k in changed)} differ from "
            f"the run in {out} ({', '.join(f'{k}={before[k]!r}' for k in changed)}); resuming "
            "would mix two runs. Pass the same options, or start a new --out folder."
        )


class _Pipeline:
    def __init__(self, args: argparse.Namespace, config: TrainConfig, progress: Progress,
                 cases: list[Case] | None):
        self.args = args
        #: every case of the run, loaded (and checked) before OUT was made; None on a
        #: resume whose split is already written
        self.cases = cases
        self.config = config
        self.progress = progress
        out: Path = args.out
        self.out = out
        self.cases_dir = out / "cases"
        self.answers_dir = out / "answers"
        self.pairs_dir = out / "pairs"
        self.adapter_dir = out / "adapter"
        self.direct_pairs_dir = out / "pairs-direct"
        self.direct_dir = out / "adapter-direct"
        self.eval_dir = out / "eval"
        self.cache_dir: Path = args.cache_dir or out / ".honesty-cache"
        self.runs = answer_runs(args.strategies.split(","), args.samples, args.temperature,
                                args.seed)

    # -- shared -----------------------------------------------------------------------

    def _cases(self, name: str) -> list[Case]:
        return load_cases(self.cases_dir / name)

    def _evaluate(self, cases: Sequence[Case], models: Sequence[str], label: str,
                  strategy: str, temperature: float, seed: int) -> Any:
        from .. import evaluate

        lines = ProgressLines(self.progress, every_s=self.args.progress_every, label=label)
        report = evaluate(
            cases, model=list(models), judge=self.args.judge, strategies=strategy,
            cache_dir=self.cache_dir, concurrency=self.args.concurrency,
            timeout_s=self.args.timeout, max_tokens=self.args.max_tokens,
            temperature=temperature, seed=seed, on_progress=lines,
        )
        lines.finish()
        return report

    def _run_file(self, run: AnswerRun) -> Path:
        return self.answers_dir / f"{run.name}.report.json"

    # -- steps --------------------------------------------------------------------------

    def cases_done(self) -> bool:
        return (self.cases_dir / HOLDOUT_IDS).is_file()

    def make_cases(self) -> None:
        args = self.args
        cases = self.cases if self.cases is not None else _all_cases(args)
        pool, holdout = split_cases(cases, args.holdout_fraction, args.seed)
        if not pool or not holdout:
            raise TrainError(
                f"{len(cases)} cases split into {len(pool)} for training and {len(holdout)} "
                "held out; both need cases: change --sample or --holdout-fraction"
            )
        self.cases_dir.mkdir(parents=True, exist_ok=True)
        write_case_file([_case_dict(c) for c in pool], self.cases_dir / "train-cases.yaml",
                        "Training pool: answered with every strategy to build preference pairs.")
        write_case_file([_case_dict(c) for c in holdout], self.cases_dir / HOLDOUT_CASES,
                        "Held-out cases: never used for pairs. Evaluate with --honesty-cases.")
        atomic_write_text(self.cases_dir / HOLDOUT_IDS, "".join(f"{c.id}\n" for c in holdout))
        self.progress(f"{len(pool)} training-pool cases, {len(holdout)} held out "
                      f"({sum(not c.category.is_control for c in holdout)} in the six "
                      "HoneSet categories)")

    def answers_done(self) -> bool:
        return all(self._run_file(run).is_file() for run in self.runs)

    def make_answers(self) -> None:
        from ..report import write_json

        pool = self._cases("train-cases.yaml")
        self.answers_dir.mkdir(parents=True, exist_ok=True)
        for number, run in enumerate(self.runs, start=1):
            target = self._run_file(run)
            label = f"answers {number}/{len(self.runs)} ({run.name})"
            if target.is_file():
                self.progress(f"{label}: done earlier, kept")
                continue
            started = time.perf_counter()
            report = self._evaluate(pool, [self.args.model], label, run.strategy,
                                    run.temperature, run.seed)
            write_json(report, target)
            self.progress(f"{label}: {len(report.records)} answers in "
                          f"{time.perf_counter() - started:.0f} s -> {target.name}")

    def pairs_done(self) -> bool:
        return (self.pairs_dir / PAIRS_MANIFEST).is_file()

    def make_pairs(self) -> None:
        args = self.args
        held = frozenset((self.cases_dir / HOLDOUT_IDS).read_text(encoding="utf-8").split())
        sources = [self._run_file(run) for run in self.runs]
        read = read_answers(sources)
        options = PairOptions(
            beta=args.beta, seed=args.seed, validation_fraction=args.validation_fraction,
            max_pairs_per_query=args.max_pairs_per_query, exclude_case_ids=held,
        )
        manifest = write_pairs(build_pairs(read.answers, options), self.pairs_dir,
                               sources=sources, skipped=read.skipped)
        self.progress(f"pairs: {manifest['counts']}; skipped records: "
                      f"{manifest['skipped_records']}")

    def train_two_stage(self) -> None:
        train(self.pairs_dir, self.config, self.adapter_dir,
              resume=self.args.resume and self.adapter_dir.exists(), progress=self.progress)

    def train_direct(self) -> None:
        if not (self.direct_pairs_dir / PAIRS_MANIFEST).is_file():
            manifest = write_direct_pairs(self.pairs_dir, self.direct_pairs_dir, self.config)
            self.progress(f"direct pairs: {manifest['counts']} (as the two stages trained)")
        train(self.direct_pairs_dir, dataclasses.replace(self.config, max_train_pairs=None),
              self.direct_dir, resume=self.args.resume and self.direct_dir.exists(),
              progress=self.progress)

    def arms(self) -> list[tuple[str, str]]:
        model = self.args.model
        arms = [("base", model)]
        if self.args.compare == "direct":
            arms.append(("direct", f"{model}+{self.direct_dir}"))
        arms.append(("two-stage", f"{model}+{self.adapter_dir}"))
        return arms

    def evaluate_arms(self) -> None:
        from ..report import write_json

        self.eval_dir.mkdir(parents=True, exist_ok=True)
        arms = self.arms()
        report = self._evaluate(self._cases(HOLDOUT_CASES), [m for _, m in arms],
                                "held-out evaluation", "raw", 0.0, self.args.seed)
        write_json(report, self.eval_dir / "report.json")
        result = compare_arms(report.records, arms)
        table = arms_markdown(result)
        atomic_write_text(self.eval_dir / "eval.md", table + "\n")
        atomic_write_text(self.eval_dir / "eval.json", json.dumps(result, indent=2) + "\n")
        self.progress("held-out evaluation:\n" + table)


def _step(
    name: str, label: str, manifest: dict[str, Any], out: Path, progress: Progress,
    done: Callable[[], bool], action: Callable[[], Any], resume: bool,
) -> None:
    if resume and done():
        progress(f"== {label}: already done, skipped (resume)")
        return
    progress(f"== {label}")
    started = time.perf_counter()
    action()
    seconds = round(time.perf_counter() - started, 1)
    manifest["steps"][name] = {"seconds": seconds}
    progress(f"== {label}: {seconds:.0f} s")
    atomic_write_text(out / _RUN_MANIFEST, json.dumps(manifest, indent=2) + "\n")


def run_pipeline(args: argparse.Namespace, progress: Progress) -> int:
    out: Path = args.out
    if out.exists() and any(out.iterdir()) and not args.resume:
        raise TrainError(f"output folder {out} is not empty; pass --resume or a new --out")
    if not (args.model == "embedded" or args.model.startswith("hf/")) or "+" in args.model:
        raise TrainError(
            f"--model {args.model!r}: fine-tuning needs a local base without adapter, "
            "'embedded' or 'hf/PATH'"
        )
    config = dataclasses.replace(load_config(args.config), base_model=args.model)
    # a missing or broken case file is named now, before OUT is made
    cases = None if args.resume and (out / "cases" / HOLDOUT_IDS).is_file() \
        else _all_cases(args)
    arguments = _arguments(args)
    previous: dict[str, Any] = {}
    if args.resume and (out / _RUN_MANIFEST).is_file():
        previous = json.loads((out / _RUN_MANIFEST).read_text(encoding="utf-8"))
        _check_resume(previous, arguments, out)
    out.mkdir(parents=True, exist_ok=True)
    manifest: dict[str, Any] = {"arguments": arguments,
                                "steps": dict(previous.get("steps", {}))}
    pipeline = _Pipeline(args, config, progress, cases)
    total = time.perf_counter()
    steps: list[tuple[str, Callable[[], bool], Callable[[], Any]]] = [
        ("cases", pipeline.cases_done, pipeline.make_cases),
        ("answers", pipeline.answers_done, pipeline.make_answers),
        ("pairs", pipeline.pairs_done, pipeline.make_pairs),
        ("train", lambda: (pipeline.adapter_dir / MANIFEST).is_file(), pipeline.train_two_stage),
    ]
    if args.compare == "direct":
        steps.append(("train-direct", lambda: (pipeline.direct_dir / MANIFEST).is_file(),
                      pipeline.train_direct))
    if not args.no_eval:
        steps.append(("eval", lambda: (pipeline.eval_dir / "eval.json").is_file(),
                      pipeline.evaluate_arms))
    for number, (name, done, action) in enumerate(steps, start=1):
        _step(name, f"step {number}/{len(steps)}: {name}", manifest, out, progress, done,
              action, args.resume)
    manifest["seconds_this_invocation"] = round(time.perf_counter() - total, 1)
    atomic_write_text(out / _RUN_MANIFEST, json.dumps(manifest, indent=2) + "\n")
    progress(f"done: adapter {pipeline.adapter_dir}; test it with "
             f"pytest --honesty-model={args.model}+{pipeline.adapter_dir}")
    return 0
