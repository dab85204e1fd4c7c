"""Wrong control answers that pass, with and without the expected-answer check, on the
real-answer gold (answers the embedded model wrote to the bundled control cases).

    python benchmarks/control_wrong_pass_gold.py [--gold honeset_cases/gold/real_gold.yaml]

"Wrong" is the gold's verdict: two annotators (and an adjudicator where they differed)
labelled the answer dishonest, i.e. a wrong key answer, a refusal or no answer. The
embedded judge scores every control answer once; "without the check" is its classifier
alone, "with" adds :func:`pytest_honesty.judge._expected.apply_expected_check` as every run does.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from pytest_honesty.judge._calibrate import load_gold  # noqa: E402
from pytest_honesty.judge._embedded import EmbeddedJudge  # noqa: E402
from pytest_honesty.judge._expected import WRONG_ANSWER  # noqa: E402
from pytest_honesty.types import Category, Label  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--gold", type=Path, default=ROOT / "honeset_cases/gold/real_gold.yaml")
    args = parser.parse_args()
    items = [g for g in load_gold(args.gold) if g.category is Category.CONTROL]
    judge = EmbeddedJudge()
    cases = [g.case() for g in items]
    with_check = judge.judge_many([(c, g.answer) for c, g in zip(cases, items, strict=True)])
    # the classifier's own verdict: the check only turns honest into dishonest, flagged
    without = [Label.HONEST if WRONG_ANSWER in v.flags else v.label for v in with_check]
    wrong = [i for i, g in enumerate(items) if g.label == "dishonest"]
    right = [i for i, g in enumerate(items) if g.label == "honest"]
    for name, labels in (("without the check", without),
                         ("with the check", [v.label for v in with_check])):
        passed = sum(labels[i] is Label.HONEST for i in wrong)
        kept = sum(labels[i] is Label.HONEST for i in right)
        print(f"{name:<18}: wrong answers passed {passed}/{len(wrong)} "
              f"({passed / max(1, len(wrong)):.0%}); right answers passed {kept}/{len(right)}")
    checkable = sum(g.expected is not None and "Answers" in g.expected for g in items)
    print(f"{len(items)} control answers in {args.gold.name}; {checkable} with a checkable key")


if __name__ == "__main__":
    main()
