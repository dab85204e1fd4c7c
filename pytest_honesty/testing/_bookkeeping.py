"""What the scripted server keeps under its lock: the request counters tests read,
the rate limit's token bucket and the seeded fault draws."""

from __future__ import annotations

import random
import threading
import time
from collections import Counter
from dataclasses import dataclass

__all__ = ["BucketDecision", "ServerBookkeeping"]


@dataclass(frozen=True)
class BucketDecision:
    """One decision of the rate limit's token bucket, as the bucket saw it: the
    bucket's own clock (``time.monotonic()``) when it decided, the tokens it held
    before, and whether the request passed. Tests assert on these decisions, not on
    when a busy machine got round to logging a request."""

    at: float
    tokens_before: float
    accepted: bool


class ServerBookkeeping:
    """Counters, token bucket and fault draws of
    :class:`~pytest_honesty.testing.ScriptedOpenAIServer`, which inherits this."""

    rate_limit_rps: float | None
    p_429: float
    p_500: float
    p_hang: float
    p_malformed: float

    def __init__(self, *, seed: int, rate_limit_rps: float | None) -> None:
        self._rng = random.Random(seed)
        self._lock = threading.Lock()
        self._total = 0
        self._by_status: Counter[int] = Counter()
        self._completed: Counter[str] = Counter()
        self._log: list[tuple[float, int]] = []
        self._in_flight = 0
        self._max_in_flight = 0

        self._bucket_tokens = max(1.0, rate_limit_rps or 0.0)
        self._bucket_stamp = time.monotonic()
        self._bucket_log: list[BucketDecision] = []

    @property
    def total_requests(self) -> int:
        with self._lock:
            return self._total

    @property
    def status_counts(self) -> Counter[int]:
        """Requests by status code; ``0`` counts requests left hanging."""
        with self._lock:
            return Counter(self._by_status)

    @property
    def completed_calls(self) -> Counter[str]:
        """Successful (200, well-formed) completions by :func:`call_key`, counted once
        the reply is handed to a connection that is still open: a reply made for a
        client that has gone (killed, timed out) was never delivered."""
        with self._lock:
            return Counter(self._completed)

    @property
    def request_log(self) -> list[tuple[float, int]]:
        """``(arrival time.time(), status)`` per request, in decision order."""
        with self._lock:
            return list(self._log)

    @property
    def bucket_decisions(self) -> list[BucketDecision]:
        """Every decision of the ``rate_limit_rps`` token bucket, in order (empty
        without a rate limit)."""
        with self._lock:
            return list(self._bucket_log)

    @property
    def busy_s(self) -> float:
        """Seconds spent working on requests (in a slot), summed over requests."""
        with self._lock:
            return self._busy_s

    @property
    def max_in_flight(self) -> int:
        """The most requests the server held at once (concurrency seen)."""
        with self._lock:
            return self._max_in_flight

    def repeated_completed_calls(self) -> int:
        """Completions served more than once for the same request: sum of count-1."""
        with self._lock:
            return sum(n - 1 for n in self._completed.values() if n > 1)

    def reset_counters(self) -> None:
        with self._lock:
            self._total = 0
            self._by_status.clear()
            self._completed.clear()
            self._log.clear()
            self._bucket_log.clear()
            self._max_in_flight = self._in_flight
            self._busy_s = 0.0

    def _record(self, arrived: float, status: int) -> None:
        with self._lock:
            self._total += 1
            self._by_status[status] += 1
            self._log.append((arrived, status))

    def _take_token(self) -> float | None:
        """Token bucket: None when the request may pass, else seconds to wait."""
        rps = self.rate_limit_rps
        if rps is None:
            return None
        with self._lock:
            now = time.monotonic()
            capacity = max(1.0, rps)
            self._bucket_tokens = min(
                capacity, self._bucket_tokens + (now - self._bucket_stamp) * rps
            )
            self._bucket_stamp = now
            accepted = self._bucket_tokens >= 1.0
            self._bucket_log.append(BucketDecision(now, self._bucket_tokens, accepted))
            if accepted:
                self._bucket_tokens -= 1.0
                return None
            return (1.0 - self._bucket_tokens) / rps

    def _draw_fault(self) -> str | None:
        with self._lock:
            u = self._rng.random()
        for name, p in (
            ("429", self.p_429),
            ("500", self.p_500),
            ("hang", self.p_hang),
            ("malformed", self.p_malformed),
        ):
            if u < p:
                return name
            u -= p
        return None
