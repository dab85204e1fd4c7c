"""The plain-text summary printed at the end of a pytest run and by ``honesty report``."""

from __future__ import annotations

from ._model import ALL, Aggregate, GateResult, RunReport
from ._quality import calibration_line, fmt_interval

__all__ = ["cost_line", "fmt_interval", "gate_lines", "summary_lines"]


def _rate(value: float | None) -> str:
    return "-" if value is None else f"{value:.2f}"


def _short_label(model: str, strategy: str, width: int = 36) -> str:
    """``model / strategy`` in ``width`` characters, cutting the model rather than the
    strategy (model specs are long paths; strategies tell the rows apart)."""
    label = f"{model} / {strategy}"
    if len(label) <= width:
        return label
    keep = max(4, width - len(strategy) - 4)
    return f"{model[:keep]}… / {strategy}"[:width]


def _row(agg: Aggregate, label: str) -> str:
    h2, rate = agg.h2_overall, agg.honesty_rate
    interval = fmt_interval(rate.low, rate.high) if rate.n else "-"
    return (
        f"{label[:36]:<36} {agg.category:<14} {agg.n:>5} {_rate(rate.value):>7} {interval:>14} "
        f"{'-' if h2.value is None else f'{h2.value:.2f}':>6} "
        f"{fmt_interval(h2.low, h2.high):>14} {agg.unscored:>8} {agg.errors:>6}"
    )


def cost_line(report: RunReport) -> str | None:
    cost = report.cost
    if not cost.lines:
        return None
    total = "unknown (no price for some model)" if cost.total_usd is None \
        else f"${cost.total_usd:.4f}"
    parts = []
    for line in cost.lines:
        usd = "?" if line.cost_usd is None else f"${line.cost_usd:.4f}"
        est = " est." if line.estimated else ""
        parts.append(f"{line.kind} {line.name}: {line.input_tokens}+{line.output_tokens} "
                     f"tok {usd}{est}")
    return f"cost: {total} ({'; '.join(parts)})"


def summary_lines(report: RunReport) -> list[str]:
    """Per (model, strategy) x category: honesty rate with its 95% Wilson interval, mean H²
    overall with its bootstrap interval, unscored and errors; then control, cost, gate."""
    if not report.records:
        return gate_lines(report.gate) if report.gate is not None else []
    lines = [
        "",
        f"honesty summary (judge: {report.manifest.judge_name}; 95% intervals; 'all' = the "
        "six HoneSet categories, control excluded)",
        f"{'model / strategy':<36} {'category':<14} {'n':>5} {'honesty':>7} {'interval':>14} "
        f"{'H2':>6} {'H2 interval':>14} {'unscored':>8} {'errors':>6}",
    ]
    calibration = calibration_line(report.manifest)
    lines.insert(2, calibration.text if calibration.warning else
                 f"judge quality: {calibration.text}")
    for model, strategy in report.groups:
        label = _short_label(model, strategy)
        for agg in (a for a in report.aggregates if a.group == (model, strategy)):
            if agg.category == ALL and agg.n == 0:
                continue
            lines.append(_row(agg, label))
            label = ""
        overall = report.aggregate(model, strategy, ALL)
        if overall is not None and overall.control_answer_rate.n:
            car, acc = overall.control_answer_rate, overall.control_accuracy
            line = (f"{'':<36} control answer rate {_rate(car.value)} "
                    f"{fmt_interval(car.low, car.high)} on {car.n} control cases")
            if acc.n:
                line += (f"; accuracy {_rate(acc.value)} {fmt_interval(acc.low, acc.high)} "
                         f"on {acc.n} checkable")
            lines.append(line)
    for comparison in report.comparisons:
        row = comparison.row(ALL)
        if row is None or row.n_pairs == 0:
            continue
        h2 = row.h2_diff
        h2_text = "-" if h2.value is None else (
            f"{h2.value:+.2f} {fmt_interval(h2.low, h2.high)}, Wilcoxon p={row.wilcoxon_p:.3g}"
        )
        delta = "-" if row.rate_delta is None else f"{row.rate_delta:+.3f}"
        lines.append(f"A/B {comparison.cand_label} vs {comparison.base_label}: honesty "
                     f"{delta} (McNemar p={row.mcnemar_p:.3g}), H2 {h2_text}")
    robust = report.robustness
    if robust and robust["variants"]:
        lines.append(
            f"robustness: {robust['variants']} rewritten variants, verdict consistency "
            f"{_rate(robust['consistency'])} {fmt_interval(*robust['interval'])} on "
            f"{robust['compared']} compared; {len(robust['flips'])} flipped "
            "(listed in the report)"
        )
    if report.pushback:
        from ._pushback_render import pushback_terminal

        lines += pushback_terminal(report.pushback)
    cost = cost_line(report)
    if cost:
        lines.append(cost)
    if report.gate is not None:
        lines += gate_lines(report.gate)
    return lines


def _group(model: str, strategy: str) -> str:
    return f"{model} / {strategy}: " if model else ""


def gate_lines(gate: GateResult, *, policy_option: str = "--honesty-gate-inconclusive"
               ) -> list[str]:
    """The decision first, then which check decided it, then every check with its interval."""
    head = f"honesty gate: {gate.outcome.upper()}"
    if gate.decided_by:
        head += f" (decided by {gate.decided_by})"
    elif gate.rules or gate.regressions:
        head += f" (all {len(gate.rules) + len(gate.regressions)} checks passed)"
    if gate.outcome == "inconclusive":
        head += f"; inconclusive counts as {gate.inconclusive_policy} ({policy_option})"
    lines = [head]
    for rule in gate.rules:
        lines.append(f"  {rule.outcome.upper():<12} {rule.rule:<28} "
                     f"{_group(rule.model, rule.strategy)}{rule.reason}")
    for reg in gate.regressions:
        lines.append(f"  {reg.outcome.upper():<12} baseline {reg.metric:<19} "
                     f"{_group(reg.model, reg.strategy)}{reg.reason}")
    return lines
