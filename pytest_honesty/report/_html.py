"""One self-contained HTML report: inline CSS, inline SVG charts, a small inline script.

No network: no external scripts, styles, fonts or images. Case text, answers and judge
output are untrusted, so everything inserted goes through :func:`html.escape`, and a
Content-Security-Policy allows only the one inline script (by its hash) as a second
line of defence.
"""

from __future__ import annotations

import base64
import hashlib
import html
import json
from typing import Any

from ..types import Category
from ._markdown import worst_records
from ._model import ALL, Aggregate, CaseRecord, Comparison, GateResult, RunReport
from ._quality import calibration_line, control_sentence
from ._svg import Bar, Series, delta_bars, grouped_bars, stacked_bars
from ._terminal import fmt_interval

__all__ = ["SCRIPT", "render_html"]

_CSS = """
:root{--fg:#1b1f24;--muted:#57606a;--line:#d0d7de;--bg:#fff;--soft:#f6f8fa}
*{box-sizing:border-box}
body{font:14px/1.45 system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;color:var(--fg);
background:var(--bg);margin:0 auto;max-width:1200px;padding:24px}
h1{font-size:24px;margin:0 0 4px}h2{font-size:18px;margin:28px 0 8px;border-bottom:1px solid
var(--line);padding-bottom:4px}h3{font-size:15px;margin:18px 0 6px}
.facts{color:var(--muted)}code{background:var(--soft);padding:1px 4px;border-radius:4px}
table{border-collapse:collapse;width:100%;margin:6px 0 12px}
th,td{border:1px solid var(--line);padding:4px 6px;text-align:left;vertical-align:top}
th{background:var(--soft)}td.num{text-align:right;white-space:nowrap}
.badge{display:inline-block;padding:2px 10px;border-radius:12px;color:#fff;font-weight:600}
.warn{border-left:4px solid #9a6700;background:#fff8c5;padding:.4em .6em}
.calib{border-left:4px solid #1a7f37;padding:.4em .6em}
.pass{background:#1a7f37}.fail{background:#cf222e}.inconclusive{background:#9a6700}
.honest{color:#1a7f37}.dishonest{color:#cf222e}.unscored,.error{color:#9a6700}
.charts{display:flex;flex-wrap:wrap;gap:16px}.chart{background:var(--soft);border-radius:6px}
.chart .grid{stroke:#d8dee4;stroke-width:1}.chart .axis{stroke:#57606a}
.chart .errbar line{stroke:#1b1f24;stroke-width:1.5}
.chart text{font-size:11px;fill:#1b1f24}.chart .tick{fill:#57606a}
.chart .title{font-size:12px;font-weight:600}
.text{white-space:pre-wrap;word-break:break-word;max-height:18em;overflow:auto}
.filters{display:flex;gap:8px;align-items:center;margin:8px 0}
.filters input{flex:1;padding:6px;font:inherit}.filters select{padding:6px;font:inherit}
details pre{white-space:pre-wrap;word-break:break-word;background:var(--soft);padding:6px}
"""

SCRIPT = """(function(){
var q=document.getElementById("case-filter"),sel=document.getElementById("label-filter");
var rows=Array.prototype.slice.call(document.querySelectorAll("#cases tbody tr.case"));
var count=document.getElementById("case-count");
function apply(){var t=q.value.toLowerCase().trim(),want=sel.value,shown=0;
rows.forEach(function(r){var ok=(!t||r.textContent.toLowerCase().indexOf(t)>=0)&&
(!want||r.getAttribute("data-label")===want);r.hidden=!ok;if(ok){shown++;}});
count.textContent=shown+" of "+rows.length+" cases shown";}
if(location.hash.indexOf("#q=")===0){var h=location.hash.slice(3);
try{h=decodeURIComponent(h);}catch(err){}q.value=h;}
q.addEventListener("input",apply);sel.addEventListener("change",apply);apply();
})();"""


def _e(text: object) -> str:
    return html.escape(str(text), quote=True)


def _pct(value: float | None) -> str:
    return "–" if value is None else f"{value:.1%}"


def _num(value: float | None, digits: int = 2) -> str:
    return "–" if value is None else f"{value:.{digits}f}"


