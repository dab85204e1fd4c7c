"""Token and cost accounting: a price table, the pre-run estimate and the budget check.

Prices are list prices per million tokens from ``prices.yaml`` (shipped with the
package) overridden by the user's ``--honesty-prices FILE``. Local providers and test
doubles cost nothing. Judge tokens are estimated from text length (judges do not
report usage), so judge costs are marked as estimates.
"""

from __future__ import annotations

import fnmatch
import json
import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Any

from .._specs import LOCAL_JUDGES, ModelSpec, is_local_judge, judge_parts
from .._yaml import safe_load
from ..types import Case

__all__ = [
    "JUDGE_PROMPT_TOKENS",
    "STRATEGY_CALLS",
    "BudgetExceeded",
    "CostPlan",
    "PlannedCalls",
    "Price",
    "PriceFileError",
    "PriceTable",
    "check_budget",
    "estimate_tokens",
    "format_plan",
    "plan_cost",
]

#: model calls per answer for each prompting strategy (unknown strategies: 1)
STRATEGY_CALLS: dict[str, int] = {"raw": 1, "curiosity": 3, "curiosity-critique": 5}
#: judge calls per answer for each judge protocol
JUDGE_CALLS: dict[str, int] = {"json": 1, "paper": 2}
#: tokens of a judge prompt besides the question and the answer (system, principle, rubric)
JUDGE_PROMPT_TOKENS = 700
#: tokens of a structured judge reply (verdict, scores, a short rationale)
JUDGE_REPLY_TOKENS = 200
#: tokens a multi-step strategy adds to each later prompt (its instructions)
STEP_PROMPT_TOKENS = 80


class PriceFileError(ValueError):
    """A price file is unusable; the message names the file and the entry."""


class BudgetExceeded(ValueError):
    """The planned spend is over ``--honesty-max-cost``."""


def estimate_tokens(text: str) -> int:
    """About four characters per token for English text (a deliberate over-estimate for
    budgets is safer than an under-estimate; this is close for GPT/Claude tokenizers)."""
    return max(1, math.ceil(len(text) / 4)) if text else 0


@dataclass(frozen=True)
class Price:
    """US dollars per million tokens."""

    input: float
    output: float

    def cost(self, input_tokens: int, output_tokens: int) -> float:
        return (input_tokens * self.input + output_tokens * self.output) / 1_000_000


FREE = Price(0.0, 0.0)


def _parse_price_data(data: Any, where: str) -> tuple[dict[str, Price], set[str]]:
    if not isinstance(data, dict):
        raise PriceFileError(f"{where}: expected a mapping with 'models' (pattern -> price)")
    models = data.get("models", {})
    if not isinstance(models, dict):
        raise PriceFileError(f"{where}: 'models' must map 'provider/model' patterns to prices")
    entries: dict[str, Price] = {}
    for pattern, value in models.items():
        if not isinstance(pattern, str) or not isinstance(value, dict):
            raise PriceFileError(
                f"{where}: entry {pattern!r} must be '\"provider/model\": "
                "{input: USD_PER_MTOK, output: USD_PER_MTOK}'"
            )
        try:
            price = Price(float(value["input"]), float(value["output"]))
        except (KeyError, TypeError, ValueError):
            raise PriceFileError(
                f"{where}: entry {pattern!r} needs numeric 'input' and 'output' "
                "(US dollars per million tokens)"
            ) from None
        if price.input < 0 or price.output < 0:
            raise PriceFileError(f"{where}: entry {pattern!r} has a negative price")
        entries[pattern] = price
    free = data.get("free_providers", [])
    if not isinstance(free, list) or not all(isinstance(p, str) for p in free):
        raise PriceFileError(f"{where}: 'free_providers' must be a list of provider names")
    return entries, set(free)


