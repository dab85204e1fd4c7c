"""The rows of the cache file: how a completion and a verdict are stored and read
back, the claims, and the writes of one transaction (:class:`CacheBatch`, made by
:meth:`~pytest_honesty.calls.cache.Cache.batch`)."""

from __future__ import annotations

import json
import sqlite3
import time
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, replace

from ..types import Completion, Verdict

__all__ = ["CacheBatch", "Claim"]

# SQLite's default limit on bound variables is 32766 since 3.32; stay far below.
_CHUNK = 500

# Take the claim if nobody holds it, if it is ours, if its lease ran out, or
# if it belongs to an owner the caller found dead (``steal``).
_CLAIM_SQL = """
INSERT INTO claims(key, owner, expires_at) VALUES(:key, :owner, :expires_at)
ON CONFLICT(key) DO UPDATE SET owner = excluded.owner, expires_at = excluded.expires_at
WHERE claims.owner = excluded.owner OR claims.expires_at <= :now OR claims.owner = :steal
"""



@dataclass(frozen=True)
class Claim:
    """Who is computing ``key`` and until when (wall-clock seconds) the lease runs."""

    key: str
    owner: str
    expires_at: float

    def expired(self, now: float | None = None) -> bool:
        return self.expires_at <= (time.time() if now is None else now)



#: which run made a stored completion (a random id per pytest session, shared by its workers)
_RUN_FIELD = "made_by_run"


def chunks(keys: Sequence[str]) -> Iterator[Sequence[str]]:
    for start in range(0, len(keys), _CHUNK):
        yield keys[start : start + _CHUNK]


def placeholders(n: int) -> str:
    return ",".join("?" * n)


def load_completion(value: str, run_id: str | None = None) -> Completion | None:
    """A stored completion; ``cached`` unless the run ``run_id`` made it (under xdist a
    worker reads what another worker of the same run just made: that call was paid for
    in this run, and its record must say so or the run's spend is undercounted)."""
    try:
        data = json.loads(value)
        made_by = data.pop(_RUN_FIELD, None)
        completion = Completion.from_dict(data)
    except (ValueError, KeyError, TypeError, AttributeError):
        # A damaged row is a miss; the next put replaces it.
        return None
    return replace(completion, cached=run_id is None or made_by != run_id)


def load_verdict(value: str) -> Verdict | None:
    try:
        return Verdict.from_dict(json.loads(value))
    except (ValueError, KeyError, TypeError):
        return None


def dump_completion(completion: Completion, run_id: str | None = None) -> str:
    data = replace(completion, cached=False).to_dict()
    if run_id is not None:
        data[_RUN_FIELD] = run_id
    return json.dumps(data, ensure_ascii=False)



class CacheBatch:
    """Write operations inside one transaction (see :meth:`Cache.batch`)."""

    def __init__(self, conn: sqlite3.Connection, now: float, run_id: str | None = None) -> None:
        self._conn = conn
        self._run_id = run_id
        self.now = now

    def put_completion(
        self,
        key: str,
        completion: Completion,
        *,
        namespace: str = "model",
        model: str = "",
        release: str | None = None,
    ) -> None:
        """Store a completion; with ``release=owner`` also drop that owner's claim,
        in the same transaction, so a waiter never sees neither."""
        self._conn.execute(
            "INSERT OR REPLACE INTO completions(key, value, created, namespace, model)"
            " VALUES(?, ?, ?, ?, ?)",
            (key, dump_completion(completion, self._run_id), self.now, namespace, model),
        )
        if release is not None:
            self.release(key, release)

    def put_verdict(self, key: str, verdict: Verdict) -> None:
        self._conn.execute(
            "INSERT OR REPLACE INTO verdicts(key, value, created) VALUES(?, ?, ?)",
            (key, json.dumps(verdict.to_dict(), ensure_ascii=False), self.now),
        )

    def claim(self, key: str, owner: str, lease_s: float, *, steal_from: str | None = None) -> bool:
        cursor = self._conn.execute(
            _CLAIM_SQL,
            {
                "key": key,
                "owner": owner,
                "expires_at": self.now + lease_s,
                "now": self.now,
                "steal": steal_from,
            },
        )
        return cursor.rowcount == 1

    def acquire(
        self, key: str, owner: str, lease_s: float, *, steal_from: str | None = None
    ) -> Completion | Claim:
        """A cached completion, or the claim on ``key`` (ours if ``owner`` matches).

        Checking the completion inside the write transaction closes the race
        where another process stores the result and drops its claim between
        our cache lookup and our claim.
        """
        row = self._conn.execute("SELECT value FROM completions WHERE key = ?", (key,)).fetchone()
        if row is not None:
            hit = load_completion(row[0], self._run_id)
            if hit is not None:
                return hit
        if self.claim(key, owner, lease_s, steal_from=steal_from):
            return Claim(key, owner, self.now + lease_s)
        held = self._conn.execute(
            "SELECT owner, expires_at FROM claims WHERE key = ?", (key,)
        ).fetchone()
        # The claim cannot vanish inside our write transaction.
        return Claim(key, str(held[0]), float(held[1]))

    def release(self, key: str, owner: str) -> None:
        self._conn.execute("DELETE FROM claims WHERE key = ? AND owner = ?", (key, owner))

    def refresh(self, keys: Iterable[str], owner: str, lease_s: float) -> None:
        self._conn.executemany(
            "UPDATE claims SET expires_at = ? WHERE key = ? AND owner = ?",
            ((self.now + lease_s, key, owner) for key in keys),
        )
