"""Reading judged answers from run reports (no torch needed).

Three input shapes are accepted, because answers reach us from several places:

* a run report (``report.json``): a JSON object whose ``records`` list holds one
  record per case, model and strategy;
* a bare JSON list of such records;
* JSONL, one record per line (what ``honesty finetune run`` collects).

A record carries its answer either at the top (``answer``, the report's form) or
under ``response.answer`` (the runner's ``CaseResult.to_record()`` form).
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

__all__ = [
    "JudgedAnswer",
    "ReadResult",
    "RecordFormatError",
    "load_records",
    "read_answers",
    "to_answer",
]


class RecordFormatError(ValueError):
    """A report or record file cannot be read as judged answers."""


@dataclass(frozen=True)
class JudgedAnswer:
    """One usable answer: scored (honest or dishonest), with its H² overall if any."""

    case_id: str
    source: str
    category: str
    question: str
    model: str
    strategy: str
    answer: str
    label: str  # "honest" | "dishonest"
    h2: float | None
    flags: tuple[str, ...] = ()
    case: dict[str, Any] = field(default_factory=dict, compare=False, repr=False)

    @property
    def honest(self) -> bool:
        return self.label == "honest"


@dataclass
class ReadResult:
    """The usable answers and, for the manifest, why the others were left out."""

    answers: list[JudgedAnswer] = field(default_factory=list)
    skipped: Counter[str] = field(default_factory=Counter)
    records: int = 0


def load_records(path: Path) -> list[dict[str, Any]]:
    """The records in a report, a bare JSON list or a JSONL file."""
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise RecordFormatError(f"cannot read report {path}: {exc}") from None
    stripped = text.lstrip()
    if not stripped:
        raise RecordFormatError(f"report {path} is empty")
    data: Any
    try:
        data = json.loads(text)
    except json.JSONDecodeError:
        data = None
        if stripped.startswith("{"):
            data = _jsonl(path, text)
        if data is None:
            raise RecordFormatError(
                f"report {path} is neither JSON nor JSONL; give a run report (report.json), "
                "a JSON list of records or a JSONL file of records"
            ) from None
    if isinstance(data, dict):
        if "records" not in data:
            if "case" in data:  # a JSONL file holding a single record
                return [data]
            raise RecordFormatError(
                f"report {path} is a JSON object without a 'records' list; is it a run report "
                "(report.json written by --honesty-report)?"
            )
        data = data["records"]
    if not isinstance(data, list) or not all(isinstance(r, dict) for r in data):
        raise RecordFormatError(f"report {path}: 'records' must be a list of JSON objects")
    return data


def _jsonl(path: Path, text: str) -> list[dict[str, Any]]:
    records: list[dict[str, Any]] = []
    for number, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        try:
            record = json.loads(line)
        except json.JSONDecodeError as exc:
            raise RecordFormatError(f"{path}, line {number}: not valid JSON ({exc.msg})") from None
        if not isinstance(record, dict):
            raise RecordFormatError(f"{path}, line {number}: a record must be a JSON object")
        records.append(record)
    return records


def _answer_text(record: dict[str, Any]) -> str | None:
    answer = record.get("answer")
    if answer is None and isinstance(record.get("response"), dict):
        answer = record["response"].get("answer")
    return answer if isinstance(answer, str) else None


def to_answer(record: dict[str, Any]) -> tuple[JudgedAnswer | None, str]:
    """The usable answer of a record, or None and the reason it is not usable.

    Errored, unjudged and unscored records never become answers: an unscored
    verdict is neither honest nor dishonest, so it cannot be preferred or rejected.
    """
    if record.get("error"):
        return None, "error"
    extra = record.get("extra")
    if record.get("pushback") or (isinstance(extra, dict) and extra.get("pushback")):
        # a reply to a pushback conversation, not to the question alone: no training pair
        return None, "pushback"
    case = record.get("case")
    if not isinstance(case, dict) or not case.get("id") or not case.get("question"):
        return None, "no case"
    verdict = record.get("verdict")
    if not isinstance(verdict, dict):
        return None, "not judged"
    label = verdict.get("label")
    if label == "unscored":
        return None, "unscored"
    if label not in ("honest", "dishonest"):
        return None, "unknown label"
    answer = _answer_text(record)
    if answer is None or not answer.strip():
        return None, "empty answer"
    h2 = verdict.get("h2")
    overall: float | None = None
    if isinstance(h2, dict) and h2.get("overall") is not None:
        try:
            overall = float(h2["overall"])
        except (TypeError, ValueError):
            return None, "bad h2"
    return (
        JudgedAnswer(
            case_id=str(case["id"]),
            source=str(case.get("source", "")),
            category=str(case.get("category", "")),
            question=str(case["question"]),
            model=str(record.get("model", "")),
            strategy=str(record.get("strategy", "")),
            answer=answer,
            label=str(label),
            h2=overall,
            flags=tuple(str(f) for f in verdict.get("flags") or ()),
            case=dict(case),
        ),
        "",
    )


def read_answers(paths: Iterable[Path]) -> ReadResult:
    """Every usable answer in the given reports, with counts of what was skipped."""
    result = ReadResult()
    for path in paths:
        for record in load_records(path):
            result.records += 1
            answer, reason = to_answer(record)
            if answer is None:
                result.skipped[reason] += 1
            else:
                result.answers.append(answer)
    return result
