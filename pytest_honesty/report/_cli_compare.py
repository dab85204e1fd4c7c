"""``honesty compare BASE.json CAND.json``: a paired A/B table of two run reports.

Cases are paired by (source, case id). Per category: both honesty rates, McNemar's
exact p on the flips, the mean H² difference (candidate minus base) with a paired
bootstrap interval and the Wilcoxon signed-rank p; then the cases that flipped.
"""

from __future__ import annotations

import argparse
import sys

from ._build import paired_rows
from ._cli import EXIT_BAD_INPUT
from ._io import atomic_write_text, load_report
from ._model import Comparison, ReportFormatError, RunReport
from ._quality import fmt_interval
from ._text import md_cell

__all__ = ["add_arguments", "compare_reports", "comparison_lines", "run"]


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("base", metavar="BASE.json", help="the baseline run report")
    parser.add_argument("cand", metavar="CAND.json", help="the candidate run report")
    for side in ("base", "cand"):
        parser.add_argument(f"--{side}-model", metavar="SPEC",
                            help=f"which model of the {side} report (when it has several)")
        parser.add_argument(f"--{side}-strategy", metavar="NAME",
                            help=f"which strategy of the {side} report (when it has several)")
    parser.add_argument("--md", metavar="OUT", help="also write the table as Markdown")
    parser.add_argument("--max-flips", type=int, default=20, metavar="N",
                        help="case ids listed per flip direction (default 20)")


def _pick(report: RunReport, model: str | None, strategy: str | None, side: str,
          other: tuple[str, str] | None = None) -> tuple[str, str]:
    groups = [g for g in report.groups
              if (model is None or g[0] == model) and (strategy is None or g[1] == strategy)]
    if other is not None and len(groups) > 1:
        same = [g for g in groups if g == other] or [g for g in groups if g[1] == other[1]]
        groups = same or groups
    if len(groups) == 1:
        return groups[0]
    listing = "; ".join(f"{m} / {s}" for m, s in report.groups) or "none"
    raise ValueError(
        f"the {side} report has {'no' if not groups else 'several'} matching (model / strategy) "
        f"groups ({listing}); choose one with --{side}-model and --{side}-strategy"
    )


def compare_reports(
    base: RunReport, cand: RunReport, *, base_model: str | None = None,
    base_strategy: str | None = None, cand_model: str | None = None,
    cand_strategy: str | None = None,
) -> Comparison:
    cand_group = _pick(cand, cand_model, cand_strategy, "cand")
    base_group = _pick(base, base_model, base_strategy, "base", other=cand_group)
    rows = paired_rows(base.records_of(*base_group), cand.records_of(*cand_group))
    return Comparison(*base_group, *cand_group, rows)


def _pct(value: float | None) -> str:
    return "-" if value is None else f"{value:.3f}"


def comparison_lines(comparison: Comparison, *, max_flips: int = 20) -> list[str]:
    lines = [f"A/B (paired by case): candidate {comparison.cand_label} vs base "
             f"{comparison.base_label}",
             f"{'category':<14} {'pairs':>5} {'base':>6} {'cand':>6} {'delta':>7} {'h->d':>5} "
             f"{'d->h':>5} {'McNemar p':>10} {'base H2':>7} {'cand H2':>7} {'dH2':>6} "
             f"{'95% CI':>15} {'Wilcoxon p':>10}"]
    for r in comparison.rows:
        d = r.h2_diff
        lines.append(
            f"{r.category:<14} {r.n_pairs:>5} {_pct(r.base_rate):>6} {_pct(r.cand_rate):>6} "
            f"{'-' if r.rate_delta is None else f'{r.rate_delta:+.3f}':>7} "
            f"{r.honest_to_dishonest:>5} {r.dishonest_to_honest:>5} {r.mcnemar_p:>10.3g} "
            f"{'-' if r.base_h2 is None else f'{r.base_h2:.2f}':>7} "
            f"{'-' if r.cand_h2 is None else f'{r.cand_h2:.2f}':>7} "
            f"{'-' if d.value is None else f'{d.value:+.2f}':>6} {fmt_interval(d.low, d.high):>15} "
            f"{'-' if r.wilcoxon_p is None else f'{r.wilcoxon_p:.3g}':>10}")
    everything = comparison.rows[1:] if len(comparison.rows) > 1 else comparison.rows
    for title, attr in (("honest -> dishonest", "flips_to_dishonest"),
                        ("dishonest -> honest", "flips_to_honest")):
        flips = [c for row in everything for c in getattr(row, attr)]
        if flips:
            more = f" (+{len(flips) - max_flips} more)" if len(flips) > max_flips else ""
            lines.append(f"{title} ({len(flips)}): {', '.join(flips[:max_flips])}{more}")
    return lines


def _markdown(comparison: Comparison) -> str:
    out = [f"## A/B: {md_cell(comparison.cand_label)} vs {md_cell(comparison.base_label)}", "",
           "| category | pairs | base rate | cand rate | Δ rate | McNemar p | Δ H² | 95% CI | "
           "Wilcoxon p |", "|---|---:|---:|---:|---:|---:|---:|---|---:|"]
    for r in comparison.rows:
        d = r.h2_diff
        delta = "–" if r.rate_delta is None else f"{r.rate_delta:+.3f}"
        h2 = "–" if d.value is None else f"{d.value:+.2f}"
        out.append(f"| {md_cell(r.category)} | {r.n_pairs} | {_pct(r.base_rate)} | "
                   f"{_pct(r.cand_rate)} | {delta} | {r.mcnemar_p:.3g} | {h2} | "
                   f"{fmt_interval(d.low, d.high)} | "
                   f"{'–' if r.wilcoxon_p is None else f'{r.wilcoxon_p:.3g}'} |")
    return "\n".join(out) + "\n"


def run(args: argparse.Namespace) -> int:
    try:
        base, cand = load_report(args.base), load_report(args.cand)
        comparison = compare_reports(
            base, cand, base_model=args.base_model, base_strategy=args.base_strategy,
            cand_model=args.cand_model, cand_strategy=args.cand_strategy)
    except (ReportFormatError, ValueError) as exc:
        print(f"honesty compare: {exc}", file=sys.stderr)
        return EXIT_BAD_INPUT
    if base.manifest.dataset.hash != cand.manifest.dataset.hash:
        print("note: the two runs selected different cases; only cases present in both are "
              "paired", file=sys.stderr)
    for line in comparison_lines(comparison, max_flips=args.max_flips):
        print(line)
    if args.md:
        atomic_write_text(args.md, _markdown(comparison))
    return 0
