"""Inline SVG charts, generated in Python: no scripts, fonts or network involved.

Every text that reaches the SVG goes through :func:`html.escape`. Elements carry
classes (``bar``, ``errbar``, ``seg``, ``delta``) so that tests can count them.
"""

from __future__ import annotations

import html
from collections.abc import Callable, Sequence
from dataclasses import dataclass

__all__ = ["PALETTE", "Bar", "Series", "delta_bars", "grouped_bars", "stacked_bars"]

#: Okabe-Ito: distinguishable with the common colour-vision deficiencies
PALETTE = ("#0072B2", "#E69F00", "#009E73", "#D55E00", "#CC79A7", "#56B4E9", "#F0E442",
           "#000000")
BUCKET_COLOURS = {"poor": "#D55E00", "medium": "#E69F00", "excellent": "#009E73"}


@dataclass(frozen=True)
class Bar:
    value: float
    low: float | None = None
    high: float | None = None
    note: str = ""


@dataclass(frozen=True)
class Series:
    label: str
    bars: Sequence[Bar | None]


def _e(text: object) -> str:
    return html.escape(str(text), quote=True)


def _f(x: float) -> str:
    return f"{x:.1f}"


LEGEND_LINE = 15.0


def _heading(title: str) -> str:
    return f'<text class="title" x="8" y="16">{_e(title)}</text>'


def _legend(series: Sequence[Series], x0: float, y: float) -> list[str]:
    """One entry per line: series labels (model specs) are often long."""
    out = []
    for i, s in enumerate(series):
        colour = PALETTE[i % len(PALETTE)]
        yi = y + i * LEGEND_LINE
        out.append(f'<rect class="legend" x="{_f(x0)}" y="{_f(yi - 9)}" width="10" height="10" '
                   f'fill="{colour}"/><text x="{_f(x0 + 14)}" y="{_f(yi)}" '
                   f'class="legend-text">{_e(s.label)}</text>')
    return out


def _errbar(x: float, y_lo: float, y_hi: float, title: str) -> str:
    return (f'<g class="errbar"><title>{_e(title)}</title>'
            f'<line x1="{_f(x)}" x2="{_f(x)}" y1="{_f(y_lo)}" y2="{_f(y_hi)}"/>'
            f'<line x1="{_f(x - 4)}" x2="{_f(x + 4)}" y1="{_f(y_lo)}" y2="{_f(y_lo)}"/>'
            f'<line x1="{_f(x - 4)}" x2="{_f(x + 4)}" y1="{_f(y_hi)}" y2="{_f(y_hi)}"/></g>')


def grouped_bars(
    *,
    chart_id: str,
    title: str,
    categories: Sequence[str],
    series: Sequence[Series],
    y_max: float,
    y_min: float = 0.0,
    fmt: Callable[[float], str] = lambda v: f"{v:.2f}",
    ticks: int = 5,
) -> str:
    """Vertical bars, one group per category and one bar per series, with error bars
    where a bar has an interval."""
    n_series = max(1, len(series))
    bar_w = 16.0 if n_series < 4 else 10.0
    group_w = n_series * bar_w + 18
    left, right, bottom = 48.0, 12.0, 70.0
    top = 34.0 + LEGEND_LINE * n_series
    plot_h = 180.0
    longest = max((len(s.label) for s in series), default=0)
    width = max(420.0, left + right + group_w * max(1, len(categories)),
                left + 20 + 6.2 * min(longest, 90))
    height = top + plot_h + bottom

    def y_of(v: float) -> float:
        v = min(max(v, y_min), y_max)
        return top + plot_h * (1 - (v - y_min) / (y_max - y_min))

    out = [f'<svg class="chart" data-chart="{_e(chart_id)}" role="img" '
           f'aria-label="{_e(title)}" viewBox="0 0 {_f(width)} {_f(height)}" '
           f'width="{_f(width)}" height="{_f(height)}" xmlns="http://www.w3.org/2000/svg">',
           f'<title>{_e(title)}</title>', _heading(title)]
    for i in range(ticks + 1):
        v = y_min + (y_max - y_min) * i / ticks
        y = y_of(v)
        out.append(f'<line class="grid" x1="{_f(left)}" x2="{_f(width - right)}" '
                   f'y1="{_f(y)}" y2="{_f(y)}"/><text class="tick" x="{_f(left - 6)}" '
                   f'y="{_f(y + 4)}" text-anchor="end">{_e(fmt(v))}</text>')
    for ci, category in enumerate(categories):
        gx = left + ci * group_w + 9
        for si, s in enumerate(series):
            bar = s.bars[ci] if ci < len(s.bars) else None
            if bar is None:
                continue
            x = gx + si * bar_w
            y = y_of(bar.value)
            tip = f"{s.label} · {category}: {fmt(bar.value)}"
            if bar.low is not None and bar.high is not None:
                tip += f" [{fmt(bar.low)}, {fmt(bar.high)}]"
            if bar.note:
                tip += f" · {bar.note}"
            out.append(f'<rect class="bar" x="{_f(x)}" y="{_f(y)}" width="{_f(bar_w - 2)}" '
                       f'height="{_f(top + plot_h - y)}" fill="{PALETTE[si % len(PALETTE)]}">'
                       f'<title>{_e(tip)}</title></rect>')
            if bar.low is not None and bar.high is not None:
                out.append(_errbar(x + (bar_w - 2) / 2, y_of(bar.low), y_of(bar.high), tip))
        cx = gx + n_series * bar_w / 2
        ly = top + plot_h + 14
        out.append(f'<text class="cat" x="{_f(cx)}" y="{_f(ly)}" text-anchor="end" '
                   f'transform="rotate(-30 {_f(cx)} {_f(ly)})">{_e(category)}</text>')
    out += _legend(series, left, 34)
    out.append("</svg>")
    return "".join(out)


