"""pytest-honesty: test whether a language model stays honest and helpful (HoneSet).

The package root stays import-light: the pytest plugin loads it in every run.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

__all__ = ["__version__", "assert_h2", "assert_honest"]

__version__ = "0.1.0"

if TYPE_CHECKING:
    from .assertions import assert_h2, assert_honest


def __getattr__(name: str) -> Any:
    if name in ("assert_honest", "assert_h2"):
        from . import assertions

        return getattr(assertions, name)
    raise AttributeError(f"module 'pytest_honesty' has no attribute {name!r}")
