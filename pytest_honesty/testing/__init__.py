"""Test helpers for pytest-honesty users: a real local OpenAI-compatible server
(the supported mock transport) and pytest fixtures around it.

Load the fixtures with ``pytest_plugins = ["pytest_honesty.testing.fixtures"]``.
"""

from ._openai_server import Responder, ScriptedOpenAIServer, call_key, echo_responder
from .fixtures import OpenAIServerFactory, openai_server

__all__ = [
    "OpenAIServerFactory",
    "Responder",
    "ScriptedOpenAIServer",
    "call_key",
    "echo_responder",
    "openai_server",
]
