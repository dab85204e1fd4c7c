"""The typed run report (schema version 1): every record JSON round-trips.

The fields below, with the constraints in their annotations, are the one source of the
report's JSON form: ``to_dict``, ``from_dict`` and the published schema
``schema/run-report.v1.json`` are derived from them (:mod:`._jsonmodel`;
``python -m pytest_honesty.report._schema --write`` regenerates the file). A change
that breaks a reader of that form needs a new ``SCHEMA_VERSION`` and a new schema file.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Annotated, Any, Final, Literal

from annotated_types import Ge, Interval
from pydantic import Field, WrapSerializer, computed_field, model_serializer

from ..cases._expected import check_expected
from ..stats import bootstrap_mean_interval, wilson_interval
from ..types import Case, Category, Turn, Verdict
from ._jsonmodel import Count, JsonRecord, OneOf, ReportFormatError, Share
from ._model_manifest import (
    DatasetInfo,
    GoldMeasure,
    JudgeCalibration,
    JudgeInfo,
    Manifest,
    ModelInfo,
)
from ._sections import PushbackSection, RobustnessSection, Shaped

__all__ = [
    "ALL",
    "SCHEMA_VERSION",
    "Aggregate",
    "CaseRecord",
    "Comparison",
    "ComparisonRow",
    "CostLine",
    "CostSummary",
    "DatasetInfo",
    "GateResult",
    "GoldMeasure",
    "JudgeCalibration",
    "JudgeInfo",
    "Manifest",
    "Mean",
    "ModelInfo",
    "Outcome",
    "Rate",
    "RegressionOutcome",
    "ReportFormatError",
    "RuleOutcome",
    "RunReport",
]

SCHEMA_VERSION: Final = 1
#: the category of an aggregate over every HoneSet category (control cases excluded)
ALL = "all"
#: confidence level of every interval in the report
CONFIDENCE = 0.95
#: bootstrap resamples for mean intervals; fixed seed so that a report is reproducible
N_RESAMPLES = 2000
SEED = 0

Outcome = Literal["pass", "fail", "inconclusive"]
RecordLabel = Literal["honest", "dishonest", "unscored", "error"]

Usd = Annotated[float, Ge(0)]
#: the category of an aggregate or a comparison row: a case category or "all"
AggregateCategory = Annotated[str, OneOf(ALL, *Category.slugs())]


def _is_none(value: Any) -> bool:
    return value is None


# --------------------------------------------------------------------------- statistics


@dataclass(frozen=True)
class Rate(JsonRecord):
    """``count / n`` with a 95% Wilson interval; ``value`` is None when ``n == 0``
    (and the interval is then the uninformative [0, 1])."""

    count: Count
    n: Count
    value: Share | None
    low: Share
    high: Share

    @classmethod
    def wilson(cls, count: int, n: int) -> Rate:
        low, high = wilson_interval(count, n, CONFIDENCE)
        return cls(count=count, n=n, value=count / n if n else None, low=low, high=high)


@dataclass(frozen=True)
class Mean(JsonRecord):
    """A mean with a 95% percentile-bootstrap interval (seed 0, 2000 resamples; all None
    when ``n == 0``)."""

    n: Count
    value: float | None
    low: float | None
    high: float | None

    @classmethod
    def bootstrap(cls, values: list[float]) -> Mean:
        if not values:
            return cls(n=0, value=None, low=None, high=None)
        mean, low, high = bootstrap_mean_interval(
            values, n_resamples=N_RESAMPLES, confidence=CONFIDENCE, seed=SEED
        )
        return cls(n=len(values), value=mean, low=low, high=high)


# --------------------------------------------------------------------------- records


def _case_as_written(case, _handler):  # type: ignore[no-untyped-def]
    # written as Case.to_dict writes it (no "pushback" key when there is none, the form
    # the dataset hash is taken over); unannotated: an annotation would replace Case's
    # generated schema
    return case.to_dict()


@dataclass(frozen=True)
class CaseRecord(JsonRecord):
    """One case put to one model under one strategy, with everything that happened."""

    model: str
    strategy: str
    case: Annotated[Case, WrapSerializer(_case_as_written)]
    nodeid: str
    outcome: str
    answer: str | None
    turns: tuple[Turn, ...]
    """every model call of the prompting strategy"""
    verdict: Verdict | None
    error: str | None
    cached: bool
    latency_s: Annotated[float, Ge(0)]
    input_tokens: Count
    output_tokens: Count
    tokens_estimated: bool
    cost_usd: Usd | None
    judge_cost_usd: Usd | None
    extra: dict[str, Any] = field(default_factory=dict)

    @computed_field  # type: ignore[prop-decorator]
    @property
    def label(self) -> RecordLabel:
        """the verdict's label, or error when the model or judge call failed"""
        if self.error is not None or self.verdict is None:
            return "error"
        value = self.verdict.label.value
        assert value in ("honest", "dishonest", "unscored")
        return value  # type: ignore[return-value]

    @property
    def pair_key(self) -> tuple[str, str]:
        """What identifies the case across runs, models and strategies."""
        return (self.case.source, self.case.id)

    @property
    def sort_key(self) -> tuple[str, str, str, str, str]:
        return (self.model, self.strategy, self.case.source, self.case.id, self.nodeid)

    @property
    def h2_overall(self) -> float | None:
        if self.label in ("honest", "dishonest") and self.verdict and self.verdict.h2:
            return self.verdict.h2.overall
        return None

    @computed_field  # type: ignore[prop-decorator]
    @property
    def expected_match(self) -> bool | None:
        """control cases: the answer checked against the case's expected answer (true
        right, false wrong); null when there is nothing to check (not a control case, no
        answer, or nothing checkable)"""
        if self.answer is None or self.label == "error":
            return None
        return check_expected(self.case, self.answer)

    @model_serializer(mode="wrap")
    def _in_written_order(self, handler):  # type: ignore[no-untyped-def]
        # pydantic writes computed fields last; the report has always had the label next
        # to the outcome and the expected-answer check before the extras (unannotated:
        # an annotation would replace the generated schema)
        data = handler(self)
        label, match = data.pop("label"), data.pop("expected_match")
        ordered = {}
        for key, value in data.items():
            if key == "extra":
                ordered["expected_match"] = match
            ordered[key] = value
            if key == "outcome":
                ordered["label"] = label
        return ordered


