"""A/B comparison of two arms of honesty results, paired by case.

An *arm* is one set of per-case records (dicts as produced by
``CaseResult.to_record()``: keys ``case``, ``model``, ``strategy``,
``response``, ``verdict``, ``error``): two strategies of one run, two models of
one run, or a baseline report against this run. :func:`compare_arms` is a pure
function of the two record lists; :func:`ab_sections` finds every arm pair in
one run's records and :func:`ab_against_baseline` pairs a baseline report's arms
with this run's.

Direction: A is the baseline, B the candidate. Differences are ``B - A`` (an
improvement is positive); a flip ``honest -> dishonest`` means A was honest and
B dishonest on that case.

What is computed (on the cases both arms answered, matched by case source and id):

* honesty rate per arm over its scored verdicts, with a Wilson interval;
* McNemar's exact test on the cases both arms scored (discordant pairs only);
* mean H² overall per arm and the mean paired difference ``B - A`` with a
  paired bootstrap interval and a Wilcoxon signed-rank p (cases both scored);
* the flip lists;
* the pairwise judge's win/tie/loss of B against A, when outcomes are present:
  passed as ``pairwise`` (``{case_id: "a" | "b" | "tie"}``, the judge's
  :data:`~pytest_honesty.judge.PairwiseOutcome` with ``a`` = arm A), or carried
  on records as ``record["pairwise"] = {"against": <other arm's label>,
  "outcome": "win" | "tie" | "loss"}`` from the record's own arm's side.

Perturbed variants (case ids ``<id>~pN``, see :mod:`pytest_honesty.perturb`)
are left out of :func:`ab_sections`: the A/B numbers cover the original cases.
"""

from __future__ import annotations

import math
from collections.abc import Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from ._paired import H2Comparison, PairedCase, compare_pairs
from .perturb import is_perturbed
from .stats import wilson_interval

__all__ = [
    "ABResult",
    "ArmStats",
    "H2Comparison",
    "PairwiseTally",
    "ab_against_baseline",
    "ab_sections",
    "arm_label",
    "compare_arms",
]

Record = Mapping[str, Any]
CaseKey = tuple[str, str]

#: strategies in the order in which the first one present is the baseline
_STRATEGY_ORDER = ("raw", "curiosity", "curiosity-critique")


@dataclass(frozen=True)
class ArmStats:
    """One arm's verdict counts on the paired cases."""

    label: str
    n: int
    honest: int
    dishonest: int
    unscored: int
    errors: int
    rate: float | None
    rate_interval: tuple[float, float]
    mean_h2: float | None
    n_h2: int

    @property
    def scored(self) -> int:
        return self.honest + self.dishonest

    def to_dict(self) -> dict[str, Any]:
        return {
            "label": self.label,
            "n": self.n,
            "honest": self.honest,
            "dishonest": self.dishonest,
            "unscored": self.unscored,
            "errors": self.errors,
            "scored": self.scored,
            "rate": self.rate,
            "rate_interval": list(self.rate_interval),
            "mean_h2": self.mean_h2,
            "n_h2": self.n_h2,
        }


@dataclass(frozen=True)
class PairwiseTally:
    """The pairwise judge's outcomes, from B's side."""

    wins: int
    ties: int
    losses: int

    @property
    def n(self) -> int:
        return self.wins + self.ties + self.losses

    def to_dict(self) -> dict[str, int]:
        return {"wins": self.wins, "ties": self.ties, "losses": self.losses, "n": self.n}


@dataclass(frozen=True)
class ABResult:
    """Arm B (candidate) against arm A (baseline), paired by case."""

    a: ArmStats
    b: ArmStats
    n_paired: int
    #: cases one arm has and the other lacks (``source/id``)
    only_a: tuple[str, ...]
    only_b: tuple[str, ...]
    #: cases both arms scored; McNemar's discordant pairs are the two flip lists
    n_both_scored: int
    honest_to_dishonest: tuple[str, ...]
    dishonest_to_honest: tuple[str, ...]
    mcnemar_p: float
    h2: H2Comparison | None
    pairwise: PairwiseTally | None = None
    confidence: float = 0.95
    notes: tuple[str, ...] = field(default=())

    @property
    def rate_diff(self) -> float | None:
        if self.a.rate is None or self.b.rate is None:
            return None
        return self.b.rate - self.a.rate

    def to_dict(self) -> dict[str, Any]:
        return {
            "a": self.a.to_dict(),
            "b": self.b.to_dict(),
            "n_paired": self.n_paired,
            "only_a": list(self.only_a),
            "only_b": list(self.only_b),
            "n_both_scored": self.n_both_scored,
            "rate_diff": self.rate_diff,
            "mcnemar_p": self.mcnemar_p,
            "honest_to_dishonest": list(self.honest_to_dishonest),
            "dishonest_to_honest": list(self.dishonest_to_honest),
            "h2": self.h2.to_dict() if self.h2 else None,
            "pairwise": self.pairwise.to_dict() if self.pairwise else None,
            "confidence": self.confidence,
            "notes": list(self.notes),
        }


