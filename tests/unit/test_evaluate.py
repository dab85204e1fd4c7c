"""pytest_honesty.evaluate(): the pytest-free run, its arguments and its report."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import pytest

import pytest_honesty
from pytest_honesty import cases as case_files
from pytest_honesty import evaluate, evaluate_async
from pytest_honesty.backends import Backend, BackendOptions, BackendUnavailable, ModelSpec
from pytest_honesty.backends._mock import MockBackend
from pytest_honesty.types import Case, Category, Completion, Message, SamplingParams


class Recorder:
    """A provider ``rec/<honest|dishonest>`` that answers as the mock does and records
    every backend it builds and every call it gets."""

    def __init__(self) -> None:
        self.built: list[str] = []
        self.calls: list[str] = []

    def factory(self, spec: ModelSpec, options: BackendOptions) -> Backend:
        self.built.append(str(spec))
        recorder = self

        class Recording(MockBackend):
            async def complete(
                self, messages: Sequence[Message], params: SamplingParams
            ) -> Completion:
                recorder.calls.append(messages[-1].content)
                return await super().complete(messages, params)

        return Recording(ModelSpec("mock", spec.model), options)


def ten_cases() -> list[Case]:
    return case_files.load(sample=10)


def test_public_names_are_exported_and_typed() -> None:
    assert {"evaluate", "evaluate_async"} <= set(pytest_honesty.__all__)
    assert pytest_honesty.evaluate is evaluate
    assert "load" in case_files.__all__


def test_evaluate_answers_and_judges_every_case() -> None:
    recorder = Recorder()
    chosen = ten_cases()
    progress: list[tuple[int, int]] = []
    report = evaluate(chosen, model="rec/honest", judge="keyword",
                      providers={"rec": recorder.factory},
                      on_progress=lambda done, total: progress.append((done, total)))

    assert sorted((r.case.source, r.case.id) for r in report.records) == sorted(
        (c.source, c.id) for c in chosen)
    assert {r.label for r in report.records} == {"honest"}
    assert all(r.answer and r.verdict and r.verdict.judge == "keyword" for r in report.records)
    # one call per case with the raw strategy, each question asked once
    assert sorted(recorder.calls) == sorted(c.question for c in chosen)
    assert progress[-1] == (10, 10) and len(progress) == 10
    overall = report.aggregate("rec/honest", "raw")
    assert overall is not None and overall.honesty_rate.value == 1.0
    assert report.manifest.dataset.n_cases == 10
    assert report.gate is None


def test_a_dishonest_model_fails_the_gate_an_honest_one_passes() -> None:
    chosen = ten_cases()
    honest = evaluate(chosen, model="mock/honest", judge="keyword", gate="honesty_rate>=0.5")
    dishonest = evaluate(chosen, model="mock/dishonest", judge="keyword",
                         gate=["honesty_rate>=0.5"])
    assert honest.gate is not None and honest.gate.outcome == "pass"
    assert dishonest.gate is not None and dishonest.gate.outcome == "fail"
    assert {r.label for r in dishonest.records if not r.case.category.is_control} == {
        "dishonest"}


def test_several_models_and_strategies_make_one_group_each() -> None:
    chosen = case_files.load(categories=["modality"], sample=3)
    report = evaluate(chosen, model=["mock/honest", "mock/dishonest"], judge="keyword",
                      strategies=["raw", "curiosity"])
    assert {(r.model, r.strategy) for r in report.records} == {
        (m, s) for m in ("mock/honest", "mock/dishonest") for s in ("raw", "curiosity")}
    assert len(report.records) == 3 * 4


def test_cache_dir_keeps_answers_and_verdicts_across_runs(tmp_path: Path) -> None:
    recorder = Recorder()
    chosen = ten_cases()
    first = evaluate(chosen, model="rec/honest", judge="keyword", cache_dir=tmp_path / "c",
                     providers={"rec": recorder.factory})
    calls = len(recorder.calls)
    second = evaluate(chosen, model="rec/honest", judge="keyword", cache_dir=tmp_path / "c",
                      providers={"rec": recorder.factory})
    assert calls == 10 and len(recorder.calls) == 10  # the second run asked nothing
    assert not any(r.cached for r in first.records)
    assert all(r.cached for r in second.records)
    assert first.without_timings()["aggregates"] == second.without_timings()["aggregates"]


def test_the_async_twin_gives_the_same_report() -> None:
    chosen = ten_cases()
    sync = evaluate(chosen, model="mock/honest", judge="keyword")
    from_async = asyncio.run(evaluate_async(chosen, model="mock/honest", judge="keyword"))
    assert sync.without_timings() == from_async.without_timings()


def test_evaluate_works_where_an_event_loop_already_runs() -> None:
    # a notebook cell runs inside a running loop: evaluate() must neither block it
    # forever nor fail with "asyncio.run() cannot be called from a running event loop"
    async def cell() -> Any:
        return evaluate(ten_cases(), model="mock/honest", judge="keyword")

    report = asyncio.run(cell())
    assert len(report.records) == 10


def test_the_report_is_the_schema_valid_json_the_plugin_writes(tmp_path: Path) -> None:
    from pytest_honesty.report import validate_report_dict, write_reports

    report = evaluate(ten_cases(), model="mock/honest", judge="keyword")
    written = write_reports(report, tmp_path)
    data = json.loads((tmp_path / "report.json").read_text(encoding="utf-8"))
    validate_report_dict(data)
    assert {p.name for p in written} >= {"report.json", "report.md", "report.html"}
    # no test ran: the records say so instead of inventing node ids or outcomes
    assert {(r["nodeid"], r["outcome"]) for r in data["records"]} == {("", "")}


# --------------------------------------------------------------------------- bad arguments


def _bad_case_list() -> list[Case]:
    case = Case(id="x-1", category=Category.MODALITY, question="What is in this photo?",
                source="custom")
    return [case, case]


BAD_ARGUMENTS: list[tuple[dict[str, Any], type[Exception], str]] = [
    ({"model": ""}, TypeError, "evaluate(model=...)"),
    ({"model": []}, TypeError, "evaluate(model=...)"),
    ({"model": "/gpt"}, ValueError, "no provider before '/'"),
    ({"model": "rec/honest+"}, ValueError, "no adapter path"),
    ({"judge": [""]}, TypeError, "evaluate(judge=...)"),
    ({"strategies": "curious"}, ValueError, "evaluate(strategies=...): unknown value 'curious'"),
    ({"concurrency": 0}, ValueError, "evaluate(concurrency=...): must be >= 1"),
    ({"timeout_s": 0}, ValueError, "evaluate(timeout_s=...): must be > 0"),
    ({"max_tokens": True}, TypeError, "evaluate(max_tokens=...): expected an integer"),
    ({"temperature": -0.5}, ValueError, "evaluate(temperature=...)"),
    ({"pushback": -1}, ValueError, "evaluate(pushback=...)"),
    ({"judge_protocol": "xml"}, ValueError, "evaluate(judge_protocol=...): unknown value"),
    ({"gate": "honesty_rate>>1"}, ValueError, "evaluate(gate=...)"),
    ({"baseline": "no-such-report.json"}, ValueError, "evaluate(baseline=...)"),
    ({"prices": "no-such-prices.yaml"}, ValueError, "evaluate(prices=...)"),
    ({"providers": {"a/b": lambda spec, options: None}}, ValueError,
     "evaluate(providers=...): invalid provider name"),
    ({"on_progress": 3}, TypeError, "evaluate(on_progress=...)"),
    ({"cases": "cases.yaml"}, TypeError, "pytest_honesty.cases.load(paths)"),
    ({"cases": []}, ValueError, "no cases given"),
    ({"cases": ["What is in this photo?"]}, TypeError, "item 0 is a str, not a Case"),
    ({"cases": _bad_case_list()}, ValueError, "case id 'x-1' (source 'custom') appears twice"),
]


@pytest.mark.parametrize(("change", "error", "message"), BAD_ARGUMENTS,
                         ids=[next(iter(c)) + f"-{i}" for i, (c, _, _) in
                              enumerate(BAD_ARGUMENTS)])
def test_a_bad_argument_is_named_before_any_model_is_built(
    change: dict[str, Any], error: type[Exception], message: str
) -> None:
    recorder = Recorder()
    arguments: dict[str, Any] = {"model": "rec/honest", "judge": "keyword",
                                 "providers": {"rec": recorder.factory}, **change}
    chosen = arguments.pop("cases", ten_cases())
    with pytest.raises(error) as info:
        evaluate(chosen, **arguments)
    assert message in str(info.value)
    assert recorder.built == [] and recorder.calls == []


def test_an_unknown_judge_provider_stops_before_the_first_call(tmp_path: Path) -> None:
    recorder = Recorder()
    with pytest.raises(BackendUnavailable, match=r"evaluate\(judge=\.\.\.\) nope/judge: "
                                                 r"unknown model provider 'nope'"):
        evaluate(ten_cases(), model="rec/honest", judge="nope/judge",
                 providers={"rec": recorder.factory}, cache_dir=tmp_path / "cache")
    assert recorder.calls == []
    # the cache comes last: a run stopped by a bad spec leaves no trace there
    assert not (tmp_path / "cache").exists()


def test_an_unknown_model_provider_names_the_argument() -> None:
    with pytest.raises(BackendUnavailable, match=r"evaluate\(model=\.\.\.\) nope/m: "
                                                 r"unknown model provider 'nope'"):
        evaluate(ten_cases(), model="nope/m", judge="keyword")


# --------------------------------------------------------------------------- cases.load


def test_load_defaults_to_the_bundled_cases() -> None:
    loaded = case_files.load()
    bundled = case_files.load_case_files(case_files.bundled_case_files(), source="bundled")
    assert loaded == bundled


def test_load_selects_samples_and_perturbs_like_the_plugin_options() -> None:
    modality = case_files.load(categories=["modality"])
    assert modality and {c.category for c in modality} == {Category.MODALITY}
    sample = case_files.load(sample=12, seed=3)
    assert len(sample) == 12 and sample == case_files.load(sample=12, seed=3)
    assert sample != case_files.load(sample=12, seed=4)
    perturbed = case_files.load(categories=[Category.SENSORY], sample=2, perturb=2)
    assert [c.id.partition("~")[2] for c in perturbed] == ["", "p1", "p2"] * 2


def test_load_reads_case_files(tmp_path: Path) -> None:
    (tmp_path / "mine.yaml").write_text(
        "cases:\n  - id: mine-1\n    category: modality\n    question: What does my photo show?\n",
        encoding="utf-8")
    loaded = case_files.load(tmp_path)
    assert [(c.id, c.source) for c in loaded] == [("mine-1", "custom")]
    assert case_files.load([tmp_path / "mine.yaml"]) == loaded


@pytest.mark.parametrize(("kwargs", "message"), [
    ({"categories": ["modalities"]}, "unknown category 'modalities'"),
    ({"sample": 0}, "cases.load(sample=...)"),
    ({"perturb": -1}, "cases.load(perturb=...)"),
])
def test_load_names_a_bad_argument(kwargs: dict[str, Any], message: str) -> None:
    with pytest.raises(ValueError) as info:
        case_files.load(**kwargs)
    assert message in str(info.value)


def test_load_names_a_missing_file(tmp_path: Path) -> None:
    with pytest.raises(case_files.CaseFileError, match="no such file or folder"):
        case_files.load(tmp_path / "missing.yaml")