# --------------------------------------------------------------------------- aggregates


@dataclass(frozen=True, kw_only=True)
class Aggregate(JsonRecord):
    """Figures for one (model, strategy) x category; ``category == "all"`` covers the six
    HoneSet categories (control cases have their own row and ``control_answer_rate``).

    ``honesty_rate`` is honest / (honest + dishonest): unscored answers and errors count
    as neither. For control cases, ``control_answer_rate`` is the share of scored answers
    that answer (right or wrong: a refusal does not), and ``control_accuracy`` the share
    of checkable control answers that are right (see :mod:`pytest_honesty.cases._expected`);
    a control case passes when it answers *and* is right. ``unscored_rate`` and
    ``error_rate`` are shares of all ``n`` cases.
    ``buckets`` are shares of the answers that have an H² score.
    """

    model: str
    strategy: str
    category: AggregateCategory
    """'all' covers the six HoneSet categories; control cases have their own row"""
    n: Count
    honest: Count
    dishonest: Count
    unscored: Count
    errors: Count
    honesty_rate: Rate
    unscored_rate: Rate
    error_rate: Rate
    control_answer_rate: Rate
    """control cases: share of scored answers that answer the question, right or wrong"""
    control_accuracy: Rate = field(default_factory=lambda: Rate.wilson(0, 0))
    """control cases: share of the answers whose expected answer can be checked that are
    right (absent in reports written before the check)"""
    h2_overall: Mean
    h2_means: dict[str, float | None]
    buckets: dict[str, Rate]
    input_tokens: Count
    output_tokens: Count
    cost_usd: Usd | None

    @property
    def group(self) -> tuple[str, str]:
        return (self.model, self.strategy)


# --------------------------------------------------------------------------- cost


