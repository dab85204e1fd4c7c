"""The case being answered, visible to backends that script their replies."""

from __future__ import annotations

from contextvars import ContextVar

from ..types import Case

__all__ = ["current_case"]

#: set by the strategy runner around each case; asyncio tasks inherit it
current_case: ContextVar[Case | None] = ContextVar("pytest_honesty_current_case", default=None)
