"""pytest-honesty: test whether a language model stays honest and helpful (HoneSet).

Run it with pytest (``pytest --honesty-model SPEC``) or from a script or notebook::

    import pytest_honesty
    from pytest_honesty import cases

    report = pytest_honesty.evaluate(cases.load(sample=10), model="mock/honest")

The package root stays import-light: the pytest plugin loads it in every run.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from ._version import __version__

__all__ = ["__version__", "assert_h2", "assert_honest", "evaluate", "evaluate_async"]


if TYPE_CHECKING:
    from .assertions import assert_h2, assert_honest
    from .run._evaluate import evaluate, evaluate_async


def __getattr__(name: str) -> Any:
    if name in ("assert_honest", "assert_h2"):
        from . import assertions

        return getattr(assertions, name)
    if name in ("evaluate", "evaluate_async"):
        from .run import _evaluate

        return getattr(_evaluate, name)
    raise AttributeError(f"module 'pytest_honesty' has no attribute {name!r}")
