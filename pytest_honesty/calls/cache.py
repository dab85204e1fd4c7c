"""Completion and verdict cache: one SQLite file in WAL mode, shared by every
pytest process of a run (xdist workers included) and by later runs.

Tables: ``completions`` (model and judge calls, keyed by :func:`completion_key`),
``verdicts`` (parsed judge verdicts, keyed by :func:`verdict_key`) and
``claims`` (who is computing which key right now, with a lease, so that no
call is made twice across processes).

The API is synchronous and thread-safe: each thread gets its own connection.
The engine drives it from one dedicated thread (see ``_cacheworker``) so the
event loop never waits on SQLite.

Nothing secret is stored: values are completions and verdicts, keys are
hashes of model specs, fingerprints, messages and parameters.
"""

from __future__ import annotations

import os
import sqlite3
import tempfile
import threading
import time
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager, suppress
from pathlib import Path
from types import TracebackType
from typing import Any

from ..types import Completion, Verdict
from ._cachekeys import canonical_json, completion_key, verdict_key
from ._cacherows import (
    CacheBatch,
    Claim,
    chunks,
    load_completion,
    load_verdict,
    placeholders,
)

__all__ = [
    "CACHE_FILENAME",
    "Cache",
    "CacheBatch",
    "CacheError",
    "Claim",
    "canonical_json",
    "completion_key",
    "verdict_key",
]

CACHE_FILENAME = "honesty-cache.sqlite3"
_SCHEMA_VERSION = 1
_BUSY_TIMEOUT_S = 60.0

_SCHEMA = """
CREATE TABLE IF NOT EXISTS completions(
    key TEXT PRIMARY KEY,
    value TEXT NOT NULL,
    created REAL NOT NULL,
    namespace TEXT NOT NULL DEFAULT 'model',
    model TEXT NOT NULL DEFAULT ''
) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS completions_namespace ON completions(namespace);
CREATE TABLE IF NOT EXISTS verdicts(
    key TEXT PRIMARY KEY,
    value TEXT NOT NULL,
    created REAL NOT NULL
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS claims(
    key TEXT PRIMARY KEY,
    owner TEXT NOT NULL,
    expires_at REAL NOT NULL
) WITHOUT ROWID;
"""

def _enter_wal(conn: sqlite3.Connection) -> object:
    """``PRAGMA journal_mode = WAL``, waiting out other processes doing the same.

    Switching a new file to WAL needs an exclusive lock, and SQLite answers "database is
    locked" at once, without its busy handler, when another connection (an xdist worker
    opening the same fresh cache) holds the file meanwhile: try again until the busy
    timeout, as any other statement would wait."""
    deadline = time.monotonic() + _BUSY_TIMEOUT_S
    delay = 0.01
    while True:
        try:
            return conn.execute("PRAGMA journal_mode = WAL").fetchone()[0]
        except sqlite3.OperationalError as exc:
            if "locked" not in str(exc) or time.monotonic() >= deadline:
                raise
        time.sleep(delay)
        delay = min(0.2, delay * 2)


class CacheError(Exception):
    """The cache file cannot be opened, read or written."""


