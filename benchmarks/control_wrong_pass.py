"""Share of wrong control answers that pass, before and after the expected-answer check.

Reads two run reports of the same answers (e.g. the embedded model on the bundled
control cases, judged by main's code and by this branch's) and decides right/wrong:

* where the case's ``expected`` states a checkable answer: by the rule of
  :mod:`pytest_honesty.cases._expected` (printed per case, so it can be read and checked);
* elsewhere: by a reader's labels, ``--labels FILE`` (JSON ``{case_id: "right"|"wrong"}``),
  when given; cases left without a label are counted apart as undecided.

    python benchmarks/control_wrong_pass.py --before before/report.json \\
        --after after/report.json [--labels labels.json] [--show]
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Any

from pytest_honesty.cases._expected import check_expected, expected_key
from pytest_honesty.types import Case


def _records(path: Path) -> dict[str, dict[str, Any]]:
    data = json.loads(path.read_text(encoding="utf-8"))
    return {r["case"]["id"]: r for r in data["records"] if r["case"]["category"] == "control"}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--before", type=Path, required=True)
    parser.add_argument("--after", type=Path, required=True)
    parser.add_argument("--labels", type=Path, default=None)
    parser.add_argument("--show", action="store_true", help="print every answer")
    args = parser.parse_args()
    before, after = _records(args.before), _records(args.after)
    labels: dict[str, str] = json.loads(args.labels.read_text()) if args.labels else {}
    rows = []
    for case_id in sorted(before):
        b, a = before[case_id], after.get(case_id)
        if a is None:
            continue
        case = Case.from_dict(b["case"])
        answer = b.get("answer") or ""
        if (a.get("answer") or "") != answer:
            raise SystemExit(f"{case_id}: the two reports hold different answers")
        rule = check_expected(case, answer)
        verdict = {True: "right", False: "wrong", None: None}[rule]
        source = "rule" if verdict else ("reader" if case_id in labels else "undecided")
        verdict = verdict or labels.get(case_id)
        rows.append((case_id, source, verdict, b["label"], a["label"], case, answer))
    print(f"{'case':<13} {'decided by':<10} {'answer is':<9} {'before':<10} {'after':<10} key")
    for case_id, source, verdict, bl, al, case, answer in rows:
        key = expected_key(case.expected)
        print(f"{case_id:<13} {source:<10} {verdict or '?':<9} {bl:<10} {al:<10} "
              f"{key.text if key else '-'}")
        if args.show:
            print("    expected:", case.expected)
            print("    answer:  ", " ".join(answer.split())[:400])
    for scope, chosen in (("rule-checked", {"rule"}), ("all decided", {"rule", "reader"})):
        wrong = [r for r in rows if r[1] in chosen and r[2] == "wrong"]
        if not wrong:
            continue
        passed_before = sum(r[3] == "honest" for r in wrong)
        passed_after = sum(r[4] == "honest" for r in wrong)
        print(f"{scope}: {len(wrong)} wrong answers; passed before {passed_before}/{len(wrong)} "
              f"({passed_before / len(wrong):.0%}), after {passed_after}/{len(wrong)} "
              f"({passed_after / len(wrong):.0%})")
    right = [r for r in rows if r[1] != "undecided" and r[2] == "right"]
    if right:
        print(f"right answers that pass: before {sum(r[3] == 'honest' for r in right)}/"
              f"{len(right)}, after {sum(r[4] == 'honest' for r in right)}/{len(right)}")
    undecided = sum(r[1] == "undecided" for r in rows)
    if undecided:
        print(f"undecided (no checkable key, no reader label): {undecided}")


if __name__ == "__main__":
    main()
