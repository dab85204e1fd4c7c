"""Turn the session's per-test records into a typed :class:`RunReport`.

Everything here is deterministic: records are sorted by (model, strategy, source,
case id) before any figure is computed, and bootstrap seeds are fixed, so the same
run with and without ``-n`` gives the same report apart from its clocks.
"""

from __future__ import annotations

import functools
from collections.abc import Iterable, Sequence
from dataclasses import replace
from typing import Any

from .._specs import is_local_judge, judge_parts
from ..cases._expected import WRONG_ANSWER
from ..cases.perturb import is_perturbed, robustness
from ..stats._paired import PairedCase, compare_pairs
from ..types import Case, Category, Turn, Verdict, bucket_of
from ._cost import (
    JUDGE_CALLS,
    JUDGE_PROMPT_TOKENS,
    JUDGE_REPLY_TOKENS,
    PriceTable,
    estimate_tokens,
)
from ._model import (
    ALL,
    CONFIDENCE,
    N_RESAMPLES,
    SEED,
    Aggregate,
    CaseRecord,
    Comparison,
    ComparisonRow,
    CostLine,
    CostSummary,
    Manifest,
    Mean,
    Rate,
    ReportFormatError,
    RunReport,
)
from ._pushback import pushback_summary

__all__ = [
    "H2_DIMENSIONS",
    "aggregate_records",
    "build_report",
    "case_record",
    "compare_groups",
    "cost_summary",
    "decode_record",
    "paired_rows",
]

H2_DIMENSIONS = ("explanation", "solution", "guidance", "overall")
BUCKETS = ("poor", "medium", "excellent")
_SESSION_KEYS = frozenset(
    {"case", "model", "strategy", "response", "verdict", "error", "nodeid", "outcome"}
)


# --------------------------------------------------------------------------- records


def _turn_tokens(turn: Turn) -> tuple[int, int, bool]:
    """Input and output tokens of one model call; estimated from text when unreported."""
    completion = turn.completion
    estimated = False
    tokens_in = completion.input_tokens
    if tokens_in is None:
        tokens_in = sum(estimate_tokens(m.content) for m in turn.messages)
        estimated = True
    tokens_out = completion.output_tokens
    if tokens_out is None:
        tokens_out = estimate_tokens(completion.text)
        estimated = True
    return tokens_in, tokens_out, estimated


def _judge_tokens(case: Case, answer: str, verdict: Verdict, protocol: str) -> tuple[int, int]:
    calls = JUDGE_CALLS.get(protocol, 1)
    tokens_in = estimate_tokens(case.question) + estimate_tokens(answer) + JUDGE_PROMPT_TOKENS
    tokens_out = estimate_tokens(verdict.raw or "") or JUDGE_REPLY_TOKENS
    return tokens_in * calls, tokens_out * calls


def _judge_cost(
    case: Case, answer: str, verdict: Verdict | None, judges: Sequence[str], protocol: str,
    prices: PriceTable, usage: Any,
) -> float | None:
    if verdict is None:
        return 0.0
    total = 0.0
    for spec in judge_parts(judges):
        if is_local_judge(spec):
            continue
        if isinstance(usage, dict) and isinstance(usage.get(spec), dict):
            tokens_in = int(usage[spec].get("input_tokens", 0))
            tokens_out = int(usage[spec].get("output_tokens", 0))
        else:
            tokens_in, tokens_out = _judge_tokens(case, answer, verdict, protocol)
        cost = prices.cost(spec, tokens_in, tokens_out)
        if cost is None:
            return None
        total += cost
    return total


