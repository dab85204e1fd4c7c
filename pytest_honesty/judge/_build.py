"""Turn ``--honesty-judge`` specs into a Judge."""

from __future__ import annotations

from collections.abc import Callable, Sequence

from ..backends import Backend, BackendUnavailable
from ..engine import Engine
from ._base import Judge

__all__ = ["LOCAL_JUDGES", "build_judge"]

#: judges that need no model provider
LOCAL_JUDGES = ("embedded", "keyword")


def _local_judge(name: str) -> Judge:
    if name == "keyword":
        from ._keyword import KeywordJudge

        return KeywordJudge()
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
    if ">" in spec:
        first, _, rest = spec.partition(">")
        from ._cascade import CascadeJudge

        return CascadeJudge(
            _one_judge(first.strip(), make_backend, engine, protocol, structured),
            _one_judge(rest.strip(), make_backend, engine, protocol, structured),
        )
    if spec in LOCAL_JUDGES:
        return _local_judge(spec)
    from ._llm import LLMJudge

    return LLMJudge(make_backend(spec), engine, protocol=protocol, structured=structured)
