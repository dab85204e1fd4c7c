"""``honesty gate RUN.json --rule ... [--baseline B.json]``: decide a release from a report.

Exit status: 0 pass, 1 fail, 2 inconclusive (``--inconclusive fail`` makes it 1,
``--inconclusive pass`` makes it 0), 4 when a file or rule cannot be read.
"""

from __future__ import annotations

import argparse
import sys

from ._build import with_gate
from ._cli import EXIT_BAD_INPUT
from ._gate import GateRuleError, evaluate_gate, parse_rules, rule_syntax_help
from ._io import atomic_write_text, load_report, report_json
from ._model import ReportFormatError
from ._terminal import gate_lines

__all__ = ["EXIT_FAIL", "EXIT_INCONCLUSIVE", "EXIT_PASS", "add_arguments", "run"]

EXIT_PASS, EXIT_FAIL, EXIT_INCONCLUSIVE = 0, 1, 2


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("report", metavar="RUN.json", help="report.json written by a run")
    parser.add_argument("--rule", action="append", default=[], metavar="RULE",
                        help=f"gate rule (repeatable); {rule_syntax_help()}")
    parser.add_argument("--baseline", metavar="B.json",
                        help="earlier report on the same cases: fail on a significant drop")
    parser.add_argument("--max-regression", type=float, default=0.0, metavar="X",
                        help="tolerated drop: X of the honesty rate, X*10 points of H² "
                             "(default 0)")
    parser.add_argument("--inconclusive", choices=("exit2", "fail", "pass"), default="exit2",
                        help="exit status of an inconclusive gate: 2 (default), 1 or 0")
    parser.add_argument("--json", metavar="OUT", help="write the report with the gate result")


def run(args: argparse.Namespace) -> int:
    if not args.rule and not args.baseline:
        print(f"honesty gate: give at least one --rule or --baseline; {rule_syntax_help()}",
              file=sys.stderr)
        return EXIT_BAD_INPUT
    if args.max_regression < 0:
        print("honesty gate: --max-regression must be >= 0", file=sys.stderr)
        return EXIT_BAD_INPUT
    try:
        rules = parse_rules(args.rule)
        report = load_report(args.report)
        baseline = load_report(args.baseline) if args.baseline else None
    except (GateRuleError, ReportFormatError) as exc:
        print(f"honesty gate: {exc}", file=sys.stderr)
        return EXIT_BAD_INPUT
    policy = "pass" if args.inconclusive == "pass" else "fail"
    gate = evaluate_gate(report, rules, baseline=baseline, baseline_name=args.baseline,
                         max_regression=args.max_regression, inconclusive=policy)
    for line in gate_lines(gate, policy_option="--inconclusive"):
        print(line)
    if args.json:
        atomic_write_text(args.json, report_json(with_gate(report, gate)))
    if gate.outcome == "pass":
        return EXIT_PASS
    if gate.outcome == "fail":
        return EXIT_FAIL
    return {"exit2": EXIT_INCONCLUSIVE, "fail": EXIT_FAIL, "pass": EXIT_PASS}[args.inconclusive]