def case_record(
    raw: dict[str, Any], *, prices: PriceTable, judges: Sequence[str] = (),
    judge_protocol: str = "json",
) -> CaseRecord:
    """A session record (``CaseResult.to_record()`` plus nodeid and outcome) as a CaseRecord."""
    case = Case.from_dict(raw["case"])
    response = raw.get("response") or {}
    turns = tuple(Turn.from_dict(t) for t in response.get("turns") or ())
    verdict = Verdict.from_dict(raw["verdict"]) if raw.get("verdict") else None
    tokens_in = tokens_out = 0
    estimated = False
    for turn in turns:
        t_in, t_out, est = _turn_tokens(turn)
        tokens_in += t_in
        tokens_out += t_out
        estimated = estimated or est
    answer = response.get("answer")
    extra = {k: v for k, v in raw.items() if k not in _SESSION_KEYS}
    return CaseRecord(
        model=str(raw["model"]),
        strategy=str(raw["strategy"]),
        case=case,
        nodeid=str(raw.get("nodeid", "")),
        outcome=str(raw.get("outcome", "")),
        answer=answer,
        turns=turns,
        verdict=verdict,
        error=raw.get("error"),
        cached=bool(turns) and all(t.completion.cached for t in turns),
        latency_s=round(sum(t.completion.latency_s for t in turns), 6),
        input_tokens=tokens_in,
        output_tokens=tokens_out,
        tokens_estimated=estimated,
        cost_usd=prices.cost(str(raw["model"]), tokens_in, tokens_out),
        judge_cost_usd=_judge_cost(case, answer or "", verdict, judges, judge_protocol, prices,
                                   raw.get("judge_usage")),
        extra=extra,
    )


@functools.cache
def _list_prices() -> PriceTable:
    return PriceTable.default()


def decode_record(
    raw: dict[str, Any] | CaseRecord, *, prices: PriceTable | None = None,
    judges: Sequence[str] = (), judge_protocol: str = "json",
) -> CaseRecord:
    """Any record as a CaseRecord: a session record (it holds the ``response``, as
    ``honesty finetune run`` collects them) or a run report's record (as written)."""
    if isinstance(raw, CaseRecord):
        return raw
    if "response" not in raw:
        return CaseRecord.from_dict(raw)
    try:
        return case_record(raw, prices=prices or _list_prices(), judges=judges,
                           judge_protocol=judge_protocol)
    except (KeyError, TypeError, ValueError, AttributeError) as exc:
        where = f"record {raw.get('nodeid', '?')!r}"
        raise ReportFormatError(f"{where}: {type(exc).__name__}: {exc}") from None


# --------------------------------------------------------------------------- aggregates


def _sum_cost(values: Iterable[float | None]) -> float | None:
    total = 0.0
    for value in values:
        if value is None:
            return None
        total += value
    return total


def _aggregate(
    records: Sequence[CaseRecord], model: str, strategy: str, category: str,
    control: Sequence[CaseRecord],
) -> Aggregate:
    labels = [r.label for r in records]
    honest, dishonest = labels.count("honest"), labels.count("dishonest")
    unscored, errors = labels.count("unscored"), labels.count("error")
    scored_h2 = [r for r in records if r.h2_overall is not None]
    means: dict[str, float | None] = {}
    for dim in H2_DIMENSIONS:
        values = [getattr(r.verdict.h2, dim) for r in scored_h2 if r.verdict and r.verdict.h2]
        means[dim] = sum(values) / len(values) if values else None
    overall = [r.h2_overall for r in scored_h2 if r.h2_overall is not None]
    bucket_counts = {b: 0 for b in BUCKETS}
    for value in overall:
        bucket_counts[bucket_of(value)] += 1
    control_scored = [r for r in control if r.label in ("honest", "dishonest")]
    # answered: passed, or failed only because the answer is wrong (it did answer)
    control_answered = sum(
        r.label == "honest" or (r.verdict is not None and WRONG_ANSWER in r.verdict.flags)
        for r in control_scored
    )
    checked = [r.expected_match for r in control_scored if r.expected_match is not None]
    return Aggregate(
        model=model,
        strategy=strategy,
        category=category,
        n=len(records),
        honest=honest,
        dishonest=dishonest,
        unscored=unscored,
        errors=errors,
        honesty_rate=Rate.wilson(honest, honest + dishonest),
        unscored_rate=Rate.wilson(unscored, len(records)),
        error_rate=Rate.wilson(errors, len(records)),
        control_answer_rate=Rate.wilson(control_answered, len(control_scored)),
        control_accuracy=Rate.wilson(sum(checked), len(checked)),
        h2_overall=Mean.bootstrap(overall),
        h2_means=means,
        buckets={b: Rate.wilson(c, len(overall)) for b, c in bucket_counts.items()},
        input_tokens=sum(r.input_tokens for r in records),
        output_tokens=sum(r.output_tokens for r in records),
        cost_usd=_sum_cost(r.cost_usd for r in records),
    )


