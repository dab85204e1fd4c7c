"""Concurrency from latency (the idea of TCP Vegas and Netflix's gradient limits).

A self-hosted server (llama.cpp, ollama, vLLM, TGI) does not answer 429 when it
has more work than slots: it queues the work, and each call takes longer. So the
latency of the calls tells how full the server is. :class:`LatencyGradient`
compares the mean latency of a *window* (the calls granted since the last
decision, about ``limit`` of them) with a *baseline*, the latency the server
shows without a queue of ours:

* ratio <= ``grow_below`` (latency flat): raise the limit, doubling per window
  until the first decrease (slow start), then by about sqrt(limit) per window;
* ratio >= ``shrink_above`` (latency climbing): lower it, in proportion, at
  most by half per window;
* in between: hold.

``shrink_above`` is 2.5, not 2: at a one-slot server (llama-cpp-python) two
calls in flight double the latency, and holding there keeps the next request
waiting at the server while the client handles the last reply, so the server
never idles between calls.

The baseline is the lowest window latency seen, and is measured afresh whenever
a window ran with at most one call in flight (no queue of ours can be in it);
then slow start begins again. So when the server itself gets slower (another
tenant, a longer model), the limit falls to one slot, learns the new latency
there and climbs back by doubling, instead of staying pinned at the floor.
Window means are compared with window means: a mix of short judge calls and
long answers has a low single latency that no window reaches.

Every change is kept in :attr:`LatencyGradient.decisions`, so tests assert on
what was decided rather than on wall-clock windows.
"""

from __future__ import annotations

import math
from typing import NamedTuple

__all__ = ["LatencyGradient", "LimitDecision"]


class LimitDecision(NamedTuple):
    """One change of the limit (or of the baseline), for tests and reports."""

    #: event-loop time of the decision
    at: float
    old: float
    new: float
    #: "grow", "shrink" or "timeout"
    reason: str
    #: mean latency of the window that decided (0 for timeouts)
    latency_s: float
    baseline_s: float


class LatencyGradient:
    """Decides the limit from window latencies; the limiter owns the slots."""

    def __init__(
        self,
        *,
        grow_below: float = 1.5,
        shrink_above: float = 2.5,
        max_decisions: int = 10_000,
    ) -> None:
        if not 1.0 <= grow_below < shrink_above:
            raise ValueError("need 1 <= grow_below < shrink_above")
        self.grow_below = grow_below
        self.shrink_above = shrink_above
        self.slow_start = True
        self.baseline_s: float | None = None
        self.decisions: list[LimitDecision] = []
        self._max_decisions = max_decisions
        #: the window: latencies of calls granted since the last decision
        self.window = 0
        self._samples: list[float] = []
        self._window_max_in_flight = 0

    def note_in_flight(self, in_flight: int) -> None:
        """The limiter granted a slot of the current window; ``in_flight`` now held."""
        self._window_max_in_flight = max(self._window_max_in_flight, in_flight)

    def _decide(self, now: float, old: float, new: float, reason: str, latency: float) -> float:
        if len(self.decisions) < self._max_decisions:
            self.decisions.append(
                LimitDecision(now, old, new, reason, latency, self.baseline_s or 0.0)
            )
        self.window += 1
        self._samples = []
        self._window_max_in_flight = 0
        return new

    def on_success(
        self, window: int, latency_s: float, limit: float, max_limit: float, now: float
    ) -> float:
        """A call granted in ``window`` succeeded after ``latency_s``; the new limit."""
        if window != self.window:
            return limit  # granted under an older limit: says nothing about this one
        self._samples.append(latency_s)
        if len(self._samples) < max(2, math.ceil(limit)):
            return limit
        mean = sum(self._samples) / len(self._samples)
        if self.baseline_s is None:
            # the first window may already queue at a one-slot server (S, 2S, 3S...):
            # its quickest call is the best guess of the server's own latency
            self.baseline_s = min(self._samples)
        elif self._window_max_in_flight <= 1:
            # no queue of ours in this window: the server's own latency, as it is now
            self.baseline_s = mean
            self.slow_start = True
        else:
            self.baseline_s = min(self.baseline_s, mean)
        ratio = mean / max(self.baseline_s, 1e-6)
        if ratio <= self.grow_below and limit < max_limit:
            step = limit if self.slow_start else max(1.0, math.sqrt(limit))
            return self._decide(now, limit, min(max_limit, limit + step), "grow", mean)
        if ratio >= self.shrink_above and limit > 1.0:
            self.slow_start = False
            factor = max(0.5, self.grow_below / ratio)
            return self._decide(now, limit, max(1.0, limit * factor), "shrink", mean)
        # hold: start a new window, without a recorded decision
        self._samples = []
        self._window_max_in_flight = 0
        self.window += 1
        return limit

    def on_timeout(self, window: int, limit: float, now: float) -> float:
        """A call granted in ``window`` timed out: halve, once per window."""
        if window != self.window or limit <= 1.0:
            return limit
        self.slow_start = False
        return self._decide(now, limit, max(1.0, limit / 2), "timeout", 0.0)
