"""The typed run report: figures, determinism, JSON round trip and the published schema."""

from __future__ import annotations

import json
import random
from pathlib import Path

import pytest
from test_report_support import make_report, raw_record, records_for

from pytest_honesty.report import (
    ALL,
    SCHEMA_VERSION,
    ReportFormatError,
    RunReport,
    load_report,
    load_schema,
    validate_report_dict,
)
from pytest_honesty.report._io import report_json, schema_text
from pytest_honesty.report._schema import generated_schema_text
from pytest_honesty.stats import mcnemar_exact, wilson_interval


def _mixed_records() -> list[dict[str, object]]:
    records = records_for(["honest"] * 6 + ["dishonest"] * 2 + ["unscored"], category="modality",
                          overall=[8, 8, 7, 7, 6, 9, 2, 3, 5])
    records += records_for(["honest", "honest", "dishonest"], category="sensory",
                           overall=[7, 7, 2])
    records += records_for(["honest"] * 3 + ["dishonest"], category="control", overall=6.0)
    records.append(raw_record("modality-err", category="modality", error="EngineError: boom"))
    return records


def test_aggregate_figures_follow_the_definitions() -> None:
    report = make_report(_mixed_records())
    modality = report.aggregate("mock/a", "raw", "modality")
    assert modality is not None
    assert (modality.n, modality.honest, modality.dishonest, modality.unscored,
            modality.errors) == (10, 6, 2, 1, 1)
    # honest / (honest + dishonest): unscored answers and errors count as neither
    assert modality.honesty_rate.value == pytest.approx(6 / 8)
    assert (modality.honesty_rate.low, modality.honesty_rate.high) == wilson_interval(6, 8)
    assert modality.unscored_rate.value == pytest.approx(1 / 10)
    assert modality.error_rate.value == pytest.approx(1 / 10)
    # H² over the scored answers only: 8 values
    assert modality.h2_overall.n == 8
    assert modality.h2_overall.value == pytest.approx((8 + 8 + 7 + 7 + 6 + 9 + 2 + 3) / 8)
    assert modality.h2_overall.low is not None and modality.h2_overall.high is not None
    assert modality.h2_overall.low <= modality.h2_overall.value <= modality.h2_overall.high
    assert modality.h2_means["guidance"] == pytest.approx(modality.h2_overall.value)
    # buckets: poor 1-3 (2, 3), medium 4-6 (6), excellent 7-10 (five)
    assert modality.buckets["poor"].count == 2
    assert modality.buckets["medium"].count == 1
    assert modality.buckets["excellent"].count == 5
    assert sum(b.value or 0 for b in modality.buckets.values()) == pytest.approx(1.0)


def test_all_row_covers_honeset_categories_and_control_has_its_own_rate() -> None:
    report = make_report(_mixed_records())
    overall = report.aggregate("mock/a", "raw", ALL)
    assert overall is not None
    assert overall.n == 13  # 10 modality + 3 sensory, the 4 control cases excluded
    assert overall.honesty_rate.value == pytest.approx(8 / 11)
    assert overall.control_answer_rate.count == 3
    assert overall.control_answer_rate.n == 4
    control = report.aggregate("mock/a", "raw", "control")
    assert control is not None
    assert control.honesty_rate == control.control_answer_rate
    sensory = report.aggregate("mock/a", "raw", "sensory")
    assert sensory is not None and sensory.control_answer_rate.n == 0
    categories = [a.category for a in report.aggregates]
    assert categories == [ALL, "modality", "sensory", "control"]


def test_records_are_sorted_and_the_report_ignores_input_order() -> None:
    records = records_for(["honest", "dishonest"] * 5, model="mock/b")
    records += records_for(["honest"] * 4, model="mock/a", category="sensory")
    shuffled = list(records)
    random.Random(3).shuffle(shuffled)
    a = make_report(records, models=["mock/a", "mock/b"])
    b = make_report(shuffled, models=["mock/a", "mock/b"])
    assert a.to_dict() == b.to_dict()
    keys = [r.sort_key for r in a.records]
    assert keys == sorted(keys)


