"""Base vs adapters on the same cases: honesty rate, mean H², paired tests.

A small, self-contained comparison for the fine-tuning pipeline (``honesty compare``
does the full report-to-report A/B): base vs one adapter (:func:`compare_records`), or
several arms, each pair of them compared (:func:`compare_arms`: base, direct, two-stage).
Records are paired by case id; honesty rate is honest / (honest + dishonest) over
the six HoneSet categories (control cases are reported apart: there "honest" means
answered without a needless refusal); unscored answers and errors count as neither.
McNemar's exact test runs on the cases both models got scored verdicts for, the paired
bootstrap on the cases both got an H² score for.
"""

from __future__ import annotations

import itertools
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from ..report._build import decode_record
from ..report._model import CaseRecord
from ..stats import bootstrap_mean_interval, wilson_interval
from ..stats._paired import PairedCase, compare_pairs

__all__ = ["GroupFigures", "arms_markdown", "compare_arms", "compare_records", "markdown_table"]


@dataclass(frozen=True)
class GroupFigures:
    n: int
    honest: int
    dishonest: int
    unscored: int
    errors: int
    h2: tuple[float, ...]

    @property
    def honesty_rate(self) -> float | None:
        scored = self.honest + self.dishonest
        return self.honest / scored if scored else None

    @property
    def mean_h2(self) -> float | None:
        return sum(self.h2) / len(self.h2) if self.h2 else None

    def to_dict(self) -> dict[str, Any]:
        low, high = wilson_interval(self.honest, self.honest + self.dishonest)
        h2_interval = list(bootstrap_mean_interval(self.h2)[1:]) if self.h2 else None
        return {
            "n": self.n, "honest": self.honest, "dishonest": self.dishonest,
            "unscored": self.unscored, "errors": self.errors,
            "honesty_rate": self.honesty_rate, "honesty_rate_ci95": [low, high],
            "mean_h2": self.mean_h2, "mean_h2_ci95": h2_interval, "h2_n": len(self.h2),
        }


def _figures(records: Sequence[CaseRecord]) -> GroupFigures:
    labels = [r.label for r in records]
    return GroupFigures(
        n=len(records),
        honest=labels.count("honest"),
        dishonest=labels.count("dishonest"),
        unscored=labels.count("unscored"),
        errors=labels.count("error"),
        h2=tuple(r.h2_overall for r in records if r.h2_overall is not None),
    )


def _by_case(records: Sequence[CaseRecord]) -> dict[str, CaseRecord]:
    return {r.case.id: r for r in records}


def _paired(base: dict[str, CaseRecord], cand: dict[str, CaseRecord]) -> dict[str, Any]:
    figures = compare_pairs([
        PairedCase(case, base[case].label, cand[case].label, base[case].h2_overall,
                   cand[case].h2_overall)
        for case in sorted(set(base) & set(cand))
    ])
    h2 = figures.h2
    return {
        "paired_cases": figures.n_pairs,
        "honest_to_dishonest": len(figures.honest_to_dishonest),
        "dishonest_to_honest": len(figures.dishonest_to_honest),
        "mcnemar_p": figures.mcnemar_p,
        "h2_pairs": h2.n if h2 else 0,
        "h2_diff": h2.mean_diff if h2 else None,
        "h2_diff_ci95": list(h2.diff_interval) if h2 else None,
        "flips": {"honest_to_dishonest": list(figures.honest_to_dishonest),
                  "dishonest_to_honest": list(figures.dishonest_to_honest)},
    }


def _select(
    typed: Sequence[CaseRecord], model: str, strategy: str, control: bool
) -> list[CaseRecord]:
    return [r for r in typed if r.model == model and r.strategy == strategy
            and r.case.category.is_control == control]


def compare_arms(
    records: Sequence[dict[str, Any] | CaseRecord], arms: Sequence[tuple[str, str]],
    strategy: str = "raw",
) -> dict[str, Any]:
    """Figures of every arm (``(name, model spec)``, e.g. base, direct, two-stage) and the
    paired differences of each pair of arms, later minus earlier, overall and for control."""
    names = [name for name, _ in arms]
    if len(set(names)) != len(names) or len(arms) < 2:
        raise ValueError(f"compare_arms needs two or more arms with distinct names, got {names}")
    typed = [decode_record(r) for r in records]
    out: dict[str, Any] = {
        "strategy": strategy, "arms": [{"name": n, "model": m} for n, m in arms],
    }
    for part, control in (("honeset", False), ("control", True)):
        chosen = {name: _select(typed, model, strategy, control) for name, model in arms}
        out[part] = {
            "arms": {name: _figures(chosen[name]).to_dict() for name in names},
            "comparisons": [
                {"a": a, "b": b, **_paired(_by_case(chosen[a]), _by_case(chosen[b]))}
                for a, b in itertools.combinations(names, 2)
            ],
        }
    return out


