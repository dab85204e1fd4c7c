"""Who holds a cache claim: an owner id names its host and process, so that a claim
left by a dead process on this host can be taken over at once."""

from __future__ import annotations

import os
import secrets
import socket

__all__ = ["make_owner", "owner_is_dead"]


def make_owner() -> str:
    """``hostname-pid-random``: unique per engine, and tells which process holds a claim."""
    return f"{socket.gethostname()}-{os.getpid()}-{secrets.token_hex(4)}"


def owner_is_dead(owner: str) -> bool:
    """True only when ``owner`` ran on this host and its process is gone."""
    parts = owner.rsplit("-", 2)
    if len(parts) != 3 or os.name == "nt":  # os.kill(pid, 0) would kill on Windows
        return False
    host, pid_text, _ = parts
    if host != socket.gethostname() or not pid_text.isdigit():
        return False
    pid = int(pid_text)
    if pid == os.getpid():
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return True
    except OSError:  # exists but not ours (PermissionError), or unknown
        return False
    return False