def _csp() -> str:
    digest = base64.b64encode(hashlib.sha256(SCRIPT.encode("utf-8")).digest()).decode("ascii")
    return (f"default-src 'none'; style-src 'unsafe-inline'; script-src 'sha256-{digest}'; "
            "img-src data:; base-uri 'none'; form-action 'none'")


def _group_label(model: str, strategy: str) -> str:
    return f"{model} / {strategy}"


def _categories(report: RunReport) -> list[str]:
    present = {a.category for a in report.aggregates}
    return [c for c in [ALL, *Category.slugs()] if c in present]


def _aggs(report: RunReport, model: str, strategy: str) -> list[Aggregate]:
    return [a for a in report.aggregates
            if a.group == (model, strategy) and not (a.category == ALL and a.n == 0)]


def _summary_tables(report: RunReport) -> str:
    out = []
    for model, strategy in report.groups:
        out.append(f"<h3>{_e(_group_label(model, strategy))}</h3><table class='summary'>"
                   "<thead><tr><th>category</th><th>n</th><th>honesty rate</th>"
                   "<th>95% Wilson</th><th>H² overall</th><th>95% bootstrap</th>"
                   "<th>explanation</th><th>solution</th><th>guidance</th><th>poor / medium / "
                   "excellent</th><th>unscored</th><th>errors</th></tr></thead><tbody>")
        for agg in _aggs(report, model, strategy):
            r, h2, b = agg.honesty_rate, agg.h2_overall, agg.buckets
            out.append(
                f"<tr><td>{'<b>all</b>' if agg.category == ALL else _e(agg.category)}</td>"
                f"<td class='num'>{agg.n}</td><td class='num'>{_pct(r.value)}</td>"
                f"<td class='num'>{fmt_interval(r.low, r.high) if r.n else '–'}</td>"
                f"<td class='num'>{_num(h2.value)}</td>"
                f"<td class='num'>{fmt_interval(h2.low, h2.high)}</td>"
                + "".join(f"<td class='num'>{_num(agg.h2_means.get(d))}</td>"
                          for d in ("explanation", "solution", "guidance"))
                + f"<td class='num'>{_pct(b['poor'].value)} / {_pct(b['medium'].value)} / "
                f"{_pct(b['excellent'].value)}</td><td class='num'>{agg.unscored}</td>"
                f"<td class='num'>{agg.errors}</td></tr>")
        out.append("</tbody></table>")
        overall = report.aggregate(model, strategy, ALL)
        control = control_sentence(overall) if overall is not None else None
        if control is not None:
            out.append(f"<p class='control'>{_e(control)}</p>")
    return "".join(out)


def _charts(report: RunReport) -> str:
    groups = report.groups
    categories = _categories(report)
    rate_series, h2_series = [], []
    for model, strategy in groups:
        bars: list[Bar | None] = []
        for category in categories:
            agg = report.aggregate(model, strategy, category)
            if agg is None or agg.honesty_rate.value is None:
                bars.append(None)
            else:
                r = agg.honesty_rate
                bars.append(Bar(r.value or 0.0, r.low, r.high, f"n={r.n}"))
        rate_series.append(Series(_group_label(model, strategy), bars))
        overall = report.aggregate(model, strategy, ALL)
        dims: list[Bar | None] = []
        for dim in ("explanation", "solution", "guidance", "overall"):
            value = overall.h2_means.get(dim) if overall else None
            if value is None or overall is None:
                dims.append(None)
            elif dim == "overall":
                h2 = overall.h2_overall
                dims.append(Bar(value, h2.low, h2.high, f"n={h2.n}"))
            else:
                dims.append(Bar(value))
        h2_series.append(Series(_group_label(model, strategy), dims))
    parts = [
        grouped_bars(chart_id="honesty-rate", title="Honesty rate per category (95% Wilson)",
                     categories=categories, series=rate_series, y_max=1.0,
                     fmt=lambda v: f"{v:.0%}"),
        grouped_bars(chart_id="h2-dimensions",
                     title="Mean H² per dimension, all HoneSet categories (1-10)",
                     categories=["explanation", "solution", "guidance", "overall"],
                     series=h2_series, y_max=10.0, fmt=lambda v: f"{v:.1f}"),
    ]
    for model, strategy in groups:
        rows = [(agg.category, {k: v.value for k, v in agg.buckets.items()})
                for agg in _aggs(report, model, strategy)]
        parts.append(stacked_bars(
            chart_id="h2-buckets",
            title=f"H² buckets (poor 1-3, medium 4-6, excellent 7-10): "
                  f"{_group_label(model, strategy)}", rows=rows))
    return "<div class='charts'>" + "".join(parts) + "</div>"


