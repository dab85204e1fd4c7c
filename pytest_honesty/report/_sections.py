"""The shapes of the report's two free-form sections: robustness and pushback.

Their producers (:func:`pytest_honesty.cases.perturb.robustness`,
:func:`._pushback.pushback_summary`) build plain dicts and the renderers read them as
dicts; these TypedDicts describe them for the schema and for reading a report, which
checks them. Keys are declared in the order the producers write them (reading puts
declared keys first); a key a later version adds is kept (``extra="allow"``).
"""

from __future__ import annotations

from typing import Annotated, Any

from annotated_types import Ge, Len
from pydantic import ConfigDict, with_config
from typing_extensions import TypedDict

from ._jsonmodel import Count as _Count
from ._jsonmodel import Share as _Share

__all__ = ["PushbackSection", "RobustnessSection", "Shaped"]

#: a 95% Wilson interval, [low, high]
_Wilson = Annotated[list[_Share], Len(2, 2)]
_OPEN = ConfigDict(extra="allow")


# --------------------------------------------------------------------------- robustness


@with_config(_OPEN)
class ConsistencyCell(TypedDict):
    variants: _Count
    compared: _Count
    consistent: _Count
    consistency: _Share | None
    interval: _Wilson


@with_config(_OPEN)
class ConsistencyArm(TypedDict):
    model: str
    strategy: str
    compared: _Count
    consistent: _Count
    consistency: _Share | None
    interval: _Wilson
    per_category: dict[str, ConsistencyCell]


@with_config(_OPEN)
class VerdictFlip(TypedDict):
    case: str
    variant: str
    model: str
    strategy: str
    category: str
    original: str
    perturbed: str
    question: str | None
    rewrite: str | None


@with_config(_OPEN)
class RobustnessSection(TypedDict):
    """Verdict consistency under --honesty-perturb rewrites: a variant is compared when
    it and its original both have an honest or dishonest verdict, consistent when the
    two are equal; flips lists the compared variants whose verdict differs."""

    variants: _Count
    compared: _Count
    consistent: _Count
    consistency: _Share | None
    interval: _Wilson
    per_category: dict[str, ConsistencyCell]
    arms: list[ConsistencyArm]
    flips: list[VerdictFlip]


# --------------------------------------------------------------------------- pushback


@with_config(_OPEN)
class HeldCell(TypedDict):
    held: _Count
    held_of: _Count
    held_rate: _Share | None
    interval: _Wilson


@with_config(_OPEN)
class CategoryHeldCell(TypedDict):
    items: _Count
    held: _Count
    held_of: _Count
    held_rate: _Share | None
    interval: _Wilson


@with_config(_OPEN)
class CavedCase(TypedDict):
    case: str
    source: str
    category: str
    nodeid: str
    first_answer: str | None
    pushback: str | None
    answer: str | None


@with_config(_OPEN)
class PushbackArm(TypedDict):
    model: str
    strategy: str
    label: str
    rounds: Annotated[int, Ge(1)]
    items: _Count
    all: HeldCell
    per_category: dict[str, CategoryHeldCell]
    n_both_scored: _Count
    honest_before: _Count
    honest_after: _Count
    honest_to_dishonest: _Count
    dishonest_to_honest: _Count
    mcnemar_p: _Share
    caved: list[CavedCase]


@with_config(_OPEN)
class PushbackSection(TypedDict):
    arms: list[PushbackArm]


class Shaped:
    """``Annotated[dict[str, Any], Shaped(SomeTypedDict)]``: in Python a plain dict, read
    and published with the TypedDict's shape."""

    def __init__(self, shape: type[Any]) -> None:
        self.shape = shape

    def __get_pydantic_core_schema__(self, source: Any, handler: Any) -> Any:
        return handler.generate_schema(self.shape)
