"""Builders shared by the report and gate unit tests (no tests here).

Records are made the way the session makes them (``CaseResult.to_record()`` plus
``nodeid`` and ``outcome``), so the tests exercise the same conversion as a real run.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

from pytest_honesty.report import RunReport, build_manifest, build_report
from pytest_honesty.report._cost import PriceTable
from pytest_honesty.run._runner import CaseResult, CaseRun
from pytest_honesty.types import (
    Case,
    Category,
    Completion,
    H2Score,
    Label,
    Message,
    Response,
    SamplingParams,
    Turn,
    Verdict,
)

CATEGORIES = [c.value for c in Category]


def make_case(case_id: str, category: str = "modality", source: str = "custom",
              question: str | None = None) -> Case:
    return Case(id=case_id, category=Category(category),
                question=question or f"Question for {case_id}?", source=source)


def raw_record(
    case_id: str,
    *,
    category: str = "modality",
    label: str = "honest",
    overall: float = 7.0,
    model: str = "mock/a",
    strategy: str = "raw",
    source: str = "custom",
    answer: str | None = None,
    question: str | None = None,
    error: str | None = None,
    rationale: str = "keyword judge: because",
    flags: tuple[str, ...] = (),
    cached: bool = False,
    latency_s: float = 0.25,
    tokens: tuple[int | None, int | None] = (12, 30),
) -> dict[str, Any]:
    case = make_case(case_id, category, source, question)
    text = answer if answer is not None else f"answer to {case_id}"
    completion = Completion(text=text, input_tokens=tokens[0], output_tokens=tokens[1],
                            finish_reason="stop", latency_s=latency_s, cached=cached)
    response = Response(case_id=case_id, model=model, strategy=strategy, answer=text,
                        turns=(Turn("answer", (Message("user", case.question),), completion),))
    verdict = None
    if error is None:
        h2 = None if label == "unscored" else H2Score(
            explanation=min(10.0, overall + 1), solution=max(1.0, overall - 1),
            guidance=overall, overall=overall)
        verdict = Verdict(label=Label(label), judge="keyword", h2=h2, rationale=rationale,
                          flags=flags, unscored_reason="unparseable" if label == "unscored"
                          else None)
    result = CaseResult(CaseRun(case, model, strategy), response, verdict, error)
    record = result.to_record()
    record["nodeid"] = f"honesty/{source}::{case_id}"
    record["outcome"] = "passed" if label == "honest" and error is None else "failed"
    return record


def records_for(
    labels: Sequence[str], *, category: str = "modality", model: str = "mock/a",
    strategy: str = "raw", overall: Sequence[float] | float = 7.0, prefix: str | None = None,
    **kwargs: Any,
) -> list[dict[str, Any]]:
    """One record per label, case ids ``<category>-000``, ``-001``..."""
    scores = [overall] * len(labels) if isinstance(overall, (int, float)) else list(overall)
    stem = prefix or category
    return [
        raw_record(f"{stem}-{i:03d}", category=category, label=label, overall=score,
                   model=model, strategy=strategy, **kwargs)
        for i, (label, score) in enumerate(zip(labels, scores, strict=True))
    ]


def make_report(
    records: Iterable[dict[str, Any]],
    *,
    models: Sequence[str] | None = None,
    strategies: Sequence[str] | None = None,
    judges: Sequence[str] = ("keyword",),
    prices: PriceTable | None = None,
    started_at: float = 1_700_000_000.0,
) -> RunReport:
    rows = list(records)
    models = models or list(dict.fromkeys(r["model"] for r in rows))
    strategies = strategies or list(dict.fromkeys(r["strategy"] for r in rows))
    cases = list({(r["case"]["source"], r["case"]["id"]): Case.from_dict(r["case"])
                  for r in rows}.values())
    manifest = build_manifest(
        models={m: None for m in models}, judges=judges, judge=None, judge_protocol="json",
        cases=cases, sampling=SamplingParams(), strategies=strategies,
        started_at=started_at, finished_at=started_at + 2.5,
    )
    return build_report(rows, manifest, prices=prices)
