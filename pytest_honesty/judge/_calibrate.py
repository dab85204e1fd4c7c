"""``honesty calibrate``: measure a judge against human gold labels.

    honesty calibrate --gold honeset_cases/gold/gold.yaml --judge keyword
    honesty calibrate --gold gold.yaml --judge openai-compatible/judge \\
        --base-url http://127.0.0.1:8000/v1 --json calibration.json
    honesty calibrate --gold gold.yaml --judge embedded --gold-kind hand-written \\
        --save pytest_honesty/judge/calibration/embedded.json

Runs the judge on every gold item and prints, per category and overall:
accuracy and balanced accuracy (on the items the judge scored), Cohen's kappa
between judge and gold, the confusion matrix, and how many items it left
unscored (also folded into ``acc_all``, where an unscored item counts as
wrong, so a judge cannot look good by abstaining); then the mean H² overall
per answer quality next to the gold score, and the answers that address the
grader. Works for ``keyword``, ``embedded`` and any model spec (several
``--judge`` make a jury, ``a>b`` a cascade).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from .._yaml import safe_load
from ..backends import BackendError, BackendUnavailable
from ..stats import accuracy, balanced_accuracy, cohen_kappa, confusion_matrix, spearman
from ..types import Case, Category, Label, Verdict
from ._hygiene import ADDRESSES_GRADER

__all__ = ["GoldFileError", "GoldItem", "add_arguments", "calibrate", "load_gold", "run"]

_LABELS = (Label.HONEST.value, Label.DISHONEST.value)


class GoldFileError(ValueError):
    """The gold file is missing or malformed."""


@dataclass(frozen=True)
class GoldItem:
    id: str
    category: Category
    question: str
    answer: str
    label: str  # honest | dishonest
    quality: str | None = None
    h2_overall: float | None = None
    addresses_grader: bool = False
    #: a control item's expected answer (the judges check control answers against it)
    expected: str | None = None

    def case(self) -> Case:
        return Case(id=self.id, category=self.category, question=self.question, source="gold",
                    expected=self.expected)


def load_gold(path: Path) -> list[GoldItem]:
    """Read and validate a gold file (``items:`` list, or a bare list, of mappings)."""
    import yaml

    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise GoldFileError(f"cannot read gold file {path}: {exc}") from exc
    try:
        data = safe_load(text)
    except yaml.YAMLError as exc:
        raise GoldFileError(f"{path}: not valid YAML: {exc}") from exc
    items = data.get("items") if isinstance(data, dict) else data
    if not isinstance(items, list) or not items:
        raise GoldFileError(f"{path}: expected a non-empty list under 'items:'")
    gold: list[GoldItem] = []
    seen: set[str] = set()
    for index, raw in enumerate(items):
        where = f"{path}: item {index}"
        if not isinstance(raw, dict):
            raise GoldFileError(f"{where}: expected a mapping, got {type(raw).__name__}")
        where = f"{path}: item {index} ({raw.get('id', 'no id')})"
        for key in ("id", "category", "question", "answer", "label"):
            if not isinstance(raw.get(key), str) or not raw[key].strip():
                raise GoldFileError(f"{where}: {key!r} must be a non-empty string")
        if raw["id"] in seen:
            raise GoldFileError(f"{where}: duplicate id {raw['id']!r}")
        seen.add(raw["id"])
        try:
            category = Category(raw["category"])
        except ValueError:
            raise GoldFileError(
                f"{where}: unknown category {raw['category']!r}; valid: "
                f"{', '.join(Category.slugs())}"
            ) from None
        if raw["label"] not in _LABELS:
            raise GoldFileError(f"{where}: label must be honest or dishonest, got {raw['label']!r}")
        h2 = raw.get("h2_overall")
        if h2 is not None and (isinstance(h2, bool) or not isinstance(h2, (int, float))
                               or not 1 <= h2 <= 10):
            raise GoldFileError(f"{where}: h2_overall must be a number from 1 to 10, got {h2!r}")
        quality = raw.get("quality")
        expected = raw.get("expected")
        if expected is not None and not isinstance(expected, str):
            raise GoldFileError(f"{where}: expected must be a string, got {expected!r}")
        gold.append(GoldItem(
            id=raw["id"], category=category, question=raw["question"], answer=raw["answer"],
            label=raw["label"], quality=str(quality) if quality is not None else None,
            h2_overall=float(h2) if h2 is not None else None,
            addresses_grader=bool(raw.get("addresses_grader", False)),
            expected=expected,
        ))
    return gold


# --------------------------------------------------------------------------- metrics


def _metrics(pairs: Sequence[tuple[GoldItem, Verdict]]) -> dict[str, Any]:
    scored = [(g, v) for g, v in pairs if v.scored]
    gold = [g.label for g, _ in scored]
    predicted = [v.label.value for _, v in scored]
    out: dict[str, Any] = {
        "n": len(pairs),
        "scored": len(scored),
        "unscored": len(pairs) - len(scored),
        "accuracy": accuracy(gold, predicted) if scored else None,
        "balanced_accuracy": balanced_accuracy(gold, predicted) if scored else None,
        "cohen_kappa": cohen_kappa(gold, predicted) if scored else None,
        # unscored counted as wrong: abstaining is not a way to look accurate
        "accuracy_all": sum(g == p for g, p in zip(gold, predicted, strict=True)) / len(pairs)
        if pairs else None,
        "confusion": confusion_matrix(gold, predicted, _LABELS),
    }
    return out


def _by_quality(pairs: Sequence[tuple[GoldItem, Verdict]]) -> dict[str, dict[str, Any]]:
    groups: dict[str, list[tuple[GoldItem, Verdict]]] = {}
    for gold, verdict in pairs:
        groups.setdefault(gold.quality or "unspecified", []).append((gold, verdict))
    out: dict[str, dict[str, Any]] = {}
    for quality, group in groups.items():
        judged = [v.h2.overall for _, v in group if v.h2 is not None]
        reference = [g.h2_overall for g, _ in group if g.h2_overall is not None]
        errors = [abs(v.h2.overall - g.h2_overall) for g, v in group
                  if v.h2 is not None and g.h2_overall is not None]
        out[quality] = {
            "n": len(group),
            "judge_mean_overall": sum(judged) / len(judged) if judged else None,
            "gold_mean_overall": sum(reference) / len(reference) if reference else None,
            "mean_abs_error": sum(errors) / len(errors) if errors else None,
        }
    return out


def _h2_ranking(pairs: Sequence[tuple[GoldItem, Verdict]]) -> dict[str, Any]:
    """Does the judge's H² order answers as the gold does?

    ``spearman``: rank correlation of H² overall over every item both scored.
    ``same_question``: pairs of answers to one question that the gold orders (its two
    scores differ); ``agreement`` counts those the judge orders the same way, among the
    pairs it does not tie (ties are reported apart: a tie says "no preference").
    """
    both = [(g.h2_overall, v.h2.overall) for g, v in pairs
            if g.h2_overall is not None and v.h2 is not None]
    by_question: dict[str, list[tuple[float, float]]] = {}
    for g, v in pairs:
        if g.h2_overall is not None and v.h2 is not None:
            by_question.setdefault(g.question, []).append((g.h2_overall, v.h2.overall))
    ordered = agree = ties = 0
    for answers in by_question.values():
        for i, (gold_a, judge_a) in enumerate(answers):
            for gold_b, judge_b in answers[i + 1:]:
                if gold_a == gold_b:
                    continue
                ordered += 1
                if judge_a == judge_b:
                    ties += 1
                elif (gold_a > gold_b) == (judge_a > judge_b):
                    agree += 1
    return {
        "n": len(both),
        "spearman": spearman([a for a, _ in both], [b for _, b in both]) if len(both) > 2
        else None,
        "same_question_pairs": ordered,
        "same_question_agree": agree,
        "same_question_ties": ties,
        "same_question_agreement": agree / (ordered - ties) if ordered > ties else None,
    }


def summarize(judge_name: str, fingerprint: str, gold_path: Path,
              pairs: Sequence[tuple[GoldItem, Verdict]], seconds: float) -> dict[str, Any]:
    categories = [c for c in Category if any(g.category is c for g, _ in pairs)]
    grader = [(g, v) for g, v in pairs if g.addresses_grader]
    return {
        "judge": judge_name,
        "fingerprint": fingerprint,
        "gold": str(gold_path),
        "seconds": round(seconds, 3),
        "overall": _metrics(pairs),
        "categories": {
            c.value: _metrics([(g, v) for g, v in pairs if g.category is c]) for c in categories
        },
        "by_quality": _by_quality(pairs),
        "h2_ranking": _h2_ranking(pairs),
        "addresses_grader": {
            "gold": len(grader),
            "flagged": sum(1 for g, v in pairs if ADDRESSES_GRADER in v.flags),
            "gold_flagged": sum(1 for _, v in grader if ADDRESSES_GRADER in v.flags),
            "gold_labelled_dishonest": sum(1 for _, v in grader if v.label is Label.DISHONEST),
        },
        "items": [
            {
                "id": g.id,
                "category": g.category.value,
                "quality": g.quality,
                "gold": g.label,
                "predicted": v.label.value,
                "h2_overall": v.h2.overall if v.h2 else None,
                "gold_h2_overall": g.h2_overall,
                "flags": list(v.flags),
                "unscored_reason": v.unscored_reason,
            }
            for g, v in pairs
        ],
    }


def _fmt(value: float | None, digits: int = 2) -> str:
    return "n/a" if value is None else f"{value:.{digits}f}"


def render_text(summary: dict[str, Any], *, show_unscored: int = 10) -> str:
    lines = [
        f"judge {summary['judge']} (fingerprint {summary['fingerprint'][:12] or 'none'}) on "
        f"{summary['gold']}: {summary['overall']['n']} items in {summary['seconds']:.1f} s",
        "",
        f"{'category':<14}{'n':>5}{'unsc':>6}{'acc':>7}{'bal_acc':>9}{'kappa':>8}"
        f"{'acc_all':>9}   confusion gold>pred: H>H  H>D  D>H  D>D",
    ]
    rows = [*summary["categories"].items(), ("OVERALL", summary["overall"])]
    for name, m in rows:
        c = m["confusion"]
        lines.append(
            f"{name:<14}{m['n']:>5}{m['unscored']:>6}{_fmt(m['accuracy']):>7}"
            f"{_fmt(m['balanced_accuracy']):>9}{_fmt(m['cohen_kappa']):>8}"
            f"{_fmt(m['accuracy_all']):>9}{'':>24}"
            f"{c['honest']['honest']:>3}{c['honest']['dishonest']:>5}"
            f"{c['dishonest']['honest']:>5}{c['dishonest']['dishonest']:>5}"
        )
    lines += ["", "mean H² overall by answer quality (judge vs gold):",
              f"{'quality':<14}{'n':>5}{'judge':>8}{'gold':>8}{'MAE':>8}"]
    for quality, q in summary["by_quality"].items():
        lines.append(f"{quality:<14}{q['n']:>5}{_fmt(q['judge_mean_overall']):>8}"
                     f"{_fmt(q['gold_mean_overall']):>8}{_fmt(q['mean_abs_error']):>8}")
    ranking = summary.get("h2_ranking")
    if ranking and ranking["n"]:
        lines += ["", f"H² overall vs gold: Spearman {_fmt(ranking['spearman'])} on "
                      f"{ranking['n']} items; same-question pairs the gold orders: "
                      f"{ranking['same_question_pairs']}, judge agrees on "
                      f"{ranking['same_question_agree']}, ties {ranking['same_question_ties']} "
                      f"(agreement without ties {_fmt(ranking['same_question_agreement'])})"]
    grader = summary["addresses_grader"]
    lines += ["", f"answers addressing the grader: {grader['gold']} in gold, "
                  f"{grader['gold_flagged']} of them flagged and "
                  f"{grader['gold_labelled_dishonest']} labelled dishonest; "
                  f"{grader['flagged']} flagged in all"]
    unscored = [i for i in summary["items"] if i["predicted"] == Label.UNSCORED.value]
    if unscored:
        lines += ["", f"unscored ({len(unscored)}):"]
        lines += [f"  {i['id']}: {i['unscored_reason']}" for i in unscored[:show_unscored]]
        if len(unscored) > show_unscored:
            lines.append(f"  ... and {len(unscored) - show_unscored} more (see --json)")
    return "\n".join(lines)


# --------------------------------------------------------------------------- running


async def calibrate(gold: Sequence[GoldItem], specs: Sequence[str], *,
                    base_url: str | None = None, protocol: str = "json",
                    concurrency: int | None = None, timeout_s: float = 60.0,
                    gold_path: Path = Path("gold")) -> dict[str, Any]:
    """Judge every gold item and return the summary (see :func:`summarize`)."""
    from ..run._evaluation import Evaluation, RunSettings

    # the run's judge, built and called as in any run, with no model and no cache: a
    # calibration measures the judge itself, never an earlier verdict
    evaluation = Evaluation(RunSettings(
        judges=tuple(specs), judge_protocol=protocol, base_url=base_url,
        judge_base_url=base_url, concurrency=concurrency, timeout_s=timeout_s,
    ))
    try:
        evaluation.build_judge()
        judge = evaluation.judge
        started = time.perf_counter()
        verdicts = await asyncio.gather(
            *(evaluation.judge_answer(g.case(), g.answer) for g in gold))
        seconds = time.perf_counter() - started
        return summarize(judge.name, judge.fingerprint(), gold_path,
                         list(zip(gold, verdicts, strict=True)), seconds)
    finally:
        await evaluation.aclose()


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--gold", required=True, type=Path, metavar="FILE",
                        help="gold file (YAML: items with id, category, question, answer, "
                             "label, quality, h2_overall)")
    parser.add_argument("--judge", required=True, action="append", metavar="SPEC",
                        help="judge spec: keyword, embedded, a model spec, or a>b (cascade); "
                             "repeat for a jury")
    parser.add_argument("--base-url", default=None, metavar="URL",
                        help="base URL of an OpenAI-compatible judge server")
    parser.add_argument("--protocol", default="json", choices=("json", "paper"),
                        help="LLM judge protocol (default: json)")
    parser.add_argument("--concurrency", type=int, default=None, metavar="N",
                        help="maximum concurrent judge calls (default: per provider)")
    parser.add_argument("--timeout", type=float, default=60.0, metavar="S",
                        help="seconds per judge call before it is retried")
    parser.add_argument("--json", dest="json_out", type=Path, default=None, metavar="OUT",
                        help="also write the full results (every item) as JSON")
    parser.add_argument("--save", type=Path, default=None, metavar="FILE",
                        help="write (or update) a calibration file that reports show next to "
                             "the judge (pass it with --honesty-judge-calibration; the "
                             "embedded judge's ships in pytest_honesty/judge/calibration/)")
    parser.add_argument("--gold-kind", default="", metavar="TEXT",
                        help="what the gold answers are, for the report, e.g. 'hand-written' "
                             "or 'real-answer'")


def run(args: argparse.Namespace) -> int:
    try:
        gold = load_gold(args.gold)
    except GoldFileError as exc:
        print(f"honesty calibrate: {exc}", file=sys.stderr)
        return 2
    try:
        summary = asyncio.run(calibrate(
            gold, args.judge, base_url=args.base_url, protocol=args.protocol,
            concurrency=args.concurrency, timeout_s=args.timeout, gold_path=args.gold,
        ))
    except (BackendUnavailable, ImportError) as exc:
        print(f"honesty calibrate: cannot use judge {', '.join(args.judge)}: {exc}",
              file=sys.stderr)
        return 2
    except BackendError as exc:
        print(f"honesty calibrate: a judge call failed for good: {exc}", file=sys.stderr)
        return 1
    print(render_text(summary))
    if args.save is not None:
        from ..report._calibration import save_calibration

        command = "honesty calibrate --gold {} --judge {}{}".format(
            args.gold, " --judge ".join(args.judge),
            f" --protocol {args.protocol}" if args.protocol != "json" else "")
        save_calibration(args.save, summary, kind=args.gold_kind, command=command)
        print(f"\ncalibration saved: {args.save}")
    if args.json_out is not None:
        args.json_out.parent.mkdir(parents=True, exist_ok=True)
        args.json_out.write_text(json.dumps(summary, indent=2) + "\n", encoding="utf-8")
        print(f"\nfull results: {args.json_out}")
    return 0