def _load_data(path: Path) -> Any:
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise PriceFileError(f"cannot read price file {path}: {exc.strerror or exc}") from None
    if path.suffix.lower() == ".json":
        try:
            return json.loads(text)
        except json.JSONDecodeError as exc:
            raise PriceFileError(f"{path}: not valid JSON: {exc}") from None
    import yaml

    try:
        return safe_load(text)
    except yaml.YAMLError as exc:
        raise PriceFileError(f"{path}: not valid YAML: {exc}") from None


class PriceTable:
    """Looks up the price of a model spec; user entries take precedence over defaults."""

    def __init__(
        self, entries: dict[str, Price], free_providers: Iterable[str] = (),
        overrides: dict[str, Price] | None = None,
    ) -> None:
        self._defaults = dict(entries)
        self._overrides = dict(overrides or {})
        self._free = set(free_providers)

    @classmethod
    def default(cls) -> PriceTable:
        text = (resources.files(__package__) / "prices.yaml").read_text(encoding="utf-8")
        entries, free = _parse_price_data(safe_load(text), "prices.yaml")
        return cls(entries, free)

    @classmethod
    def load(cls, path: Path | str | None) -> PriceTable:
        """The default table, with the entries of ``path`` (YAML or JSON) on top."""
        table = cls.default()
        if path is None:
            return table
        where = str(path)
        entries, free = _parse_price_data(_load_data(Path(path)), where)
        return cls(table._defaults, table._free | free, overrides=entries)

    @staticmethod
    def _match(table: dict[str, Price], name: str) -> Price | None:
        hits = [p for p in table if fnmatch.fnmatchcase(name, p)]
        if not hits:
            return None
        # the most specific (longest) pattern wins: "gpt-4o-mini*" over "gpt-4o*"
        return table[max(hits, key=len)]

    def price_for(self, spec: str | ModelSpec) -> Price | None:
        """The price of a model or judge spec; ``None`` when nothing is known."""
        try:
            parsed = spec if isinstance(spec, ModelSpec) else ModelSpec.parse(spec)
        except ValueError:
            return None
        # an adapter changes the weights, not the provider's price
        for table in (self._overrides, self._defaults):
            price = self._match(table, parsed.base)
            if price is not None:
                return price
        if parsed.base in LOCAL_JUDGES or parsed.provider in self._free:
            return FREE
        return None

    def cost(
        self, spec: str | ModelSpec, input_tokens: int, output_tokens: int
    ) -> float | None:
        price = self.price_for(spec)
        return None if price is None else price.cost(input_tokens, output_tokens)


# --------------------------------------------------------------------------- the plan


@dataclass(frozen=True)
class PlannedCalls:
    """Calls a run will make to one model (per strategy) or one judge, and their price."""

    kind: str  # "model" | "judge"
    name: str
    strategy: str
    answers: int
    calls: int
    input_tokens: int
    output_tokens: int
    cost_usd: float | None


@dataclass(frozen=True)
class CostPlan:
    lines: tuple[PlannedCalls, ...]

    @property
    def total_usd(self) -> float | None:
        """None when some priced-by-the-provider model has no known price."""
        costs = [line.cost_usd for line in self.lines]
        return None if any(c is None for c in costs) else sum(c for c in costs if c is not None)

    @property
    def unpriced(self) -> list[str]:
        return list(dict.fromkeys(line.name for line in self.lines if line.cost_usd is None))

    @property
    def calls(self) -> int:
        return sum(line.calls for line in self.lines)