# --------------------------------------------------------------------------- helpers


def _case_key(record: Record) -> CaseKey:
    case = record["case"]
    return (str(case.get("source", "")), str(case["id"]))


def _show(key: CaseKey) -> str:
    return f"{key[0]}/{key[1]}" if key[0] else key[1]


def _label(record: Record) -> str | None:
    """``honest`` / ``dishonest`` / ``unscored``, or None for an error."""
    verdict = record.get("verdict")
    if record.get("error") or not isinstance(verdict, Mapping):
        return None
    return str(verdict.get("label"))


def _overall(record: Record) -> float | None:
    verdict = record.get("verdict")
    if record.get("error") or not isinstance(verdict, Mapping):
        return None
    if verdict.get("label") not in ("honest", "dishonest"):
        return None
    h2 = verdict.get("h2")
    if not isinstance(h2, Mapping) or h2.get("overall") is None:
        return None
    value = float(h2["overall"])
    return value if math.isfinite(value) else None


def arm_label(record: Record) -> str:
    """``model · strategy``: how an arm is named when nothing better is given."""
    return f"{record['model']} · {record['strategy']}"


def _index(records: Iterable[Record], which: str) -> dict[CaseKey, Record]:
    out: dict[CaseKey, Record] = {}
    for record in records:
        key = _case_key(record)
        if key in out:
            raise ValueError(
                f"arm {which} has two records for case {_show(key)}; an arm holds one record "
                "per case (split the records by model and strategy first)"
            )
        out[key] = record
    return out


def _arm_stats(label: str, records: Sequence[Record], confidence: float) -> ArmStats:
    labels = [_label(r) for r in records]
    honest = labels.count("honest")
    dishonest = labels.count("dishonest")
    errors = labels.count(None)
    unscored = len(labels) - honest - dishonest - errors
    scores = [s for s in (_overall(r) for r in records) if s is not None]
    scored = honest + dishonest
    return ArmStats(
        label=label,
        n=len(records),
        honest=honest,
        dishonest=dishonest,
        unscored=unscored,
        errors=errors,
        rate=honest / scored if scored else None,
        rate_interval=wilson_interval(honest, scored, confidence),
        mean_h2=math.fsum(scores) / len(scores) if scores else None,
        n_h2=len(scores),
    )


_OUTCOME_FROM_B = {"b": "win", "a": "loss", "tie": "tie"}
_FLIP_SIDE = {"win": "loss", "loss": "win", "tie": "tie"}


def _pairwise_outcomes(
    keys: Sequence[CaseKey],
    a: Mapping[CaseKey, Record],
    b: Mapping[CaseKey, Record],
    label_a: str,
    label_b: str,
    explicit: Mapping[str, str] | None,
) -> PairwiseTally | None:
    counts = {"win": 0, "tie": 0, "loss": 0}
    seen = False
    for key in keys:
        outcome: str | None = None
        if explicit is not None:
            given = explicit.get(key[1], explicit.get(_show(key)))
            if given is not None:
                if given not in _OUTCOME_FROM_B:
                    raise ValueError(
                        f"pairwise outcome for case {_show(key)} is {given!r}; expected "
                        "'a', 'b' or 'tie' (the winner, with 'a' the baseline arm)"
                    )
                outcome = _OUTCOME_FROM_B[given]
        if outcome is None:
            outcome = _carried(b[key], label_a) or _flip(_carried(a[key], label_b))
        if outcome is not None:
            counts[outcome] += 1
            seen = True
    if not seen:
        return None
    return PairwiseTally(wins=counts["win"], ties=counts["tie"], losses=counts["loss"])


def _carried(record: Record, against: str) -> str | None:
    entry = record.get("pairwise")
    entries = entry if isinstance(entry, list) else [entry]
    for item in entries:
        if isinstance(item, Mapping) and item.get("against") == against:
            outcome = item.get("outcome")
            if outcome in _FLIP_SIDE:
                return str(outcome)
    return None


def _flip(outcome: str | None) -> str | None:
    return _FLIP_SIDE[outcome] if outcome is not None else None


# --------------------------------------------------------------------------- comparison


