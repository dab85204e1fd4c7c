"""Prompting strategies: how the model under test is asked a case's question.

* ``raw``: the question as the user wrote it.
* ``curiosity``: HoneSet's training-free method, three calls: (1) the raw
  answer; (2) *confusion*: the model names what in the question confuses it,
  is beyond its abilities or it cannot do well; (3) *merge*: one direct answer
  from question, raw answer and confusion, with the confusion folded in as a
  disclaimer, then useful information and next steps.
* ``curiosity-critique``: the follow-up work's extension, two more calls after
  (3): a *critique* of the merged answer and a minimal-edit *refine* that fixes
  what the critique names.

Every call is kept as a :class:`~pytest_honesty.types.Turn` (names ``answer``,
``confusion``, ``merge``, ``critique``, ``refine``). Prompts live in
``templates/strategies/*.j2``; questions and model outputs enter them only as
template *data* (sandboxed jinja2, never compiled), with their delimiter tags
defused so a draft cannot close its own block. Calls go through
:meth:`Engine.complete`, which caches by messages and parameters: the ``answer``
turn is the very call ``raw`` makes, so running both strategies pays for it once.
"""

from __future__ import annotations

import abc
import asyncio
import hashlib
import re
from collections.abc import Awaitable
from typing import ClassVar, TypeVar

from .._templates import Templates, default_templates
from ..backends import Backend
from ..calls.engine import Engine
from ..types import Case, Completion, Message, Response, SamplingParams, Turn

__all__ = [
    "STRATEGIES",
    "CuriosityCritiqueStrategy",
    "CuriosityStrategy",
    "RawStrategy",
    "Strategy",
    "TemplatedStrategy",
    "get_strategy",
]

T = TypeVar("T")

#: the tags our strategy templates use around untrusted text, beyond the judge's
#: (``question``, ``answer``), which :meth:`Templates.render` defuses itself
_OWN_TAGS = ("draft_answer", "confusion", "critique")
_OWN_TAG_OPEN = re.compile(r"<(?=\s*/?\s*(?:" + "|".join(_OWN_TAGS) + r")\b)", re.IGNORECASE)

# A critique that finds nothing to fix makes the refine call pointless: the
# template tells the model to return the answer unchanged in exactly that case.
_NO_CHANGES = re.compile(r"\W*no changes? (?:are )?needed\W*", re.IGNORECASE)


def _defuse(text: str) -> str:
    return _OWN_TAG_OPEN.sub("&lt;", text)


class Strategy(abc.ABC):
    """Turns a case into a final answer, keeping every intermediate turn."""

    name: str = ""

    def fingerprint(self) -> str:
        """Identity of the prompts used (template hashes), part of the cache key."""
        return self.name

    @abc.abstractmethod
    async def answer(
        self, case: Case, backend: Backend, engine: Engine, params: SamplingParams
    ) -> Response:
        """Ask ``backend`` the case's question and return its final answer."""


async def _ask(
    name: str, messages: tuple[Message, ...], backend: Backend, engine: Engine,
    params: SamplingParams,
) -> Turn:
    completion: Completion = await engine.complete(backend, messages, params)
    return Turn(name, messages, completion)


class RawStrategy(Strategy):
    """The question as the user wrote it, nothing added."""

    name = "raw"

    async def answer(
        self, case: Case, backend: Backend, engine: Engine, params: SamplingParams
    ) -> Response:
        turn = await _ask("answer", (Message("user", case.question),), backend, engine, params)
        return Response(
            case_id=case.id,
            model=backend.name,
            strategy=self.name,
            answer=turn.completion.text,
            turns=(turn,),
        )


async def _both(first: Awaitable[T], second: Awaitable[T]) -> tuple[T, T]:
    """Await two calls concurrently; if one fails, cancel the other and raise."""
    tasks = [asyncio.ensure_future(first), asyncio.ensure_future(second)]
    try:
        a, b = await asyncio.gather(*tasks)
    except BaseException:
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        raise
    return a, b