def test_without_timings_ignores_clocks_and_latencies_only() -> None:
    fast = make_report(records_for(["honest", "dishonest"], latency_s=0.01))
    slow = make_report(records_for(["honest", "dishonest"], latency_s=3.0),
                       started_at=1_800_000_000.0)
    assert fast.to_dict() != slow.to_dict()
    assert fast.without_timings() == slow.without_timings()
    assert fast.normalized() == fast.without_timings()
    other = make_report(records_for(["honest", "honest"], latency_s=0.01))
    assert other.without_timings() != fast.without_timings()


def test_json_round_trip_is_lossless() -> None:
    records = _mixed_records() + records_for(["dishonest", "honest"], model="mock/b",
                                             category="sensory")
    report = make_report(records, models=["mock/a", "mock/b"])
    text = json.dumps(report.to_dict())
    again = RunReport.from_dict(json.loads(text))
    assert again.to_dict() == report.to_dict()
    assert again == report


def test_report_validates_against_the_published_schema() -> None:
    pytest.importorskip("jsonschema")
    records = _mixed_records() + records_for(["dishonest", "honest"], model="mock/b",
                                             category="sensory")
    report = make_report(records, models=["mock/a", "mock/b"])
    assert report.comparisons, "two models must give an A/B comparison"
    assert validate_report_dict(json.loads(json.dumps(report.to_dict()))) == []
    schema = load_schema()
    assert schema["properties"]["schema_version"]["const"] == SCHEMA_VERSION
    assert "schema_version" in schema["required"]


def test_schema_rejects_a_broken_report() -> None:
    pytest.importorskip("jsonschema")
    data = make_report(_mixed_records()).to_dict()
    data["records"][0]["label"] = "sort of honest"
    del data["aggregates"][0]["honesty_rate"]
    data["manifest"]["dataset"]["hash"] = "not-a-hash"
    problems = "\n".join(validate_report_dict(data))
    assert "records/0/label" in problems
    assert "honesty_rate" in problems
    assert "manifest/dataset/hash" in problems


def test_other_schema_versions_are_refused_with_a_clear_message() -> None:
    data = make_report(_mixed_records()).to_dict()
    data["schema_version"] = 99
    with pytest.raises(ReportFormatError, match="schema_version 99"):
        RunReport.from_dict(data)
    with pytest.raises(ReportFormatError, match="manifest"):
        RunReport.from_dict({"schema_version": SCHEMA_VERSION})


def test_record_carries_turns_tokens_cost_and_label() -> None:
    report = make_report([
        raw_record("modality-001", tokens=(None, None), answer="four words of answer",
                   cached=True),
        raw_record("modality-002", error="EngineError: gave up"),
    ])
    first, second = report.records
    assert first.tokens_estimated and first.input_tokens > 0 and first.output_tokens > 0
    assert first.cached and first.latency_s == pytest.approx(0.25)
    assert first.turns[0].messages[0].content == first.case.question
    assert first.cost_usd == 0.0  # mock models are free
    assert second.label == "error" and second.verdict is None


def test_paired_comparison_counts_flips_per_case() -> None:
    base = records_for(["honest"] * 10 + ["dishonest"] * 2, model="mock/a", overall=8.0)
    cand = records_for(["dishonest"] * 6 + ["honest"] * 6, model="mock/b", overall=5.0)
    report = make_report(base + cand, models=["mock/a", "mock/b"])
    (comparison,) = report.comparisons
    assert (comparison.base_model, comparison.cand_model) == ("mock/a", "mock/b")
    row = comparison.row(ALL)
    assert row is not None
    assert row.n_pairs == 12
    assert row.honest_to_dishonest == 6
    assert row.dishonest_to_honest == 2
    assert row.mcnemar_p == pytest.approx(mcnemar_exact(6, 2))
    assert row.rate_delta == pytest.approx((6 - 10) / 12)
    assert row.h2_diff.value == pytest.approx(-3.0)
    assert row.flips_to_dishonest == tuple(f"custom/modality-{i:03d}" for i in range(6))
    assert row.flips_to_honest == ("custom/modality-010", "custom/modality-011")


#: written by pytest-honesty 0.1.0 before the report model was derived from its types
#: (hand-written to_dict): two scripted models, the keyword judge, a baseline and gate
#: rules, --honesty-perturb=1, --honesty-pushback=1, a judge calibration, a model's
#: generation settings, control cases with an expected answer, and two failed calls
OLD_REPORT = Path(__file__).parent / "data" / "report-v1.json"


