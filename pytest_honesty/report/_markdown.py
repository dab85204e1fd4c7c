"""Markdown report: fits a CI job summary (GitHub ``$GITHUB_STEP_SUMMARY``).

Case text and answers are untrusted: every cell is HTML-escaped (GitHub renders
HTML inside Markdown) and Markdown punctuation is backslash-escaped, newlines folded.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from ._model import ALL, CaseRecord, Comparison, GateResult, RunReport
from ._quality import calibration_line, control_sentence, fmt_interval
from ._text import md_cell, md_code

__all__ = ["md_cell", "md_code", "render_markdown", "worst_records"]

_LABEL_RANK = {"dishonest": 0, "error": 1, "unscored": 2, "honest": 3}
_ICON = {"pass": "✅", "fail": "❌", "inconclusive": "⚠️"}


def worst_records(report: RunReport, limit: int | None = None) -> list[CaseRecord]:
    """Dishonest first, then errors, unscored, honest; lowest H² first within each."""
    ranked = sorted(
        report.records,
        key=lambda r: (_LABEL_RANK[r.label],
                       r.h2_overall if r.h2_overall is not None else 0.0, r.sort_key),
    )
    return ranked if limit is None else ranked[:limit]


def _pct(value: float | None) -> str:
    return "–" if value is None else f"{value:.1%}"


def _num(value: float | None, digits: int = 2) -> str:
    return "–" if value is None else f"{value:.{digits}f}"


def _gate_md(gate: GateResult) -> list[str]:
    head = f"### {_ICON[gate.outcome]} Release gate: {gate.outcome.upper()}"
    lines = [head, ""]
    if gate.decided_by:
        lines += [f"Decided by `{md_code(gate.decided_by, 200)}`"
                  + (f" (inconclusive counts as **{gate.inconclusive_policy}**)"
                     if gate.outcome == "inconclusive" else ""), ""]
    lines += ["| | check | model / strategy | why |", "|---|---|---|---|"]
    for rule in gate.rules:
        lines.append(f"| {_ICON[rule.outcome]} | `{md_code(rule.rule)}` | "
                     f"{md_cell(rule.model)} / {md_cell(rule.strategy)} | "
                     f"{md_cell(rule.reason, 300)} |")
    for reg in gate.regressions:
        lines.append(f"| {_ICON[reg.outcome]} | baseline {md_cell(reg.metric)} | "
                     f"{md_cell(reg.model)} / {md_cell(reg.strategy)} | "
                     f"{md_cell(reg.reason, 300)} |")
    return [*lines, ""]


def _case_list(names: Sequence[str], limit: int) -> str:
    shown = ", ".join(f"`{md_code(n, 80)}`" for n in names[:limit])
    return shown + (f" (+{len(names) - limit} more)" if len(names) > limit else "")


def _flip_lines(comparison: Comparison, limit: int) -> list[str]:
    """Which cases changed verdict, over every category (control included)."""
    rows = [r for r in comparison.rows if r.category != ALL]
    lines = []
    for title, attr in (("honest → dishonest", "flips_to_dishonest"),
                        ("dishonest → honest", "flips_to_honest")):
        flips = [case for row in rows for case in getattr(row, attr)]
        if flips:
            lines.append(f"- {title} ({len(flips)}): {_case_list(flips, limit)}")
    return [*lines, ""] if lines else []


def _robustness_md(data: dict[str, Any] | None, limit: int) -> list[str]:
    if not data:
        return []
    lines = ["### Robustness under rewrites (`--honesty-perturb`)", "",
             f"{data['variants']} rewritten variants; {data['compared']} compared with their "
             f"original (both scored): verdict consistency **{_pct(data['consistency'])}** "
             f"{fmt_interval(*data['interval'])}.", "",
             "| category | variants | compared | consistent | consistency | 95% CI |",
             "|---|---:|---:|---:|---:|---|"]
    for category, cell in data["per_category"].items():
        lines.append(f"| {md_cell(category)} | {cell['variants']} | {cell['compared']} | "
                     f"{cell['consistent']} | {_pct(cell['consistency'])} | "
                     f"{fmt_interval(*cell['interval'])} |")
    flips = data["flips"]
    if flips:
        lines += ["", f"Verdict flips under a rewrite ({len(flips)}):", "",
                  "| case | variant | model / strategy | original | rewritten | rewrite |",
                  "|---|---|---|---|---|---|"]
        for flip in flips[:limit]:
            lines.append(
                f"| `{md_code(flip['case'], 60)}` | `{md_code(flip['variant'], 60)}` | "
                f"{md_cell(flip['model'], 40)} / {md_cell(flip['strategy'], 30)} | "
                f"{flip['original']} | {flip['perturbed']} | {md_cell(flip['rewrite'] or '', 80)} |"
            )
        if len(flips) > limit:
            lines.append(f"| (+{len(flips) - limit} more in report.json) | | | | | |")
    return [*lines, ""]


def _limit_text(calls: dict[str, int]) -> str:
    """The concurrency limit the run settled on (summed over xdist workers), if known."""
    limit, cap = calls.get("concurrency_limit", 0), calls.get("concurrency_cap", 0)
    return f"; concurrency limit settled at {limit} (cap {cap})" if limit else ""


def render_markdown(report: RunReport, *, max_cases: int = 10, max_flips: int = 30) -> str:
    m = report.manifest
    lines = ["## Honesty report (HoneSet, H²)", ""]
    facts = [f"judge `{md_code(m.judge_name)}`", f"{len(report.records)} answers",
             f"{m.dataset.n_cases} cases (dataset `{m.dataset.hash[:12]}`)",
             f"pytest-honesty {md_cell(m.tool_version)}"]
    if m.git_sha:
        facts.append(f"commit `{m.git_sha[:10]}`")
    lines += [" · ".join(facts), ""]
    calibration = calibration_line(m)
    lines += [f"> **{'⚠ ' if calibration.warning else ''}Judge quality:** "
              f"{md_cell(calibration.text, limit=2000)}", ""]
    calls = m.engine
    if calls.get("calls") or calls.get("cache_hits"):
        lines += [f"Provider calls: {calls.get('calls', 0)} ({calls.get('retries', 0)} retries, "
                  f"{calls.get('rate_limited', 0)} rate-limited, {calls.get('timeouts', 0)} "
                  f"timeouts, {calls.get('errors', 0)} failed for good); "
                  f"{calls.get('cache_hits', 0)} answered from the cache"
                  f"{_limit_text(calls)}.", ""]
    if report.gate is not None:
        lines += _gate_md(report.gate)
    for model, strategy in report.groups:
        lines += [f"### {md_cell(model)} · {md_cell(strategy)}", "",
                  "| category | n | honesty rate | 95% CI | H² overall | 95% CI | excellent "
                  "| unscored | errors |",
                  "|---|---:|---:|---|---:|---|---:|---:|---:|"]
        for agg in (a for a in report.aggregates if a.group == (model, strategy)):
            if agg.category == ALL and agg.n == 0:
                continue
            rate, h2 = agg.honesty_rate, agg.h2_overall
            name = "**all**" if agg.category == ALL else md_cell(agg.category)
            lines.append(
                f"| {name} | {agg.n} | {_pct(rate.value)} | "
                f"{fmt_interval(rate.low, rate.high) if rate.n else '–'} | {_num(h2.value)} | "
                f"{fmt_interval(h2.low, h2.high)} | {_pct(agg.buckets['excellent'].value)} | "
                f"{agg.unscored} | {agg.errors} |"
            )
        overall = report.aggregate(model, strategy, ALL)
        control = control_sentence(overall) if overall is not None else None
        if control is not None:
            lines += ["", md_cell(control, limit=2000)]
        lines.append("")
    for comparison in report.comparisons:
        lines += [f"### A/B: {md_cell(comparison.cand_label)} vs {md_cell(comparison.base_label)}"
                  " (paired by case)", "",
                  "| category | pairs | base rate | cand rate | Δ rate | McNemar p | Δ H² | 95% CI "
                  "| Wilcoxon p |", "|---|---:|---:|---:|---:|---:|---:|---|---:|"]
        for row in comparison.rows:
            d = row.h2_diff
            lines.append(
                f"| {md_cell(row.category)} | {row.n_pairs} | {_pct(row.base_rate)} | "
                f"{_pct(row.cand_rate)} | {_num(row.rate_delta, 3)} | {row.mcnemar_p:.3g} | "
                f"{_num(d.value)} | {fmt_interval(d.low, d.high)} | "
                f"{'–' if row.wilcoxon_p is None else f'{row.wilcoxon_p:.3g}'} |"
            )
        lines.append("")
        lines += _flip_lines(comparison, max_flips)
    lines += _robustness_md(report.robustness, max_flips)
    if report.pushback:
        from ._pushback_render import pushback_markdown

        lines += pushback_markdown(report.pushback, max_flips)
    worst = [r for r in worst_records(report, max_cases) if r.label != "honest"]
    if worst:
        lines += [f"### Worst cases ({len(worst)} shown)", "",
                  "| case | model / strategy | verdict | H² | question | answer "
                  "| judge rationale |",
                  "|---|---|---|---:|---|---|---|"]
        for r in worst:
            rationale = r.error or (r.verdict.rationale if r.verdict else "")
            lines.append(
                f"| `{md_code(r.case.id, 60)}` ({md_cell(r.case.category.value)}) | "
                f"{md_cell(r.model, 40)} / {md_cell(r.strategy, 30)} | {r.label} | "
                f"{_num(r.h2_overall, 1)} | {md_cell(r.case.question, 120)} | "
                f"{md_cell(r.answer or '', 160)} | {md_cell(rationale, 160)} |"
            )
        lines.append("")
    if report.cost.lines:
        total = report.cost.total_usd
        lines += ["### Tokens and cost", "",
                  "| | name | calls | cached | input tokens | output tokens | cost (USD) |",
                  "|---|---|---:|---:|---:|---:|---:|"]
        for c in report.cost.lines:
            usd = "unknown" if c.cost_usd is None else f"{c.cost_usd:.4f}"
            lines.append(f"| {c.kind} | {md_cell(c.name)} | {c.calls} | {c.cached_calls} | "
                         f"{c.input_tokens} | {c.output_tokens} | {usd}"
                         f"{' (est.)' if c.estimated else ''} |")
        lines += ["", f"Total: {'unknown' if total is None else f'${total:.4f}'} at list "
                      "prices (judge tokens estimated from text length).", ""]
    return "\n".join(lines) + "\n"
