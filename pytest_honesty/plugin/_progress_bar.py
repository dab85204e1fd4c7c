"""The live progress of the answering phase: a bar on a terminal, lines in a log.

Every answer is fetched before the first test reports, so without this a long run
shows nothing for minutes. On a terminal the run gets a bar (tqdm, imported only
then) with cases done / total, calls in flight, retries, output tokens per second and
an ETA, redrawn twice a second by a small thread on the terminal reporter's own
stream (pytest's output capture does not touch it). Without a terminal, or without
tqdm, the periodic lines of :class:`~pytest_honesty.run._progress.ProgressLines` stay.

Under pytest-xdist the bar is the controller's, and shows the sum over the workers:
each worker writes its counters to a small JSON file in a folder the controller made
(twice a second, replaced atomically), and the controller adds them up. Workers print
nothing themselves (xdist does not show their output).

``HONESTY_PROGRESS=bar|lines|off`` overrides the choice (``bar`` draws even without a
terminal, e.g. into a recording).
"""

from __future__ import annotations

import contextlib
import json
import os
import threading
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any, Protocol

from .._atomic import atomic_write_text
from ..run._progress import ProgressLines

__all__ = [
    "PROGRESS_ENV",
    "Counters",
    "LiveBar",
    "ProgressSink",
    "RunProgress",
    "WorkerFile",
    "engine_counters",
    "open_display",
    "read_worker_files",
    "wait_for_workers",
]

#: ``bar``, ``lines`` or ``off``; unset: a bar on a terminal, lines otherwise
PROGRESS_ENV = "HONESTY_PROGRESS"
#: seconds between redraws (and between a worker's file writes)
REFRESH_S = 0.5


@dataclass(frozen=True)
class Counters:
    """What the bar shows, as one process (or the sum of the workers) counts it."""

    done: int = 0
    total: int = 0
    in_flight: int = 0
    retries: int = 0
    output_tokens: int = 0
    elapsed_s: float = 0.0

    def __add__(self, other: Counters) -> Counters:
        return Counters(
            self.done + other.done, self.total + other.total,
            self.in_flight + other.in_flight, self.retries + other.retries,
            self.output_tokens + other.output_tokens, max(self.elapsed_s, other.elapsed_s),
        )


class _StatsLike(Protocol):
    retries: int


class _EngineLike(Protocol):
    output_tokens: int

    @property
    def limiters(self) -> dict[str, Any]: ...

    @property
    def stats(self) -> _StatsLike: ...


def engine_counters(engine: _EngineLike, done: int, total: int, started: float) -> Counters:
    """The engine's live counters (read from another thread: plain ints, a snapshot
    for display only)."""
    in_flight = sum(int(getattr(lim, "in_flight", 0)) for lim in list(engine.limiters.values()))
    return Counters(done, total, in_flight, engine.stats.retries, engine.output_tokens,
                    time.monotonic() - started)


class ProgressSink(Protocol):
    """Where a process's progress goes: ``on_done`` after each case, ``close`` at the end."""

    def on_done(self, done: int, total: int) -> None: ...

    def close(self) -> None: ...


class _Ticker:
    """Calls ``tick`` every REFRESH_S on a daemon thread until stopped, then once more."""

    def __init__(self, tick: Callable[[], None], name: str) -> None:
        self._tick = tick
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name=name, daemon=True)
        self._thread.start()

    def _run(self) -> None:
        while not self._stop.wait(REFRESH_S):
            with contextlib.suppress(Exception):  # a display must never break a run
                self._tick()

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(timeout=5)
        with contextlib.suppress(Exception):
            self._tick()


class _WriterStream:
    """A file-like face for pytest's TerminalWriter, which tqdm can write to."""

    def __init__(self, writer: Any) -> None:
        self._writer = writer

    def write(self, text: str) -> int:
        self._writer.write(text)
        return len(text)

    def flush(self) -> None:
        self._writer.flush()


def _describe(c: Counters) -> str:
    rate = c.output_tokens / c.elapsed_s if c.elapsed_s > 0 else 0.0
    return f"{c.in_flight} in flight, {c.retries} retries, {rate:.0f} tok/s"


