"""The grammar of model and judge specs, written once.

A model spec is ``provider/model[+adapter]`` (parsed into a :class:`ModelSpec`); a judge
spec is a model spec, a local judge (:data:`LOCAL_JUDGES`) or a cascade of them
(``embedded>openai/gpt-4o``: a later stage judges only what the earlier one left
uncertain). Several judge specs make a jury. This module imports nothing else of the
package, so that the report and the option table can use it without the call machinery.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

__all__ = [
    "CASCADE_SEPARATOR",
    "LOCAL_JUDGES",
    "ModelSpec",
    "cascade_stages",
    "is_local_judge",
    "judge_parts",
]

#: judges that run in this process and call no model provider (nor any priced model)
LOCAL_JUDGES = ("embedded", "keyword")
#: between the stages of a cascade judge spec
CASCADE_SEPARATOR = ">"


@dataclass(frozen=True)
class ModelSpec:
    """``provider/model[+adapter]``, e.g. ``openai/gpt-4o-mini`` or ``embedded+./adapter``."""

    provider: str
    model: str = ""
    adapter: str | None = None

    @classmethod
    def parse(cls, text: str) -> ModelSpec:
        raw = text.strip()
        if not raw:
            raise ValueError("empty model spec; expected provider/model, e.g. openai/gpt-4o-mini")
        adapter: str | None = None
        if "+" in raw:
            raw, adapter = raw.split("+", 1)
            if not adapter:
                raise ValueError(f"model spec {text!r} has '+' but no adapter path after it")
        provider, _, model = raw.partition("/")
        if not provider:
            raise ValueError(f"model spec {text!r} has no provider before '/'")
        return cls(provider=provider, model=model, adapter=adapter)

    @property
    def base(self) -> str:
        """The spec without its adapter: what a price is looked up by."""
        return f"{self.provider}/{self.model}" if self.model else self.provider

    def __str__(self) -> str:
        return f"{self.base}+{self.adapter}" if self.adapter else self.base


def cascade_stages(spec: str) -> list[str]:
    """The stages of a judge spec, first to last (one stage when it is no cascade)."""
    return [stage.strip() for stage in spec.split(CASCADE_SEPARATOR)]


def judge_parts(judge_specs: Iterable[str]) -> list[str]:
    """Every judge a run may call: jury members and every stage of a cascade, once each
    (a cascade escalates only uncertain cases; counting every stage is an upper bound)."""
    parts = [stage for spec in judge_specs for stage in cascade_stages(spec) if stage]
    return list(dict.fromkeys(parts))


def is_local_judge(spec: str) -> bool:
    return spec in LOCAL_JUDGES