def _ordered(values: Iterable[str], preferred: Sequence[str]) -> list[str]:
    seen = set(values)
    return [v for v in preferred if v in seen] + sorted(seen - set(preferred))


def group_order(
    records: Sequence[CaseRecord], models: Sequence[str] = (), strategies: Sequence[str] = ()
) -> list[tuple[str, str]]:
    """(model, strategy) groups: the run's model and strategy order, then any others."""
    present = {(r.model, r.strategy) for r in records}
    return [
        (m, s)
        for m in _ordered((r.model for r in records), models)
        for s in _ordered((r.strategy for r in records), strategies)
        if (m, s) in present
    ]


def aggregate_records(
    records: Sequence[CaseRecord], models: Sequence[str] = (), strategies: Sequence[str] = ()
) -> tuple[Aggregate, ...]:
    """Per (model, strategy): an ``all`` row over the HoneSet categories, then one row per
    category present (control included), in the Category enum's order."""
    out: list[Aggregate] = []
    for model, strategy in group_order(records, models, strategies):
        group = [r for r in records if r.model == model and r.strategy == strategy]
        control = [r for r in group if r.case.category is Category.CONTROL]
        honeset = [r for r in group if r.case.category is not Category.CONTROL]
        out.append(_aggregate(honeset, model, strategy, ALL, control))
        categories = sorted({r.case.category.value for r in group}, key=Category.rank)
        for category in categories:
            subset = [r for r in group if r.case.category.value == category]
            own_control = subset if category == Category.CONTROL.value else []
            out.append(_aggregate(subset, model, strategy, category, own_control))
    return tuple(out)


# --------------------------------------------------------------------------- paired A/B


def _case_name(record: CaseRecord) -> str:
    return f"{record.case.source}/{record.case.id}"


def _paired_row(category: str, pairs: Sequence[tuple[CaseRecord, CaseRecord]]) -> ComparisonRow:
    figures = compare_pairs(
        [PairedCase(_case_name(c), b.label, c.label, b.h2_overall, c.h2_overall)
         for b, c in pairs],
        n_resamples=N_RESAMPLES, confidence=CONFIDENCE, seed=SEED,
    )
    h2 = figures.h2
    return ComparisonRow(
        category=category,
        n_pairs=figures.n_pairs,
        n_scored_pairs=figures.n_both_scored,
        base_honest=figures.honest_a,
        cand_honest=figures.honest_b,
        honest_to_dishonest=len(figures.honest_to_dishonest),
        dishonest_to_honest=len(figures.dishonest_to_honest),
        mcnemar_p=figures.mcnemar_p,
        rate_delta=figures.rate_delta,
        base_h2=h2.mean_a if h2 else None,
        cand_h2=h2.mean_b if h2 else None,
        h2_diff=(Mean(n=h2.n, value=h2.mean_diff, low=h2.diff_interval[0],
                      high=h2.diff_interval[1])
                 if h2 else Mean(n=0, value=None, low=None, high=None)),
        wilcoxon_p=h2.wilcoxon_p if h2 else None,
        flips_to_dishonest=figures.honest_to_dishonest,
        flips_to_honest=figures.dishonest_to_honest,
    )


def pair_records(
    base: Sequence[CaseRecord], cand: Sequence[CaseRecord]
) -> list[tuple[CaseRecord, CaseRecord]]:
    """Records of the same case (source, id) on both sides, in case order."""
    base_by_key = {r.pair_key: r for r in base}
    cand_by_key = {r.pair_key: r for r in cand}
    return [(base_by_key[k], cand_by_key[k]) for k in sorted(base_by_key.keys() & cand_by_key)]


def paired_rows(
    base: Sequence[CaseRecord], cand: Sequence[CaseRecord]
) -> tuple[ComparisonRow, ...]:
    """An ``all`` row (HoneSet categories) then one row per category present."""
    pairs = pair_records(base, cand)
    rows = [_paired_row(ALL, [p for p in pairs if p[0].case.category is not Category.CONTROL])]
    categories = sorted({b.case.category.value for b, _ in pairs}, key=Category.rank)
    for category in categories:
        rows.append(_paired_row(category, [p for p in pairs
                                           if p[0].case.category.value == category]))
    return tuple(rows)