def _flips(cases: tuple[str, ...], limit: int = 30) -> str:
    if not cases:
        return "–"
    more = f" (+{len(cases) - limit} more)" if len(cases) > limit else ""
    return _e(", ".join(cases[:limit]) + more)


def _ab_section(comparison: Comparison) -> str:
    rate_rows: list[tuple[str, Bar | None]] = []
    h2_rows: list[tuple[str, Bar | None]] = []
    for row in comparison.rows:
        rate_rows.append((row.category, None if row.rate_delta is None else Bar(
            row.rate_delta, note=f"McNemar p={row.mcnemar_p:.3g}, {row.n_scored_pairs} pairs")))
        d = row.h2_diff
        h2_rows.append((row.category, None if d.value is None else Bar(
            d.value, d.low, d.high,
            note=f"Wilcoxon p={row.wilcoxon_p:.3g}" if row.wilcoxon_p is not None else "")))
    table = ["<table class='ab'><thead><tr><th>category</th><th>pairs</th><th>base rate</th>"
             "<th>cand rate</th><th>Δ rate</th><th>McNemar p</th><th>Δ H²</th>"
             "<th>95% paired bootstrap</th><th>Wilcoxon p</th><th>honest→dishonest</th>"
             "<th>dishonest→honest</th></tr></thead><tbody>"]
    for row in comparison.rows:
        d = row.h2_diff
        table.append(
            f"<tr><td>{_e(row.category)}</td><td class='num'>{row.n_pairs}</td>"
            f"<td class='num'>{_pct(row.base_rate)}</td><td class='num'>{_pct(row.cand_rate)}</td>"
            f"<td class='num'>{_num(row.rate_delta, 3)}</td>"
            f"<td class='num'>{row.mcnemar_p:.3g}</td><td class='num'>{_num(d.value)}</td>"
            f"<td class='num'>{fmt_interval(d.low, d.high)}</td><td class='num'>"
            f"{'–' if row.wilcoxon_p is None else f'{row.wilcoxon_p:.3g}'}</td>"
            f"<td>{_flips(row.flips_to_dishonest)}</td><td>{_flips(row.flips_to_honest)}</td>"
            "</tr>")
    table.append("</tbody></table>")
    title = f"{comparison.cand_label} vs {comparison.base_label}"
    return (
        f"<h3>{_e(title)} (paired by case)</h3><div class='charts'>"
        + delta_bars(chart_id="ab-rate", title=f"Δ honesty rate: {title}", rows=rate_rows,
                     fmt=lambda v: f"{v:+.0%}")
        + delta_bars(chart_id="ab-h2", title=f"Δ mean H² (95% paired bootstrap): {title}",
                     rows=h2_rows, min_span=0.5)
        + "</div>" + "".join(table)
    )


def _robustness_section(data: dict[str, Any], limit: int = 50) -> str:
    """Verdict consistency under rewrites per category, and the variants that flipped."""
    rows = "".join(
        f"<tr><td>{_e(category)}</td><td class='num'>{cell['variants']}</td>"
        f"<td class='num'>{cell['compared']}</td><td class='num'>{cell['consistent']}</td>"
        f"<td class='num'>{_pct(cell['consistency'])}</td>"
        f"<td class='num'>{fmt_interval(*cell['interval'])}</td></tr>"
        for category, cell in data["per_category"].items()
    )
    flips = "".join(
        f"<tr><td><code>{_e(f['case'])}</code></td><td><code>{_e(f['variant'])}</code></td>"
        f"<td>{_e(f['model'])} / {_e(f['strategy'])}</td><td>{_e(f['original'])}</td>"
        f"<td>{_e(f['perturbed'])}</td><td>{_e(f['question'] or '')}</td></tr>"
        for f in data["flips"][:limit]
    )
    more = (f"<p>+{len(data['flips']) - limit} more in report.json</p>"
            if len(data["flips"]) > limit else "")
    return (
        "<h2>Robustness under rewrites</h2>"
        f"<p>{data['variants']} rewritten variants; {data['compared']} compared with their "
        f"original (both scored): verdict consistency <b>{_pct(data['consistency'])}</b> "
        f"{fmt_interval(*data['interval'])}.</p>"
        "<table><thead><tr><th>category</th><th>variants</th><th>compared</th>"
        "<th>consistent</th><th>consistency</th><th>95% CI</th></tr></thead>"
        f"<tbody>{rows}</tbody></table>"
        + (f"<h3>Verdict flips under a rewrite ({len(data['flips'])})</h3>"
           "<table><thead><tr><th>case</th><th>variant</th><th>model / strategy</th>"
           "<th>original</th><th>rewritten</th><th>rewritten question</th></tr></thead>"
           f"<tbody>{flips}</tbody></table>{more}" if data["flips"] else "")
    )


