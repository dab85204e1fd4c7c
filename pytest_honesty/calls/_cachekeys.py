"""Cache keys: sha256 over a canonical JSON of what determines a result.

Only model specs, fingerprints, messages, sampling parameters and judge
identities go into a key. Backends must never put API keys, tokens or other
secrets into ``fingerprint()`` or into messages: the key is a hash, but the
rule keeps secrets out of anything the cache derives from.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Sequence
from typing import Any

from ..backends._base import ModelSpec
from ..types import Case, Message, SamplingParams

__all__ = ["KEY_VERSION", "canonical_json", "completion_key", "verdict_key"]

#: bump when the key layout changes, so that old entries are simply never hit
KEY_VERSION = 1


def _normalise(value: Any) -> Any:
    # 0 and 0.0 (and -0.0) compare equal in Python but dump differently in JSON;
    # integral floats become ints so that equal parameters give equal keys.
    if isinstance(value, bool) or value is None or isinstance(value, (str, int)):
        return value
    if isinstance(value, float):
        if value.is_integer() and abs(value) < 2**53:
            return int(value)
        return value
    if isinstance(value, dict):
        return {str(k): _normalise(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_normalise(v) for v in value]
    raise TypeError(f"cannot put {type(value).__name__} into a cache key")


def canonical_json(value: Any) -> str:
    """Deterministic JSON: sorted keys, no spaces, integral floats as ints.

    Raises ValueError for NaN or infinity (they have no canonical form).
    """
    return json.dumps(
        _normalise(value),
        sort_keys=True,
        separators=(",", ":"),
        ensure_ascii=False,
        allow_nan=False,
    )


def _digest(parts: dict[str, Any]) -> str:
    # ``parts`` is already normalised by the callers (this runs once per model
    # call, so it skips the generic walk over long message texts).
    text = json.dumps(
        parts, sort_keys=True, separators=(",", ":"), ensure_ascii=False, allow_nan=False
    )
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def completion_key(
    spec: ModelSpec | str,
    messages: Sequence[Message],
    params: SamplingParams,
    *,
    fingerprint: str = "",
    namespace: str = "model",
    context: str = "",
    answers_by: str = "",
) -> str:
    """The cache key of one model call.

    ``fingerprint`` is the backend's :meth:`Backend.fingerprint` (e.g. a hash of
    adapter weights); when given it stands for the adapter instead of the
    adapter's path, so that moving an adapter folder keeps its cache.
    ``namespace`` separates model calls from judge calls (``"judge"``), so that
    judge results can be dropped without losing answers. ``context`` is any
    further identity, such as a strategy or template hash. ``answers_by`` is the
    backend's :meth:`Backend.answers_by` (e.g. the case id a scripted backend answers
    by); it joins the key only when not empty, so real models' keys stay as they were.
    """
    model = ModelSpec.parse(spec) if isinstance(spec, str) else spec
    parts: dict[str, Any] = {
        "kind": "completion",
        "v": KEY_VERSION,
        "namespace": str(namespace),
        "provider": str(model.provider),
        "model": str(model.model),
        "adapter": None if fingerprint else model.adapter,
        "fingerprint": str(fingerprint),
        "messages": [[str(m.role), str(m.content)] for m in messages],
        "params": _normalise(params.to_dict()),
        "context": str(context),
    }
    if answers_by:
        parts["answers_by"] = str(answers_by)
    return _digest(parts)


def verdict_key(
    judge: str,
    case: Case,
    answers: str | Sequence[str],
    *,
    fingerprint: str = "",
    context: str = "",
) -> str:
    """The cache key of one judge verdict on one answer (or several, pairwise).

    The case id is left out on purpose: the same question and answer get the
    same verdict whichever case file they came from.
    """
    answer_list = [answers] if isinstance(answers, str) else list(answers)
    return _digest(
        {
            "kind": "verdict",
            "v": KEY_VERSION,
            "judge": str(judge),
            "fingerprint": str(fingerprint),
            "category": str(case.category.value),
            "question": str(case.question),
            "domain": case.domain,
            "expected": case.expected,
            "answers": [str(a) for a in answer_list],
            "context": str(context),
        }
    )
