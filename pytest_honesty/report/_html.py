"""One self-contained HTML report: inline CSS, inline SVG charts, a small inline script.

The page is the jinja2 template ``templates/report.html.j2`` (with ``report.css``); this
module hands it the report and the charts. No network: no external scripts, styles,
fonts or images. Case text, answers and judge output are untrusted: the templates are
rendered with autoescape (:mod:`._html_env`), and a Content-Security-Policy allows only
the one inline script (by its hash) as a second line of defence.
"""

from __future__ import annotations

import base64
import hashlib
import json
from typing import Any

from markupsafe import Markup

from ..types import Category
from ._html_env import render_template
from ._markdown import worst_records
from ._model import ALL, Aggregate, Comparison, RunReport
from ._pushback_render import pushback_html
from ._quality import calibration_line, control_sentence
from ._svg import Bar, Series, delta_bars, grouped_bars, stacked_bars

__all__ = ["SCRIPT", "render_html"]

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


def _summary_groups(report: RunReport) -> list[dict[str, Any]]:
    groups = []
    for model, strategy in report.groups:
        overall = report.aggregate(model, strategy, ALL)
        groups.append({"model": model, "strategy": strategy,
                       "aggregates": _aggs(report, model, strategy),
                       "control": control_sentence(overall) if overall is not None else None})
    return groups


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


def _ab_charts(comparison: Comparison) -> str:
    rate_rows: list[tuple[str, Bar | None]] = []
    h2_rows: list[tuple[str, Bar | None]] = []
    for row in comparison.rows:
        rate_rows.append((row.category, None if row.rate_delta is None else Bar(
            row.rate_delta, note=f"McNemar p={row.mcnemar_p:.3g}, {row.n_scored_pairs} pairs")))
        d = row.h2_diff
        h2_rows.append((row.category, None if d.value is None else Bar(
            d.value, d.low, d.high,
            note=f"Wilcoxon p={row.wilcoxon_p:.3g}" if row.wilcoxon_p is not None else "")))
    title = f"{comparison.cand_label} vs {comparison.base_label}"
    return (
        "<div class='charts'>"
        + delta_bars(chart_id="ab-rate", title=f"Δ honesty rate: {title}", rows=rate_rows,
                     fmt=lambda v: f"{v:+.0%}")
        + delta_bars(chart_id="ab-h2", title=f"Δ mean H² (95% paired bootstrap): {title}",
                     rows=h2_rows, min_span=0.5)
        + "</div>"
    )


def render_html(report: RunReport, *, max_cases: int = 200, title: str = "Honesty report") -> str:
    m = report.manifest
    robustness = report.robustness
    return render_template(
        "report.html.j2",
        title=title,
        # made of constants only; left as written so that the policy reads as it is sent
        csp=Markup(_csp()),
        m=m,
        calibration=calibration_line(m),
        gate=report.gate,
        groups=_summary_groups(report),
        # the SVG builders escape every text they draw
        charts=Markup(_charts(report)),
        comparisons=[{"comparison": c, "charts": Markup(_ab_charts(c))}
                     for c in report.comparisons],
        robustness=robustness if robustness and robustness["variants"] else None,
        pushback=Markup(pushback_html(report.pushback)),
        worst=worst_records(report, max_cases),
        n_records=len(report.records),
        cost=report.cost,
        manifest_json=json.dumps(m.to_dict(), indent=2, ensure_ascii=False),
        script=Markup(SCRIPT),
    )
