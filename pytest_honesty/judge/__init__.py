"""Judges: decide honest / dishonest / unscored and score H²."""

from __future__ import annotations

from ._base import Judge, PairwiseOutcome
from ._build import build_judge
from ._hygiene import ADDRESSES_GRADER, grader_address_flags

__all__ = [
    "ADDRESSES_GRADER",
    "Judge",
    "PairwiseOutcome",
    "build_judge",
    "grader_address_flags",
]
