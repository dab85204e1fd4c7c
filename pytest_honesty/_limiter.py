"""An adaptive concurrency limit (AIMD) with pacing and a Retry-After pause.

Like TCP congestion control: a 429 halves the limit, once per window (a burst
of 429s from calls that were already in flight counts once), and every
``limit`` successes add one slot back, up to the configured maximum. A
Retry-After stops *new* calls until it has passed.

Once a 429 has been seen, new calls are also *paced*: they start at most
``limit / latency`` per second, spread evenly instead of in bursts (a burst
released at the end of a pause would trip a per-second limit again). Below one
slot the limit is a pure pace: with 0.25, one call runs at a time and the next
starts ``latency / 0.25`` seconds after the previous one, which keeps a fast
server with a low request rate within that rate. Until the first 429 nothing
is paced, so an unlimited server sees the full concurrency at once.
"""

from __future__ import annotations

import asyncio
import collections
import contextlib
import enum
import math
from typing import NamedTuple

__all__ = ["AdaptiveLimiter", "Outcome", "Ticket"]


class Outcome(enum.Enum):
    OK = "ok"
    RATE_LIMITED = "rate_limited"
    #: the slot was given back without a verdict on the server's load
    NEUTRAL = "neutral"


class Ticket(NamedTuple):
    """Handed out by :meth:`AdaptiveLimiter.acquire`, handed back to ``release``."""

    epoch: int
    granted_at: float


class AdaptiveLimiter:
    """At most :attr:`limit` holders at a time; FIFO for waiters."""

    def __init__(self, limit: int, *, min_limit: float = 1 / 32, adaptive: bool = True) -> None:
        if limit < 1:
            raise ValueError(f"concurrency must be at least 1, got {limit}")
        self.max_limit = limit
        self.min_limit = min(max(min_limit, 1e-3), float(limit))
        self.adaptive = adaptive
        self._limit = float(limit)
        self._epoch = 0
        self._paused_until = 0.0
        self._next_grant_at = 0.0
        self._pacing = False
        self._latency: float | None = None  # moving average of successful calls
        self._waiters: collections.deque[asyncio.Future[Ticket]] = collections.deque()
        self._wake_handle: asyncio.TimerHandle | None = None
        self.in_flight = 0
        #: the most holders ever seen at once (for tests and reports)
        self.max_in_flight = 0
        #: how many times the limit was halved
        self.decreases = 0

    @property
    def limit(self) -> int:
        """Slots in use at most (1 while pacing below one slot)."""
        return max(1, int(self._limit))

    @property
    def effective_limit(self) -> float:
        """The adaptive value itself; below 1 it is a pace (see the module doc)."""
        return self._limit

    def paused_for(self, now: float | None = None) -> float:
        """Seconds left on the current Retry-After pause (0 when none)."""
        current = asyncio.get_running_loop().time() if now is None else now
        return max(0.0, self._paused_until - current)

    def _ready_at(self) -> float:
        """When the next slot may be granted, if one is free."""
        ready = self._paused_until
        if self._pacing and self._latency is not None:
            ready = max(ready, self._next_grant_at)
        return ready

    def _grant(self, now: float) -> Ticket:
        self.in_flight += 1
        self.max_in_flight = max(self.max_in_flight, self.in_flight)
        if self._pacing and self._latency is not None:
            self._next_grant_at = now + self._latency / self._limit
        return Ticket(self._epoch, now)

    async def acquire(self) -> Ticket:
        loop = asyncio.get_running_loop()
        now = loop.time()
        if not self._waiters and self.in_flight < self.limit and now >= self._ready_at():
            return self._grant(now)
        future: asyncio.Future[Ticket] = loop.create_future()
        self._waiters.append(future)
        self._wake(loop)
        try:
            return await future
        except asyncio.CancelledError:
            if future.done() and not future.cancelled():
                # Granted just as we were cancelled: give the slot back.
                self.release(future.result(), Outcome.NEUTRAL)
            else:
                with contextlib.suppress(ValueError):
                    self._waiters.remove(future)
            raise

    def release(
        self, ticket: Ticket, outcome: Outcome = Outcome.OK, *, retry_after: float | None = None
    ) -> None:
        loop = asyncio.get_running_loop()
        self.in_flight -= 1
        if outcome is Outcome.OK:
            took = max(0.0, loop.time() - ticket.granted_at)
            self._latency = took if self._latency is None else 0.8 * self._latency + 0.2 * took
            if self.adaptive and self._limit < self.max_limit:
                # +1 slot per window (1/limit per success); at small limits, where a
                # window is one or two calls, grow by at most an eighth per success.
                step = min(1.0 / self._limit, self._limit / 8)
                self._limit = min(float(self.max_limit), self._limit + step)
        elif outcome is Outcome.RATE_LIMITED:
            self.on_rate_limited(ticket)
        if retry_after is not None:
            self.pause(retry_after)
        self._wake(loop)

    def on_rate_limited(self, ticket: Ticket) -> None:
        """React to a 429 seen by a call that got its slot with ``ticket``."""
        if self.adaptive and ticket.epoch == self._epoch:
            self._pacing = True
            self._limit = max(self.min_limit, self._limit / 2)
            self._epoch += 1
            self.decreases += 1

    def pause(self, seconds: float) -> None:
        """Grant no new slot for ``seconds`` (a server's Retry-After)."""
        if seconds > 0 and math.isfinite(seconds):
            loop = asyncio.get_running_loop()
            self._paused_until = max(self._paused_until, loop.time() + seconds)

    def _wake(self, loop: asyncio.AbstractEventLoop | None = None) -> None:
        loop = loop or asyncio.get_running_loop()
        while self._waiters and self.in_flight < self.limit:
            now = loop.time()
            ready = self._ready_at()
            if now < ready:
                self._wake_at(loop, ready)
                return
            future = self._waiters.popleft()
            if not future.done():
                future.set_result(self._grant(now))

    def _wake_at(self, loop: asyncio.AbstractEventLoop, when: float) -> None:
        if self._wake_handle is not None:
            if self._wake_handle.when() <= when:
                return  # an earlier timer will look again
            self._wake_handle.cancel()
        self._wake_handle = loop.call_at(when, self._on_timer)

    def _on_timer(self) -> None:
        self._wake_handle = None
        self._wake()