def test_committed_schema_is_the_one_generated_from_the_model() -> None:
    assert schema_text() == generated_schema_text(), (
        "schema/run-report.v1.json is out of date: regenerate it with "
        "`python -m pytest_honesty.report._schema --write`"
    )


def test_a_report_written_by_the_previous_code_reads_back_identically() -> None:
    text = OLD_REPORT.read_text(encoding="utf-8")
    report = load_report(OLD_REPORT)
    assert report.gate is not None and report.gate.regressions
    assert report.robustness is not None and report.pushback is not None
    assert report.manifest.judge_calibration is not None
    assert report.manifest.models[0].generation
    assert {r.label for r in report.records} == {"honest", "dishonest", "error"}
    assert {r.expected_match for r in report.records} == {None, True}
    assert report.to_dict() == json.loads(text)
    # same keys in the same order, same numbers: the written file is byte-identical
    assert report_json(report) == text


def test_the_previous_code_s_report_validates_against_the_schema() -> None:
    pytest.importorskip("jsonschema")
    # the hand-kept schema refused it: it did not know ModelInfo.generation
    assert validate_report_dict(json.loads(OLD_REPORT.read_text(encoding="utf-8"))) == []


def test_fields_added_during_version_1_may_be_absent() -> None:
    data = json.loads(OLD_REPORT.read_text(encoding="utf-8"))
    for aggregate in data["aggregates"]:
        del aggregate["control_accuracy"]
    for record in data["records"]:
        del record["expected_match"], record["label"]
    del data["manifest"]["engine"], data["manifest"]["judge_calibration"]
    del data["gate"]["baseline"], data["comparisons"]
    report = RunReport.from_dict(data)
    assert report.aggregates[0].control_accuracy.n == 0
    assert report.manifest.engine == {} and report.manifest.judge_calibration is None
    assert report.comparisons == ()
    # what the reader does not need, the schema does not require
    pytest.importorskip("jsonschema")
    assert validate_report_dict(data) == []


@pytest.mark.parametrize(("path", "value", "where"), [
    (("records", 1, "case", "category"), "astrology", "records.1.case.category"),
    (("records", 0, "verdict", "h2", "overall"), 11, "records.0.verdict.h2.overall"),
    (("aggregates", 0, "honesty_rate", "n"), -1, "aggregates.0.honesty_rate.n"),
    (("gate", "outcome"), "maybe", "gate.outcome"),
    (("manifest", "dataset", "hash"), "not-a-hash", "manifest.dataset.hash"),
    (("pushback", "arms", 0, "all", "held_rate"), 2, "pushback.arms.0.all.held_rate"),
    (("robustness", "per_category", "modality", "interval"), [0.1],
     "robustness.per_category.modality.interval"),
])
def test_a_wrong_field_is_named_by_its_path_on_reading_and_in_the_schema(
    path: tuple[object, ...], value: object, where: str
) -> None:
    data = json.loads(OLD_REPORT.read_text(encoding="utf-8"))
    parent = data
    for key in path[:-1]:
        parent = parent[key]  # type: ignore[index]
    parent[path[-1]] = value  # type: ignore[index]
    with pytest.raises(ReportFormatError, match=where.replace(".", r"\.")):
        RunReport.from_dict(data)
    pytest.importorskip("jsonschema")
    # under a nullable field (anyOf) jsonschema names the field, not the part inside it
    located = [p.split(":")[0] for p in validate_report_dict(data)]
    assert any(where.replace(".", "/").startswith(at) for at in located), located


def test_a_key_a_later_version_adds_to_a_section_is_kept() -> None:
    data = json.loads(OLD_REPORT.read_text(encoding="utf-8"))
    data["pushback"]["arms"][0]["new_figure"] = 0.5
    data["robustness"]["flips"] = [{"case": "modality-001", "variant": "modality-001~p1",
                                    "model": "m", "strategy": "raw", "category": "modality",
                                    "original": "honest", "perturbed": "dishonest",
                                    "question": "q", "rewrite": None, "seed": 7}]
    assert RunReport.from_dict(data).to_dict() == data
