"""HTTP/1.1 framing for the scripted server: reading one request (Content-Length or
chunked, ``Expect: 100-continue``, keep-alive), writing one reply, and the error
replies in OpenAI's or Anthropic's shape."""

from __future__ import annotations

import asyncio
import hmac
import json
import math
import uuid
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

__all__ = [
    "MAX_HEAD_BYTES", "Reply", "Request", "authorized", "error_reply", "json_reply",
    "rate_limited_reply", "read_request", "send",
]

MAX_HEAD_BYTES = 1 << 20
MAX_BODY_BYTES = 32 << 20

REASONS = {
    200: "OK",
    400: "Bad Request",
    401: "Unauthorized",
    404: "Not Found",
    405: "Method Not Allowed",
    413: "Payload Too Large",
    429: "Too Many Requests",
    431: "Request Header Fields Too Large",
    500: "Internal Server Error",
}



@dataclass
class Reply:
    status: int
    body: bytes
    headers: dict[str, str] = field(default_factory=dict)
    #: set on a well-formed completion: counted in completed_calls once delivered
    call_key: str | None = None


@dataclass
class Request:
    method: str
    path: str
    headers: dict[str, str]
    body: bytes



async def read_request(
    head: bytes,
    reader: asyncio.StreamReader,
    writer: asyncio.StreamWriter,
) -> tuple[Request | None, bool, Reply | None]:
    lines = head.decode("latin-1").split("\r\n")
    parts = lines[0].split(" ")
    if len(parts) != 3 or not parts[2].startswith("HTTP/1."):
        return None, False, error_reply(400, "malformed request line")
    method, target, version = parts
    headers: dict[str, str] = {}
    for line in lines[1:]:
        if not line:
            continue
        name, sep, value = line.partition(":")
        if not sep:
            return None, False, error_reply(400, "malformed header line")
        headers[name.strip().lower()] = value.strip()
    connection = headers.get("connection", "").lower()
    keep_alive = (
        "close" not in connection if version == "HTTP/1.1" else "keep-alive" in connection
    )
    if headers.get("expect", "").lower() == "100-continue":
        writer.write(b"HTTP/1.1 100 Continue\r\n\r\n")
    if "chunked" in headers.get("transfer-encoding", "").lower():
        try:
            body = await read_chunked(reader)
        except (ValueError, asyncio.LimitOverrunError):
            return None, False, error_reply(400, "malformed chunked body")
        if body is None:
            return None, False, error_reply(413, "request body too large")
    else:
        try:
            length = int(headers.get("content-length", "0"))
        except ValueError:
            return None, False, error_reply(400, "bad Content-Length")
        if length < 0 or length > MAX_BODY_BYTES:
            return None, False, error_reply(413, "request body too large")
        body = await reader.readexactly(length) if length else b""
    path = urlsplit(target).path.rstrip("/") or "/"
    return Request(method.upper(), path, headers, body), keep_alive, None

async def send(writer: asyncio.StreamWriter, reply: Reply, keep_alive: bool) -> None:
    head = [f"HTTP/1.1 {reply.status} {REASONS.get(reply.status, 'Unknown')}"]
    headers = {
        "content-type": "application/json",
        "content-length": str(len(reply.body)),
        "connection": "keep-alive" if keep_alive else "close",
        "x-request-id": f"req_{uuid.uuid4().hex[:16]}",
        **reply.headers,
    }
    head.extend(f"{k}: {v}" for k, v in headers.items())
    writer.write(("\r\n".join(head) + "\r\n\r\n").encode("latin-1") + reply.body)
    await writer.drain()


def json_reply(status: int, payload: dict[str, Any]) -> Reply:
    return Reply(status, json.dumps(payload).encode())


ANTHROPIC_ERROR_TYPES = {
    400: "invalid_request_error",
    401: "authentication_error",
    404: "not_found_error",
    405: "invalid_request_error",
    413: "request_too_large",
    429: "rate_limit_error",
    500: "api_error",
}


def error_reply(status: int, message: str, flavour: str = "openai") -> Reply:
    if flavour == "anthropic":
        kind = ANTHROPIC_ERROR_TYPES.get(status, "api_error")
        return json_reply(status, {"type": "error", "error": {"type": kind, "message": message}})
    kind = {401: "invalid_request_error", 429: "requests", 500: "server_error"}.get(
        status, "invalid_request_error"
    )
    return json_reply(
        status, {"error": {"message": message, "type": kind, "param": None, "code": None}}
    )


async def read_chunked(reader: asyncio.StreamReader) -> bytes | None:
    chunks: list[bytes] = []
    size_total = 0
    while True:
        size_line = await reader.readuntil(b"\r\n")
        size = int(size_line.split(b";", 1)[0].strip() or b"0", 16)
        if size == 0:
            # trailers (usually none) end with an empty line
            while (await reader.readuntil(b"\r\n")) != b"\r\n":
                pass
            return b"".join(chunks)
        size_total += size
        if size_total > MAX_BODY_BYTES:
            return None
        chunks.append(await reader.readexactly(size))
        await reader.readexactly(2)


def authorized(headers: dict[str, str], api_key: str) -> bool:
    """Whether the request carries ``api_key`` (OpenAI's bearer or Anthropic's x-api-key)."""
    expected = api_key.encode()
    bearer = headers.get("authorization", "")
    if bearer.lower().startswith("bearer ") and hmac.compare_digest(
        bearer[7:].strip().encode(), expected
    ):
        return True
    return hmac.compare_digest(headers.get("x-api-key", "").encode(), expected)


def rate_limited_reply(wait_s: float, flavour: str, *, ms: bool) -> Reply:
    """A 429 asking to wait ``wait_s``: Retry-After in whole seconds, and in ms when ``ms``."""
    reply = error_reply(429, "rate limit reached; retry later", flavour)
    reply.headers["retry-after"] = str(max(1, math.ceil(wait_s)) if wait_s > 0 else 0)
    if ms:
        reply.headers["retry-after-ms"] = str(round(wait_s * 1000))
    return reply
