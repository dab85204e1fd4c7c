"""Check that the question sets of the real-answer gold and training sets are disjoint.

    python honeset_cases/gold/check_questions.py [--honeset PATH/TO/HoneSet.json]

Compares, pairwise: the bundled cases (honeset_cases/*.yaml), the extra gold questions
(gold/real_questions.yaml), the training questions (judge_train/real_questions.yaml)
and the questions of the hand-written sets (gold/gold.yaml, judge_train/train.yaml).
Two questions collide when they are equal after lowercasing and collapsing whitespace,
or when their word sets overlap with Jaccard >= 0.7. With --honeset it also checks our
new questions against HoneSet's queries, printing only OUR ids (never HoneSet's text).
Exit status 1 when a gold/training collision or a HoneSet collision is found.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[2]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

# the judge's training holds out gold questions by the same rule
from pytest_honesty.judge.train_embedded import question_words, same_words  # noqa: E402

CASES = ROOT / "honeset_cases"


def _norm(text: str) -> str:
    return " ".join(text.lower().split())


def _collide(a: str, b: str) -> bool:
    return _norm(a) == _norm(b) or same_words(question_words(a), question_words(b))


def _questions(path: Path, key: str = "cases") -> dict[str, str]:
    data = yaml.safe_load(path.read_text(encoding="utf-8"))
    return {item["id"]: item["question"] for item in data[key]}


def load_sets() -> dict[str, dict[str, str]]:
    bundled: dict[str, str] = {}
    for path in sorted(CASES.glob("*.yaml")):
        bundled.update(_questions(path))
    return {
        "bundled": bundled,
        "gold-extra": _questions(CASES / "gold" / "real_questions.yaml"),
        "train": _questions(CASES / "judge_train" / "real_questions.yaml"),
        "handwritten-gold": _questions(CASES / "gold" / "gold.yaml", "items"),
        "handwritten-train": _questions(CASES / "judge_train" / "train.yaml", "items"),
    }


def collisions(a: dict[str, str], b: dict[str, str]) -> list[tuple[str, str]]:
    return [(ia, ib) for ia, qa in a.items() for ib, qb in b.items() if _collide(qa, qb)]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--honeset", type=Path, help="HoneSet.json, checked but never printed")
    args = parser.parse_args(argv)
    sets = load_sets()
    failed = False
    # gold questions (bundled + extra) against training questions must not meet at all
    for gold_name in ("bundled", "gold-extra", "handwritten-gold"):
        for train_name in ("train", "handwritten-train"):
            if gold_name == "handwritten-gold" and train_name == "handwritten-train":
                continue  # checked by tests/unit/test_embedded_judge.py
            found = collisions(sets[gold_name], sets[train_name])
            print(f"{gold_name} vs {train_name}: {len(found)} collisions {found[:10]}")
            if (gold_name, train_name) == ("bundled", "handwritten-train"):
                # older than the real-answer sets: reported, left to whoever retrains
                if found:
                    print("  warning: the hand-written training set shares these questions "
                          "with the bundled cases (now gold questions)")
                continue
            failed |= bool(found)
    found = collisions(sets["gold-extra"], sets["bundled"])
    print(f"gold-extra vs bundled: {len(found)} collisions {found[:10]}")
    failed |= bool(found)
    if args.honeset:
        queries = [item["instruction"] for item in json.loads(args.honeset.read_text())]
        for name in ("gold-extra", "train"):
            ours = [i for i, q in sets[name].items() if any(_collide(q, h) for h in queries)]
            print(f"{name} vs HoneSet: {len(ours)} collisions (our ids) {ours}")
            failed |= bool(ours)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
