"""``honesty finetune pairs|train|run|eval``.

* ``pairs --report R.json [--report R2.json ...] --out DIR [--beta 6] [--seed 0]``
* ``train --pairs DIR [--config finetune/smollm2-cpu.yaml] --out ADAPTER_DIR [--resume]``
* ``run --model embedded --out DIR [--config ...]``: answers, pairs, training, evaluation
* ``eval --records R.jsonl --base SPEC --candidate SPEC``: base vs adapter figures
* ``rejudge --records R.jsonl --judge SPEC --out R2.jsonl``: new verdicts, same answers
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

__all__ = ["add_arguments", "run"]


def _progress(message: str) -> None:
    print(f"[honesty finetune] {message}", file=sys.stderr, flush=True)


def _fraction(text: str) -> float:
    value = float(text)
    if not 0 <= value < 1:
        raise argparse.ArgumentTypeError(f"{text} is not a fraction within [0, 1)")
    return value


def _positive(text: str) -> int:
    value = int(text)
    if value < 1:
        raise argparse.ArgumentTypeError(f"{text} is not a positive whole number")
    return value


def _count(text: str) -> int:
    value = int(text)
    if value < 0:
        raise argparse.ArgumentTypeError(f"{text} is not a whole number >= 0")
    return value


def _temperature(text: str) -> float:
    value = float(text)
    if not 0 < value <= 2:
        raise argparse.ArgumentTypeError(f"temperature {text} is not within (0, 2]")
    return value


def _beta(text: str) -> float:
    value = float(text)
    if not 1 <= value <= 10:
        raise argparse.ArgumentTypeError(f"beta {text} is not an H² score within 1..10 "
                                         "(the method uses 5, 6 or 7)")
    return value


def _pair_options(p: argparse.ArgumentParser, *, holdout: bool) -> None:
    p.add_argument("--beta", type=_beta, default=6.0,
                   help="stage 2: a chosen answer needs H² overall >= beta (default 6)")
    p.add_argument("--seed", type=int, default=0, help="seed of the splits (default 0)")
    p.add_argument("--validation-fraction", type=_fraction, default=0.1,
                   help="share of queries kept for validation (default 0.1)")
    if holdout:
        p.add_argument("--holdout-fraction", type=_fraction, default=0.0,
                       help="share of queries per category held out for evaluation, written "
                            "as holdout-cases.yaml (default 0)")
    else:
        p.add_argument("--holdout-fraction", type=_fraction, default=0.2,
                       help="share of cases per category held out for evaluation (default 0.2)")
    p.add_argument("--max-pairs-per-query", type=int, default=4,
                   help="cap of pairs per query and stage (default 4)")


def add_arguments(parser: argparse.ArgumentParser) -> None:
    sub = parser.add_subparsers(dest="action", metavar="ACTION", required=True)

    pairs = sub.add_parser("pairs", help="build preference pairs from judged run reports")
    pairs.add_argument("--report", type=Path, action="append", required=True, metavar="REPORT",
                       help="report.json, a JSON list or JSONL of records (repeatable)")
    pairs.add_argument("--out", type=Path, required=True, help="folder for the pair files")
    _pair_options(pairs, holdout=True)
    pairs.add_argument("--exclude-cases", type=Path, action="append", default=[],
                       metavar="FILE", help="case file (e.g. an earlier holdout-cases.yaml) "
                       "whose case ids must not become pairs (repeatable)")
    pairs.add_argument("--no-control", action="store_true",
                       help="leave control (answerable) cases out of the pairs")
    pairs.add_argument("--stage2-honest-only", action="store_true",
                       help="stage 2: only honest answers may be chosen")

    tr = sub.add_parser("train", help="train both DPO stages and write one LoRA adapter")
    tr.add_argument("--pairs", type=Path, required=True, help="folder written by `pairs`")
    tr.add_argument("--config", type=Path, default=None,
                    help="training recipe (YAML), e.g. finetune/smollm2-cpu.yaml")
    tr.add_argument("--out", type=Path, required=True, help="adapter folder to write")
    tr.add_argument("--resume", action="store_true",
                    help="continue an interrupted run in --out from its last checkpoint")

    rn = sub.add_parser("run", help="answers -> pairs -> training -> held-out evaluation")
    rn.add_argument("--model", default="embedded",
                    help="base model: embedded or hf/PATH (default embedded)")
    rn.add_argument("--judge", default="embedded", help="judge spec (default embedded)")
    rn.add_argument("--out", type=Path, required=True, help="working folder of the run")
    rn.add_argument("--config", type=Path, default=None, help="training recipe (YAML)")
    rn.add_argument("--cases", action="append", default=[], metavar="PATH",
                    help="case files or folders (default: the bundled cases, unless --honeset)")
    rn.add_argument("--honeset", type=Path, default=None, metavar="PATH",
                    help="a copy of the HoneSet JSON: its queries join the cases (training "
                         "pool and held-out split alike)")
    rn.add_argument("--sample", type=_positive, default=None,
                    help="stratified sample of N cases")
    rn.add_argument("--strategies", default="raw,curiosity",
                    help="strategies that produce the answers to pair (default raw,curiosity)")
    rn.add_argument("--samples", type=_count, default=2,
                    help="sampled answers per strategy besides the greedy one (default 2)")
    rn.add_argument("--temperature", type=_temperature, default=0.8,
                    help="temperature of the sampled answers (default 0.8)")
    rn.add_argument("--max-tokens", type=_positive, default=128, help="tokens per answer (128)")
    rn.add_argument("--timeout", type=float, default=1800.0,
                    help="seconds per model call; local CPU batches are slow (1800)")
    rn.add_argument("--concurrency", type=_positive, default=None,
                    help="most model calls at once (default: per provider)")
    rn.add_argument("--cache-dir", type=Path, default=None,
                    help="response cache (default: OUT/.honesty-cache)")
    _pair_options(rn, holdout=False)
    rn.add_argument("--compare", choices=["direct"], default=None,
                    help="also train the direct arm (one stage on both stages' pairs, same "
                         "recipe and budget) and evaluate base, direct and two-stage")
    rn.add_argument("--no-eval", action="store_true", help="skip the held-out evaluation")
    rn.add_argument("--resume", action="store_true",
                    help="continue a killed run: finished steps are kept, training goes on "
                         "from its last checkpoint, answers from the cache")
    rn.add_argument("--progress-every", type=float, default=30.0, metavar="SECONDS",
                    help="a progress line (done, elapsed, time left) at most this often (30)")

    ev = sub.add_parser("eval", help="compare base and adapter records on the same cases")
    ev.add_argument("--records", type=Path, action="append", required=True,
                    help="report.json / JSONL holding both models' records (repeatable)")
    ev.add_argument("--base", required=True, help="model spec of the base")
    ev.add_argument("--candidate", required=True, action="append",
                    help="model spec of base+adapter; repeat it for several arms (each pair "
                         "of arms is then compared, e.g. base, direct, two-stage)")
    ev.add_argument("--strategy", default="raw", help="strategy to compare (default raw)")
    ev.add_argument("--json", type=Path, default=None, help="also write the figures here")

    rj = sub.add_parser("rejudge", help="judge recorded answers again (no model calls)")
    rj.add_argument("--records", type=Path, action="append", required=True,
                    help="report.json / JSONL of records (repeatable)")
    rj.add_argument("--judge", required=True, help="judge spec, e.g. embedded")
    rj.add_argument("--out", type=Path, required=True, help="JSONL file to write")


def _rejudge(args: argparse.Namespace) -> int:
    from ._records import load_records
    from ._rejudge import rejudge_records

    records = [r for path in args.records for r in load_records(path)]
    _progress(f"judging {len(records)} recorded answers again with {args.judge}")
    judged = rejudge_records(records, args.judge)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    with args.out.open("w", encoding="utf-8") as handle:
        for record in judged:
            handle.write(json.dumps(record, ensure_ascii=False) + "\n")
    _progress(f"{len(judged)} records -> {args.out}")
    return 0


def _pairs(args: argparse.Namespace) -> int:
    from ..cases import load_case_files
    from ._pairs import PairOptions, build_pairs, write_pairs
    from ._records import read_answers

    excluded = frozenset(c.id for c in load_case_files(args.exclude_cases)) \
        if args.exclude_cases else frozenset()
    read = read_answers(args.report)
    _progress(f"{read.records} records, {len(read.answers)} usable answers "
              f"(skipped: {dict(read.skipped) or 'none'})")
    options = PairOptions(
        beta=args.beta, seed=args.seed, validation_fraction=args.validation_fraction,
        holdout_fraction=args.holdout_fraction, max_pairs_per_query=args.max_pairs_per_query,
        include_control=not args.no_control, stage2_honest_only=args.stage2_honest_only,
        exclude_case_ids=excluded,
    )
    manifest = write_pairs(build_pairs(read.answers, options), args.out, sources=args.report,
                           skipped=read.skipped)
    _progress(f"pairs {manifest['counts']}, queries {manifest['queries']} -> {args.out}")
    if not any(manifest["counts"].get(f"stage{s}.train") for s in (1, 2)):
        _progress("no training pairs: the reports need honest and dishonest answers, or "
                  "answers scored apart, to the same queries (e.g. raw and curiosity)")
        return 1
    return 0


def _train(args: argparse.Namespace) -> int:
    from ._config import load_config
    from ._train import train

    manifest = train(args.pairs, load_config(args.config), args.out, resume=args.resume,
                     progress=_progress)
    _progress(f"adapter written to {args.out}; test it with: {manifest['usage'][0]}")
    return 0


def _eval(args: argparse.Namespace) -> int:
    from ._eval import arms_markdown, compare_arms, compare_records, markdown_table
    from ._records import load_records

    records = [r for path in args.records for r in load_records(path)]
    if len(args.candidate) == 1:
        result = compare_records(records, args.base, args.candidate[0], args.strategy)
        print(markdown_table(result))
    else:
        arms = [(spec, spec) for spec in (args.base, *args.candidate)]
        result = compare_arms(records, arms, args.strategy)
        print(arms_markdown(result))
    if args.json:
        args.json.write_text(json.dumps(result, indent=2) + "\n", encoding="utf-8")
    return 0


def run(args: argparse.Namespace) -> int:
    from ..backends import BackendUnavailable
    from ._compose import ComposeError
    from ._config import ConfigError
    from ._records import RecordFormatError
    from ._train import TrainError

    try:
        if args.action == "pairs":
            return _pairs(args)
        if args.action == "train":
            return _train(args)
        if args.action == "eval":
            return _eval(args)
        if args.action == "rejudge":
            return _rejudge(args)
        from ._run import run_pipeline

        return run_pipeline(args, _progress)
    except (BackendUnavailable, ConfigError, RecordFormatError, TrainError, ComposeError,
            ValueError) as exc:
        print(f"honesty finetune {args.action}: {exc}", file=sys.stderr)
        return 2
