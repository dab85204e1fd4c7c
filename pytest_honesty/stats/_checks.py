"""Input checks shared by the statistics functions: each raises ``ValueError`` saying
what is wrong, where, and what is expected."""

from __future__ import annotations

import math
from collections.abc import Sequence

__all__ = ["check_confidence", "check_count", "check_finite", "check_same_length"]


def check_confidence(confidence: float, where: str) -> None:
    if not 0.0 < confidence < 1.0:
        raise ValueError(
            f"{where}: confidence must be strictly between 0 and 1 (e.g. 0.95), got {confidence!r}"
        )


def check_count(value: int, name: str, where: str) -> None:
    # bool is an int subclass; True/False as a count is almost surely a caller bug.
    if isinstance(value, bool) or not isinstance(value, int):
        raise ValueError(f"{where}: {name} must be an int, got {type(value).__name__} {value!r}")
    if value < 0:
        raise ValueError(f"{where}: {name} must be >= 0, got {value}")


def check_finite(values: Sequence[float], name: str, where: str) -> list[float]:
    out = [float(v) for v in values]
    for i, v in enumerate(out):
        if not math.isfinite(v):
            raise ValueError(f"{where}: {name}[{i}] is {v!r}; all values must be finite numbers")
    return out


def check_same_length(a: Sequence[object], b: Sequence[object], names: str, where: str) -> None:
    if len(a) != len(b):
        raise ValueError(
            f"{where}: {names} must have the same length (one entry per item), "
            f"got {len(a)} and {len(b)}"
        )
