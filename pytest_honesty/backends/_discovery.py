"""What a self-hosted OpenAI-compatible server says about itself, where asking is cheap.

* the served model ids: ``GET {base_url}/models`` (every OpenAI-compatible server:
  vLLM, llama.cpp, llama-cpp-python, ollama, LM Studio, TGI);
* the slot count, where the server exposes one: llama.cpp's ``GET /props``
  (``total_slots``), else the length of its ``GET /slots`` list. Other servers
  (vLLM, ollama, llama-cpp-python) say nothing; then the engine finds the
  capacity from latency alone.

Blocking (urllib), for the start of a run, before any model call.
"""

from __future__ import annotations

import json
import urllib.error
import urllib.request
from typing import Any

from ._sdk_errors import safe_url

__all__ = ["DiscoveryError", "served_model_ids", "server_slots"]

_TIMEOUT_S = 5.0


class DiscoveryError(Exception):
    """The server could not be asked, or answered nonsense."""

    def __init__(self, message: str, *, reached: bool = True) -> None:
        super().__init__(message)
        #: False when no answer came at all (refused, unreachable, timed out)
        self.reached = reached


def _get_json(url: str, api_key: str | None, timeout_s: float) -> Any:
    headers = {"Accept": "application/json"}
    if api_key:
        headers["Authorization"] = f"Bearer {api_key}"
    request = urllib.request.Request(url, headers=headers)
    try:
        with urllib.request.urlopen(request, timeout=timeout_s) as reply:
            return json.loads(reply.read().decode("utf-8"))
    except urllib.error.HTTPError as exc:
        raise DiscoveryError(f"GET {safe_url(url)} answered HTTP {exc.code}") from None
    except (urllib.error.URLError, OSError) as exc:
        reason = getattr(exc, "reason", exc)
        raise DiscoveryError(f"cannot reach {safe_url(url)}: {reason}", reached=False) from None
    except (UnicodeDecodeError, ValueError):
        raise DiscoveryError(f"GET {safe_url(url)} did not answer JSON") from None


def served_model_ids(
    base_url: str, api_key: str | None = None, timeout_s: float = _TIMEOUT_S
) -> list[str]:
    """The model ids ``GET {base_url}/models`` lists, in the server's order."""
    url = base_url.rstrip("/") + "/models"
    data = _get_json(url, api_key, timeout_s)
    entries = data.get("data") if isinstance(data, dict) else None
    if not isinstance(entries, list):
        raise DiscoveryError(f"GET {safe_url(url)} sent no model list ('data')")
    ids = [e["id"] for e in entries if isinstance(e, dict) and isinstance(e.get("id"), str)]
    return [i for i in ids if i]


def _server_root(base_url: str) -> str:
    root = base_url.rstrip("/")
    return root[: -len("/v1")] if root.endswith("/v1") else root


def server_slots(
    base_url: str, api_key: str | None = None, timeout_s: float = _TIMEOUT_S
) -> int | None:
    """How many calls the server runs at once, if it says (llama.cpp); else None."""
    root = _server_root(base_url)
    try:
        props = _get_json(root + "/props", api_key, timeout_s)
    except DiscoveryError as exc:
        if not exc.reached:
            return None  # down (a run answered from the cache may not need it): ask no more
        props = None
    slots = props.get("total_slots") if isinstance(props, dict) else None
    if isinstance(slots, int) and not isinstance(slots, bool) and slots > 0:
        return slots
    try:
        listing = _get_json(root + "/slots", api_key, timeout_s)
    except DiscoveryError:
        return None
    if isinstance(listing, list) and listing and all(isinstance(s, dict) for s in listing):
        return len(listing)
    return None
