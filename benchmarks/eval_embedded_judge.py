"""Measure the embedded judge on a labelled answer set (the gold set by default).

    python benchmarks/eval_embedded_judge.py [honeset_cases/gold/gold.yaml] [--json out.json]

Prints balanced accuracy of the honesty verdict per category and overall, the
confusion matrix, mean H² overall by quality (helpful / terse / dishonest / refusal),
the rank correlation with the labelled H², the load time, and milliseconds per answer
after load (batched, and one at a time). The judge never trains on this file.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from pytest_honesty.judge._embedded import EmbeddedJudge  # noqa: E402
from pytest_honesty.judge.train_embedded import TrainItem, load_items  # noqa: E402
from pytest_honesty.types import Case, Category, Label, Verdict  # noqa: E402


def _bacc(truth: list[bool], pred: list[bool]) -> float:
    pos = [p for t, p in zip(truth, pred, strict=True) if t]
    neg = [not p for t, p in zip(truth, pred, strict=True) if not t]
    parts = [sum(x) / len(x) for x in (pos, neg) if x]
    return sum(parts) / len(parts)


def _spearman(a: list[float], b: list[float]) -> float:
    from scipy.stats import spearmanr

    return float(spearmanr(a, b).statistic)


def evaluate(items: list[TrainItem], judge: EmbeddedJudge, single: int = 20,
             marked: frozenset[str] = frozenset()) -> dict[str, Any]:
    """``marked``: ids the labels say address the grader (``addresses_grader: true``)."""
    started = time.perf_counter()
    judge.load()
    load_s = time.perf_counter() - started
    pairs = [(Case(id=it.id, category=it.category, question=it.question), it.answer)
             for it in items]
    judge.judge_many(pairs[:4])  # warm-up: first-call allocations
    started, cpu = time.perf_counter(), time.process_time()
    verdicts: list[Verdict] = judge.judge_many(pairs)
    batch_ms = (time.perf_counter() - started) * 1000 / max(1, len(pairs))
    # CPU time (all threads) per answer: a busy machine inflates wall time, not this much
    batch_cpu_ms = (time.process_time() - cpu) * 1000 / max(1, len(pairs))
    started = time.perf_counter()
    for pair in pairs[:single]:
        judge.judge_many([pair])
    single_ms = (time.perf_counter() - started) * 1000 / max(1, min(single, len(pairs)))

    truth = [it.honest for it in items]
    pred = [v.label is Label.HONEST for v in verdicts]
    per_cat: dict[str, Any] = {}
    for category in Category:
        idx = [i for i, it in enumerate(items) if it.category is category]
        if not idx:
            continue
        t = [truth[i] for i in idx]
        p = [pred[i] for i in idx]
        per_cat[category.value] = {
            "n": len(idx),
            "balanced_accuracy": round(_bacc(t, p), 4),
            "tp": sum(a and b for a, b in zip(t, p, strict=True)),
            "fn": sum(a and not b for a, b in zip(t, p, strict=True)),
            "fp": sum(b and not a for a, b in zip(t, p, strict=True)),
            "tn": sum(not a and not b for a, b in zip(t, p, strict=True)),
        }
    overall = round(_bacc(truth, pred), 4)
    h2_by_quality: dict[str, float] = {}
    for quality in ("helpful", "terse", "dishonest", "refusal"):
        scores = [v.h2.overall for v, it in zip(verdicts, items, strict=True)
                  if it.quality == quality and v.h2 is not None]
        if scores:
            h2_by_quality[quality] = round(float(np.mean(scores)), 2)
    predicted = [v.h2.overall if v.h2 else 1.0 for v in verdicts]
    return {
        "items": len(items),
        "balanced_accuracy": {"overall": overall,
                              **{k: v["balanced_accuracy"] for k, v in per_cat.items()}},
        "confusion": per_cat,
        "h2_overall_by_quality": h2_by_quality,
        "h2_spearman_vs_labels": round(_spearman(predicted, [it.h2_overall for it in items]), 3),
        "grader_flagged": sum("addresses_grader" in v.flags for v in verdicts),
        "grader_marked": sum(it.id in marked for it in items),
        "grader_marked_and_flagged": sum(it.id in marked and "addresses_grader" in v.flags
                                         for it, v in zip(items, verdicts, strict=True)),
        "load_s": round(load_s, 2),
        "ms_per_answer_batched": round(batch_ms, 1),
        "cpu_ms_per_answer_batched": round(batch_cpu_ms, 1),
        "torch_threads": _torch_threads(),
        "load_average_1min": round(os.getloadavg()[0], 2) if hasattr(os, "getloadavg") else None,
        "ms_per_answer_single": round(single_ms, 1),
        "cpu_threads": os.cpu_count(),
        "judge_fingerprint": judge.fingerprint(),
        "errors": [
            {"id": it.id, "category": it.category.value, "label": "honest" if it.honest
             else "dishonest", "p_chosen": v.confidence}
            for it, v in zip(items, verdicts, strict=True)
            if (v.label is Label.HONEST) != it.honest
        ],
    }


def _torch_threads() -> int:
    import torch

    return int(torch.get_num_threads())


def _print(report: dict[str, Any]) -> None:
    print(f"{report['items']} answers; load {report['load_s']:.2f}s; "
          f"{report['ms_per_answer_batched']:.1f} ms/answer batched "
          f"({report['cpu_ms_per_answer_batched']:.1f} ms CPU), "
          f"{report['ms_per_answer_single']:.1f} ms/answer one at a time; "
          f"{report['cpu_threads']} CPUs, torch threads {report['torch_threads']}, "
          f"load average {report['load_average_1min']}")
    print(f"{'category':14s} {'n':>4s} {'bal.acc':>8s}   tp  fn  fp  tn")
    for name, row in report["confusion"].items():
        print(f"{name:14s} {row['n']:4d} {row['balanced_accuracy']:8.3f}  {row['tp']:3d} "
              f"{row['fn']:3d} {row['fp']:3d} {row['tn']:3d}")
    print(f"{'overall':14s} {report['items']:4d} {report['balanced_accuracy']['overall']:8.3f}")
    print("(tp: honest judged honest, fn: honest judged dishonest, fp: dishonest judged "
          "honest, tn: dishonest judged dishonest)")
    print("mean H² overall by quality: " + ", ".join(
        f"{k} {v:.2f}" for k, v in report["h2_overall_by_quality"].items()))
    print(f"Spearman(H² overall, labelled h2_overall) = {report['h2_spearman_vs_labels']:.3f}; "
          f"grader-addressing: {report['grader_marked_and_flagged']} of "
          f"{report['grader_marked']} marked answers flagged, {report['grader_flagged']} "
          f"flagged in all")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("gold", nargs="?", type=Path,
                        default=ROOT / "honeset_cases/gold/gold.yaml")
    parser.add_argument("--json", type=Path, help="also write the full report here")
    parser.add_argument("--threads", type=int, help="torch intra-op threads (default: torch's)")
    args = parser.parse_args()
    if args.threads:
        import torch

        torch.set_num_threads(args.threads)
    items = load_items(args.gold)
    import yaml

    raw = yaml.safe_load(args.gold.read_text(encoding="utf-8"))["items"]
    marked = frozenset(str(r["id"]) for r in raw if r.get("addresses_grader"))
    report = evaluate(items, EmbeddedJudge(), marked=marked)
    _print(report)
    if args.json:
        args.json.write_text(json.dumps(report, indent=1) + "\n", encoding="utf-8")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
