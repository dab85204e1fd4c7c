"""Progress on long runs: a bar on a terminal, or a line every so often in a log.

tqdm is used when installed (imported only when a bar is shown); otherwise a
one-line counter is redrawn on stderr. Inside pytest, where stderr is captured, the
plugin reports through :class:`ProgressLines` on the terminal reporter instead: a CI log
gets a line every half minute rather than silence until the first test result.
"""

from __future__ import annotations

import sys
import time
from collections.abc import Callable
from typing import Any, Protocol, TextIO

__all__ = ["MIN_TOTAL", "Progress", "ProgressLines", "make_progress"]

#: below this many calls a bar is noise
MIN_TOTAL = 20


class Progress(Protocol):
    def update(self, n: int = 1) -> None: ...

    def add_total(self, n: int) -> None: ...

    def close(self) -> None: ...


class _Silent:
    def update(self, n: int = 1) -> None:
        pass

    def add_total(self, n: int) -> None:
        pass

    def close(self) -> None:
        pass


class _Tqdm:
    def __init__(self, bar: Any) -> None:
        self._bar = bar

    def update(self, n: int = 1) -> None:
        self._bar.update(n)

    def add_total(self, n: int) -> None:
        self._bar.total = (self._bar.total or 0) + n
        self._bar.refresh()

    def close(self) -> None:
        self._bar.close()


class _Line:
    """Fallback without tqdm: ``desc: done/total`` redrawn at most 10 times a second."""

    def __init__(self, total: int, desc: str, stream: TextIO) -> None:
        self.total = total
        self.done = 0
        self._desc = desc
        self._stream = stream
        self._last = 0.0

    def _draw(self, force: bool = False) -> None:
        now = time.monotonic()
        if force or now - self._last >= 0.1:
            self._last = now
            self._stream.write(f"\r{self._desc}: {self.done}/{self.total} calls")
            self._stream.flush()

    def update(self, n: int = 1) -> None:
        self.done += n
        self._draw(force=self.done >= self.total)

    def add_total(self, n: int) -> None:
        self.total += n
        self._draw()

    def close(self) -> None:
        self._draw(force=True)
        self._stream.write("\n")
        self._stream.flush()


def make_progress(
    total: int,
    *,
    desc: str = "honesty",
    enabled: bool | None = None,
    stream: TextIO | None = None,
) -> Progress:
    """A bar when ``enabled`` (``None``: when the stream is a terminal) and
    ``total >= MIN_TOTAL``; otherwise an object that does nothing."""
    out = stream if stream is not None else sys.stderr
    if enabled is None:
        enabled = bool(getattr(out, "isatty", lambda: False)())
    if not enabled or total < MIN_TOTAL:
        return _Silent()
    try:
        from tqdm import tqdm
    except ImportError:
        return _Line(total, desc, out)
    return _Tqdm(tqdm(total=total, desc=desc, file=out, unit="call", leave=False))


def _duration(seconds: float) -> str:
    minutes, secs = divmod(int(seconds), 60)
    return f"{minutes} min {secs:02d} s" if minutes else f"{secs} s"


class ProgressLines:
    """``on_done`` for a run's cases: ``honesty: 40/190 cases answered and judged (1 min
    05 s)`` at most once every ``every_s`` seconds, so short runs print nothing;
    :meth:`finish` adds a closing line when any progress line was written."""

    def __init__(
        self,
        write_line: Callable[[str], None],
        *,
        every_s: float = 30.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._write_line = write_line
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
            self._write_line(f"honesty: {done}/{total} cases answered and judged "
                             f"({_duration(now - self._started)})")

    def finish(self) -> None:
        if self.lines:
            self._write_line(f"honesty: {self._done} cases answered and judged in "
                             f"{_duration(self._clock() - self._started)}")