def plan_cost(
    runs: Iterable[tuple[Case, str, str]],
    *,
    judges: Sequence[str],
    max_tokens: int,
    prices: PriceTable,
    judge_protocol: str = "json",
    strategy_calls: dict[str, int] | None = None,
) -> CostPlan:
    """Estimate the calls and spend of ``runs`` (case, model spec, strategy), without
    calling anything: every answer is assumed to use ``max_tokens`` (an upper bound) and
    every prompt about ``len(text) / 4`` tokens; cache hits are not subtracted."""
    steps = {**STRATEGY_CALLS, **(strategy_calls or {})}
    per_model: dict[tuple[str, str], list[int]] = {}
    judge_in = 0
    answers = 0
    for case, model, strategy in runs:
        question = estimate_tokens(case.question)
        k = steps.get(strategy, 1)
        # later steps of a strategy see the question, the earlier answers and instructions
        tokens_in = sum(question + i * (max_tokens + STEP_PROMPT_TOKENS) for i in range(k))
        acc = per_model.setdefault((model, strategy), [0, 0, 0, 0])
        acc[0] += 1
        acc[1] += k
        acc[2] += tokens_in
        acc[3] += k * max_tokens
        judge_in += question + max_tokens + JUDGE_PROMPT_TOKENS
        answers += 1
    lines = [
        PlannedCalls("model", model, strategy, n, calls, tin, tout,
                     prices.cost(model, tin, tout))
        for (model, strategy), (n, calls, tin, tout) in per_model.items()
    ]
    per_answer = JUDGE_CALLS.get(judge_protocol, 1)
    for spec in judge_parts(judges):
        calls = answers * per_answer
        tin, tout = judge_in * per_answer, calls * JUDGE_REPLY_TOKENS
        cost = 0.0 if is_local_judge(spec) else prices.cost(spec, tin, tout)
        lines.append(PlannedCalls("judge", spec, "", answers, calls, tin, tout, cost))
    return CostPlan(tuple(lines))


def check_budget(plan: CostPlan, max_cost: float | None) -> None:
    """Raise :class:`BudgetExceeded` when the plan may spend more than ``max_cost``."""
    if max_cost is None:
        return
    if plan.unpriced:
        raise BudgetExceeded(
            f"--honesty-max-cost {max_cost:g} is set but there is no price for "
            f"{', '.join(plan.unpriced)}; add it to a price file and pass --honesty-prices FILE "
            '(YAML: models: {"provider/model": {input: USD_PER_MTOK, output: USD_PER_MTOK}})'
        )
    total = plan.total_usd or 0.0
    if total > max_cost:
        worst = max(plan.lines, key=lambda line: line.cost_usd or 0.0)
        raise BudgetExceeded(
            f"the planned run may cost about ${total:.2f}, over --honesty-max-cost "
            f"${max_cost:.2f} ({plan.calls} calls; the largest share is {worst.kind} "
            f"{worst.name} at ${worst.cost_usd or 0.0:.2f}). Run fewer cases "
            "(--honesty-sample N, --honesty-category), a cheaper model or judge, or raise "
            "the budget; see --honesty-dry-run for the plan"
        )


def _usd(value: float | None) -> str:
    return "unknown" if value is None else f"${value:,.4f}"


def format_plan(plan: CostPlan, *, max_cost: float | None = None) -> list[str]:
    """Lines for ``--honesty-dry-run``: calls per model / strategy / judge and the estimate."""
    lines = ["honesty dry run: planned calls (nothing was called)",
             f"  {'kind':<6} {'name':<32} {'strategy':<18} {'answers':>7} {'calls':>7} "
             f"{'in tok':>9} {'out tok':>9} {'est. cost':>11}"]
    for p in plan.lines:
        lines.append(
            f"  {p.kind:<6} {p.name[:32]:<32} {p.strategy[:18] or '-':<18} {p.answers:>7} "
            f"{p.calls:>7} {p.input_tokens:>9} {p.output_tokens:>9} {_usd(p.cost_usd):>11}"
        )
    total = plan.total_usd
    budget = f" (budget ${max_cost:.2f})" if max_cost is not None else ""
    lines.append(f"  total: {plan.calls} calls, estimated {_usd(total)}{budget}; "
                 "answers assumed to use --honesty-max-tokens, cache hits not subtracted")
    if max_cost is not None and total is not None and total > max_cost:
        lines.append("  OVER BUDGET: this run would stop before calling anything")
    if plan.unpriced:
        lines.append(f"  no price known for: {', '.join(plan.unpriced)} "
                     "(add them with --honesty-prices FILE)")
    return lines
