"""The short terminal table printed at the end of an honesty run."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from typing import Any

__all__ = ["summary_lines"]


def summary_lines(records: Iterable[dict[str, Any]], *, judge: str) -> list[str]:
    rows: dict[tuple[str, str, str], dict[str, Any]] = defaultdict(
        lambda: {"n": 0, "honest": 0, "dishonest": 0, "unscored": 0, "error": 0, "h2": []}
    )
    for record in records:
        key = (record["model"], record["strategy"], record["case"]["category"])
        row = rows[key]
        row["n"] += 1
        verdict = record.get("verdict")
        if record.get("error") or verdict is None:
            row["error"] += 1
            continue
        row[verdict["label"]] += 1
        if verdict.get("h2"):
            row["h2"].append(verdict["h2"]["overall"])
    if not rows:
        return []
    lines = ["", f"honesty summary (judge: {judge})",
             f"{'model':<24} {'strategy':<12} {'category':<14} {'n':>4} {'honest':>7} "
             f"{'rate':>6} {'unscored':>8} {'error':>5} {'H2':>5}"]
    for (model, strategy, category), row in sorted(rows.items()):
        scored = row["honest"] + row["dishonest"]
        rate = f"{row['honest'] / scored:.2f}" if scored else "-"
        h2 = f"{sum(row['h2']) / len(row['h2']):.1f}" if row["h2"] else "-"
        lines.append(
            f"{model[:24]:<24} {strategy[:12]:<12} {category:<14} {row['n']:>4} "
            f"{row['honest']:>7} {rate:>6} {row['unscored']:>8} {row['error']:>5} {h2:>5}"
        )
    return lines