def _interval(values: Sequence[float] | None, digits: int) -> str:
    return "" if not values else f" [{values[0]:.{digits}f}, {values[1]:.{digits}f}]"


def arms_markdown(result: dict[str, Any]) -> str:
    """:func:`compare_arms` as Markdown: one row per arm, then one row per pair of arms."""
    models = {arm["name"]: arm["model"] for arm in result["arms"]}
    lines: list[str] = []
    for part, title in (("honeset", "HoneSet categories"), ("control", "control cases")):
        data = result[part]
        if not any(f["n"] for f in data["arms"].values()):
            continue  # e.g. no control case among the held-out ones
        lines += [
            f"**{title}** (strategy {result['strategy']}; 95% intervals: Wilson for the "
            "rate, bootstrap for the mean)",
            "",
            "| arm | model | n | honest | dishonest | unscored | errors | honesty rate | "
            "mean H² |",
            "|---|---|---:|---:|---:|---:|---:|---|---|",
        ]
        for name, f in data["arms"].items():
            lines.append(
                f"| {name} | `{models[name]}` | {f['n']} | {f['honest']} | {f['dishonest']} | "
                f"{f['unscored']} | {f['errors']} | {_fmt(f['honesty_rate'])}"
                f"{_interval(f['honesty_rate_ci95'] if f['honesty_rate'] is not None else None, 2)}"
                f" | {_fmt(f['mean_h2'], 2)}{_interval(f['mean_h2_ci95'], 2)} |"
            )
        lines += [
            "",
            "| comparison (B vs A) | paired | dishonest→honest | honest→dishonest | "
            "McNemar exact p | Δ H² (B − A) [95% paired bootstrap] | H² pairs |",
            "|---|---:|---:|---:|---:|---|---:|",
        ]
        for c in data["comparisons"]:
            lines.append(
                f"| {c['b']} vs {c['a']} | {c['paired_cases']} | {c['dishonest_to_honest']} | "
                f"{c['honest_to_dishonest']} | {_fmt(c['mcnemar_p'])} | "
                f"{_fmt(c['h2_diff'], 2)}{_interval(c['h2_diff_ci95'], 2)} | {c['h2_pairs']} |"
            )
        lines.append("")
    return "\n".join(lines)


def compare_records(
    records: Sequence[dict[str, Any] | CaseRecord], base_model: str, candidate_model: str,
    strategy: str = "raw",
) -> dict[str, Any]:
    """Figures of both models and their paired differences, overall and for control.
    ``records``: run report records or session records (see :func:`decode_record`)."""
    typed = [decode_record(r) for r in records]
    out: dict[str, Any] = {"base": base_model, "candidate": candidate_model, "strategy": strategy}
    for part, control in (("honeset", False), ("control", True)):
        base = _select(typed, base_model, strategy, control)
        cand = _select(typed, candidate_model, strategy, control)
        out[part] = {
            "base": _figures(base).to_dict(),
            "candidate": _figures(cand).to_dict(),
            "paired": _paired(_by_case(base), _by_case(cand)),
        }
    return out


def _fmt(value: float | None, digits: int = 3) -> str:
    return "n/a" if value is None else f"{value:.{digits}f}"


def markdown_table(result: dict[str, Any]) -> str:
    """The comparison as a Markdown table (one row per model, then the paired tests)."""
    lines = []
    for part, title in (("honeset", "HoneSet categories"), ("control", "control cases")):
        data = result[part]
        lines += [
            f"**{title}** (strategy {result['strategy']})",
            "",
            "| model | n | honest | dishonest | unscored | errors | honesty rate | mean H² |",
            "|---|---|---|---|---|---|---|---|",
        ]
        for role in ("base", "candidate"):
            f = data[role]
            lines.append(
                f"| {result[role]} | {f['n']} | {f['honest']} | {f['dishonest']} | "
                f"{f['unscored']} | {f['errors']} | {_fmt(f['honesty_rate'])} | "
                f"{_fmt(f['mean_h2'], 2)} |"
            )
        p = data["paired"]
        ci = p["h2_diff_ci95"]
        lines += [
            "",
            f"paired cases {p['paired_cases']}: honest→dishonest {p['honest_to_dishonest']}, "
            f"dishonest→honest {p['dishonest_to_honest']}, McNemar exact p = "
            f"{_fmt(p['mcnemar_p'])}; H² difference (candidate − base) "
            f"{_fmt(p['h2_diff'], 2)}"
            + (f" [95% CI {ci[0]:.2f}, {ci[1]:.2f}]" if ci else "")
            + f" over {p['h2_pairs']} cases",
            "",
        ]
    return "\n".join(lines)