class Cache:
    """The SQLite cache. Create with :meth:`open` (a cache folder), :meth:`temporary`
    (``--honesty-no-cache`` in one process) or ``Cache(path)`` (any file, e.g. a
    per-run file that the xdist controller creates and its workers share)."""

    def __init__(self, path: str | os.PathLike[str], *, delete_on_close: bool = False) -> None:
        self.path = Path(path)
        self._delete_on_close = delete_on_close
        #: the run using this cache: completions it stores carry the id, and reading one
        #: back in the same run (another xdist worker's call) is not counted as cached
        self.run_id: str | None = None
        self._local = threading.local()
        self._conns: list[sqlite3.Connection] = []
        self._conns_lock = threading.Lock()
        self._closed = False
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise CacheError(
                f"cannot create the cache folder {self.path.parent}: {exc}. "
                "Choose a writable folder with --honesty-cache-dir."
            ) from exc
        self._init_schema()

    # -- construction -------------------------------------------------------

    @classmethod
    def open(cls, cache_dir: str | os.PathLike[str]) -> Cache:
        """The persistent cache ``<cache_dir>/honesty-cache.sqlite3``."""
        return cls(Path(cache_dir) / CACHE_FILENAME)

    @classmethod
    def temporary(cls, directory: str | os.PathLike[str] | None = None) -> Cache:
        """A fresh cache file, deleted on :meth:`close`. It coordinates the threads
        of this process only; for xdist give every worker the same ``Cache(path)``."""
        folder = tempfile.mkdtemp(prefix="honesty-cache-", dir=directory)
        return cls(Path(folder) / CACHE_FILENAME, delete_on_close=True)

    @staticmethod
    def remove_files(path: str | os.PathLike[str]) -> None:
        """Delete a cache file with its WAL and shared-memory files (no error if absent)."""
        base = Path(path)
        for suffix in ("", "-wal", "-shm", "-journal"):
            Path(str(base) + suffix).unlink(missing_ok=True)

    # -- connections --------------------------------------------------------

    def _connect(self) -> sqlite3.Connection:
        try:
            conn = sqlite3.connect(
                self.path,
                timeout=_BUSY_TIMEOUT_S,
                isolation_level=None,  # we issue BEGIN IMMEDIATE ourselves
                check_same_thread=False,  # only so that close() may close it
            )
            conn.execute(f"PRAGMA busy_timeout = {int(_BUSY_TIMEOUT_S * 1000)}")
            mode = _enter_wal(conn)
            conn.execute("PRAGMA synchronous = NORMAL")
        except sqlite3.DatabaseError as exc:
            raise CacheError(
                f"cannot open the honesty cache {self.path}: {exc}. If the file is "
                "damaged, delete it (it only holds cached results) or choose another "
                "--honesty-cache-dir."
            ) from exc
        if str(mode).lower() != "wal":
            conn.close()
            raise CacheError(
                f"the honesty cache {self.path} cannot use WAL mode (got {mode!r}); "
                "network file systems often cannot. Put --honesty-cache-dir on a local disk."
            )
        return conn

    def _conn(self) -> sqlite3.Connection:
        conn: sqlite3.Connection | None = getattr(self._local, "conn", None)
        if conn is None:
            if self._closed:
                raise CacheError(f"the honesty cache {self.path} is closed")
            conn = self._connect()
            self._local.conn = conn
            with self._conns_lock:
                self._conns.append(conn)
        return conn

    def _init_schema(self) -> None:
        with self.batch() as batch:
            conn = batch._conn
            version = conn.execute("PRAGMA user_version").fetchone()[0]
            if version not in (0, _SCHEMA_VERSION):
                raise CacheError(
                    f"the honesty cache {self.path} has schema version {version}, this "
                    f"pytest-honesty uses {_SCHEMA_VERSION}. Delete the file or choose "
                    "another --honesty-cache-dir."
                )
            # executescript would COMMIT our transaction; run statements one by one.
            for statement in _SCHEMA.split(";"):
                if statement.strip():
                    conn.execute(statement)
            conn.execute(f"PRAGMA user_version = {_SCHEMA_VERSION}")

    @contextmanager
    def batch(self) -> Iterator[CacheBatch]:
        """One write transaction (``BEGIN IMMEDIATE``): every write in it commits
        together or not at all. Waits up to the busy timeout for other writers."""
        conn = self._conn()
        try:
            conn.execute("BEGIN IMMEDIATE")
        except sqlite3.OperationalError as exc:
            raise CacheError(
                f"the honesty cache {self.path} stayed locked for {_BUSY_TIMEOUT_S:.0f} s: "
                f"{exc}. Is another process stuck holding it?"
            ) from exc
        try:
            yield CacheBatch(conn, time.time(), self.run_id)
        except BaseException:
            conn.execute("ROLLBACK")
            raise
        try:
            conn.execute("COMMIT")
        except sqlite3.DatabaseError as exc:
            conn.execute("ROLLBACK")
            raise CacheError(f"cannot write the honesty cache {self.path}: {exc}") from exc

    def _select(self, sql: str, keys: Sequence[str]) -> list[tuple[Any, ...]]:
        conn = self._conn()
        rows: list[tuple[Any, ...]] = []
        try:
            for chunk in chunks(keys):
                rows.extend(conn.execute(sql.format(placeholders(len(chunk))), tuple(chunk)))
        except sqlite3.DatabaseError as exc:
            raise CacheError(f"cannot read the honesty cache {self.path}: {exc}") from exc
        return rows

    # -- completions --------------------------------------------------------

    def get_completion(self, key: str) -> Completion | None:
        return self.get_completions([key]).get(key)

    def get_completions(self, keys: Iterable[str]) -> dict[str, Completion]:
        """Every cached completion among ``keys`` (misses are absent), marked cached."""
        found: dict[str, Completion] = {}
        sql = "SELECT key, value FROM completions WHERE key IN ({})"
        for key, value in self._select(sql, list(dict.fromkeys(keys))):
            completion = load_completion(value, self.run_id)
            if completion is not None:
                found[key] = completion
        return found

    def put_completion(
        self,
        key: str,
        completion: Completion,
        *,
        namespace: str = "model",
        model: str = "",
        release: str | None = None,
    ) -> None:
        with self.batch() as batch:
            batch.put_completion(key, completion, namespace=namespace, model=model, release=release)

    # -- verdicts -----------------------------------------------------------

    def get_verdict(self, key: str) -> Verdict | None:
        return self.get_verdicts([key]).get(key)

    def get_verdicts(self, keys: Iterable[str]) -> dict[str, Verdict]:
        found: dict[str, Verdict] = {}
        sql = "SELECT key, value FROM verdicts WHERE key IN ({})"
        for key, value in self._select(sql, list(dict.fromkeys(keys))):
            verdict = load_verdict(value)
            if verdict is not None:
                found[key] = verdict
        return found

    def put_verdict(self, key: str, verdict: Verdict) -> None:
        with self.batch() as batch:
            batch.put_verdict(key, verdict)

    # -- claims -------------------------------------------------------------

    def claim(self, key: str, owner: str, lease_s: float, *, steal_from: str | None = None) -> bool:
        """Atomically take ``key`` for ``owner`` for ``lease_s`` seconds. True when
        nobody held it, its lease had run out, it was already ours, or it was held
        by ``steal_from`` (an owner the caller knows to be dead)."""
        with self.batch() as batch:
            return batch.claim(key, owner, lease_s, steal_from=steal_from)

    def acquire(
        self, key: str, owner: str, lease_s: float, *, steal_from: str | None = None
    ) -> Completion | Claim:
        """See :meth:`CacheBatch.acquire`."""
        with self.batch() as batch:
            return batch.acquire(key, owner, lease_s, steal_from=steal_from)

    def release(self, key: str, owner: str) -> None:
        """Drop ``owner``'s claim on ``key`` (nothing happens if someone else holds it)."""
        with self.batch() as batch:
            batch.release(key, owner)

    def get_claims(self, keys: Iterable[str]) -> dict[str, Claim]:
        """Current claims (expired ones included) among ``keys``."""
        sql = "SELECT key, owner, expires_at FROM claims WHERE key IN ({})"
        return {
            key: Claim(key, owner, float(expires))
            for key, owner, expires in self._select(sql, list(dict.fromkeys(keys)))
        }

    def peek(self, keys: Iterable[str]) -> dict[str, Completion | Claim]:
        """Read-only state of ``keys``: the completion if cached, else the claim if any."""
        wanted = list(dict.fromkeys(keys))
        state: dict[str, Completion | Claim] = dict(self.get_claims(wanted))
        # Completions second: a result stored after we read the claim wins.
        state.update(self.get_completions(wanted))
        return state

    # -- maintenance --------------------------------------------------------

    def clear(self, *, namespaces: Iterable[str] | None = None, verdicts: bool = False) -> int:
        """Delete cached completions (all, or of ``namespaces``) and optionally every
        verdict; returns the number of rows deleted. For ``--honesty-rejudge`` call
        ``clear(namespaces=["judge"], verdicts=True)`` once, before workers start."""
        deleted = 0
        with self.batch() as batch:
            conn = batch._conn
            if namespaces is None:
                deleted += conn.execute("DELETE FROM completions").rowcount
            else:
                for namespace in namespaces:
                    deleted += conn.execute(
                        "DELETE FROM completions WHERE namespace = ?", (namespace,)
                    ).rowcount
            if verdicts:
                deleted += conn.execute("DELETE FROM verdicts").rowcount
        return deleted

    def counts(self) -> dict[str, int]:
        """Rows per table, for reports and tests."""
        conn = self._conn()
        return {
            table: int(conn.execute(f"SELECT COUNT(*) FROM {table}").fetchone()[0])
            for table in ("completions", "verdicts", "claims")
        }

    def integrity_check(self) -> str:
        """``"ok"`` when SQLite finds the file sound, else its list of problems."""
        rows = self._conn().execute("PRAGMA integrity_check").fetchall()
        return "\n".join(str(row[0]) for row in rows)

    def journal_mode(self) -> str:
        return str(self._conn().execute("PRAGMA journal_mode").fetchone()[0])

    def close(self) -> None:
        """Close every connection (call once no thread uses the cache any more)."""
        if self._closed:
            return
        self._closed = True
        with self._conns_lock:
            conns, self._conns = self._conns, []
        for conn in conns:
            with suppress(sqlite3.Error):
                conn.close()
        if self._delete_on_close:
            self.remove_files(self.path)
            with suppress(OSError):
                self.path.parent.rmdir()

    def __enter__(self) -> Cache:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"Cache({str(self.path)!r})"
