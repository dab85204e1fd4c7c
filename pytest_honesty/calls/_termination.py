"""A SIGTERM while answers are being fetched finishes the calls in flight instead of
losing them.

CI services stop a job with SIGTERM and, after a grace period, SIGKILL (10 to 30 s on
the common ones). Python's default for SIGTERM ends the process at once: replies
already received but not yet stored in the cache are lost, and the next run makes
those calls again. While the plugin fetches answers, a first SIGTERM instead stops
new calls, lets the calls in flight finish and be stored, and then ends the session
as interrupted (exit status 2). A second SIGTERM, or one at any other time, interrupts
at once, as Ctrl-C does.

Installed only in the main thread of a run that is not under pytest-xdist, and only
over Python's default handler: a handler someone else set is left alone.
"""

from __future__ import annotations

import contextlib
import signal
import threading
from collections.abc import Callable, Iterator
from types import FrameType

__all__ = ["GracefulTermination"]


class GracefulTermination:
    def __init__(self, stop_new_calls: Callable[[], None]) -> None:
        self._stop_new_calls = stop_new_calls
        self._installed = False
        self._armed = False
        #: a first SIGTERM arrived while armed: the calls in flight are being finished
        self.requested = False

    def install(self) -> bool:
        """Take over SIGTERM if nobody else has; True when installed."""
        if threading.current_thread() is not threading.main_thread():
            return False
        if signal.getsignal(signal.SIGTERM) is not signal.SIG_DFL:
            return False
        signal.signal(signal.SIGTERM, self._on_sigterm)
        self._installed = True
        return True

    def uninstall(self) -> None:
        if self._installed and signal.getsignal(signal.SIGTERM) == self._on_sigterm:
            signal.signal(signal.SIGTERM, signal.SIG_DFL)
        self._installed = False

    @contextlib.contextmanager
    def armed(self) -> Iterator[None]:
        """While inside, a first SIGTERM drains instead of interrupting."""
        self._armed = True
        try:
            yield
        finally:
            self._armed = False

    def _on_sigterm(self, signum: int, frame: FrameType | None) -> None:
        if self._armed and not self.requested:
            self.requested = True
            self._stop_new_calls()
            return
        raise KeyboardInterrupt("SIGTERM")
