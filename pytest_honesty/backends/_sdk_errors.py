"""Shared by the HTTP SDK backends (openai, anthropic): error mapping, Retry-After
parsing and secret scrubbing.

Both SDKs (Stainless-generated) expose the same exception shapes:
``APIStatusError`` (``status_code``, ``response``, ``body``),
``APIConnectionError`` / ``APITimeoutError`` and ``APIResponseValidationError``,
so one mapping serves both. SDK exceptions are never chained into ours: their
text and their ``response.request`` carry headers and bodies that may quote the
API key.
"""

from __future__ import annotations

import email.utils
import math
import re
import socket
import time
from collections.abc import Iterable, Mapping
from types import ModuleType
from typing import Any
from urllib.parse import urlsplit, urlunsplit

from ._base import (
    AuthenticationFailed,
    BackendError,
    ConnectionFailed,
    PermanentError,
    RateLimited,
    TransientError,
)

__all__ = ["map_sdk_error", "parse_retry_after", "safe_url", "scrub"]

_MAX_SERVER_MESSAGE = 300
_BEARER = re.compile(r"(?i)\b(bearer\s+)[^\s'\",}]+")
# Key-shaped tokens (sk-..., sk-ant-...), in case a server echoes a *different*
# key than the one we hold (or part of ours).
_KEYLIKE = re.compile(r"\bsk-[A-Za-z0-9_\-]{6,}")
# Statuses the API itself tells clients to retry (timeout, conflict, too early).
_RETRYABLE_4XX = frozenset({408, 409, 425})


def scrub(text: str, secrets: Iterable[str | None]) -> str:
    """Remove every secret (and anything that looks like a bearer token or an
    ``sk-`` key) from ``text``."""
    for secret in secrets:
        if secret and len(secret) >= 4:
            text = text.replace(secret, "***")
    text = _BEARER.sub(r"\1***", text)
    return _KEYLIKE.sub("sk-***", text)


def safe_url(url: str | None) -> str:
    """The URL without any ``user:password@`` part, for messages."""
    if not url:
        return "(default endpoint)"
    parts = urlsplit(url)
    if parts.username is None and parts.password is None:
        return url
    host = parts.hostname or ""
    if parts.port is not None:
        host = f"{host}:{parts.port}"
    return urlunsplit((parts.scheme, host, parts.path, parts.query, parts.fragment))


def parse_retry_after(headers: Mapping[str, str] | None) -> float | None:
    """Seconds to wait from ``retry-after-ms`` (OpenAI's precise header) or
    ``Retry-After`` (seconds or an HTTP date); None when absent or unusable."""
    if headers is None:
        return None
    raw_ms = headers.get("retry-after-ms")
    if raw_ms is not None:
        try:
            value = float(raw_ms) / 1000.0
        except ValueError:
            value = math.nan
        if math.isfinite(value) and value >= 0:
            return value
    raw = headers.get("retry-after")
    if raw is None:
        return None
    try:
        value = float(raw)
    except ValueError:
        parsed = email.utils.parsedate_tz(raw)
        if parsed is None:
            return None
        value = email.utils.mktime_tz(parsed) - time.time()
        return max(0.0, value)
    return value if math.isfinite(value) and value >= 0 else None


def _server_message(body: Any) -> str:
    """The human part of an error body: ``{"error": {"message": ...}}`` (both
    providers) or the body itself."""
    if isinstance(body, Mapping):
        inner = body.get("error", body)
        if isinstance(inner, Mapping) and isinstance(inner.get("message"), str):
            return str(inner["message"])
        if isinstance(body.get("message"), str):
            return str(body["message"])
    return "" if body is None else str(body)


def _never_connected(cause: BaseException | None) -> bool:
    """The connection was never made (DNS failure, refused, no route), as opposed to
    one dropped while the server was answering. httpx raises ``ConnectError`` for the
    former (httpcore's has the same name); the OS errors are what they wrap."""
    if isinstance(cause, (ConnectionRefusedError, socket.gaierror)):
        return True
    return cause is not None and any(k.__name__ == "ConnectError" for k in type(cause).__mro__)


def map_sdk_error(
    exc: BaseException,
    sdk: ModuleType,
    *,
    what: str,
    secrets: Iterable[str | None],
    timeout_s: float,
) -> BackendError | None:
    """Translate an SDK exception into our error classes.

    ``what`` names the call for the message (``"openai API at http://..."``).
    Returns None for exceptions that are not the SDK's (programming errors),
    which the caller lets propagate unchanged.
    """
    secrets = tuple(secrets)

    def clean(text: str) -> str:
        text = scrub(" ".join(text.split()), secrets)
        return text if len(text) <= _MAX_SERVER_MESSAGE else text[:_MAX_SERVER_MESSAGE] + "..."

    if isinstance(exc, sdk.APIStatusError):
        status = int(exc.status_code)
        detail = clean(_server_message(getattr(exc, "body", None)))
        message = f"{what} answered HTTP {status}" + (f": {detail}" if detail else "")
        headers = getattr(getattr(exc, "response", None), "headers", None)
        retry_after = parse_retry_after(headers)
        if status == 429:
            return RateLimited(message, retry_after=retry_after)
        if status >= 500 or status in _RETRYABLE_4XX:
            return TransientError(message, retry_after=retry_after)
        if status in (401, 403):
            return AuthenticationFailed(
                message + " (check the API key and its permissions)", status=status)
        return PermanentError(message, status=status)
    if isinstance(exc, sdk.APITimeoutError):
        return TransientError(f"{what} did not answer within {timeout_s:g} s")
    if isinstance(exc, sdk.APIConnectionError):
        cause = exc.__cause__ or exc.__context__
        reason = clean(f"{type(cause).__name__}: {cause}") if cause else "connection error"
        if _never_connected(cause):
            return ConnectionFailed(f"{what}: cannot connect ({reason})")
        return TransientError(f"{what}: connection failed ({reason})")
    if isinstance(exc, sdk.APIResponseValidationError):
        return TransientError(f"{what} sent a reply that does not match the API schema")
    if isinstance(exc, sdk.APIError):
        return TransientError(f"{what} failed: {clean(type(exc).__name__ + ': ' + str(exc))}")
    if isinstance(exc, ValueError):
        # json.JSONDecodeError and pydantic's ValidationError: a body cut short
        # or not JSON at all, which a retry usually fixes.
        return TransientError(f"{what} sent a body that is not valid JSON ({type(exc).__name__})")
    return None