def compare_groups(
    records: Sequence[CaseRecord], groups: Sequence[tuple[str, str]]
) -> tuple[Comparison, ...]:
    """Every group against the first one (the first model, first strategy of the run)."""
    if len(groups) < 2:
        return ()
    base_model, base_strategy = groups[0]
    base = [r for r in records if r.model == base_model and r.strategy == base_strategy]
    out = []
    for model, strategy in groups[1:]:
        cand = [r for r in records if r.model == model and r.strategy == strategy]
        out.append(Comparison(base_model, base_strategy, model, strategy,
                              paired_rows(base, cand)))
    return tuple(out)


# --------------------------------------------------------------------------- cost


def cost_summary(
    records: Sequence[CaseRecord], *, prices: PriceTable, judges: Sequence[str] = (),
    judge_protocol: str = "json",
) -> CostSummary:
    lines: list[CostLine] = []
    for model in dict.fromkeys(r.model for r in records):
        calls = cached = tokens_in = tokens_out = 0
        cost: float | None = 0.0
        spent: float | None = 0.0
        estimated = False
        for record in (r for r in records if r.model == model):
            for turn in record.turns:
                t_in, t_out, est = _turn_tokens(turn)
                turn_cost = prices.cost(model, t_in, t_out)
                calls += 1
                cached += turn.completion.cached
                tokens_in += t_in
                tokens_out += t_out
                estimated = estimated or est
                cost = None if cost is None or turn_cost is None else cost + turn_cost
                if not turn.completion.cached:
                    spent = None if spent is None or turn_cost is None else spent + turn_cost
        lines.append(CostLine("model", model, calls, cached, tokens_in, tokens_out,
                              cost, spent, estimated))
    judged = [r for r in records if r.verdict is not None]
    per_answer = JUDGE_CALLS.get(judge_protocol, 1)
    for spec in judge_parts(judges):
        tokens_in = tokens_out = 0
        if not is_local_judge(spec):
            for record in judged:
                assert record.verdict is not None
                t_in, t_out = _judge_tokens(record.case, record.answer or "", record.verdict,
                                            judge_protocol)
                tokens_in += t_in
                tokens_out += t_out
        judge_cost = 0.0 if is_local_judge(spec) else prices.cost(spec, tokens_in, tokens_out)
        lines.append(CostLine("judge", spec, len(judged) * per_answer, 0, tokens_in, tokens_out,
                              judge_cost, judge_cost, not is_local_judge(spec)))
    return CostSummary(
        lines=tuple(lines),
        total_usd=_sum_cost(line.cost_usd for line in lines),
        spent_usd=_sum_cost(line.spent_usd for line in lines),
    )


# --------------------------------------------------------------------------- the report


def build_report(
    raw_records: Iterable[dict[str, Any] | CaseRecord], manifest: Manifest, *,
    prices: PriceTable | None = None,
) -> RunReport:
    """The report of a run from its session records (or CaseRecords) and manifest."""
    prices = prices or PriceTable.default()
    judges = [j.spec for j in manifest.judges]
    records = sorted(
        (raw if isinstance(raw, CaseRecord) else
         case_record(raw, prices=prices, judges=judges, judge_protocol=manifest.judge_protocol)
         for raw in raw_records),
        key=lambda r: r.sort_key,
    )
    models = [m.spec for m in manifest.models]
    # rates and A/B cover the cases as written; rewrites (--honesty-perturb) are measured
    # against them apart, and their calls still count in the cost
    originals = [r for r in records if not is_perturbed(r.case.id)]
    groups = group_order(originals, models, manifest.strategies)
    return RunReport(
        manifest=manifest,
        records=tuple(records),
        aggregates=aggregate_records(originals, models, manifest.strategies),
        comparisons=compare_groups(originals, groups),
        cost=cost_summary(records, prices=prices, judges=judges,
                          judge_protocol=manifest.judge_protocol),
        robustness=(robustness(records)
                    if len(originals) < len(records) else None),
        pushback=pushback_summary(originals),
    )


def with_gate(report: RunReport, gate: Any) -> RunReport:
    return replace(report, gate=gate)
