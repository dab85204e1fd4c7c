"""Atomic file writes: a reader sees the old file or the new one, never half of one."""

from __future__ import annotations

import contextlib
import os
import tempfile
from pathlib import Path

__all__ = ["atomic_write_text"]


def _umask() -> int:
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


def atomic_write_text(path: Path | str, text: str, *, durable: bool = True) -> Path:
    """Write ``text`` to ``path`` through a temporary file in the same folder and
    ``os.replace``. ``durable`` syncs the data to disk before the rename (off for files
    rewritten every fraction of a second that only matter while a run lasts)."""
    target = Path(path)
    target.parent.mkdir(parents=True, exist_ok=True)
    # the leading dot keeps the scratch file out of globs such as "worker-*.json"
    fd, tmp = tempfile.mkstemp(dir=target.parent, prefix=f".{target.name}.", suffix=".tmp")
    try:
        # mkstemp creates 0600; what we write is meant to be read, so use the usual umask
        os.chmod(tmp, 0o666 & ~_umask())
        with os.fdopen(fd, "w", encoding="utf-8", newline="\n") as handle:
            handle.write(text)
            if durable:
                handle.flush()
                os.fsync(handle.fileno())
        os.replace(tmp, target)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise
    return target
