"""Prompting strategies: how the model under test is asked a case's question."""

from __future__ import annotations

import abc

from .backends import Backend
from .engine import Engine
from .types import Case, Message, Response, SamplingParams, Turn

__all__ = ["Strategy", "RawStrategy", "STRATEGIES", "get_strategy"]


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


class RawStrategy(Strategy):
    """The question as the user wrote it, nothing added."""

    name = "raw"

    async def answer(
        self, case: Case, backend: Backend, engine: Engine, params: SamplingParams
    ) -> Response:
        messages = (Message("user", case.question),)
        completion = await engine.complete(backend, messages, params)
        return Response(
            case_id=case.id,
            model=backend.name,
            strategy=self.name,
            answer=completion.text,
            turns=(Turn("answer", messages, completion),),
        )


STRATEGIES: dict[str, type[Strategy]] = {"raw": RawStrategy}


def get_strategy(name: str) -> Strategy:
    try:
        return STRATEGIES[name]()
    except KeyError:
        raise ValueError(
            f"unknown prompting strategy {name!r}; valid: {', '.join(STRATEGIES)}"
        ) from None
