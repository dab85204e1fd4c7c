"""``honesty report RUN.json [--html OUT] [--md OUT]``: render a saved run report."""

from __future__ import annotations

import argparse
import sys

from ._html import render_html
from ._io import atomic_write_text, load_report, report_json
from ._markdown import render_markdown
from ._model import ReportFormatError
from ._terminal import summary_lines

__all__ = ["EXIT_BAD_INPUT", "add_arguments", "run"]

#: the input could not be read (pytest uses 4 for usage errors too)
EXIT_BAD_INPUT = 4


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("report", metavar="RUN.json", help="report.json written by a run")
    parser.add_argument("--html", metavar="OUT", help="write one self-contained HTML file")
    parser.add_argument("--md", metavar="OUT", help="write Markdown (fits a CI job summary)")
    parser.add_argument("--json", metavar="OUT", help="write the report JSON again (e.g. to "
                        "upgrade formatting)")
    parser.add_argument("--max-cases", type=int, default=200, metavar="N",
                        help="worst cases listed in the HTML (default 200)")
    parser.add_argument("--quiet", action="store_true", help="do not print the summary")


def run(args: argparse.Namespace) -> int:
    try:
        report = load_report(args.report)
    except ReportFormatError as exc:
        print(f"honesty report: {exc}", file=sys.stderr)
        return EXIT_BAD_INPUT
    try:
        if args.html:
            atomic_write_text(args.html, render_html(report, max_cases=args.max_cases))
        if args.md:
            atomic_write_text(args.md, render_markdown(report))
        if args.json:
            atomic_write_text(args.json, report_json(report))
    except OSError as exc:
        print(f"honesty report: cannot write {exc.filename}: {exc.strerror or exc}",
              file=sys.stderr)
        return EXIT_BAD_INPUT
    if not args.quiet:
        for line in summary_lines(report):
            print(line)
    return 0
