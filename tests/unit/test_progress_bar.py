"""The live progress display: what the bar shows, how workers hand their counters to
the controller, and which display a run gets."""

from __future__ import annotations

import io
from pathlib import Path
from typing import Any

import pytest

from pytest_honesty.plugin._progress_bar import (
    PROGRESS_ENV,
    Counters,
    LiveBar,
    WorkerFile,
    open_display,
    read_worker_files,
)


class Writer:
    """What pytest's TerminalWriter offers the bar: write and flush."""

    def __init__(self) -> None:
        self.out = io.StringIO()
        self.fullwidth = 120

    def write(self, text: str) -> None:
        self.out.write(text)

    def flush(self) -> None:
        pass


class Reporter:
    def __init__(self, tty: bool) -> None:
        self._tw = Writer()
        self._tty = tty
        self.lines: list[str] = []

    def isatty(self) -> bool:
        return self._tty

    def write_line(self, line: str) -> None:
        self.lines.append(line)


def test_the_bar_shows_cases_calls_in_flight_retries_tokens_and_eta() -> None:
    state = Counters(done=30, total=120, in_flight=7, retries=2, output_tokens=900,
                     elapsed_s=3.0)
    writer = Writer()
    bar = LiveBar(lambda: state, writer, width=writer.fullwidth)
    state = Counters(done=120, total=120, in_flight=0, retries=3, output_tokens=3000,
                     elapsed_s=10.0)
    bar.close()
    frames = [f for f in writer.out.getvalue().split("\r") if f.strip()]
    assert "honesty: 30/120 cases" in frames[0]
    assert "7 in flight, 2 retries, 300 tok/s" in frames[0]
    assert "<" in frames[0]  # elapsed<remaining: the ETA
    assert "honesty: 120/120 cases" in frames[-1]
    assert "0 in flight, 3 retries, 300 tok/s" in frames[-1]


def test_workers_counters_add_up_on_the_controller(tmp_path: Path) -> None:
    first = WorkerFile(tmp_path / "worker-gw0.json",
                       lambda: Counters(10, 95, 4, 1, 500, 2.0))
    second = WorkerFile(tmp_path / "worker-gw1.json",
                        lambda: Counters(20, 95, 3, 0, 700, 3.0))
    first.close()
    second.close()  # each writes its last counters on close
    (tmp_path / "worker-gw2.json").write_text("{not json")  # half-written: skipped
    assert read_worker_files(tmp_path) == Counters(30, 190, 7, 1, 1200, 3.0)


@pytest.mark.parametrize(
    ("env", "tty", "expected"),
    [("", True, "LiveBar"), ("", False, "_Lines"), ("bar", False, "LiveBar"),
     ("lines", True, "_Lines"), ("off", True, "_Off")],
)
def test_a_terminal_gets_the_bar_and_a_log_gets_lines(
    monkeypatch: pytest.MonkeyPatch, env: str, tty: bool, expected: str
) -> None:
    monkeypatch.setenv(PROGRESS_ENV, env)
    display: Any = open_display(lambda: Counters(0, 10), Reporter(tty))
    try:
        assert type(display).__name__ == expected
    finally:
        display.close()


def test_without_tqdm_a_terminal_gets_lines(monkeypatch: pytest.MonkeyPatch) -> None:
    import sys

    monkeypatch.setitem(sys.modules, "tqdm", None)  # import tqdm now fails
    display: Any = open_display(lambda: Counters(0, 10), Reporter(True))
    try:
        assert type(display).__name__ == "_Lines"
    finally:
        display.close()
