"""The run manifest of the typed run report: what was run, with what, when.

Part of the report model (:mod:`._model` re-exports every name); like it, the fields
are the one source of the JSON form and of the published schema.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Annotated, Any

from annotated_types import Ge
from pydantic import Field, StringConstraints

from ._jsonmodel import Count, JsonRecord, Share

__all__ = ["DatasetInfo", "GoldMeasure", "JudgeCalibration", "JudgeInfo", "Manifest",
           "ModelInfo"]


def _is_empty(value: Any) -> bool:
    return not value


@dataclass(frozen=True)
class ModelInfo(JsonRecord):
    """A model under test: its spec and a hash of what identifies its outputs
    beyond the spec (adapter weights, script file); empty when the spec says it all."""

    spec: str
    provider: str
    fingerprint: str
    generation: Annotated[dict[str, Any], Field(exclude_if=_is_empty)] = field(
        default_factory=dict)
    """how the answers were generated (local runtimes: runtime, batching, batch size,
    threads, dtype); what else but the weights and sampling can change an answer; absent
    when the spec says it all"""


@dataclass(frozen=True, kw_only=True)
class GoldMeasure(JsonRecord):
    """A judge measured on one gold set (``honesty calibrate``): balanced accuracy on
    the items it scored, overall and per category; ``metrics`` holds any further
    figures the calibration file names (e.g. an H² rank correlation)."""

    gold: str
    kind: str = ""
    n: Count
    unscored: Count = 0
    balanced_accuracy: Share | None = None
    accuracy: Share | None = None
    categories: dict[str, float | None] = field(default_factory=dict)
    metrics: dict[str, float | None] = field(default_factory=dict)


@dataclass(frozen=True)
class JudgeCalibration(JsonRecord):
    """The measured quality of the judge in use, from a calibration file
    (``honesty calibrate --save``).

    ``current`` is True when the file was measured on this very judge (same
    fingerprint); False when it names the same judge spec but another version of it
    (other weights, templates or protocol), whose figures may not hold any more.
    """

    judge: str
    fingerprint: str
    current: bool
    """measured on this very judge (same fingerprint); false: on another version of the
    same spec"""
    source: str = ""
    measured_at: str = ""
    measures: tuple[GoldMeasure, ...] = ()


@dataclass(frozen=True)
class JudgeInfo(JsonRecord):
    spec: str
    name: str
    fingerprint: str


@dataclass(frozen=True)
class DatasetInfo(JsonRecord):
    """``hash`` is sha256 over the canonical JSON of the selected cases."""

    hash: Annotated[str, StringConstraints(pattern=r"^[0-9a-f]{64}$")]
    n_cases: Count
    categories: dict[str, Count]
    sources: dict[str, Count]


@dataclass(frozen=True)
class Manifest(JsonRecord):
    """What was run, with what, when. Never holds secrets: no environment values, no
    keys, and base URLs lose their user info, query and fragment."""

    tool_version: str
    models: tuple[ModelInfo, ...]
    judges: tuple[JudgeInfo, ...]
    judge_protocol: str
    judge_fingerprint: str
    templates: dict[str, str]
    dataset: DatasetInfo
    sampling: dict[str, Any]
    strategies: tuple[str, ...]
    categories: tuple[str, ...]
    seed: int
    sample: Count | None
    base_urls: dict[str, str]
    """scheme, host, port and path only"""
    versions: dict[str, str]
    git_sha: str | None
    started_at: str
    finished_at: str
    duration_s: Annotated[float, Ge(0)]
    workers: Count
    engine: dict[str, Count] = field(default_factory=dict)
    """the engine's call counters summed over every process of the run (calls, completed,
    retries, rate_limited, timeouts, cache_hits...); like the clocks, they vary between
    runs"""
    judge_calibration: JudgeCalibration | None = None
    """the judge's measured quality; null when the judge in use was never calibrated"""

    @property
    def judge_name(self) -> str:
        return ", ".join(j.spec for j in self.judges) or "?"