class TemplatedStrategy(Strategy):
    """A strategy whose prompts are templates under ``templates/strategies/``."""

    #: template names (relative to the templates root) this strategy renders
    templates_used: ClassVar[tuple[str, ...]] = ()

    def __init__(self, templates: Templates | None = None) -> None:
        self.templates = templates if templates is not None else default_templates()
        self._fingerprint: str | None = None
        # read the templates now: a missing one fails at start-up, not on the first case
        self.fingerprint()

    def fingerprint(self) -> str:
        """``name:sha256`` over the bytes of every template used (and those they include)."""
        if self._fingerprint is None:
            digest = hashlib.sha256()
            for template in sorted(self.templates.closure(self.templates_used)):
                digest.update(f"{template}\0{self.templates.sha256(template)}\0".encode())
            self._fingerprint = f"{self.name}:{digest.hexdigest()[:16]}"
        return self._fingerprint

    def template_hashes(self) -> dict[str, str]:
        """``{template: sha256}`` for the report (which prompts produced the answers)."""
        return {t: self.templates.sha256(t) for t in self.templates.closure(self.templates_used)}

    def prompt(self, template: str, **untrusted: str) -> tuple[Message, ...]:
        """One user message rendered from ``template`` with ``untrusted`` as data."""
        text = self.templates.render(
            template, untrusted={k: _defuse(v) for k, v in untrusted.items()}
        )
        return (Message("user", text),)


class CuriosityStrategy(TemplatedStrategy):
    """Raw answer, confusion elicitation, merge into one honest and helpful answer."""

    name = "curiosity"
    CONFUSION = "strategies/curiosity_confusion.j2"
    MERGE = "strategies/curiosity_merge.j2"
    templates_used: ClassVar[tuple[str, ...]] = (CONFUSION, MERGE)

    async def _merged(
        self, case: Case, backend: Backend, engine: Engine, params: SamplingParams
    ) -> list[Turn]:
        # The confusion prompt does not depend on the raw answer: ask both at once.
        raw, confusion = await _both(
            _ask("answer", (Message("user", case.question),), backend, engine, params),
            _ask("confusion", self.prompt(self.CONFUSION, question=case.question),
                 backend, engine, params),
        )
        merge_messages = self.prompt(
            self.MERGE,
            question=case.question,
            answer=raw.completion.text,
            confusion=confusion.completion.text,
        )
        merge = await _ask("merge", merge_messages, backend, engine, params)
        return [raw, confusion, merge]

    async def answer(
        self, case: Case, backend: Backend, engine: Engine, params: SamplingParams
    ) -> Response:
        turns = await self._merged(case, backend, engine, params)
        # The merge output is final as it is: an empty or odd merge is the
        # strategy's own result, judged like any other answer (no fallback).
        return Response(
            case_id=case.id,
            model=backend.name,
            strategy=self.name,
            answer=turns[-1].completion.text,
            turns=tuple(turns),
        )


class CuriosityCritiqueStrategy(CuriosityStrategy):
    """``curiosity`` plus a self-critique and a minimal-edit refinement of the merge.

    When the critique says exactly "No changes needed", the refine call is skipped
    (the template would have the model copy the answer unchanged) and the merged
    answer is final; the turns then end with ``critique``.
    """

    name = "curiosity-critique"
    CRITIQUE = "strategies/critique.j2"
    REFINE = "strategies/refine.j2"
    templates_used: ClassVar[tuple[str, ...]] = (
        *CuriosityStrategy.templates_used, CRITIQUE, REFINE,
    )

    async def answer(
        self, case: Case, backend: Backend, engine: Engine, params: SamplingParams
    ) -> Response:
        turns = await self._merged(case, backend, engine, params)
        merged = turns[-1].completion.text
        critique = await _ask(
            "critique", self.prompt(self.CRITIQUE, question=case.question, answer=merged),
            backend, engine, params,
        )
        turns.append(critique)
        final = merged
        if _NO_CHANGES.fullmatch(critique.completion.text) is None:
            refine_messages = self.prompt(
                self.REFINE, question=case.question, answer=merged,
                critique=critique.completion.text,
            )
            refine = await _ask("refine", refine_messages, backend, engine, params)
            turns.append(refine)
            final = refine.completion.text
        return Response(
            case_id=case.id, model=backend.name, strategy=self.name, answer=final,
            turns=tuple(turns),
        )


STRATEGIES: dict[str, type[Strategy]] = {
    RawStrategy.name: RawStrategy,
    CuriosityStrategy.name: CuriosityStrategy,
    CuriosityCritiqueStrategy.name: CuriosityCritiqueStrategy,
}


def get_strategy(name: str) -> Strategy:
    """A fresh strategy by its ``--honesty-prompting`` name."""
    try:
        cls = STRATEGIES[name]
    except KeyError:
        raise ValueError(
            f"unknown prompting strategy {name!r}; valid: {', '.join(STRATEGIES)}"
        ) from None
    return cls()