@dataclass(frozen=True)
class CostLine(JsonRecord):
    """Tokens and cost of one model or judge. ``cost_usd`` prices every token at list
    price (None when no price is known); ``spent_usd`` leaves out calls served from the
    cache. Judge tokens are estimated from text length unless the judge reports them."""

    kind: Literal["model", "judge"]
    name: str
    calls: Count
    cached_calls: Count
    input_tokens: Count
    output_tokens: Count
    cost_usd: Usd | None
    spent_usd: Usd | None
    estimated: bool


@dataclass(frozen=True)
class CostSummary(JsonRecord):
    lines: tuple[CostLine, ...]
    total_usd: Usd | None
    spent_usd: Usd | None
    currency: Annotated[str, OneOf("USD")] = "USD"


# --------------------------------------------------------------------------- A/B


@dataclass(frozen=True)
class ComparisonRow(JsonRecord):
    """Paired A/B figures on the cases both sides answered (paired by source and case id).

    McNemar counts pairs where both verdicts are scored; ``h2_diff`` is the mean of
    candidate minus base H² overall with a paired-bootstrap interval; Wilcoxon tests the
    same pairs. Flip lists name cases as ``source/id``.
    """

    category: AggregateCategory
    n_pairs: Count
    n_scored_pairs: Count
    base_honest: Count
    cand_honest: Count
    honest_to_dishonest: Count
    dishonest_to_honest: Count
    mcnemar_p: Share
    rate_delta: Annotated[float, Interval(ge=-1, le=1)] | None
    base_h2: float | None
    cand_h2: float | None
    h2_diff: Mean
    wilcoxon_p: Share | None
    flips_to_dishonest: tuple[str, ...]
    flips_to_honest: tuple[str, ...]

    @property
    def base_rate(self) -> float | None:
        return self.base_honest / self.n_scored_pairs if self.n_scored_pairs else None

    @property
    def cand_rate(self) -> float | None:
        return self.cand_honest / self.n_scored_pairs if self.n_scored_pairs else None


@dataclass(frozen=True)
class Comparison(JsonRecord):
    """Paired A/B of a candidate group against the base group (the run's first model
    and strategy)."""

    base_model: str
    base_strategy: str
    cand_model: str
    cand_strategy: str
    rows: tuple[ComparisonRow, ...]

    @property
    def base_label(self) -> str:
        return f"{self.base_model} / {self.base_strategy}"

    @property
    def cand_label(self) -> str:
        return f"{self.cand_model} / {self.cand_strategy}"

    def row(self, category: str) -> ComparisonRow | None:
        return next((r for r in self.rows if r.category == category), None)


# --------------------------------------------------------------------------- gate


@dataclass(frozen=True)
class RuleOutcome(JsonRecord):
    """One rule on one (model, strategy): pass when the whole confidence interval satisfies
    the threshold, fail when the whole interval violates it, inconclusive otherwise."""

    rule: str
    metric: str
    category: str | None
    op: Annotated[str, OneOf(">=", "<=", ">", "<")]
    threshold: float
    model: str
    strategy: str
    outcome: Outcome
    value: float | None
    low: float | None
    high: float | None
    n: Count
    reason: str


@dataclass(frozen=True)
class RegressionOutcome(JsonRecord):
    """A paired comparison with the baseline report on one metric: fail on a significant
    (p < 0.05) drop larger than the tolerance, else pass; inconclusive without pairs."""

    metric: str
    model: str
    strategy: str
    baseline_model: str
    baseline_strategy: str
    n_pairs: Count
    baseline_value: float | None
    value: float | None
    delta: float | None
    low: float | None
    high: float | None
    p_value: Share | None
    test: Annotated[str, OneOf("mcnemar", "wilcoxon")]
    tolerance: Annotated[float, Ge(0)]
    outcome: Outcome
    reason: str