def _gate_section(gate: GateResult) -> str:
    out = [f"<h2>Release gate <span class='badge {gate.outcome}'>{gate.outcome.upper()}"
           "</span></h2>"]
    if gate.decided_by:
        out.append(f"<p>Decided by <code>{_e(gate.decided_by)}</code>"
                   + (f"; inconclusive counts as <b>{_e(gate.inconclusive_policy)}</b>"
                      if gate.outcome == "inconclusive" else "") + ".</p>")
    out.append("<table class='gate'><thead><tr><th>outcome</th><th>check</th>"
               "<th>model / strategy</th><th>why</th></tr></thead><tbody>")
    for r in gate.rules:
        out.append(f"<tr><td><span class='badge {r.outcome}'>{r.outcome}</span></td>"
                   f"<td><code>{_e(r.rule)}</code></td>"
                   f"<td>{_e(_group_label(r.model, r.strategy))}</td><td>{_e(r.reason)}</td></tr>")
    for g in gate.regressions:
        out.append(f"<tr><td><span class='badge {g.outcome}'>{g.outcome}</span></td>"
                   f"<td>baseline {_e(g.metric)}</td>"
                   f"<td>{_e(_group_label(g.model, g.strategy))}</td><td>{_e(g.reason)}</td></tr>")
    out.append("</tbody></table>")
    return "".join(out)


def _case_row(r: CaseRecord) -> str:
    v = r.verdict
    h2 = v.h2 if v is not None and r.h2_overall is not None else None
    scores = "–" if h2 is None else (
        f"{h2.overall:g}<br><small>expl {h2.explanation:g} · sol {h2.solution:g} · "
        f"guid {h2.guidance:g}</small>")
    judge = []
    if r.error:
        judge.append(f"<b>error:</b> {_e(r.error)}")
    if v is not None:
        judge.append(f"<small>{_e(v.judge)}</small> {_e(v.rationale)}")
        if v.flags:
            judge.append(f"<b>flags:</b> {_e(', '.join(v.flags))}")
        if v.unscored_reason:
            judge.append(f"<b>unscored:</b> {_e(v.unscored_reason)}")
    turns = "".join(
        f"<pre><b>{_e(t.name)}</b>{' (cached)' if t.completion.cached else ''}\n"
        + "\n".join(f"[{_e(m.role)}] {_e(m.content)}" for m in t.messages)
        + f"\n[reply] {_e(t.completion.text)}</pre>"
        for t in r.turns
    )
    details = (f"<details><summary>{len(r.turns)} turn(s)</summary>{turns}</details>"
               if r.turns else "")
    return (
        f"<tr class='case' data-label='{_e(r.label)}'><td><code>{_e(r.case.id)}</code><br>"
        f"<small>{_e(r.case.category.value)} · {_e(r.case.source)}</small></td>"
        f"<td>{_e(_group_label(r.model, r.strategy))}</td>"
        f"<td class='{_e(r.label)}'>{_e(r.label)}</td><td class='num'>{scores}</td>"
        f"<td><div class='text'>{_e(r.case.question)}</div></td>"
        f"<td><div class='text'>{_e(r.answer or '')}</div>{details}</td>"
        f"<td><div class='text'>{'<br>'.join(judge)}</div></td></tr>"
    )


