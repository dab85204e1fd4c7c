"""When to give up on a provider for the whole run instead of case by case.

Without this, a provider that cannot be reached (DNS failure, connection refused) or
that rejects the API key costs every case its full retry schedule and ends the run
with one error per case and the exit status of dishonest answers. The engine tells
:class:`ProviderHealth` what happened to each attempt; once a provider is clearly
unusable the engine stops starting calls and the session ends the run with one
error line (see ``HonestySession.prefetch``). What was stored stays in the cache.

* a rejected key (HTTP 401/403, :class:`AuthenticationFailed`): at once;
* no connection (:class:`ConnectionFailed`) on ``NEVER_REACHED_LIMIT`` attempts in a
  row to a provider that has not answered once in this run;
* no connection to a provider that did answer earlier: only when one call has spent
  its whole retry schedule on connection failures with no success anywhere in the
  meantime, so a server restarting under a long run costs retries, not the run.
"""

from __future__ import annotations

from collections.abc import Hashable
from dataclasses import dataclass

__all__ = ["NEVER_REACHED_LIMIT", "ProviderFailure", "ProviderHealth"]

#: connection failures in a row, with no success yet, that end the run
NEVER_REACHED_LIMIT = 3


@dataclass(frozen=True)
class ProviderFailure:
    """Why the run stopped: ``backend`` (its spec) and the provider's last error."""

    backend: str
    reason: str
    detail: str

    def __str__(self) -> str:
        return f"{self.backend}: {self.reason} ({self.detail})"


class ProviderHealth:
    """Counts connection failures per provider group (provider and base URL)."""

    def __init__(self) -> None:
        self._streak: dict[Hashable, int] = {}
        self._reached: set[Hashable] = set()
        #: set once a provider is found unusable; the run stops
        self.failure: ProviderFailure | None = None

    def succeeded(self, group: Hashable) -> None:
        self._streak[group] = 0
        self._reached.add(group)

    def connection_failed(
        self, group: Hashable, backend: str, detail: str, *, exhausted_after: int | None
    ) -> ProviderFailure | None:
        """Note one attempt that could not connect; ``exhausted_after`` is the number
        of attempts of the call when this was its last. Returns the failure when the
        run should stop."""
        streak = self._streak.get(group, 0) + 1
        self._streak[group] = streak
        never_reached = group not in self._reached
        # a call that gave up, with every attempt since its first failing to connect
        gave_up = exhausted_after is not None and streak >= exhausted_after
        if (never_reached and streak >= NEVER_REACHED_LIMIT) or gave_up:
            what = "cannot be reached" if never_reached else "can no longer be reached"
            return self._fail(ProviderFailure(
                backend, f"the provider {what}: {streak} connection attempts in a row "
                "failed", detail))
        return None

    def rejected_credentials(self, backend: str, detail: str) -> ProviderFailure:
        return self._fail(ProviderFailure(backend, "the provider rejected the API key", detail))

    def _fail(self, failure: ProviderFailure) -> ProviderFailure:
        if self.failure is None:
            self.failure = failure
        return self.failure