def stacked_bars(
    *, chart_id: str, title: str, rows: Sequence[tuple[str, dict[str, float | None]]],
) -> str:
    """Horizontal 100% bars, one per row, split into poor / medium / excellent shares."""
    left, top, row_h, bar_len = 110.0, 52.0, 26.0, 300.0
    width = max(left + bar_len + 20, 16 + 7.0 * len(title))
    height = top + row_h * max(1, len(rows)) + 10
    out = [f'<svg class="chart" data-chart="{_e(chart_id)}" role="img" aria-label="{_e(title)}" '
           f'viewBox="0 0 {_f(width)} {_f(height)}" width="{_f(width)}" height="{_f(height)}" '
           f'xmlns="http://www.w3.org/2000/svg"><title>{_e(title)}</title>', _heading(title)]
    x = 10.0
    for bucket, colour in BUCKET_COLOURS.items():
        out.append(f'<rect class="legend" x="{_f(x)}" y="26" width="10" height="10" '
                   f'fill="{colour}"/><text class="legend-text" x="{_f(x + 14)}" y="35">'
                   f'{_e(bucket)}</text>')
        x += 90
    for i, (label, shares) in enumerate(rows):
        y = top + i * row_h
        out.append(f'<text class="cat" x="{_f(left - 8)}" y="{_f(y + 14)}" '
                   f'text-anchor="end">{_e(label[:16])}</text>')
        x = left
        for bucket, colour in BUCKET_COLOURS.items():
            share = shares.get(bucket)
            if not share:
                continue
            w = bar_len * share
            out.append(f'<rect class="seg" data-bucket="{bucket}" x="{_f(x)}" y="{_f(y)}" '
                       f'width="{_f(w)}" height="{_f(row_h - 6)}" fill="{colour}"><title>'
                       f'{_e(f"{label}: {bucket} {share:.1%}")}</title></rect>')
            x += w
    out.append("</svg>")
    return "".join(out)


def delta_bars(
    *, chart_id: str, title: str, rows: Sequence[tuple[str, Bar | None]],
    fmt: Callable[[float], str] = lambda v: f"{v:+.2f}", min_span: float = 0.1,
) -> str:
    """Horizontal bars diverging from zero (candidate minus base), with intervals."""
    left, top, row_h, half = 110.0, 34.0, 22.0, 180.0
    span = min_span
    for _, bar in rows:
        if bar is not None:
            span = max(span, abs(bar.value), abs(bar.low or 0.0), abs(bar.high or 0.0))
    span *= 1.1
    width = max(left + 2 * half + 20, 16 + 7.0 * len(title))
    height = top + row_h * max(1, len(rows)) + 24
    zero = left + half

    def x_of(v: float) -> float:
        return zero + half * max(-1.0, min(1.0, v / span))

    out = [f'<svg class="chart" data-chart="{_e(chart_id)}" role="img" aria-label="{_e(title)}" '
           f'viewBox="0 0 {_f(width)} {_f(height)}" width="{_f(width)}" height="{_f(height)}" '
           f'xmlns="http://www.w3.org/2000/svg"><title>{_e(title)}</title>', _heading(title),
           f'<line class="axis" x1="{_f(zero)}" x2="{_f(zero)}" y1="{_f(top - 6)}" '
           f'y2="{_f(height - 20)}"/>',
           f'<text class="tick" x="{_f(left)}" y="{_f(height - 6)}">{_e(fmt(-span))}</text>',
           f'<text class="tick" x="{_f(zero)}" y="{_f(height - 6)}" text-anchor="middle">0</text>',
           f'<text class="tick" x="{_f(left + 2 * half)}" y="{_f(height - 6)}" '
           f'text-anchor="end">{_e(fmt(span))}</text>']
    for i, (label, bar) in enumerate(rows):
        y = top + i * row_h
        out.append(f'<text class="cat" x="{_f(left - 8)}" y="{_f(y + 12)}" '
                   f'text-anchor="end">{_e(label[:48])}</text>')
        if bar is None:
            continue
        x0, x1 = sorted((zero, x_of(bar.value)))
        colour = "#009E73" if bar.value >= 0 else "#D55E00"
        tip = f"{label}: {fmt(bar.value)}"
        if bar.low is not None and bar.high is not None:
            tip += f" [{fmt(bar.low)}, {fmt(bar.high)}]"
        if bar.note:
            tip += f" · {bar.note}"
        out.append(f'<rect class="delta" x="{_f(x0)}" y="{_f(y)}" width="{_f(max(x1 - x0, 1))}" '
                   f'height="{_f(row_h - 8)}" fill="{colour}"><title>{_e(tip)}</title></rect>')
        if bar.low is not None and bar.high is not None:
            yc = y + (row_h - 8) / 2
            out.append(f'<g class="errbar"><title>{_e(tip)}</title>'
                       f'<line x1="{_f(x_of(bar.low))}" x2="{_f(x_of(bar.high))}" '
                       f'y1="{_f(yc)}" y2="{_f(yc)}"/></g>')
    out.append("</svg>")
    return "".join(out)