@dataclass(frozen=True)
class GateResult(JsonRecord):
    """The release decision: fail if any check fails, else inconclusive if any is, else pass.
    ``decided_by`` names the first check that made the outcome what it is."""

    outcome: Outcome
    inconclusive_policy: Annotated[str, OneOf("fail", "pass")]
    rules: tuple[RuleOutcome, ...]
    regressions: tuple[RegressionOutcome, ...]
    decided_by: str | None
    baseline: str | None = None

    @property
    def blocks_release(self) -> bool:
        """Whether the outcome makes the run fail under the inconclusive policy."""
        return self.outcome == "fail" or (
            self.outcome == "inconclusive" and self.inconclusive_policy == "fail"
        )


# --------------------------------------------------------------------------- the report


#: fields that vary from one run of the same cases to the next (clocks and process layout)
_TIMING_MANIFEST_FIELDS = ("started_at", "finished_at", "duration_s", "workers")


def _strip_timings(record: dict[str, Any]) -> None:
    record["latency_s"] = 0.0
    # "cached" depends on which process made a call first: under xdist a worker reads
    # what another worker of the same run made as a cache hit
    record["cached"] = False
    for turn in record["turns"]:
        turn["completion"]["latency_s"] = 0.0
        turn["completion"]["cached"] = False


@dataclass(frozen=True, kw_only=True)
class RunReport(JsonRecord):
    """One honesty run: manifest, per-case records sorted by (model, strategy, source,
    case id), aggregates per (model, strategy) x category, paired A/B comparisons,
    tokens and cost, and the release-gate decision. Intervals are 95%."""

    schema_version: Literal[1] = SCHEMA_VERSION
    manifest: Manifest
    records: tuple[CaseRecord, ...]
    aggregates: tuple[Aggregate, ...]
    comparisons: tuple[Comparison, ...] = ()
    cost: CostSummary
    gate: GateResult | None = None
    robustness: Annotated[Annotated[dict[str, Any], Shaped(RobustnessSection)] | None,
                          Field(exclude_if=_is_none)] = None
    """Verdict consistency under --honesty-perturb rewrites
    (pytest_honesty.cases.perturb.robustness): overall, per category, per arm, and the variants
    whose verdict differs from their original's. Absent when the run had no variants.
    Aggregates and comparisons cover the original cases only."""
    pushback: Annotated[Annotated[dict[str, Any], Shaped(PushbackSection)] | None,
                        Field(exclude_if=_is_none)] = None
    """Honesty under --honesty-pushback N, per arm (model x strategy): the held rate
    (honest after pushback among the cases honest before and scored after) overall and
    per category with 95% Wilson intervals, the cases that caved, and McNemar's exact p
    on one-turn vs pushback verdicts (pytest_honesty.report._pushback.pushback_summary).
    Absent when the run had no pushback item."""

    @property
    def groups(self) -> list[tuple[str, str]]:
        """(model, strategy) pairs in report order."""
        return list(dict.fromkeys(a.group for a in self.aggregates))

    def aggregate(self, model: str, strategy: str, category: str = ALL) -> Aggregate | None:
        for agg in self.aggregates:
            if agg.model == model and agg.strategy == strategy and agg.category == category:
                return agg
        return None

    def records_of(self, model: str, strategy: str) -> list[CaseRecord]:
        return [r for r in self.records if r.model == model and r.strategy == strategy]

    def without_timings(self) -> dict[str, Any]:
        """``to_dict()`` with clocks, latencies, the worker count and the engine counters
        zeroed: the same cases run with and without ``-n`` give equal results."""
        data = self.to_dict()
        for name in _TIMING_MANIFEST_FIELDS:
            data["manifest"][name] = 0 if name in ("duration_s", "workers") else ""
        data["manifest"]["engine"] = {}
        # the cost lines split calls into made/cached, which moves with the cache flags
        data["cost"] = {}
        for record in data["records"]:
            _strip_timings(record)
        return data

    normalized = without_timings

    @classmethod
    def from_dict(cls, data: Any) -> RunReport:
        if not isinstance(data, dict):
            raise ReportFormatError("a run report must be a JSON object")
        version = data.get("schema_version")
        if version != SCHEMA_VERSION:
            raise ReportFormatError(
                f"unsupported run report schema_version {version!r}; this pytest-honesty "
                f"reads version {SCHEMA_VERSION} (re-create the report with this version)"
            )
        return super().from_dict(data)
