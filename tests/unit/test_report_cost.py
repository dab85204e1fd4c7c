"""Prices, the pre-run cost estimate and the budget check."""

from __future__ import annotations

from pathlib import Path

import pytest
from test_report_support import make_case, make_report, records_for

from pytest_honesty.report import (
    BudgetExceeded,
    PriceFileError,
    PriceTable,
    check_budget,
    format_plan,
    plan_cost,
)
from pytest_honesty.report._cost import JUDGE_PROMPT_TOKENS, estimate_tokens


def test_default_prices_pick_the_most_specific_pattern() -> None:
    table = PriceTable.default()
    mini = table.price_for("openai/gpt-4o-mini")
    full = table.price_for("openai/gpt-4o")
    assert mini is not None and full is not None
    assert mini.input < full.input
    assert table.price_for("openai/gpt-4o-mini-2024-07-18") == mini
    assert table.price_for("anthropic/claude-3-5-haiku-latest") is not None


@pytest.mark.parametrize("spec", ["mock/honest", "hf/./model+./adapter", "embedded",
                                  "keyword", "openai-compatible/llama"])
def test_local_models_and_judges_cost_nothing(spec: str) -> None:
    assert PriceTable.default().cost(spec, 1_000_000, 1_000_000) == 0.0


def test_unknown_paid_model_has_no_price() -> None:
    assert PriceTable.default().price_for("openai/some-future-model") is None
    assert PriceTable.default().cost("acme/model", 10, 10) is None


def test_user_price_file_overrides_and_extends(tmp_path: Path) -> None:
    path = tmp_path / "prices.yaml"
    path.write_text('models:\n  "openai/gpt-4o-mini": {input: 1.0, output: 2.0}\n'
                    '  "acme/*": {input: 3, output: 4}\n')
    table = PriceTable.load(path)
    assert table.cost("openai/gpt-4o-mini", 1_000_000, 1_000_000) == pytest.approx(3.0)
    assert table.cost("acme/big", 500_000, 0) == pytest.approx(1.5)
    assert table.price_for("openai/gpt-4o") == PriceTable.default().price_for("openai/gpt-4o")


@pytest.mark.parametrize(
    ("content", "problem"),
    [("models: [1, 2]", "'models' must map"),
     ('models:\n  "a/b": {input: cheap, output: 1}', "numeric 'input' and 'output'"),
     ('models:\n  "a/b": {input: -1, output: 1}', "negative"),
     ("models: {\n", "not valid YAML")],
)
def test_bad_price_files_say_what_is_wrong(tmp_path: Path, content: str, problem: str) -> None:
    path = tmp_path / "prices.yaml"
    path.write_text(content)
    with pytest.raises(PriceFileError, match=problem) as info:
        PriceTable.load(path)
    assert str(path) in str(info.value)
    with pytest.raises(PriceFileError, match="cannot read"):
        PriceTable.load(tmp_path / "missing.yaml")


def _runs(n: int, model: str, strategy: str) -> list[tuple[object, str, str]]:
    return [(make_case(f"modality-{i:03d}", question="x" * 400), model, strategy)
            for i in range(n)]


def test_plan_counts_calls_per_strategy_and_judge() -> None:
    runs = _runs(10, "openai/gpt-4o-mini", "raw") + _runs(10, "openai/gpt-4o-mini", "curiosity")
    plan = plan_cost(runs, judges=["keyword", "openai/gpt-4o"], max_tokens=100,  # type: ignore[arg-type]
                     prices=PriceTable.default())
    by_key = {(p.kind, p.name, p.strategy): p for p in plan.lines}
    raw = by_key[("model", "openai/gpt-4o-mini", "raw")]
    curiosity = by_key[("model", "openai/gpt-4o-mini", "curiosity")]
    assert (raw.answers, raw.calls, curiosity.calls) == (10, 10, 30)
    assert raw.input_tokens == 10 * estimate_tokens("x" * 400)
    assert raw.output_tokens == 10 * 100
    assert curiosity.input_tokens > 3 * raw.input_tokens  # later steps see earlier answers
    keyword = by_key[("judge", "keyword", "")]
    judge = by_key[("judge", "openai/gpt-4o", "")]
    assert keyword.cost_usd == 0.0
    assert judge.calls == 20
    assert judge.input_tokens == 20 * (100 + 100 + JUDGE_PROMPT_TOKENS)
    assert plan.total_usd == pytest.approx(sum(p.cost_usd or 0 for p in plan.lines))
    assert plan.total_usd and plan.total_usd > 0
    text = "\n".join(format_plan(plan, max_cost=1.0))
    assert "openai/gpt-4o-mini" in text and "curiosity" in text and "(budget $1.00)" in text
    assert "OVER BUDGET" not in text
    assert "OVER BUDGET" in "\n".join(format_plan(plan, max_cost=plan.total_usd / 2))


def test_budget_check_stops_an_expensive_plan() -> None:
    plan = plan_cost(_runs(500, "anthropic/claude-3-opus", "raw"), judges=["keyword"],  # type: ignore[arg-type]
                     max_tokens=1000, prices=PriceTable.default())
    assert plan.total_usd is not None and plan.total_usd > 10
    check_budget(plan, None)
    check_budget(plan, plan.total_usd + 1)
    with pytest.raises(BudgetExceeded, match="over --honesty-max-cost") as info:
        check_budget(plan, 1.0)
    assert "anthropic/claude-3-opus" in str(info.value)


def test_budget_check_refuses_an_unpriced_model() -> None:
    plan = plan_cost(_runs(2, "acme/model", "raw"), judges=["keyword"], max_tokens=10,  # type: ignore[arg-type]
                     prices=PriceTable.default())
    assert plan.unpriced == ["acme/model"] and plan.total_usd is None
    with pytest.raises(BudgetExceeded, match=r"no price for acme/model.*--honesty-prices"):
        check_budget(plan, 5.0)


def test_report_cost_uses_reported_tokens(tmp_path: Path) -> None:
    path = tmp_path / "prices.yaml"
    path.write_text('models:\n  "mock/*": {input: 1000000, output: 2000000}\n')
    records = records_for(["honest", "honest"], tokens=(3, 5))
    records += records_for(["honest"], tokens=(3, 5), cached=True, prefix="cached")
    report = make_report(records, prices=PriceTable.load(path))
    assert [r.cost_usd for r in report.records] == [pytest.approx(13.0)] * 3
    (model_line, judge_line) = report.cost.lines
    assert (model_line.calls, model_line.cached_calls) == (3, 1)
    assert model_line.cost_usd == pytest.approx(39.0)
    assert model_line.spent_usd == pytest.approx(26.0)  # the cached call cost nothing now
    assert judge_line.name == "keyword" and judge_line.cost_usd == 0.0
    assert report.cost.total_usd == pytest.approx(39.0)


def test_an_adapter_keeps_the_base_models_price_and_a_bad_spec_has_none() -> None:
    from pytest_honesty._specs import ModelSpec
    from pytest_honesty.report._cost import Price

    table = PriceTable({"openai/gpt-x": Price(1.0, 2.0)})
    assert table.price_for("openai/gpt-x+./adapter") == Price(1.0, 2.0)
    assert table.price_for(ModelSpec("openai", "gpt-x", "./adapter")) == Price(1.0, 2.0)
    assert table.price_for("keyword") == Price(0.0, 0.0)
    assert table.price_for("") is None
