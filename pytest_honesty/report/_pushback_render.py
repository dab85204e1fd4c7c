"""The pushback section in each report format: terminal lines, Markdown, HTML (with a
held-rate chart). ``data`` is :attr:`RunReport.pushback`."""

from __future__ import annotations

from typing import Any

from markupsafe import Markup

from ._html_env import render_template
from ._model import ALL
from ._quality import fmt_interval
from ._svg import Bar, Series, grouped_bars
from ._text import md_cell, md_code

__all__ = ["pushback_html", "pushback_markdown", "pushback_terminal"]


def _rate(value: float | None) -> str:
    return "-" if value is None else f"{value:.2f}"


def _cells(arm: dict[str, Any]) -> list[tuple[str, dict[str, Any]]]:
    return [(ALL, arm[ALL]), *arm["per_category"].items()]


def pushback_terminal(data: dict[str, Any] | None) -> list[str]:
    """One line per arm: held rate with its interval, caved count, McNemar."""
    lines = []
    for arm in (data or {}).get("arms", []):
        cell = arm[ALL]
        lines.append(
            f"pushback {arm['model']} / {arm['label']}: held rate {_rate(cell['held_rate'])} "
            f"{fmt_interval(*cell['interval'])} ({cell['held']} of {cell['held_of']} honest "
            f"before stayed honest), {len(arm['caved'])} caved, one-turn vs pushback McNemar "
            f"p={arm['mcnemar_p']:.3g}")
    return lines


def pushback_markdown(data: dict[str, Any] | None, limit: int = 30) -> list[str]:
    if not data or not data.get("arms"):
        return []
    lines = ["### Honesty under pushback (`--honesty-pushback`)", "",
             "Held rate: honest after pushback among the cases honest before (one-turn item) "
             "and scored after; `all` covers every category, control included.", "",
             "| model / strategy | category | items | held | of | held rate | 95% CI |",
             "|---|---|---:|---:|---:|---:|---|"]
    for arm in data["arms"]:
        for category, cell in _cells(arm):
            items = arm["items"] if category == ALL else cell["items"]
            lines.append(
                f"| {md_cell(arm['model'], 40)} / {md_cell(arm['label'], 30)} | {category} | "
                f"{items} | {cell['held']} | {cell['held_of']} | {_rate(cell['held_rate'])} | "
                f"{fmt_interval(*cell['interval'])} |")
    lines.append("")
    for arm in data["arms"]:
        lines.append(
            f"- {md_cell(arm['model'], 40)} / {md_cell(arm['label'], 30)}: one-turn vs pushback "
            f"honest {arm['honest_before']} → {arm['honest_after']} of {arm['n_both_scored']} "
            f"scored in both, {arm['honest_to_dishonest']} honest→dishonest, "
            f"{arm['dishonest_to_honest']} dishonest→honest, McNemar p={arm['mcnemar_p']:.3g}")
    caved = [(arm, c) for arm in data["arms"] for c in arm["caved"]]
    if caved:
        lines += ["", f"Cases that caved ({len(caved)}):", "",
                  "| case | model / strategy | last pushback | answer after it |",
                  "|---|---|---|---|"]
        for arm, c in caved[:limit]:
            lines.append(f"| `{md_code(c['case'], 60)}` | {md_cell(arm['model'], 40)} / "
                         f"{md_cell(arm['label'], 30)} | {md_cell(c['pushback'] or '', 100)} | "
                         f"{md_cell(c['answer'] or '', 160)} |")
        if len(caved) > limit:
            lines.append(f"| (+{len(caved) - limit} more in report.json) | | | |")
    return [*lines, ""]


def pushback_html(data: dict[str, Any] | None, limit: int = 50) -> str:
    """The section (``templates/pushback.html.j2``): a held-rate chart per category, the
    table, and the caved cases."""
    if not data or not data.get("arms"):
        return ""
    arms = data["arms"]
    categories = list(dict.fromkeys(c for arm in arms for c, _ in _cells(arm)))
    series = []
    for arm in arms:
        bars: list[Bar | None] = []
        for category in categories:
            cell = arm[ALL] if category == ALL else arm["per_category"].get(category)
            if cell is None or cell["held_rate"] is None:
                bars.append(None)
                continue
            low, high = cell["interval"]
            bars.append(Bar(cell["held_rate"], low, high,
                            note=f"{cell['held']} of {cell['held_of']} held"))
        series.append(Series(f"{arm['model']} · {arm['label']}", bars))
    chart = grouped_bars(chart_id="pushback-held", title="Held rate under pushback (95% Wilson)",
                         categories=categories, series=series, y_max=1.0,
                         fmt=lambda v: f"{v:.0%}")
    return render_template(
        "pushback.html.j2", data=data, limit=limit,
        # the SVG builder escapes every text it draws
        chart=Markup(chart),
        caved=[(arm, c) for arm in arms for c in arm["caved"]],
    )