class LiveBar:
    """A tqdm bar fed from ``counters()`` twice a second by its own thread; drawn
    from the first time there is a total (under xdist, once a worker has one)."""

    def __init__(self, counters: Callable[[], Counters], writer: Any, *, width: int) -> None:
        from tqdm import tqdm  # optional: the caller falls back to lines without it

        self._tqdm = tqdm
        self._counters = counters
        self._stream = _WriterStream(writer)
        self._width = max(60, min(width, 160))
        self._bar: Any = None
        self._lock = threading.Lock()
        self._draw()
        self._ticker = _Ticker(self._draw, "honesty-progress-bar")

    def _draw(self) -> None:
        c = self._counters()
        if not c.total:
            return  # xdist: no worker has started answering yet (they may print meanwhile)
        with self._lock:
            if self._bar is None:
                # tqdm's own layout: elapsed<ETA, then the postfix, in the brackets
                self._bar = self._tqdm(
                    total=c.total, initial=c.done, postfix=_describe(c),
                    file=self._stream, ncols=self._width, leave=True,
                    desc="honesty", unit="case", mininterval=0, dynamic_ncols=False,
                    bar_format="{desc}: {n_fmt}/{total_fmt} cases |{bar}| "
                               "[{elapsed}<{remaining}{postfix}]",
                )
            self._bar.total = max(c.total, c.done)
            self._bar.n = c.done
            self._bar.set_postfix_str(_describe(c), refresh=False)
            self._bar.refresh()

    def on_done(self, done: int, total: int) -> None:
        """Nothing to do: the thread reads the counters."""

    def close(self) -> None:
        self._ticker.stop()
        with self._lock:
            if self._bar is not None:
                self._bar.close()


class _Lines:
    """Periodic lines (:class:`ProgressLines`) from the same counters, for logs."""

    def __init__(self, counters: Callable[[], Counters], write_line: Callable[[str], None],
                 *, polled: bool) -> None:
        self._counters = counters
        self._lines = ProgressLines(write_line)
        # under xdist nothing calls on_done on the controller: poll the workers' sum
        self._ticker = _Ticker(self._poll, "honesty-progress-lines") if polled else None

    def _poll(self) -> None:
        c = self._counters()
        if c.total:
            self._lines(c.done, c.total)

    def on_done(self, done: int, total: int) -> None:
        self._lines(done, total)

    def close(self) -> None:
        if self._ticker is not None:
            self._ticker.stop()
        self._lines.finish()


class _Off:
    def on_done(self, done: int, total: int) -> None:
        pass

    def close(self) -> None:
        pass


def open_display(
    counters: Callable[[], Counters], reporter: Any, *, polled: bool = False
) -> ProgressSink:
    """A bar when the terminal reporter writes to a terminal and tqdm is installed
    (or ``HONESTY_PROGRESS=bar``), else periodic lines; nothing without a reporter
    or with ``HONESTY_PROGRESS=off``. ``polled``: no ``on_done`` calls will come
    (xdist controller), the counters are all there is."""
    choice = os.environ.get(PROGRESS_ENV, "").strip().lower()
    if reporter is None or choice == "off":
        return _Off()
    writer = getattr(reporter, "_tw", None)
    on_terminal = bool(getattr(reporter, "isatty", lambda: False)())
    if writer is not None and (choice == "bar" or (on_terminal and choice != "lines")):
        try:
            return LiveBar(counters, writer, width=int(getattr(writer, "fullwidth", 80)))
        except ImportError:
            pass  # no tqdm: the lines below
    return _Lines(counters, reporter.write_line, polled=polled)


class WorkerFile:
    """An xdist worker's counters, written to ``path`` twice a second for the
    controller's bar (see :func:`read_worker_files`)."""

    def __init__(self, path: Path, counters: Callable[[], Counters]) -> None:
        self._path = path
        self._counters = counters
        self._ticker = _Ticker(self._write, "honesty-progress-file")

    def _write(self) -> None:
        # the controller never reads half a file; rewritten twice a second, so no fsync
        atomic_write_text(self._path, json.dumps(asdict(self._counters())), durable=False)

    def on_done(self, done: int, total: int) -> None:
        """Nothing to do: the thread reads the counters."""

    def close(self) -> None:
        self._ticker.stop()


def wait_for_workers(folder: Path, workers: int, *, timeout_s: float = 2.0) -> None:
    """Give the workers a moment to write their last counters (the answering phase is
    over, but a worker may not have written its final file yet)."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        c = read_worker_files(folder)
        if len(list(folder.glob("worker-*.json"))) >= workers and c.done >= c.total:
            return
        time.sleep(0.05)


def read_worker_files(folder: Path) -> Counters:
    """The sum of every worker's last written counters in ``folder``."""
    total = Counters()
    for path in sorted(folder.glob("worker-*.json")):
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
            total = total + Counters(**{k: data[k] for k in asdict(Counters())})
        except (OSError, ValueError, KeyError, TypeError):
            continue  # being replaced, or not ours: the next redraw reads it
    return total


class RunProgress:
    """The ``on_done`` of one process's answering phase: counts the cases and hands
    the engine's live counters to a sink (a bar, lines, or a worker's file)."""

    def __init__(
        self,
        engine: _EngineLike,
        total: int,
        make_sink: Callable[[Callable[[], Counters]], ProgressSink],
    ) -> None:
        self.done = 0
        self.total = total
        self._engine = engine
        self._started = time.monotonic()
        self._sink = make_sink(self.counters)

    def counters(self) -> Counters:
        return engine_counters(self._engine, self.done, self.total, self._started)

    def __call__(self, done: int, total: int) -> None:
        self.done = done
        self._sink.on_done(done, total)

    def close(self) -> None:
        self._sink.close()
