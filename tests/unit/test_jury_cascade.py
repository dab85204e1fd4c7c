"""Jury (majority, mean H², agreement) and cascade (escalation, counters)."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Sequence
from typing import Any, TypeVar

import pytest

from pytest_honesty.backends import Backend, BackendOptions, TransientError
from pytest_honesty.backends._mock import DISHONEST_ANSWERS, HONEST_ANSWERS
from pytest_honesty.backends._registry import BackendRegistry
from pytest_honesty.calls.engine import Engine
from pytest_honesty.judge import Judge, build_judge
from pytest_honesty.judge._cascade import ESCALATED, CascadeJudge, cascade_stats
from pytest_honesty.judge._jury import JURY_SPLIT, Jury, jury_agreement
from pytest_honesty.judge._llm import LLMJudge
from pytest_honesty.testing import OpenAIServerFactory, ScriptedOpenAIServer
from pytest_honesty.testing.judges import judge_zoo
from pytest_honesty.types import Case, Category, H2Score, Label, Verdict

pytest_plugins = ["pytest_honesty.testing.fixtures"]

T = TypeVar("T")
CASES = [Case(f"{c.value}-x", c, f"question about {c.value}") for c in Category]


class FixedJudge(Judge):
    """Always the same verdict; counts its calls."""

    def __init__(self, name: str, label: Label, confidence: float | None = 1.0,
                 overall: float = 5.0) -> None:
        self.name = name
        self.label = label
        self.confidence = confidence
        self.overall = overall
        self.calls = 0

    async def judge(self, case: Case, answer: str) -> Verdict:
        self.calls += 1
        if self.label is Label.UNSCORED:
            return Verdict.unscored(self.name, "cannot tell")
        return Verdict(self.label, self.name, H2Score(5, 5, 5, self.overall),
                       rationale=f"{self.name} says {self.label.value}",
                       confidence=self.confidence)


class BrokenJudge(Judge):
    name = "broken"

    async def judge(self, case: Case, answer: str) -> Verdict:
        raise TransientError("judge server down")


def _run(coro: Awaitable[T]) -> T:
    async def main() -> T:
        return await coro

    return asyncio.run(main())


def _judge_all(judge: Judge, pairs: Sequence[tuple[Case, str]]) -> list[Verdict]:
    async def main() -> list[Verdict]:
        return [await judge.judge(case, answer) for case, answer in pairs]

    return asyncio.run(main())


def _with_llm_judges(
    server: ScriptedOpenAIServer, models: Sequence[str], use: Callable[[list[Judge]], Any]
) -> Any:
    async def main() -> Any:
        engine = Engine()
        registry = BackendRegistry()
        judges: list[Judge] = [
            LLMJudge(registry.create(f"openai-compatible/{m}",
                                     BackendOptions(base_url=server.base_url)), engine)
            for m in models
        ]
        try:
            return await use(judges)
        finally:
            for judge in judges:
                await judge.aclose()
            await engine.aclose()

    return asyncio.run(main())


def _answers() -> list[tuple[Case, str]]:
    """One honest and one dishonest mock answer per honesty category (12 answers)."""
    pairs = []
    for case in CASES:
        if case.category.is_control:
            continue
        pairs += [(case, HONEST_ANSWERS[case.category]), (case, DISHONEST_ANSWERS[case.category])]
    return pairs


# -- jury --------------------------------------------------------------------------------------


def test_a_disagreeing_jury_gives_majority_mean_scores_and_kappa(
    openai_server: OpenAIServerFactory,
) -> None:
    server = openai_server(judge_zoo)
    pairs = _answers()

    async def use(judges: list[Judge]) -> tuple[list[Verdict], Any]:
        jury = Jury(judges)
        verdicts = [await jury.judge(case, answer) for case, answer in pairs]
        return verdicts, jury.agreement()

    verdicts, agreement = _with_llm_judges(server, ["judge-1", "judge-2", "contrarian"], use)
    for (case, answer), verdict in zip(pairs, verdicts, strict=True):
        expected = Label.HONEST if answer == HONEST_ANSWERS[case.category] else Label.DISHONEST
        assert verdict.label is expected  # the two agreeing jurors outvote the contrarian
        assert [v.judge for v in verdict.per_judge] == [
            "openai-compatible/judge-1", "openai-compatible/judge-2",
            "openai-compatible/contrarian"]
        assert [v.label for v in verdict.per_judge][:2] == [expected, expected]
        assert verdict.per_judge[2].label is not expected
        assert verdict.confidence == pytest.approx(2 / 3)
        assert "agreement share 0.67" in verdict.rationale
        assert JURY_SPLIT in verdict.flags
        overalls = [v.h2.overall for v in verdict.per_judge if v.h2]
        assert verdict.h2 is not None
        assert verdict.h2.overall == pytest.approx(round(sum(overalls) / 3, 2))
    # every answer rated (2 vs 1), labels balanced: Fleiss' kappa = (1/3 - 1/2) / (1/2)
    assert agreement.answers == agreement.rated == len(pairs)
    assert agreement.kappa == pytest.approx(-1 / 3)
    assert agreement.unanimous == 0.0
    assert jury_agreement(verdicts) == agreement


def test_an_agreeing_jury_has_kappa_one(openai_server: OpenAIServerFactory) -> None:
    server = openai_server(judge_zoo)

    async def use(judges: list[Judge]) -> Any:
        jury = Jury(judges)
        for case, answer in _answers():
            verdict = await jury.judge(case, answer)
            assert JURY_SPLIT not in verdict.flags and verdict.confidence == 1.0
        return jury.agreement()

    agreement = _with_llm_judges(server, ["judge-1", "fenced"], use)
    assert agreement.kappa == 1.0 and agreement.unanimous == 1.0


def test_a_tied_jury_is_unscored(openai_server: OpenAIServerFactory) -> None:
    server = openai_server(judge_zoo)

    async def use(judges: list[Judge]) -> Verdict:
        return await Jury(judges).judge(CASES[0], HONEST_ANSWERS[CASES[0].category])

    verdict = _with_llm_judges(server, ["judge", "contrarian"], use)
    assert verdict.label is Label.UNSCORED
    assert (verdict.unscored_reason or "").startswith("jury tie")
    assert len(verdict.per_judge) == 2


def test_unscored_jurors_do_not_vote() -> None:
    jury = Jury([FixedJudge("a", Label.HONEST, overall=8), FixedJudge("b", Label.UNSCORED),
                 FixedJudge("c", Label.HONEST, overall=6)])
    verdict = _run(jury.judge(CASES[0], "x"))
    assert verdict.label is Label.HONEST and verdict.h2 is not None
    assert verdict.h2.overall == 7.0
    assert "2 honest, 0 dishonest, 1 unscored" in verdict.rationale
    # an answer with an unscored juror is no rating for Fleiss' kappa
    assert jury.agreement().rated == 0 and jury.agreement().kappa is None


def test_no_juror_can_score() -> None:
    verdict = _run(Jury([FixedJudge("a", Label.UNSCORED),
                         FixedJudge("b", Label.UNSCORED)]).judge(CASES[0], "x"))
    assert verdict.label is Label.UNSCORED
    assert verdict.unscored_reason == "no juror could score the answer"


def test_a_failing_juror_is_unscored_and_the_others_decide() -> None:
    jury = Jury([BrokenJudge(), FixedJudge("a", Label.DISHONEST),
                 FixedJudge("b", Label.DISHONEST)])
    verdict = _run(jury.judge(CASES[0], "x"))
    assert verdict.label is Label.DISHONEST
    assert "judge call failed: judge server down" in (verdict.per_judge[0].unscored_reason or "")


def test_a_jury_whose_jurors_all_fail_raises() -> None:
    with pytest.raises(TransientError, match="down"):
        _run(Jury([BrokenJudge(), BrokenJudge()]).judge(CASES[0], "x"))


def test_a_jury_needs_two_judges() -> None:
    with pytest.raises(ValueError, match="at least 2"):
        Jury([FixedJudge("a", Label.HONEST)])


def test_jury_fingerprint_depends_on_its_members() -> None:
    a = Jury([FixedJudge("a", Label.HONEST), FixedJudge("b", Label.HONEST)])
    b = Jury([FixedJudge("a", Label.HONEST), FixedJudge("c", Label.HONEST)])
    assert a.fingerprint() != b.fingerprint()


# -- cascade -----------------------------------------------------------------------------------


def test_a_confident_first_judge_decides_alone() -> None:
    first = FixedJudge("cheap", Label.HONEST, confidence=0.95)
    second = FixedJudge("strong", Label.DISHONEST)
    cascade = CascadeJudge(first, second, threshold=0.8)
    verdict = _run(cascade.judge(CASES[0], "x"))
    assert verdict.label is Label.HONEST and verdict.judge == "cheap"
    assert ESCALATED not in verdict.flags
    assert verdict.rationale.startswith("decided by cheap (confidence 0.95 >= 0.8")
    assert second.calls == 0
    stats = cascade.stats()
    assert (stats.judged, stats.escalated, stats.escalated_share, stats.agreement) == (
        1, 0, 0.0, None)


@pytest.mark.parametrize(
    ("first", "why"),
    [
        (FixedJudge("cheap", Label.HONEST, confidence=0.6), "confidence 0.60 < 0.8"),
        (FixedJudge("cheap", Label.HONEST, confidence=None), "it gave no confidence"),
        (FixedJudge("cheap", Label.UNSCORED), "it could not score the answer"),
    ],
    ids=["low-confidence", "no-confidence", "unscored"],
)
def test_an_unsure_first_judge_escalates(first: FixedJudge, why: str) -> None:
    second = FixedJudge("strong", Label.DISHONEST)
    verdict = _run(CascadeJudge(first, second).judge(CASES[0], "x"))
    assert verdict.label is Label.DISHONEST and verdict.judge == "strong"
    assert ESCALATED in verdict.flags
    assert verdict.rationale.startswith("escalated from cheap (")
    assert why in verdict.rationale
    assert [v.judge for v in verdict.per_judge] == ["cheap", "strong"]
    assert second.calls == 1


def test_cascade_counters_escalated_share_and_agreement() -> None:
    class Alternating(Judge):
        """Confident on even calls; on odd calls unsure, saying honest then dishonest."""

        name = "cheap"

        def __init__(self) -> None:
            self.n = 0

        async def judge(self, case: Case, answer: str) -> Verdict:
            self.n += 1
            confident = self.n % 2 == 0
            label = Label.HONEST if self.n % 4 in (0, 1) else Label.DISHONEST
            return Verdict(label, self.name, H2Score(5, 5, 5, 5),
                           confidence=0.9 if confident else 0.5)

    cascade = CascadeJudge(Alternating(), FixedJudge("strong", Label.HONEST))
    verdicts = _judge_all(cascade, [(CASES[0], str(i)) for i in range(8)])
    stats = cascade.stats()
    assert (stats.judged, stats.escalated, stats.both_scored) == (8, 4, 4)
    assert stats.escalated_share == 0.5
    # escalated calls 1, 3, 5, 7 said honest, dishonest, honest, dishonest; strong: honest
    assert stats.agreed == 2 and stats.agreement == 0.5
    assert cascade_stats(verdicts) == stats
    assert stats.to_dict()["escalated_share"] == 0.5


def test_cascade_threshold_is_validated() -> None:
    with pytest.raises(ValueError, match=r"within 0\.\.1"):
        CascadeJudge(FixedJudge("a", Label.HONEST), FixedJudge("b", Label.HONEST), 1.5)


# -- build_judge wiring --------------------------------------------------------------------------


def test_build_judge_makes_juries_and_cascades(openai_server: OpenAIServerFactory) -> None:
    server = openai_server(judge_zoo)
    registry = BackendRegistry()

    def make_backend(spec: str) -> Backend:
        return registry.create(spec, BackendOptions(base_url=server.base_url))

    async def main() -> None:
        engine = Engine()
        jury = build_judge(["keyword", "openai-compatible/judge"], make_backend, engine)
        assert isinstance(jury, Jury)
        assert jury.name == "jury(keyword, openai-compatible/judge)"
        cascade = build_judge(["keyword>openai-compatible/judge"], make_backend, engine,
                              protocol="paper")
        assert isinstance(cascade, CascadeJudge)
        assert isinstance(cascade.second, LLMJudge) and cascade.second.protocol == "paper"
        case = CASES[0]
        verdict = await jury.judge(case, HONEST_ANSWERS[case.category])
        assert verdict.label is Label.HONEST and len(verdict.per_judge) == 2
        await jury.aclose()
        await cascade.aclose()
        await engine.aclose()

    asyncio.run(main())
