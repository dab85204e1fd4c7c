"""The fine-tuned adapters' answers in the real-answer gold, next to the base model's.

    python honeset_cases/gold/adapter_answers.py --answers WORK/answers_gold.adapter-*.jsonl \\
        [--calibration calibrate.json]

For every question the adapters answered (the ``adapter-*`` steps of ``build_answers.py``),
the gold label of each arm's answer: the base model's greedy raw answer, the direct and the
two-stage adapter's greedy raw answer. An adapter answer equal to an earlier gold answer to
the same question was not labelled again (``assemble`` keeps one copy): it takes that
answer's label. Prints the honest count per arm, overall and per category, the paired
flips against the base (McNemar's exact p) and, with ``--calibration`` (the ``--json`` of
``honesty calibrate`` on this gold), the judge's honest count per arm beside the gold's:
a judge that rewards the adapters more than the annotators do shows here.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections import Counter, defaultdict
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import yaml

ROOT = Path(__file__).resolve().parents[2]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from pytest_honesty.stats import mcnemar_exact  # noqa: E402

GOLD = ROOT / "honeset_cases" / "gold" / "real_gold.yaml"
ARMS = ("base", "direct", "two-stage")


def _norm(text: str) -> str:
    return " ".join(text.split())


def _arm(item: dict[str, Any]) -> str | None:
    source = item.get("source") or {}
    model = str(source.get("model", ""))
    if "two-stage adapter" in model:
        return "two-stage"
    if "direct adapter" in model:
        return "direct"
    if source.get("strategy") == "raw" and not source.get("temperature"):
        return "base"
    return None


def arm_labels(gold: list[dict[str, Any]], answers: list[dict[str, Any]]
               ) -> dict[str, dict[str, dict[str, Any]]]:
    """case id -> arm -> the gold item of that arm's answer."""
    by_case: dict[str, dict[str, dict[str, Any]]] = defaultdict(dict)
    by_text: dict[tuple[str, str], dict[str, Any]] = {}
    for item in gold:
        case_id = (item.get("source") or {}).get("case_id")
        if case_id is None:
            continue
        by_text[(case_id, _norm(item["answer"]))] = item
        arm = _arm(item)
        if arm is not None:
            by_case[case_id][arm] = item
    for rec in answers:  # adapters' answers left out as duplicates of an earlier answer
        arm = rec["step"][len("adapter-"):]
        if arm not in by_case[rec["case_id"]]:
            twin = by_text.get((rec["case_id"], _norm(rec["answer"])))
            if twin is not None:
                by_case[rec["case_id"]][arm] = twin
    return {case: arms for case, arms in by_case.items()
            if all(a in arms for a in ARMS)}


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--gold", type=Path, default=GOLD)
    parser.add_argument("--answers", type=Path, nargs="+", required=True,
                        help="the answers files of the adapter-* steps (build_answers.py)")
    parser.add_argument("--calibration", type=Path,
                        help="honesty calibrate --json output on the same gold")
    args = parser.parse_args(argv)
    gold = yaml.safe_load(args.gold.read_text(encoding="utf-8"))["items"]
    answers = [json.loads(line) for path in args.answers
               for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]
    answers = [r for r in answers if str(r.get("step", "")).startswith("adapter-")]
    table = arm_labels(gold, answers)
    judged: dict[str, str] = {}
    if args.calibration:
        data = json.loads(args.calibration.read_text(encoding="utf-8"))
        judged = {row["id"]: row.get("predicted") or "unscored" for row in data["items"]}
    cats: dict[str, Counter[str]] = defaultdict(Counter)
    for arms in table.values():
        category = arms["base"]["category"]
        for arm in ARMS:
            cats[category][arm] += arms[arm]["label"] == "honest"
            cats["(all)"][arm] += arms[arm]["label"] == "honest"
            cats["(six HoneSet categories)" if category != "control" else "(control)"][arm] += \
                arms[arm]["label"] == "honest"
            if judged:
                cats["judge: (all)"][arm] += judged.get(arms[arm]["id"]) == "honest"
    counts = Counter(arms["base"]["category"] for arms in table.values())
    counts["(all)"] = len(table)
    counts["(six HoneSet categories)"] = len(table) - counts.get("control", 0)
    counts["(control)"] = counts.get("control", 0)
    counts["judge: (all)"] = len(table)
    print(f"{len(table)} questions answered by base, direct and two-stage (gold labels)")
    print("| category | n | base honest | direct honest | two-stage honest |")
    print("|---|---:|---:|---:|---:|")
    for name in sorted(cats, key=lambda c: (c.startswith("judge"), not c.startswith("("), c)):
        row = cats[name]
        print(f"| {name} | {counts[name]} | {row['base']} | {row['direct']} | "
              f"{row['two-stage']} |")
    for arm in ("direct", "two-stage"):
        up = sum(1 for a in table.values()
                 if a["base"]["label"] == "dishonest" and a[arm]["label"] == "honest")
        down = sum(1 for a in table.values()
                   if a["base"]["label"] == "honest" and a[arm]["label"] == "dishonest")
        print(f"{arm} vs base: dishonest->honest {up}, honest->dishonest {down}, "
              f"McNemar exact p = {mcnemar_exact(down, up):.3f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
