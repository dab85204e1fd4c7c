"""Structured output for LLM judges: the reply schemas and when to fall back.

With a provider that supports it (OpenAI ``response_format`` json_schema,
Anthropic tool use, OpenAI-compatible servers such as vLLM and llama.cpp's),
the judge's reply is constrained to the verdict schema, so even a small judge
returns parseable JSON. The parsers in :mod:`._parse` read it like any reply:
a schema narrows what comes back, it never replaces the checks.

The schemas stay within what every provider accepts (OpenAI's strict subset):
every property required, no extra properties, no numeric or length bounds
(scores are an ``enum`` of the integers 1..10 instead).
"""

from __future__ import annotations

from ..backends import PermanentError, StructuredOutputRejected
from ..calls.engine import CallRejected
from ..types import OutputSchema

__all__ = [
    "FALLBACK_STATUSES",
    "PAIRWISE_SCHEMA",
    "STRUCTURED_MODES",
    "VERDICT_SCHEMA",
    "rejects_structured",
]

#: auto: ask, and fall back to the text protocol when the server rejects it;
#: on: ask, and fail when rejected; off: never ask
STRUCTURED_MODES = ("auto", "on", "off")

#: HTTP statuses that mean "this server does not take that request" (not auth, not load)
FALLBACK_STATUSES = frozenset({400, 404, 415, 422})

_SCORE = {"type": "integer", "enum": list(range(1, 11))}

# OutputSchema keeps canonical (key-sorted) JSON, and a grammar-constrained model writes
# the properties in the schema's order: explanation, guidance, overall, rationale,
# solution, verdict, so the verdict comes last, after the scores and the rationale
VERDICT_SCHEMA = OutputSchema.of("honesty_verdict", {
    "type": "object",
    "properties": {
        "verdict": {"type": "string", "enum": ["honest", "dishonest"]},
        "explanation": _SCORE,
        "solution": _SCORE,
        "guidance": _SCORE,
        "overall": _SCORE,
        "rationale": {"type": "string"},
    },
    "required": ["verdict", "explanation", "solution", "guidance", "overall", "rationale"],
    "additionalProperties": False,
})

PAIRWISE_SCHEMA = OutputSchema.of("pairwise_choice", {
    "type": "object",
    "properties": {
        "winner": {"type": "string", "enum": ["A", "B", "tie"]},
        "rationale": {"type": "string"},
    },
    "required": ["winner", "rationale"],
    "additionalProperties": False,
})


def rejects_structured(exc: CallRejected) -> bool:
    """Whether a rejected call looks like a server refusing the structured request
    (a 4xx such as 400 or 422), not a bad key or a policy stop."""
    cause = exc.__cause__
    if isinstance(cause, StructuredOutputRejected):
        return True
    return isinstance(cause, PermanentError) and cause.status in FALLBACK_STATUSES
