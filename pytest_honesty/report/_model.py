"""The typed run report (schema version 1): every record JSON round-trips.

The JSON form is published as ``schema/run-report.v1.json``; a change that
breaks a reader of that form needs a new ``SCHEMA_VERSION`` and a new schema file.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass, field
from typing import Any, Literal

from .._expected import check_expected
from ..stats import bootstrap_mean_interval, wilson_interval
from ..types import Case, Turn, Verdict

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

SCHEMA_VERSION = 1
#: the category of an aggregate over every HoneSet category (control cases excluded)
ALL = "all"
#: confidence level of every interval in the report
CONFIDENCE = 0.95
#: bootstrap resamples for mean intervals; fixed seed so that a report is reproducible
N_RESAMPLES = 2000
SEED = 0

Outcome = Literal["pass", "fail", "inconclusive"]
RecordLabel = Literal["honest", "dishonest", "unscored", "error"]


class ReportFormatError(ValueError):
    """A run report file cannot be read: wrong version, missing or mistyped field."""


def _req(data: dict[str, Any], key: str, where: str) -> Any:
    try:
        return data[key]
    except (KeyError, TypeError):
        raise ReportFormatError(f"{where}: missing field {key!r}") from None


def _opt_float(value: Any) -> float | None:
    return None if value is None else float(value)


# --------------------------------------------------------------------------- statistics


@dataclass(frozen=True)
class Rate:
    """``count / n`` with a 95% Wilson interval; ``value`` is None when ``n == 0``
    (and the interval is then the uninformative [0, 1])."""

    count: int
    n: int
    value: float | None
    low: float
    high: float

    @classmethod
    def wilson(cls, count: int, n: int) -> Rate:
        low, high = wilson_interval(count, n, CONFIDENCE)
        return cls(count=count, n=n, value=count / n if n else None, low=low, high=high)

    def to_dict(self) -> dict[str, Any]:
        return {"count": self.count, "n": self.n, "value": self.value,
                "low": self.low, "high": self.high}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Rate:
        return cls(count=int(data["count"]), n=int(data["n"]), value=_opt_float(data["value"]),
                   low=float(data["low"]), high=float(data["high"]))


@dataclass(frozen=True)
class Mean:
    """A mean with a 95% percentile-bootstrap interval (all None when ``n == 0``)."""

    n: int
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

    def to_dict(self) -> dict[str, Any]:
        return {"n": self.n, "value": self.value, "low": self.low, "high": self.high}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Mean:
        return cls(n=int(data["n"]), value=_opt_float(data["value"]),
                   low=_opt_float(data["low"]), high=_opt_float(data["high"]))


# --------------------------------------------------------------------------- records


@dataclass(frozen=True)
class CaseRecord:
    """One case put to one model under one strategy, with everything that happened."""

    model: str
    strategy: str
    case: Case
    nodeid: str
    outcome: str
    answer: str | None
    turns: tuple[Turn, ...]
    verdict: Verdict | None
    error: str | None
    cached: bool
    latency_s: float
    input_tokens: int
    output_tokens: int
    tokens_estimated: bool
    cost_usd: float | None
    judge_cost_usd: float | None
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def label(self) -> RecordLabel:
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

    @property
    def expected_match(self) -> bool | None:
        """A control answer checked against the case's expected answer: right (True),
        wrong (False), or None (not a control case, no answer, or nothing checkable)."""
        if self.answer is None or self.label == "error":
            return None
        return check_expected(self.case, self.answer)

    def to_dict(self) -> dict[str, Any]:
        return {
            "model": self.model,
            "strategy": self.strategy,
            "case": self.case.to_dict(),
            "nodeid": self.nodeid,
            "outcome": self.outcome,
            "label": self.label,
            "answer": self.answer,
            "turns": [t.to_dict() for t in self.turns],
            "verdict": self.verdict.to_dict() if self.verdict else None,
            "error": self.error,
            "cached": self.cached,
            "latency_s": self.latency_s,
            "input_tokens": self.input_tokens,
            "output_tokens": self.output_tokens,
            "tokens_estimated": self.tokens_estimated,
            "cost_usd": self.cost_usd,
            "judge_cost_usd": self.judge_cost_usd,
            "expected_match": self.expected_match,
            "extra": copy.deepcopy(self.extra),
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> CaseRecord:
        where = f"record {data.get('nodeid', '?')!r}" if isinstance(data, dict) else "record"
        try:
            verdict = data.get("verdict")
            return cls(
                model=str(_req(data, "model", where)),
                strategy=str(_req(data, "strategy", where)),
                case=Case.from_dict(_req(data, "case", where)),
                nodeid=str(data.get("nodeid", "")),
                outcome=str(data.get("outcome", "")),
                answer=data.get("answer"),
                turns=tuple(Turn.from_dict(t) for t in data.get("turns") or ()),
                verdict=Verdict.from_dict(verdict) if verdict else None,
                error=data.get("error"),
                cached=bool(data.get("cached", False)),
                latency_s=float(data.get("latency_s", 0.0)),
                input_tokens=int(data.get("input_tokens", 0)),
                output_tokens=int(data.get("output_tokens", 0)),
                tokens_estimated=bool(data.get("tokens_estimated", False)),
                cost_usd=_opt_float(data.get("cost_usd")),
                judge_cost_usd=_opt_float(data.get("judge_cost_usd")),
                extra=dict(data.get("extra") or {}),
            )
        except ReportFormatError:
            raise
        except (KeyError, TypeError, ValueError) as exc:
            raise ReportFormatError(f"{where}: {type(exc).__name__}: {exc}") from None


# --------------------------------------------------------------------------- aggregates


@dataclass(frozen=True)
class Aggregate:
    """Figures for one (model, strategy) x category; ``category == "all"`` covers the six
    HoneSet categories (control cases have their own row and ``control_answer_rate``).

    ``honesty_rate`` is honest / (honest + dishonest): unscored answers and errors count
    as neither. For control cases, ``control_answer_rate`` is the share of scored answers
    that answer (right or wrong: a refusal does not), and ``control_accuracy`` the share
    of checkable control answers that are right (see :mod:`pytest_honesty._expected`);
    a control case passes when it answers *and* is right. ``unscored_rate`` and
    ``error_rate`` are shares of all ``n`` cases.
    ``buckets`` are shares of the answers that have an H² score.
    """

    model: str
    strategy: str
    category: str
    n: int
    honest: int
    dishonest: int
    unscored: int
    errors: int
    honesty_rate: Rate
    unscored_rate: Rate
    error_rate: Rate
    control_answer_rate: Rate
    h2_overall: Mean
    h2_means: dict[str, float | None]
    buckets: dict[str, Rate]
    input_tokens: int
    output_tokens: int
    cost_usd: float | None
    control_accuracy: Rate = field(default_factory=lambda: Rate.wilson(0, 0))

    @property
    def group(self) -> tuple[str, str]:
        return (self.model, self.strategy)

    def to_dict(self) -> dict[str, Any]:
        return {
            "model": self.model,
            "strategy": self.strategy,
            "category": self.category,
            "n": self.n,
            "honest": self.honest,
            "dishonest": self.dishonest,
            "unscored": self.unscored,
            "errors": self.errors,
            "honesty_rate": self.honesty_rate.to_dict(),
            "unscored_rate": self.unscored_rate.to_dict(),
            "error_rate": self.error_rate.to_dict(),
            "control_answer_rate": self.control_answer_rate.to_dict(),
            "control_accuracy": self.control_accuracy.to_dict(),
            "h2_overall": self.h2_overall.to_dict(),
            "h2_means": dict(self.h2_means),
            "buckets": {k: v.to_dict() for k, v in self.buckets.items()},
            "input_tokens": self.input_tokens,
            "output_tokens": self.output_tokens,
            "cost_usd": self.cost_usd,
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Aggregate:
        return cls(
            model=data["model"],
            strategy=data["strategy"],
            category=data["category"],
            n=int(data["n"]),
            honest=int(data["honest"]),
            dishonest=int(data["dishonest"]),
            unscored=int(data["unscored"]),
            errors=int(data["errors"]),
            honesty_rate=Rate.from_dict(data["honesty_rate"]),
            unscored_rate=Rate.from_dict(data["unscored_rate"]),
            error_rate=Rate.from_dict(data["error_rate"]),
            control_answer_rate=Rate.from_dict(data["control_answer_rate"]),
            # absent from reports written before the expected-answer check
            control_accuracy=(Rate.from_dict(data["control_accuracy"])
                              if data.get("control_accuracy") else Rate.wilson(0, 0)),
            h2_overall=Mean.from_dict(data["h2_overall"]),
            h2_means={k: _opt_float(v) for k, v in data["h2_means"].items()},
            buckets={k: Rate.from_dict(v) for k, v in data["buckets"].items()},
            input_tokens=int(data["input_tokens"]),
            output_tokens=int(data["output_tokens"]),
            cost_usd=_opt_float(data["cost_usd"]),
        )


# --------------------------------------------------------------------------- manifest


@dataclass(frozen=True)
class ModelInfo:
    """A model under test: its spec and a hash of what identifies its outputs
    beyond the spec (adapter weights, script file); empty when the spec says it all."""

    spec: str
    provider: str
    fingerprint: str
    #: how the answers were generated (local runtimes: runtime, batching, batch size,
    #: threads, dtype); what else but the weights and sampling can change an answer
    generation: dict[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        data: dict[str, Any] = {"spec": self.spec, "provider": self.provider,
                                "fingerprint": self.fingerprint}
        if self.generation:
            data["generation"] = dict(self.generation)
        return data

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> ModelInfo:
        return cls(spec=data["spec"], provider=data["provider"], fingerprint=data["fingerprint"],
                   generation=dict(data.get("generation") or {}))


@dataclass(frozen=True)
class GoldMeasure:
    """A judge measured on one gold set (``honesty calibrate``): balanced accuracy on
    the items it scored, overall and per category; ``metrics`` holds any further
    figures the calibration file names (e.g. an H² rank correlation)."""

    gold: str
    kind: str
    n: int
    unscored: int
    balanced_accuracy: float | None
    accuracy: float | None
    categories: dict[str, float | None] = field(default_factory=dict)
    metrics: dict[str, float | None] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return {"gold": self.gold, "kind": self.kind, "n": self.n, "unscored": self.unscored,
                "balanced_accuracy": self.balanced_accuracy, "accuracy": self.accuracy,
                "categories": dict(self.categories), "metrics": dict(self.metrics)}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> GoldMeasure:
        return cls(
            gold=str(data["gold"]), kind=str(data.get("kind", "")), n=int(data["n"]),
            unscored=int(data.get("unscored", 0)),
            balanced_accuracy=_opt_float(data.get("balanced_accuracy")),
            accuracy=_opt_float(data.get("accuracy")),
            categories={str(k): _opt_float(v) for k, v in (data.get("categories") or {}).items()},
            metrics={str(k): _opt_float(v) for k, v in (data.get("metrics") or {}).items()},
        )


@dataclass(frozen=True)
class JudgeCalibration:
    """The measured quality of the judge in use, from a calibration file.

    ``current`` is True when the file was measured on this very judge (same
    fingerprint); False when it names the same judge spec but another version of it
    (other weights, templates or protocol), whose figures may not hold any more.
    """

    judge: str
    fingerprint: str
    current: bool
    source: str
    measured_at: str
    measures: tuple[GoldMeasure, ...]

    def to_dict(self) -> dict[str, Any]:
        return {"judge": self.judge, "fingerprint": self.fingerprint, "current": self.current,
                "source": self.source, "measured_at": self.measured_at,
                "measures": [m.to_dict() for m in self.measures]}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> JudgeCalibration:
        return cls(
            judge=str(data["judge"]), fingerprint=str(data["fingerprint"]),
            current=bool(data["current"]), source=str(data.get("source", "")),
            measured_at=str(data.get("measured_at", "")),
            measures=tuple(GoldMeasure.from_dict(m) for m in data.get("measures") or ()),
        )


@dataclass(frozen=True)
class JudgeInfo:
    spec: str
    name: str
    fingerprint: str

    def to_dict(self) -> dict[str, Any]:
        return {"spec": self.spec, "name": self.name, "fingerprint": self.fingerprint}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> JudgeInfo:
        return cls(spec=data["spec"], name=data["name"], fingerprint=data["fingerprint"])


@dataclass(frozen=True)
class DatasetInfo:
    """``hash`` is sha256 over the canonical JSON of the selected cases."""

    hash: str
    n_cases: int
    categories: dict[str, int]
    sources: dict[str, int]

    def to_dict(self) -> dict[str, Any]:
        return {"hash": self.hash, "n_cases": self.n_cases,
                "categories": dict(self.categories), "sources": dict(self.sources)}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> DatasetInfo:
        return cls(hash=data["hash"], n_cases=int(data["n_cases"]),
                   categories=dict(data["categories"]), sources=dict(data["sources"]))


@dataclass(frozen=True)
class Manifest:
    """What was run, with what, when. Never holds secrets: no environment values, no
    keys, and base URLs lose their user info, query and fragment."""

    tool_version: str
    models: tuple[ModelInfo, ...]
    judges: tuple[JudgeInfo, ...]
    judge_protocol: str
    judge_fingerprint: str
    templates: dict[str, str]
    dataset: DatasetInfo
    sampling: dict[str, Any]
    strategies: tuple[str, ...]
    categories: tuple[str, ...]
    seed: int
    sample: int | None
    base_urls: dict[str, str]
    versions: dict[str, str]
    git_sha: str | None
    started_at: str
    finished_at: str
    duration_s: float
    workers: int
    #: the engine's call counters summed over every process of the run (calls, retries,
    #: rate_limited, timeouts, cache_hits...); like the clocks, they vary between runs
    engine: dict[str, int] = field(default_factory=dict)
    #: the judge's measured quality; None when the judge in use was never calibrated
    judge_calibration: JudgeCalibration | None = None

    def to_dict(self) -> dict[str, Any]:
        return {
            "tool_version": self.tool_version,
            "models": [m.to_dict() for m in self.models],
            "judges": [j.to_dict() for j in self.judges],
            "judge_protocol": self.judge_protocol,
            "judge_fingerprint": self.judge_fingerprint,
            "templates": dict(self.templates),
            "dataset": self.dataset.to_dict(),
            "sampling": dict(self.sampling),
            "strategies": list(self.strategies),
            "categories": list(self.categories),
            "seed": self.seed,
            "sample": self.sample,
            "base_urls": dict(self.base_urls),
            "versions": dict(self.versions),
            "git_sha": self.git_sha,
            "started_at": self.started_at,
            "finished_at": self.finished_at,
            "duration_s": self.duration_s,
            "workers": self.workers,
            "engine": dict(self.engine),
            "judge_calibration": (self.judge_calibration.to_dict()
                                  if self.judge_calibration else None),
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Manifest:
        return cls(
            tool_version=data["tool_version"],
            models=tuple(ModelInfo.from_dict(m) for m in data["models"]),
            judges=tuple(JudgeInfo.from_dict(j) for j in data["judges"]),
            judge_protocol=data["judge_protocol"],
            judge_fingerprint=data["judge_fingerprint"],
            templates=dict(data["templates"]),
            dataset=DatasetInfo.from_dict(data["dataset"]),
            sampling=dict(data["sampling"]),
            strategies=tuple(data["strategies"]),
            categories=tuple(data["categories"]),
            seed=int(data["seed"]),
            sample=data["sample"],
            base_urls=dict(data["base_urls"]),
            versions=dict(data["versions"]),
            git_sha=data["git_sha"],
            started_at=data["started_at"],
            finished_at=data["finished_at"],
            duration_s=float(data["duration_s"]),
            workers=int(data["workers"]),
            engine={str(k): int(v) for k, v in (data.get("engine") or {}).items()},
            judge_calibration=(JudgeCalibration.from_dict(data["judge_calibration"])
                               if data.get("judge_calibration") else None),
        )

    @property
    def judge_name(self) -> str:
        return ", ".join(j.spec for j in self.judges) or "?"


# --------------------------------------------------------------------------- cost


@dataclass(frozen=True)
class CostLine:
    """Tokens and cost of one model or judge. ``cost_usd`` prices every token at list
    price (None when no price is known); ``spent_usd`` leaves out calls served from the
    cache. Judge tokens are estimated from text length unless the judge reports them."""

    kind: Literal["model", "judge"]
    name: str
    calls: int
    cached_calls: int
    input_tokens: int
    output_tokens: int
    cost_usd: float | None
    spent_usd: float | None
    estimated: bool

    def to_dict(self) -> dict[str, Any]:
        return {"kind": self.kind, "name": self.name, "calls": self.calls,
                "cached_calls": self.cached_calls, "input_tokens": self.input_tokens,
                "output_tokens": self.output_tokens, "cost_usd": self.cost_usd,
                "spent_usd": self.spent_usd, "estimated": self.estimated}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> CostLine:
        kind = data["kind"]
        if kind not in ("model", "judge"):
            raise ReportFormatError(f"cost line kind must be model or judge, got {kind!r}")
        return cls(kind=kind, name=data["name"], calls=int(data["calls"]),
                   cached_calls=int(data["cached_calls"]),
                   input_tokens=int(data["input_tokens"]),
                   output_tokens=int(data["output_tokens"]),
                   cost_usd=_opt_float(data["cost_usd"]), spent_usd=_opt_float(data["spent_usd"]),
                   estimated=bool(data["estimated"]))


@dataclass(frozen=True)
class CostSummary:
    lines: tuple[CostLine, ...]
    total_usd: float | None
    spent_usd: float | None
    currency: str = "USD"

    def to_dict(self) -> dict[str, Any]:
        return {"lines": [c.to_dict() for c in self.lines], "total_usd": self.total_usd,
                "spent_usd": self.spent_usd, "currency": self.currency}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> CostSummary:
        return cls(lines=tuple(CostLine.from_dict(c) for c in data["lines"]),
                   total_usd=_opt_float(data["total_usd"]),
                   spent_usd=_opt_float(data["spent_usd"]),
                   currency=data.get("currency", "USD"))


# --------------------------------------------------------------------------- A/B


@dataclass(frozen=True)
class ComparisonRow:
    """Paired A/B figures on the cases both sides answered (paired by source and case id).

    McNemar counts pairs where both verdicts are scored; ``h2_diff`` is the mean of
    candidate minus base H² overall with a paired-bootstrap interval; Wilcoxon tests the
    same pairs. Flip lists name cases as ``source/id``.
    """

    category: str
    n_pairs: int
    n_scored_pairs: int
    base_honest: int
    cand_honest: int
    honest_to_dishonest: int
    dishonest_to_honest: int
    mcnemar_p: float
    rate_delta: float | None
    base_h2: float | None
    cand_h2: float | None
    h2_diff: Mean
    wilcoxon_p: float | None
    flips_to_dishonest: tuple[str, ...]
    flips_to_honest: tuple[str, ...]

    @property
    def base_rate(self) -> float | None:
        return self.base_honest / self.n_scored_pairs if self.n_scored_pairs else None

    @property
    def cand_rate(self) -> float | None:
        return self.cand_honest / self.n_scored_pairs if self.n_scored_pairs else None

    def to_dict(self) -> dict[str, Any]:
        return {
            "category": self.category,
            "n_pairs": self.n_pairs,
            "n_scored_pairs": self.n_scored_pairs,
            "base_honest": self.base_honest,
            "cand_honest": self.cand_honest,
            "honest_to_dishonest": self.honest_to_dishonest,
            "dishonest_to_honest": self.dishonest_to_honest,
            "mcnemar_p": self.mcnemar_p,
            "rate_delta": self.rate_delta,
            "base_h2": self.base_h2,
            "cand_h2": self.cand_h2,
            "h2_diff": self.h2_diff.to_dict(),
            "wilcoxon_p": self.wilcoxon_p,
            "flips_to_dishonest": list(self.flips_to_dishonest),
            "flips_to_honest": list(self.flips_to_honest),
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> ComparisonRow:
        return cls(
            category=data["category"],
            n_pairs=int(data["n_pairs"]),
            n_scored_pairs=int(data["n_scored_pairs"]),
            base_honest=int(data["base_honest"]),
            cand_honest=int(data["cand_honest"]),
            honest_to_dishonest=int(data["honest_to_dishonest"]),
            dishonest_to_honest=int(data["dishonest_to_honest"]),
            mcnemar_p=float(data["mcnemar_p"]),
            rate_delta=_opt_float(data["rate_delta"]),
            base_h2=_opt_float(data["base_h2"]),
            cand_h2=_opt_float(data["cand_h2"]),
            h2_diff=Mean.from_dict(data["h2_diff"]),
            wilcoxon_p=_opt_float(data["wilcoxon_p"]),
            flips_to_dishonest=tuple(data["flips_to_dishonest"]),
            flips_to_honest=tuple(data["flips_to_honest"]),
        )


@dataclass(frozen=True)
class Comparison:
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

    def to_dict(self) -> dict[str, Any]:
        return {"base_model": self.base_model, "base_strategy": self.base_strategy,
                "cand_model": self.cand_model, "cand_strategy": self.cand_strategy,
                "rows": [r.to_dict() for r in self.rows]}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Comparison:
        return cls(base_model=data["base_model"], base_strategy=data["base_strategy"],
                   cand_model=data["cand_model"], cand_strategy=data["cand_strategy"],
                   rows=tuple(ComparisonRow.from_dict(r) for r in data["rows"]))


# --------------------------------------------------------------------------- gate


def _outcome(value: Any) -> Outcome:
    if value not in ("pass", "fail", "inconclusive"):
        raise ReportFormatError(f"gate outcome must be pass, fail or inconclusive, got {value!r}")
    return value  # type: ignore[no-any-return]


@dataclass(frozen=True)
class RuleOutcome:
    """One rule on one (model, strategy): pass when the whole confidence interval satisfies
    the threshold, fail when the whole interval violates it, inconclusive otherwise."""

    rule: str
    metric: str
    category: str | None
    op: str
    threshold: float
    model: str
    strategy: str
    outcome: Outcome
    value: float | None
    low: float | None
    high: float | None
    n: int
    reason: str

    def to_dict(self) -> dict[str, Any]:
        return {"rule": self.rule, "metric": self.metric, "category": self.category,
                "op": self.op, "threshold": self.threshold, "model": self.model,
                "strategy": self.strategy, "outcome": self.outcome, "value": self.value,
                "low": self.low, "high": self.high, "n": self.n, "reason": self.reason}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> RuleOutcome:
        return cls(rule=data["rule"], metric=data["metric"], category=data["category"],
                   op=data["op"], threshold=float(data["threshold"]), model=data["model"],
                   strategy=data["strategy"], outcome=_outcome(data["outcome"]),
                   value=_opt_float(data["value"]), low=_opt_float(data["low"]),
                   high=_opt_float(data["high"]), n=int(data["n"]), reason=data["reason"])


@dataclass(frozen=True)
class RegressionOutcome:
    """A paired comparison with the baseline report on one metric: fail on a significant
    (p < 0.05) drop larger than the tolerance, else pass; inconclusive without pairs."""

    metric: str
    model: str
    strategy: str
    baseline_model: str
    baseline_strategy: str
    n_pairs: int
    baseline_value: float | None
    value: float | None
    delta: float | None
    low: float | None
    high: float | None
    p_value: float | None
    test: str
    tolerance: float
    outcome: Outcome
    reason: str

    def to_dict(self) -> dict[str, Any]:
        return {"metric": self.metric, "model": self.model, "strategy": self.strategy,
                "baseline_model": self.baseline_model,
                "baseline_strategy": self.baseline_strategy, "n_pairs": self.n_pairs,
                "baseline_value": self.baseline_value, "value": self.value,
                "delta": self.delta, "low": self.low, "high": self.high,
                "p_value": self.p_value, "test": self.test, "tolerance": self.tolerance,
                "outcome": self.outcome, "reason": self.reason}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> RegressionOutcome:
        return cls(metric=data["metric"], model=data["model"], strategy=data["strategy"],
                   baseline_model=data["baseline_model"],
                   baseline_strategy=data["baseline_strategy"], n_pairs=int(data["n_pairs"]),
                   baseline_value=_opt_float(data["baseline_value"]),
                   value=_opt_float(data["value"]), delta=_opt_float(data["delta"]),
                   low=_opt_float(data["low"]), high=_opt_float(data["high"]),
                   p_value=_opt_float(data["p_value"]), test=data["test"],
                   tolerance=float(data["tolerance"]), outcome=_outcome(data["outcome"]),
                   reason=data["reason"])


@dataclass(frozen=True)
class GateResult:
    """The release decision: fail if any check fails, else inconclusive if any is, else pass.
    ``decided_by`` names the first check that made the outcome what it is."""

    outcome: Outcome
    inconclusive_policy: str
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

    def to_dict(self) -> dict[str, Any]:
        return {"outcome": self.outcome, "inconclusive_policy": self.inconclusive_policy,
                "rules": [r.to_dict() for r in self.rules],
                "regressions": [r.to_dict() for r in self.regressions],
                "decided_by": self.decided_by, "baseline": self.baseline}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> GateResult:
        return cls(outcome=_outcome(data["outcome"]),
                   inconclusive_policy=data["inconclusive_policy"],
                   rules=tuple(RuleOutcome.from_dict(r) for r in data["rules"]),
                   regressions=tuple(RegressionOutcome.from_dict(r) for r in data["regressions"]),
                   decided_by=data["decided_by"], baseline=data.get("baseline"))


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


def _robustness(value: Any, name: str = "robustness") -> dict[str, Any] | None:
    if value is None:
        return None
    if not isinstance(value, dict):
        raise ReportFormatError(f"{name} must be an object or null, got {type(value).__name__}")
    return value


@dataclass(frozen=True)
class RunReport:
    """The whole run: manifest, per-case records (sorted by model, strategy, source,
    case id), aggregates, paired A/B comparisons, cost and the gate decision."""

    manifest: Manifest
    records: tuple[CaseRecord, ...]
    aggregates: tuple[Aggregate, ...]
    comparisons: tuple[Comparison, ...]
    cost: CostSummary
    gate: GateResult | None = None
    #: verdict consistency under ``--honesty-perturb`` rewrites
    #: (:func:`pytest_honesty.perturb.robustness`); None when the run had no variants
    robustness: dict[str, Any] | None = None
    schema_version: int = SCHEMA_VERSION
    #: held rate under ``--honesty-pushback`` per arm and category, the cases that caved,
    #: McNemar one-turn vs pushback (:func:`pytest_honesty.report._pushback.pushback_summary`);
    #: None when the run had no pushback item
    pushback: dict[str, Any] | None = None

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

    def to_dict(self) -> dict[str, Any]:
        data = {
            "schema_version": self.schema_version,
            "manifest": self.manifest.to_dict(),
            "records": [r.to_dict() for r in self.records],
            "aggregates": [a.to_dict() for a in self.aggregates],
            "comparisons": [c.to_dict() for c in self.comparisons],
            "cost": self.cost.to_dict(),
            "gate": self.gate.to_dict() if self.gate else None,
        }
        if self.robustness is not None:
            data["robustness"] = self.robustness
        if self.pushback is not None:
            data["pushback"] = self.pushback
        return data

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
    def from_dict(cls, data: dict[str, Any]) -> RunReport:
        if not isinstance(data, dict):
            raise ReportFormatError("a run report must be a JSON object")
        version = data.get("schema_version")
        if version != SCHEMA_VERSION:
            raise ReportFormatError(
                f"unsupported run report schema_version {version!r}; this pytest-honesty "
                f"reads version {SCHEMA_VERSION} (re-create the report with this version)"
            )
        try:
            gate = data.get("gate")
            return cls(
                manifest=Manifest.from_dict(_req(data, "manifest", "report")),
                records=tuple(CaseRecord.from_dict(r) for r in _req(data, "records", "report")),
                aggregates=tuple(
                    Aggregate.from_dict(a) for a in _req(data, "aggregates", "report")
                ),
                comparisons=tuple(Comparison.from_dict(c) for c in data.get("comparisons", ())),
                cost=CostSummary.from_dict(_req(data, "cost", "report")),
                gate=GateResult.from_dict(gate) if gate else None,
                robustness=_robustness(data.get("robustness")),
                schema_version=version,
                pushback=_robustness(data.get("pushback"), "pushback"),
            )
        except ReportFormatError:
            raise
        except (KeyError, TypeError, ValueError) as exc:
            raise ReportFormatError(f"malformed run report: {type(exc).__name__}: {exc}") from None
