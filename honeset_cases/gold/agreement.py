"""Inter-annotator agreement on the real-answer gold set, and the adjudication list.

    python honeset_cases/gold/agreement.py ITEMS.jsonl LABELS_A.jsonl LABELS_B.jsonl \
        [--disagreements OUT.jsonl]

ITEMS is ``gold_unlabelled.jsonl`` (for each item's category); LABELS_A/B are the two
annotators' files (``{"id", "label", "h2_overall", ...}`` per line, see GUIDELINE.md).
Prints Cohen's kappa on the verdict, overall and per category, and the agreement on
H² overall (exact, within 1, Spearman). With ``--disagreements`` it writes the items to
adjudicate (verdicts differ, or H² overall differs by more than 2) with both labels and
empty ``adjudicated`` / ``reason`` fields.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections import defaultdict
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

from pytest_honesty.stats import spearman

LABELS = ("honest", "dishonest")
H2_GAP = 2


def read_jsonl(path: Path) -> list[dict[str, Any]]:
    rows = []
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
        if line.strip():
            try:
                rows.append(json.loads(line))
            except json.JSONDecodeError as exc:
                raise SystemExit(f"{path}:{number}: invalid JSON ({exc.msg})") from None
    return rows


def by_id(rows: Iterable[dict[str, Any]], path: Path) -> dict[str, dict[str, Any]]:
    out: dict[str, dict[str, Any]] = {}
    for row in rows:
        item_id = row.get("id")
        if item_id in out:
            raise SystemExit(f"{path}: id {item_id!r} appears twice")
        if row.get("label") is not None and row["label"] not in LABELS:
            raise SystemExit(f"{path}: id {item_id!r} has label {row['label']!r}; "
                             f"expected one of {LABELS}")
        out[str(item_id)] = row
    return out


def cohen_kappa(a: Sequence[str], b: Sequence[str]) -> float | None:
    """Cohen's kappa of two label sequences; None when undefined (no items, or both
    annotators used one and the same label throughout: chance agreement is 1)."""
    n = len(a)
    if n == 0:
        return None
    observed = sum(x == y for x, y in zip(a, b, strict=True)) / n
    expected = sum((a.count(lab) / n) * (b.count(lab) / n) for lab in set(a) | set(b))
    if expected >= 1.0:
        return None
    return (observed - expected) / (1.0 - expected)


def agreement(
    items: dict[str, dict[str, Any]], a: dict[str, dict[str, Any]], b: dict[str, dict[str, Any]]
) -> dict[str, dict[str, Any]]:
    """Per category (and ``all``): n, verdict agreement, kappa, H² exact/within-1, Spearman."""
    missing = [i for i in items if i not in a or i not in b]
    if missing:
        raise SystemExit(f"{len(missing)} item(s) lack a label from one annotator, "
                         f"e.g. {missing[:5]}")
    groups: dict[str, list[str]] = defaultdict(list)
    for item_id, item in items.items():
        groups[item["category"]].append(item_id)
        groups["all"].append(item_id)
    table: dict[str, dict[str, Any]] = {}
    for group, ids in sorted(groups.items()):
        la = [a[i]["label"] for i in ids]
        lb = [b[i]["label"] for i in ids]
        ha = [float(a[i]["h2_overall"]) for i in ids]
        hb = [float(b[i]["h2_overall"]) for i in ids]
        table[group] = {
            "n": len(ids),
            "verdict_agreement": sum(x == y for x, y in zip(la, lb, strict=True)) / len(ids),
            "kappa": cohen_kappa(la, lb),
            "h2_exact": sum(x == y for x, y in zip(ha, hb, strict=True)) / len(ids),
            "h2_within_1": sum(abs(x - y) <= 1 for x, y in zip(ha, hb, strict=True)) / len(ids),
            "h2_spearman": spearman(ha, hb),
        }
    return table


def disagreements(
    items: dict[str, dict[str, Any]], a: dict[str, dict[str, Any]], b: dict[str, dict[str, Any]]
) -> list[dict[str, Any]]:
    out = []
    for item_id, item in items.items():
        la, lb = a[item_id], b[item_id]
        if la["label"] != lb["label"] or abs(la["h2_overall"] - lb["h2_overall"]) > H2_GAP:
            # the adjudicator decides from the answer itself, so it travels with the labels
            out.append({"id": item_id, "category": item["category"],
                        "question": item["question"], "expected": item.get("expected"),
                        "answer": item["answer"], "a": la, "b": lb,
                        "adjudicated": None, "reason": None})
    return out


def _fmt(value: float | None) -> str:
    return "  n/a" if value is None else f"{value:5.2f}"


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("items", type=Path)
    parser.add_argument("labels_a", type=Path)
    parser.add_argument("labels_b", type=Path)
    parser.add_argument("--disagreements", type=Path)
    args = parser.parse_args(argv)
    items = by_id(read_jsonl(args.items), args.items)
    a = by_id(read_jsonl(args.labels_a), args.labels_a)
    b = by_id(read_jsonl(args.labels_b), args.labels_b)
    table = agreement(items, a, b)
    print("| category | n | verdict agreement | Cohen's kappa | H² exact | H² within 1 | "
          "H² Spearman |")
    print("|---|---|---|---|---|---|---|")
    for group, row in table.items():
        print(f"| {group} | {row['n']} | {_fmt(row['verdict_agreement'])} | "
              f"{_fmt(row['kappa'])} | {_fmt(row['h2_exact'])} | {_fmt(row['h2_within_1'])} | "
              f"{_fmt(row['h2_spearman'])} |")
    if args.disagreements:
        rows = disagreements(items, a, b)
        with args.disagreements.open("w", encoding="utf-8") as fh:
            for row in rows:
                fh.write(json.dumps(row, ensure_ascii=False) + "\n")
        print(f"{len(rows)} item(s) to adjudicate -> {args.disagreements}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
