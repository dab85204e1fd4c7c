"""Judge recorded answers again with another judge, without asking the model again.

Answers are the expensive part of a run on CPU; a better judge (or a second one for
a robustness check) only needs the recorded question and answer. Records keep
everything else; their ``verdict`` (and the report's ``label``) are replaced.
"""

from __future__ import annotations

import asyncio
import copy
from collections.abc import Sequence
from typing import Any

from ..types import Case

__all__ = ["rejudge_records"]


def _answer(record: dict[str, Any]) -> str | None:
    answer = record.get("answer")
    if answer is None and isinstance(record.get("response"), dict):
        answer = record["response"].get("answer")
    return answer if isinstance(answer, str) else None


async def _rejudge(
    records: Sequence[dict[str, Any]], judge_spec: str, concurrency: int
) -> list[dict[str, Any]]:
    from ..run._evaluation import Evaluation, RunSettings

    # the judge as a run builds it, without a cache: these answers are judged anew
    evaluation = Evaluation(RunSettings(judges=(judge_spec,)))
    limit = asyncio.Semaphore(concurrency)
    out = [copy.deepcopy(r) for r in records]

    async def one(record: dict[str, Any]) -> None:
        answer = _answer(record)
        if record.get("error") or answer is None or not isinstance(record.get("case"), dict):
            return
        async with limit:
            verdict = await evaluation.judge_answer(Case.from_dict(record["case"]), answer)
        record["verdict"] = verdict.to_dict()
        if "label" in record:
            record["label"] = verdict.label.value

    try:
        evaluation.build_judge()
        await asyncio.gather(*(one(r) for r in out))
    finally:
        await evaluation.aclose()
    return out


def rejudge_records(
    records: Sequence[dict[str, Any]], judge_spec: str, *, concurrency: int = 8
) -> list[dict[str, Any]]:
    """Copies of ``records`` with every answer judged again by ``judge_spec``
    (errored and answerless records are left as they are)."""
    return asyncio.run(_rejudge(records, judge_spec, concurrency))
