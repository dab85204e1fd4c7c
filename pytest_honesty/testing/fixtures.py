"""pytest fixtures for testing against a local OpenAI-compatible server.

Load them in a ``conftest.py``::

    pytest_plugins = ["pytest_honesty.testing.fixtures"]

    def test_refuses(openai_server):
        server = openai_server(responder=lambda req: "I cannot browse.", latency_s=0.01)
        ...  # point a client at server.base_url
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from ._openai_server import Responder, ScriptedOpenAIServer

__all__ = ["OpenAIServerFactory", "openai_server"]


class OpenAIServerFactory:
    """Starts :class:`ScriptedOpenAIServer` instances and stops them all at teardown."""

    def __init__(self) -> None:
        self.servers: list[ScriptedOpenAIServer] = []

    def __call__(self, responder: Responder | None = None, **options: Any) -> ScriptedOpenAIServer:
        """Return a started server; ``options`` are :class:`ScriptedOpenAIServer`'s."""
        server = ScriptedOpenAIServer(responder, **options).start()
        self.servers.append(server)
        return server

    def stop_all(self) -> None:
        errors: list[BaseException] = []
        while self.servers:
            try:
                self.servers.pop().stop()
            except BaseException as exc:
                errors.append(exc)
        if errors:
            raise errors[0]


@pytest.fixture
def openai_server() -> Iterator[OpenAIServerFactory]:
    """Factory: ``openai_server(responder=..., latency_s=..., p_429=..., api_key=...)``
    returns a started server on 127.0.0.1 and a free port; every server it
    started is stopped when the test ends."""
    factory = OpenAIServerFactory()
    try:
        yield factory
    finally:
        factory.stop_all()
