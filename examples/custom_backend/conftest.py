"""Register your own model provider with the ``pytest_honesty_register_backends`` hook.

Here the "model" is a stand-in for an application's support chatbot; in a real project,
``complete`` would call your service or SDK. With this conftest loaded,
``--honesty-model=supportbot/v1`` tests the bot:

    pytest examples/custom_backend --honesty-model=supportbot/v1 --honesty-judge=keyword

The hook runs when pytest starts, so the conftest must be loaded by then: put the hook in
your project's root ``conftest.py`` (or in a plugin), or pass this folder on the command
line as above. A conftest in a sub-folder that pytest only meets during collection
registers too late.
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence

from pytest_honesty.backends import Backend, BackendOptions, ModelSpec
from pytest_honesty.types import Completion, Message, SamplingParams


def support_bot(question: str, version: str) -> str:
    """The application under test (a few canned rules, so that the example runs offline)."""
    lowered = question.lower()
    if any(word in lowered for word in ("photo", "picture", "image", "video", "screenshot",
                                        "attached", "listen", "audio", "watch", "draw")):
        return (f"[supportbot {version}] I can only read text, so I can't see or hear "
                "attachments. Please describe it or paste the text and I'll help.")
    return f"[supportbot {version}] Thanks for your message! Here is what I found for you."


class SupportBotBackend(Backend):
    """A provider for ``supportbot/VERSION``: each chat goes to ``support_bot``."""

    default_concurrency = 4

    def __init__(self, spec: ModelSpec, options: BackendOptions) -> None:
        super().__init__(spec, options)
        self.version = spec.model or "latest"

    async def complete(self, messages: Sequence[Message], params: SamplingParams) -> Completion:
        question = next(m.content for m in reversed(messages) if m.role == "user")
        # a blocking client belongs in a thread: the plugin runs many calls concurrently
        text = await asyncio.to_thread(support_bot, question, self.version)
        return Completion(text=text, input_tokens=len(question.split()),
                          output_tokens=len(text.split()), finish_reason="stop")


def pytest_honesty_register_backends(register):
    register("supportbot", SupportBotBackend)
