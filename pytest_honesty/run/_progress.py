"""Progress on long runs as a line every so often in a log: inside pytest, where stderr
is captured, a CI log gets a line every half minute rather than silence until the first
test result (the bar on a terminal is :mod:`pytest_honesty.plugin._progress_bar`).
"""

from __future__ import annotations

import time
from collections.abc import Callable

__all__ = ["ProgressLines"]


def _duration(seconds: float) -> str:
    minutes, secs = divmod(int(seconds), 60)
    return f"{minutes} min {secs:02d} s" if minutes else f"{secs} s"


class ProgressLines:
    """``on_done`` for a run's cases: ``honesty: 40/190 cases answered and judged (1 min
    05 s, about 4 min 04 s left)`` at most once every ``every_s`` seconds, so short runs
    print nothing; :meth:`finish` adds a closing line when any progress line was written.
    ``label`` replaces ``honesty`` (e.g. the step of a longer job)."""

    def __init__(
        self,
        write_line: Callable[[str], None],
        *,
        every_s: float = 30.0,
        clock: Callable[[], float] = time.monotonic,
        label: str = "honesty",
    ) -> None:
        self._write_line = write_line
        self._label = label
        self._every_s = every_s
        self._clock = clock
        self._started = clock()
        self._last = self._started
        self._done = 0
        self.lines = 0

    def __call__(self, done: int, total: int) -> None:
        self._done = done
        now = self._clock()
        if now - self._last >= self._every_s:
            self._last = now
            self.lines += 1
            elapsed = now - self._started
            # the remaining cases at the pace so far, once a twentieth is done: before,
            # the first answers of multi-turn strategies all finish late and together
            left = f", about {_duration(elapsed * (total - done) / done)} left" \
                if max(1, total / 20) <= done < total else ""
            self._write_line(f"{self._label}: {done}/{total} cases answered and judged "
                             f"({_duration(elapsed)}{left})")

    def finish(self) -> None:
        if self.lines:
            self._write_line(f"{self._label}: {self._done} cases answered and judged in "
                             f"{_duration(self._clock() - self._started)}")
