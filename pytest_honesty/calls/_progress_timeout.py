"""Timeouts for self-hosted servers: counted from the server's last progress.

The engine calls :func:`call_self_hosted` for backends that are
``latency_limited`` (see :mod:`pytest_honesty.calls._latency`).
"""

from __future__ import annotations

import asyncio
import sys
from typing import Any

from ..backends import Backend
from ..types import Completion, Message, SamplingParams
from ._limiter import AdaptiveLimiter

__all__ = ["FIRST_CALL_TIMEOUT_FACTOR", "SERVICE_TIMEOUT_FACTOR", "TooSlow", "call_self_hosted"]

#: a self-hosted server's timeout is at least this many times its slowest recent call
SERVICE_TIMEOUT_FACTOR = 4.0
#: until the server has finished one call, the timeout is this many times the
#: configured one: nothing is known of its speed yet (a CPU server may take minutes
#: for one judge prompt), and abandoning a call leaves the server computing it
FIRST_CALL_TIMEOUT_FACTOR = 10.0


class _ProgressDeadline:
    """A call's timeout at a self-hosted server: ``timeout_s`` from the later of
    the call's start and the last time the server finished a call that was ahead
    of it (granted no later; through this limiter).

    Such a server runs a few calls at a time and queues the rest; a call behind
    a backlog waits for the server, not for nothing. Abandoning it while the
    server keeps finishing calls would leave the server computing a reply nobody
    reads, and the retry would queue again behind it (a one-slot llama.cpp
    server judging at 5-15 s a call turned 12 verdicts into 38 requests that
    way). Only calls ahead of it count: once those are done, a call whose reply
    does not come while later ones do was lost or is too long, and times out.
    The deadline is checked only when it comes due, so a call costs one timer,
    however many calls finish meanwhile.
    """

    def __init__(
        self,
        timeout: Any,  # asyncio.Timeout (3.11+)
        limiter: AdaptiveLimiter,
        timeout_s: float,
    ) -> None:
        self._timeout = timeout
        self._limiter = limiter
        self._timeout_s = timeout_s
        self._loop = asyncio.get_running_loop()
        self.started = self._loop.time()
        # first look when the configured timeout runs out; _check extends as it may
        self._handle = self._loop.call_at(self.started + timeout_s, self._check)
        #: True once it fired with this call alone in flight at the server
        self.alone = False
        #: the timeout that applied when it fired
        self.applied_s = timeout_s

    def _check(self) -> None:
        now = self._loop.time()
        limiter = self._limiter
        if limiter.completed:
            self.applied_s = max(
                self._timeout_s, SERVICE_TIMEOUT_FACTOR * limiter.slowest_service_s
            )
        else:
            self.applied_s = FIRST_CALL_TIMEOUT_FACTOR * self._timeout_s
        due = max(self.started, limiter.last_progress_before(self.started)) + self.applied_s
        if due > now:
            self._handle = self._loop.call_at(due, self._check)
            return
        self.alone = limiter.in_flight <= 1
        self._timeout.reschedule(now)  # fires: the awaited call is cancelled

    def cancel(self) -> None:
        self._handle.cancel()


class TooSlow(Exception):
    """Internal: a self-hosted server's call timed out while alone in flight."""

    def __init__(self, timeout_s: float) -> None:
        super().__init__(f"timed out after {timeout_s:.0f} s alone")
        self.timeout_s = timeout_s


async def call_self_hosted(
    backend: Backend,
    messages: tuple[Message, ...],
    params: SamplingParams,
    limiter: AdaptiveLimiter,
    timeout_s: float,
) -> Completion:
    """A call whose timeout counts from the server's last progress (Python 3.11+;
    before, a plain timeout applies)."""
    if sys.version_info < (3, 11):
        return await asyncio.wait_for(backend.complete(messages, params), timeout_s)
    deadline: _ProgressDeadline | None = None
    try:
        async with asyncio.timeout(None) as timeout:
            deadline = _ProgressDeadline(timeout, limiter, timeout_s)
            try:
                return await backend.complete(messages, params)
            finally:
                deadline.cancel()
    except TimeoutError:
        if deadline is not None and deadline.alone:
            raise TooSlow(deadline.applied_s) from None
        raise
