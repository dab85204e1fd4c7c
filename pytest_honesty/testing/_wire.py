"""The bodies the scripted server answers with: OpenAI chat completions, Anthropic
messages and the model list, with word counts standing in for token usage; and the
check of a request body."""

from __future__ import annotations

import hashlib
import json
import time
import uuid
from typing import Any

__all__ = [
    "anthropic_body", "call_key", "echo_responder", "models_body", "openai_body", "text_of",
    "validate",
]


def text_of(content: Any) -> str:
    """Message content as text: OpenAI/Anthropic allow a string or a list of blocks."""
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        parts = [
            str(block.get("text", ""))
            for block in content
            if isinstance(block, dict) and block.get("type") == "text"
        ]
        return "".join(parts)
    return "" if content is None else str(content)



def count_tokens(text: str) -> int:
    # Whitespace words stand in for tokens: deterministic and good enough to
    # check that usage numbers travel from the wire into Completion.
    return len(text.split())



def models_body(model: str) -> dict[str, Any]:
    return {
        "object": "list",
        "data": [
            {"id": model, "object": "model", "created": 0, "owned_by": "pytest-honesty"}
        ],
    }

def truncate(text: str, max_tokens: Any) -> tuple[str, bool]:
    if isinstance(max_tokens, int) and max_tokens >= 0:
        words = text.split()
        if len(words) > max_tokens:
            return " ".join(words[:max_tokens]), True
    return text, False

def openai_body(request: dict[str, Any], text: str, model: str) -> dict[str, Any]:
    limit = request.get("max_completion_tokens", request.get("max_tokens"))
    text, cut = truncate(text, limit)
    prompt = sum(count_tokens(text_of(m.get("content"))) for m in request["messages"])
    completion = count_tokens(text)
    return {
        "id": f"chatcmpl-{uuid.uuid4().hex[:24]}",
        "object": "chat.completion",
        "created": int(time.time()),
        "model": request.get("model", model),
        "system_fingerprint": "fp_scripted",
        "choices": [
            {
                "index": 0,
                "message": {"role": "assistant", "content": text, "refusal": None},
                "logprobs": None,
                "finish_reason": "length" if cut else "stop",
            }
        ],
        "usage": {
            "prompt_tokens": prompt,
            "completion_tokens": completion,
            "total_tokens": prompt + completion,
        },
    }

def anthropic_body(request: dict[str, Any], text: str, model: str) -> dict[str, Any]:
    text, cut = truncate(text, request.get("max_tokens"))
    prompt = count_tokens(text_of(request.get("system"))) + sum(
        count_tokens(text_of(m.get("content"))) for m in request["messages"]
    )
    return {
        "id": f"msg_{uuid.uuid4().hex[:24]}",
        "type": "message",
        "role": "assistant",
        "model": request.get("model", model),
        "content": [anthropic_block(request, text)],
        "stop_reason": "max_tokens" if cut else "end_turn",
        "stop_sequence": None,
        "usage": {"input_tokens": prompt, "output_tokens": count_tokens(text)},
    }



def anthropic_block(request: dict[str, Any], text: str) -> dict[str, Any]:
    """A text block, or the forced tool's ``tool_use`` block when the text is its input."""
    choice = request.get("tool_choice")
    if isinstance(choice, dict) and choice.get("type") == "tool":
        try:
            value = json.loads(text)
        except ValueError:
            value = None
        if isinstance(value, dict):
            return {"type": "tool_use", "id": f"toolu_{uuid.uuid4().hex[:24]}",
                    "name": str(choice.get("name", "")), "input": value}
    return {"type": "text", "text": text}


def validate(body: Any) -> str | None:
    if not isinstance(body, dict):
        return "request body must be a JSON object"
    if not isinstance(body.get("model"), str) or not body["model"]:
        return "'model' is required and must be a non-empty string"
    messages = body.get("messages")
    if not isinstance(messages, list) or not messages:
        return "'messages' is required and must be a non-empty list"
    if not all(isinstance(m, dict) and "role" in m for m in messages):
        return "every message needs a 'role'"
    if body.get("stream"):
        return "this scripted server does not stream; send stream=false"
    return None


def echo_responder(request: dict[str, Any]) -> str:
    """The default responder: the text of the last user message."""
    for message in reversed(request.get("messages") or []):
        if isinstance(message, dict) and message.get("role") == "user":
            return text_of(message.get("content"))
    return ""


def call_key(path: str, body: dict[str, Any]) -> str:
    """A stable hash of one request: the endpoint plus the canonical JSON body
    (model, messages, temperature, max_tokens, seed, ...). Two calls with the
    same key would produce the same completion, so a repeat is wasted work."""
    canonical = json.dumps(body, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256(f"{path}\n{canonical}".encode()).hexdigest()[:32]
