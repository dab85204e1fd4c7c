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

With a :class:`~pytest_honesty.calls._latency.LatencyGradient` (self-hosted servers,
which queue instead of answering 429) the limit also follows latency: it starts
low, grows while latency stays flat and shrinks when it climbs or calls time
out; ``limit`` is then the cap. The limiter also remembers when the server last
finished a call (:attr:`AdaptiveLimiter.last_progress`) and how long it takes
per call, which the engine's timeouts use.
"""

from __future__ import annotations

import asyncio
import collections
import contextlib
import enum
import math
from typing import NamedTuple

from ._latency import LatencyGradient, LimitDecision

__all__ = ["AdaptiveLimiter", "LatencyGradient", "LimitDecision", "Outcome", "Ticket"]

#: how many recent service times the timeout looks at
_SERVICE_WINDOW = 32


class Outcome(enum.Enum):
    OK = "ok"
    RATE_LIMITED = "rate_limited"
    #: the call ran out of time (a latency limiter shrinks; others stay neutral)
    TIMED_OUT = "timed_out"
    #: the slot was given back without a verdict on the server's load
    NEUTRAL = "neutral"


class Ticket(NamedTuple):
    """Handed out by :meth:`AdaptiveLimiter.acquire`, handed back to ``release``."""

    epoch: int
    granted_at: float
    #: the latency window the slot was granted in (see LatencyGradient)
    window: int = 0


class AdaptiveLimiter:
    """At most :attr:`limit` holders at a time; FIFO for waiters."""

    def __init__(
        self,
        limit: int,
        *,
        min_limit: float = 1 / 32,
        adaptive: bool = True,
        latency: LatencyGradient | None = None,
        initial: float | None = None,
    ) -> None:
        if limit < 1:
            raise ValueError(f"concurrency must be at least 1, got {limit}")
        if initial is not None and initial < 1:
            raise ValueError(f"initial concurrency must be at least 1, got {initial}")
        self.max_limit = limit
        self.min_limit = min(max(min_limit, 1e-3), float(limit))
        self.adaptive = adaptive
        #: latency-driven limits (None: only 429s move the limit)
        self.latency = latency if adaptive else None
        self._limit = float(limit if initial is None else min(initial, limit))
        #: loop time at which the last call through this limiter succeeded
        self.last_progress = -math.inf
        #: calls that succeeded through this limiter
        self.completed = 0
        self._service_times: collections.deque[float] = collections.deque(maxlen=_SERVICE_WINDOW)
        #: (granted at, finished at) of recent successful calls
        self._finished: collections.deque[tuple[float, float]] = collections.deque(
            maxlen=max(256, 4 * limit)
        )
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
    def decisions(self) -> list[LimitDecision]:
        """The latency limit's changes, oldest first (empty without one)."""
        return [] if self.latency is None else list(self.latency.decisions)

    def last_progress_before(self, started: float) -> float:
        """When the server last finished a call granted no later than ``started`` (a
        call ahead of it in the server's queue); -inf when none did."""
        return max((done for granted, done in self._finished if granted <= started),
                   default=-math.inf)

    @property
    def slowest_service_s(self) -> float:
        """The longest of the recent service times: how long the server took per call
        once it started on it (a call's time since the later of its start and the
        previous completion). 0 before any call succeeded."""
        return max(self._service_times, default=0.0)

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
        if self.latency is None:
            return Ticket(self._epoch, now)
        self.latency.note_in_flight(self.in_flight)
        return Ticket(self._epoch, now, self.latency.window)

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
            now = loop.time()
            took = max(0.0, now - ticket.granted_at)
            self._latency = took if self._latency is None else 0.8 * self._latency + 0.2 * took
            self._service_times.append(now - max(ticket.granted_at, self.last_progress))
            self.last_progress = now
            self._finished.append((ticket.granted_at, now))
            self.completed += 1
            if self.latency is not None:
                if not self._pacing:  # once 429s pace the calls, they rule the limit
                    self._limit = self.latency.on_success(
                        ticket.window, took, self._limit, float(self.max_limit), now
                    )
            elif self.adaptive and self._limit < self.max_limit:
                # +1 slot per window (1/limit per success); at small limits, where a
                # window is one or two calls, grow by at most an eighth per success.
                step = min(1.0 / self._limit, self._limit / 8)
                self._limit = min(float(self.max_limit), self._limit + step)
        elif outcome is Outcome.RATE_LIMITED:
            self.on_rate_limited(ticket)
        elif outcome is Outcome.TIMED_OUT and self.latency is not None:
            self._limit = max(
                self.min_limit, self.latency.on_timeout(ticket.window, self._limit, loop.time())
            )
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
