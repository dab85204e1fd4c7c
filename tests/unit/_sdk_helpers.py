"""Shared by the SDK backend tests (openai, anthropic)."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence

from pytest_honesty.backends import Backend
from pytest_honesty.types import Completion, Message, SamplingParams


def call_once(
    b: Backend, messages: Sequence[Message], params: SamplingParams | None = None
) -> Completion:
    """One ``complete`` in its own ``asyncio.run``, then ``aclose`` on that same
    loop (the client belongs to it)."""

    async def go() -> Completion:
        try:
            return await b.complete(messages, params or SamplingParams())
        finally:
            await b.aclose()

    return asyncio.run(go())