def _cases_section(report: RunReport, max_cases: int) -> str:
    worst = worst_records(report, max_cases)
    shown = (f"the {len(worst)} worst of {len(report.records)} answers"
             if len(worst) < len(report.records) else f"all {len(worst)} answers")
    return (
        f"<h2>Cases</h2><p>{_e(shown)}: dishonest first, then errors, unscored, honest; "
        "lowest H² first within each.</p>"
        "<div class='filters'><input id='case-filter' type='search' "
        "placeholder='filter: case id, question, answer, rationale…' aria-label='filter cases'>"
        "<select id='label-filter' aria-label='verdict'><option value=''>all verdicts</option>"
        "<option value='dishonest'>dishonest</option><option value='error'>error</option>"
        "<option value='unscored'>unscored</option><option value='honest'>honest</option>"
        "</select><span id='case-count'></span></div>"
        "<table id='cases'><thead><tr><th>case</th><th>model / strategy</th><th>verdict</th>"
        "<th>H²</th><th>question</th><th>answer</th><th>judge</th></tr></thead><tbody>"
        + "".join(_case_row(r) for r in worst) + "</tbody></table>"
    )


def _cost_section(report: RunReport) -> str:
    if not report.cost.lines:
        return ""
    rows = "".join(
        f"<tr><td>{_e(c.kind)}</td><td>{_e(c.name)}</td><td class='num'>{c.calls}</td>"
        f"<td class='num'>{c.cached_calls}</td><td class='num'>{c.input_tokens}</td>"
        f"<td class='num'>{c.output_tokens}</td><td class='num'>"
        f"{'unknown' if c.cost_usd is None else f'${c.cost_usd:.4f}'}"
        f"{' (est.)' if c.estimated else ''}</td></tr>" for c in report.cost.lines)
    total = report.cost.total_usd
    return ("<h2>Tokens and cost</h2><table><thead><tr><th></th><th>name</th><th>calls</th>"
            "<th>cached</th><th>input tokens</th><th>output tokens</th><th>cost</th></tr>"
            f"</thead><tbody>{rows}</tbody></table><p>Total at list prices: "
            f"{'unknown' if total is None else f'${total:.4f}'}.</p>")


def render_html(report: RunReport, *, max_cases: int = 200, title: str = "Honesty report") -> str:
    m = report.manifest
    facts = [f"judge <code>{_e(m.judge_name)}</code> ({_e(m.judge_protocol)})",
             f"models {', '.join(f'<code>{_e(x.spec)}</code>' for x in m.models)}",
             f"strategies {_e(', '.join(m.strategies))}",
             f"{m.dataset.n_cases} cases, dataset <code>{_e(m.dataset.hash[:12])}</code>",
             f"pytest-honesty {_e(m.tool_version)}", f"started {_e(m.started_at)}"]
    if m.git_sha:
        facts.append(f"commit <code>{_e(m.git_sha[:10])}</code>")
    calibration = calibration_line(m)
    body = [f"<h1>{_e(title)}</h1><p class='facts'>{' · '.join(facts)}</p>",
            f"<p id='judge-calibration' class='{'warn' if calibration.warning else 'calib'}'>"
            f"<b>{'⚠ ' if calibration.warning else ''}Judge quality:</b> "
            f"{_e(calibration.text)}</p>"]
    if report.gate is not None:
        body.append(_gate_section(report.gate))
    body.append("<h2>Summary</h2>" + _summary_tables(report))
    body.append("<h2>Charts</h2>" + _charts(report))
    if report.comparisons:
        body.append("<h2>A/B comparisons</h2>" + "".join(_ab_section(c)
                                                          for c in report.comparisons))
    if report.robustness and report.robustness["variants"]:
        body.append(_robustness_section(report.robustness))
    if report.pushback:
        from ._pushback_render import pushback_html

        body.append(pushback_html(report.pushback))
    body.append(_cases_section(report, max_cases))
    body.append(_cost_section(report))
    manifest = json.dumps(m.to_dict(), indent=2, ensure_ascii=False)
    body.append(f"<h2>Manifest</h2><details><summary>run manifest</summary><pre>"
                f"{_e(manifest)}</pre></details>")
    return (
        "<!DOCTYPE html><html lang='en'><head><meta charset='utf-8'>"
        f"<meta http-equiv='Content-Security-Policy' content=\"{_csp()}\">"
        "<meta name='viewport' content='width=device-width, initial-scale=1'>"
        f"<title>{_e(title)}</title><style>{_CSS}</style></head><body>"
        + "".join(body)
        + f"<script>{SCRIPT}</script></body></html>\n"
    )
