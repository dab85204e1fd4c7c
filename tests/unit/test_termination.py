"""GracefulTermination: SIGTERM while answers are fetched drains, otherwise interrupts."""

from __future__ import annotations

import signal
import threading
from collections.abc import Iterator
from types import FrameType

import pytest

from pytest_honesty.calls._termination import GracefulTermination


@pytest.fixture(autouse=True)
def default_sigterm() -> Iterator[None]:
    previous = signal.signal(signal.SIGTERM, signal.SIG_DFL)
    yield
    signal.signal(signal.SIGTERM, previous)


def test_a_first_sigterm_while_armed_stops_new_calls_and_a_second_interrupts() -> None:
    stops: list[int] = []
    termination = GracefulTermination(lambda: stops.append(1))
    assert termination.install()
    try:
        with termination.armed():
            signal.raise_signal(signal.SIGTERM)
            assert stops == [1] and termination.requested
            with pytest.raises(KeyboardInterrupt):
                signal.raise_signal(signal.SIGTERM)
        assert stops == [1]
    finally:
        termination.uninstall()
    assert signal.getsignal(signal.SIGTERM) is signal.SIG_DFL


def test_a_sigterm_outside_the_fetching_interrupts_at_once() -> None:
    termination = GracefulTermination(lambda: pytest.fail("nothing to drain"))
    assert termination.install()
    try:
        with pytest.raises(KeyboardInterrupt):
            signal.raise_signal(signal.SIGTERM)
        assert not termination.requested
    finally:
        termination.uninstall()


def test_a_handler_someone_else_set_is_left_alone() -> None:
    def theirs(signum: int, frame: FrameType | None) -> None:
        pass

    signal.signal(signal.SIGTERM, theirs)
    termination = GracefulTermination(lambda: None)
    assert not termination.install()
    termination.uninstall()
    assert signal.getsignal(signal.SIGTERM) is theirs


def test_nothing_is_installed_off_the_main_thread() -> None:
    installed: list[bool] = []
    thread = threading.Thread(
        target=lambda: installed.append(GracefulTermination(lambda: None).install()))
    thread.start()
    thread.join()
    assert installed == [False]
    assert signal.getsignal(signal.SIGTERM) is signal.SIG_DFL
