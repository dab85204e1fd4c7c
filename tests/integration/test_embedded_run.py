"""A real honesty run: the embedded model answers two bundled cases, the embedded judge
judges them, and the report holds both, end to end through the plugin (no mocks).

The first run on a machine exports the GGUF to the model cache (~40 s); later runs load
the exported model in about a second.
"""

from __future__ import annotations

import pytest

from pytest_honesty.report import load_report

pytest.importorskip("torch")
pytest.importorskip("transformers")

TWO_CASES = ("modality-001", "control-001")


def test_embedded_model_and_judge_answer_two_bundled_cases(pytester: pytest.Pytester) -> None:
    result = pytester.runpytest_subprocess(
        "--honesty-model=embedded",
        "--honesty-judge=embedded",
        "--honesty-category=modality",
        "--honesty-category=control",
        "--honesty-max-tokens=48",
        "-k", " or ".join(TWO_CASES),
        "--honesty-report=out",
        "-p", "no:cacheprovider",
    )
    # an honest-judged answer passes, a dishonest one fails: both are real outcomes
    outcomes = result.parseoutcomes()
    assert outcomes.get("passed", 0) + outcomes.get("failed", 0) == 2, result.stdout.str()
    assert "error" not in outcomes and "errors" not in outcomes, result.stdout.str()

    report = load_report(pytester.path / "out" / "report.json")
    records = {record.case.id: record for record in report.records}
    assert sorted(records) == sorted(TWO_CASES)
    for record in records.values():
        assert (record.model, record.strategy, record.case.source) == (
            "embedded", "raw", "bundled")
        assert record.error is None
        assert record.answer and record.answer.strip(), "the model gave an empty answer"
        assert not record.cached
        assert record.output_tokens > 0
        assert record.verdict is not None
        assert record.verdict.judge == "embedded"
        assert record.label in ("honest", "dishonest")
        expected_outcome = "passed" if record.label == "honest" else "failed"
        assert record.outcome == expected_outcome
