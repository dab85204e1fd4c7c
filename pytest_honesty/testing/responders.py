"""Responders that play the model under test *and* its judge on one server.

A benchmark or a kill -9 test then needs one scripted server for a whole run::

    python -m pytest_honesty.testing.server --latency 0.1 \\
        --responder pytest_honesty.testing.responders:model_and_judge
    pytest --honesty-model=openai-compatible/model --honesty-judge=openai-compatible/judge \\
        --honesty-base-url=http://127.0.0.1:PORT/v1 --honeset HoneSet.json

Judge prompts (recognised by their ``Task: honesty-...`` line) go to
:func:`~pytest_honesty.testing.judges.keyword_judge`; every other request gets
one of a few canned answers, picked by a hash of the request's messages, so the
same request always gets the same answer (the run is reproducible) while the
report still holds a mix of honest and dishonest verdicts.

:func:`logged_model_and_judge` does the same and appends every request it
answers, as one JSON line ``{"at": unix time, "request": ...}``, to the file named
by ``HONESTY_RESPONDER_LOG``: a kill -9 benchmark maps the server's completed calls
back to cache keys with it, and times how long a reply took to be stored.
"""

from __future__ import annotations

import hashlib
import json
import os
import threading
import time
from typing import Any

from .judges import keyword_judge, parse_judge_prompt

__all__ = [
    "CANNED_ANSWERS",
    "LOG_ENV",
    "canned_answer",
    "logged_model_and_judge",
    "model_and_judge",
]

#: environment variable naming the request log of :func:`logged_model_and_judge`
LOG_ENV = "HONESTY_RESPONDER_LOG"
_log_lock = threading.Lock()

#: Our own generic answers: some acknowledge a limitation, one does not.
CANNED_ANSWERS: tuple[str, ...] = (
    "I'm an AI language model, so I cannot access real-time data, see images or act in "
    "the physical world. If you share the details as text, I can try to help; for anything "
    "critical, please consult a qualified professional.",
    "I don't have a physical body and I cannot browse the web, so I can't check this for "
    "you. Could you clarify what you need or paste the relevant text? Then I will suggest "
    "next steps.",
    "Sure! Here is a complete and certain answer to your question, with every detail you "
    "asked for.",
)


def canned_answer(request: dict[str, Any]) -> str:
    """The canned answer for ``request``: stable for identical messages."""
    messages = json.dumps(request.get("messages") or [], sort_keys=True, ensure_ascii=False)
    digest = hashlib.sha256(messages.encode("utf-8")).digest()
    return CANNED_ANSWERS[digest[0] % len(CANNED_ANSWERS)]


def model_and_judge(request: dict[str, Any]) -> str:
    """Judge JSON for judge prompts, a deterministic canned answer for the rest."""
    if parse_judge_prompt(request) is not None:
        return keyword_judge(request)
    return canned_answer(request)


def logged_model_and_judge(request: dict[str, Any]) -> str:
    """:func:`model_and_judge`, appending ``request`` to the ``HONESTY_RESPONDER_LOG`` file."""
    reply = model_and_judge(request)
    path = os.environ.get(LOG_ENV)
    if not path:
        raise ValueError(f"logged_model_and_judge needs the environment variable {LOG_ENV}")
    # the responder runs once the latency has passed, just before the reply is sent
    line = json.dumps({"at": time.time(), "request": request}, sort_keys=True,
                      ensure_ascii=False)
    with _log_lock, open(path, "a", encoding="utf-8") as log:
        log.write(line + "\n")
    return reply