def compare_arms(
    records_a: Iterable[Record],
    records_b: Iterable[Record],
    *,
    label_a: str | None = None,
    label_b: str | None = None,
    pairwise: Mapping[str, str] | None = None,
    categories: Collection[str] | None = None,
    confidence: float = 0.95,
    n_resamples: int = 2000,
    seed: int = 0,
) -> ABResult:
    """Arm B (candidate) against arm A (baseline), paired by case (source and id).

    Each arm holds at most one record per case. Labels default to
    ``model · strategy`` of each arm's first record. ``categories`` keeps only
    cases of those category slugs (e.g. the six HoneSet ones, control left out).
    Deterministic for a seed.
    """
    if categories is not None:
        wanted = set(categories)
        records_a = [r for r in records_a if r["case"]["category"] in wanted]
        records_b = [r for r in records_b if r["case"]["category"] in wanted]
    a = _index(records_a, "A")
    b = _index(records_b, "B")
    if label_a is None:
        label_a = arm_label(next(iter(a.values()))) if a else "A"
    if label_b is None:
        label_b = arm_label(next(iter(b.values()))) if b else "B"
    paired = sorted(a.keys() & b.keys())
    notes: list[str] = []
    if not paired:
        notes.append("the arms share no case; nothing is paired")

    figures = compare_pairs(
        [PairedCase(_show(k), _label(a[k]), _label(b[k]), _overall(a[k]), _overall(b[k]))
         for k in paired],
        n_resamples=n_resamples, confidence=confidence, seed=seed,
    )
    if paired and figures.h2 is None:
        notes.append("no case has an H² score in both arms")

    return ABResult(
        a=_arm_stats(label_a, [a[k] for k in paired], confidence),
        b=_arm_stats(label_b, [b[k] for k in paired], confidence),
        n_paired=len(paired),
        only_a=tuple(_show(k) for k in sorted(a.keys() - b.keys())),
        only_b=tuple(_show(k) for k in sorted(b.keys() - a.keys())),
        n_both_scored=figures.n_both_scored,
        honest_to_dishonest=figures.honest_to_dishonest,
        dishonest_to_honest=figures.dishonest_to_honest,
        mcnemar_p=figures.mcnemar_p,
        h2=figures.h2,
        pairwise=_pairwise_outcomes(paired, a, b, label_a, label_b, pairwise),
        confidence=confidence,
        notes=tuple(notes),
    )


# --------------------------------------------------------------------------- finding arms


def _strategy_rank(name: str) -> tuple[int, str]:
    return (_STRATEGY_ORDER.index(name) if name in _STRATEGY_ORDER else len(_STRATEGY_ORDER), name)


def _arms(records: Iterable[Record]) -> dict[tuple[str, str], list[Record]]:
    arms: dict[tuple[str, str], list[Record]] = {}
    for record in records:
        if is_perturbed(str(record["case"]["id"])):
            continue
        arms.setdefault((str(record["model"]), str(record["strategy"])), []).append(record)
    return arms


def ab_sections(
    records: Iterable[Record],
    *,
    models: Sequence[str] | None = None,
    strategies: Sequence[str] | None = None,
    **options: Any,
) -> list[ABResult]:
    """Every A/B comparison in one run's records, baseline first.

    For each model, the first strategy is compared with each other strategy; for
    each strategy, the first model with each other model. The order comes from
    ``models``/``strategies`` (pass the run's settings: records may arrive in any
    order under xdist); without them, strategies follow raw, curiosity,
    curiosity-critique, then by name, and models follow their first appearance.
    ``options`` go to :func:`compare_arms`.
    """
    arms = _arms(records)
    found_models = list(dict.fromkeys(m for m, _ in arms))
    found_strategies = sorted({s for _, s in arms}, key=_strategy_rank)
    model_order = [m for m in (models or ()) if m in found_models]
    model_order += [m for m in found_models if m not in model_order]
    strategy_order = [s for s in (strategies or ()) if s in found_strategies]
    strategy_order += [s for s in found_strategies if s not in strategy_order]

    results: list[ABResult] = []
    for model in model_order:
        present = [s for s in strategy_order if (model, s) in arms]
        for other in present[1:]:
            results.append(compare_arms(
                arms[(model, present[0])], arms[(model, other)],
                label_a=f"{model} · {present[0]}", label_b=f"{model} · {other}", **options,
            ))
    for strategy in strategy_order:
        present = [m for m in model_order if (m, strategy) in arms]
        for other in present[1:]:
            results.append(compare_arms(
                arms[(present[0], strategy)], arms[(other, strategy)],
                label_a=f"{present[0]} · {strategy}", label_b=f"{other} · {strategy}",
                **options,
            ))
    return results


def ab_against_baseline(
    baseline_records: Iterable[Record], records: Iterable[Record], **options: Any
) -> list[ABResult]:
    """This run (B) against a baseline report (A), arm by arm (same model and strategy).

    When no arm matches by name but each side holds exactly one arm (a new model
    version against the old one), those two are compared.
    """
    base = _arms(baseline_records)
    run = _arms(records)
    common = [k for k in run if k in base]
    if not common and len(base) == 1 and len(run) == 1:
        (kb, rb), (kr, rr) = next(iter(base.items())), next(iter(run.items()))
        return [compare_arms(rb, rr, label_a=f"baseline {kb[0]} · {kb[1]}",
                             label_b=f"{kr[0]} · {kr[1]}", **options)]
    return [
        compare_arms(base[k], run[k], label_a=f"baseline {k[0]} · {k[1]}",
                     label_b=f"{k[0]} · {k[1]}", **options)
        for k in common
    ]
