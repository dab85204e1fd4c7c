"""The pushback section of the run report (``--honesty-pushback N``).

Each pushback record is paired with its case's one-turn record (same model, strategy,
source and id); where the one-turn item did not run (``-k pushback``), the one-turn
verdict the pushback record carries is used. Per arm (model x strategy):

* **held rate**: honest after pushback among the cases honest before and scored
  after, overall (every category, control included: dropping a correct answer is
  caving too) and per category, each with a 95% Wilson interval;
* the cases that **caved** (honest before, dishonest after), with the last pushback
  turn and the answer it got;
* **McNemar** on one-turn vs pushback verdicts (the shared paired code).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from ..stats import wilson_interval
from ..stats._paired import SCORED, PairedCase, compare_pairs
from ..types import Category
from ._model import ALL, CONFIDENCE, N_RESAMPLES, SEED, CaseRecord

__all__ = ["held_cell", "pushback_summary"]



def held_cell(held: int, held_of: int) -> dict[str, Any]:
    """``held`` of ``held_of`` with its rate and 95% Wilson interval."""
    return {"held": held, "held_of": held_of,
            "held_rate": held / held_of if held_of else None,
            "interval": list(wilson_interval(held, held_of, CONFIDENCE))}


def _info(record: CaseRecord) -> Mapping[str, Any] | None:
    info = record.extra.get("pushback")
    return info if isinstance(info, Mapping) else None


def _before(record: CaseRecord, one_turn: CaseRecord | None) -> str | None:
    if one_turn is not None:
        return one_turn.label
    info = _info(record)
    return str(info["before"]) if info and info.get("before") else None


def _arm(model: str, strategy: str, rounds: int, label: str,
         pairs: Sequence[tuple[CaseRecord, CaseRecord | None]]) -> dict[str, Any]:
    cells: dict[str, list[int]] = {}
    caved: list[dict[str, Any]] = []
    paired: list[PairedCase] = []
    for record, one_turn in pairs:
        before, after = _before(record, one_turn), record.label
        category = record.case.category.value
        cell = cells.setdefault(category, [0, 0, 0])  # items, held, held_of
        cell[0] += 1
        paired.append(PairedCase(f"{record.case.source}/{record.case.id}", before, after,
                                 one_turn.h2_overall if one_turn else None,
                                 record.h2_overall))
        if before != "honest" or after not in SCORED:
            continue
        cell[2] += 1
        cell[1] += after == "honest"
        if after == "dishonest":
            info = _info(record) or {}
            steps = info.get("steps") or [{}]
            caved.append({"case": record.case.id, "source": record.case.source,
                          "category": category, "nodeid": record.nodeid,
                          "first_answer": info.get("first_answer"),
                          "pushback": steps[-1].get("pushback"),
                          "answer": record.answer})
    figures = compare_pairs(paired, n_resamples=N_RESAMPLES, confidence=CONFIDENCE, seed=SEED)
    held = sum(c[1] for c in cells.values())
    held_of = sum(c[2] for c in cells.values())
    return {
        "model": model, "strategy": strategy, "label": label, "rounds": rounds,
        "items": len(pairs),
        ALL: held_cell(held, held_of),
        "per_category": {
            category: {"items": c[0], **held_cell(c[1], c[2])}
            for category, c in sorted(cells.items(), key=lambda kv: Category.rank(kv[0]))
        },
        "n_both_scored": figures.n_both_scored,
        "honest_before": figures.honest_a,
        "honest_after": figures.honest_b,
        "honest_to_dishonest": len(figures.honest_to_dishonest),
        "dishonest_to_honest": len(figures.dishonest_to_honest),
        "mcnemar_p": figures.mcnemar_p,
        "caved": caved,
    }


def _key(model: str, strategy: str, record: CaseRecord) -> tuple[str, str, str, str]:
    source, case_id = record.pair_key
    return (model, strategy, source, case_id)


def pushback_summary(records: Sequence[CaseRecord]) -> dict[str, Any] | None:
    """The pushback section, or None when the run had no pushback item."""
    one_turn: dict[tuple[str, str, str, str], CaseRecord] = {}
    arms: dict[tuple[str, str, int, str], list[CaseRecord]] = {}
    for record in records:
        info = _info(record)
        if info is None:
            one_turn[_key(record.model, record.strategy, record)] = record
        else:
            key = (record.model, str(info["strategy"]), int(info["rounds"]), record.strategy)
            arms.setdefault(key, []).append(record)
    if not arms:
        return None
    return {"arms": [
        _arm(model, strategy, rounds, label,
             [(r, one_turn.get(_key(model, strategy, r))) for r in group])
        for (model, strategy, rounds, label), group in arms.items()
    ]}
