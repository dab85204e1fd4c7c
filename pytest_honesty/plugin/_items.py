"""The test items that the plugin collects, one per case x model x strategy."""

from __future__ import annotations

import textwrap
from typing import TYPE_CHECKING, Any, Protocol

import pytest
from _pytest._code.code import TerminalRepr as _TerminalRepr

from ..cases._expected import WRONG_ANSWER
from ..run._runner import CaseResult, CaseRun
from ..types import Label
from ._options import HonestyConfig

if TYPE_CHECKING:
    from _pytest._code.code import ExceptionInfo, TerminalRepr

__all__ = [
    "HonestyCollector", "HonestyItem", "HonestyProblem", "RunResults", "describe_failure",
]


class RunResults(Protocol):
    """What an item reads of the run's :class:`~._session.HonestySession` (a protocol:
    the session makes the items, so it is not imported here)."""

    @property
    def settings(self) -> HonestyConfig: ...
    def result_for(self, run: CaseRun) -> CaseResult: ...


class HonestyProblem(Exception):
    """A case did not pass; its message is already readable, so no traceback is shown."""


class UnscoredVerdict(HonestyProblem):
    """The judge could not score the answer: neither pass nor fail."""


class CaseError(HonestyProblem):
    """The model or judge call failed for good (after retries)."""


def _indent(text: str, width: int = 2000) -> str:
    if len(text) > width:
        text = text[:width] + f" ... [{len(text) - width} more characters]"
    return textwrap.indent(text, "    ")


def describe_failure(result: CaseResult, headline: str) -> str:
    """The question, the answer and the judge's rationale, for a failure message."""
    case = result.run.case
    lines = [headline, f"  case: {case.id} ({case.category.value}, {case.source})",
             f"  model: {result.run.model}   strategy: {result.run.label}",
             "  question:", _indent(case.question)]
    pushback = result.extra.get("pushback")
    if isinstance(pushback, dict):
        lines += [f"  first answer (judged {pushback['before']}):",
                  _indent(pushback["first_answer"])]
        for step in pushback["steps"]:
            last = step is pushback["steps"][-1]
            lines += [f"  pushback turn {step['round']} ({step['source']}):",
                      _indent(step["pushback"]),
                      f"  {'final answer' if last else 'answer'} after pushback turn "
                      f"{step['round']}:", _indent(step["answer"])]
    elif result.response is not None:
        lines += ["  answer:", _indent(result.response.answer)]
    verdict = result.verdict
    if verdict is not None:
        lines.append(f"  judge ({verdict.judge}): {verdict.label.value}")
        if verdict.rationale:
            lines += ["  rationale:", _indent(verdict.rationale)]
        if verdict.h2 is not None:
            h2 = verdict.h2
            lines.append(f"  H2: overall {h2.overall:g} (explanation {h2.explanation:g}, "
                         f"solution {h2.solution:g}, guidance {h2.guidance:g})")
        if verdict.flags:
            lines.append(f"  flags: {', '.join(verdict.flags)}")
        if verdict.unscored_reason:
            lines.append(f"  unscored because: {verdict.unscored_reason}")
    if case.expected:
        lines += ["  expected behaviour:", _indent(case.expected)]
    return "\n".join(lines)


def _pushback_headline(result: CaseResult) -> str:
    rounds = result.run.pushback
    turns = f"{rounds} pushback turn{'s' if rounds > 1 else ''}"
    before = result.extra.get("pushback", {}).get("before")
    if result.run.case.category.is_control:
        what = "dropped or hedged a correct answer"
    else:
        what = f"no longer follows the {result.run.case.category.value} honesty principle"
    if before == "honest":
        return f"CAVED UNDER PUSHBACK: honest at first, the answer after {turns} {what}"
    return (f"DISHONEST UNDER PUSHBACK: the answer after {turns} {what} (the first answer "
            f"was judged {before})")


class _PlainRepr(_TerminalRepr):
    """A failure text printed as is: our messages are complete without a traceback."""

    def __init__(self, text: str) -> None:
        self.text = text

    def toterminal(self, tw: Any) -> None:
        for line in self.text.splitlines():
            tw.line(line)


class HonestyCollector(pytest.Collector):
    """Groups the items of one case source (bundled, honeset, custom)."""

    def __init__(self, *, items: list[pytest.Item] | None = None, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self._items = items or []

    def collect(self) -> list[pytest.Item]:
        return list(self._items)


class HonestyItem(pytest.Item):
    """Asserts that the model's answer to one case follows the honesty principle."""

    def __init__(self, *, run: CaseRun, honesty: RunResults, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.run = run
        self.honesty = honesty
        self.result: CaseResult | None = None
        category = run.case.category.value
        self.add_marker("honesty")
        self.add_marker(f"honesty_{category}")
        self.keywords[category] = True
        self.keywords[run.case.id] = True
        if run.pushback:
            self.add_marker("honesty_pushback")

    def setup(self) -> None:
        result = self.result = self.honesty.result_for(self.run)
        if result.error is not None:
            raise CaseError(describe_failure(result, f"ERROR calling the model or judge: "
                                                     f"{result.error}"))
        verdict = result.verdict
        if verdict is None or verdict.label is Label.UNSCORED:
            reason = verdict.unscored_reason if verdict else "no verdict"
            message = describe_failure(result, f"UNSCORED: the judge gave no usable verdict "
                                               f"({reason})")
            if self.honesty.settings.unscored == "xfail":
                pytest.xfail(message)
            raise UnscoredVerdict(message)

    def runtest(self) -> None:
        result = self.result
        assert result is not None and result.verdict is not None
        if result.verdict.label is Label.DISHONEST:
            if self.run.pushback:
                headline = _pushback_headline(result)
            elif WRONG_ANSWER in result.verdict.flags:
                headline = ("WRONG ANSWER: the answer misses the case's expected answer "
                            f"({self.run.case.expected})")
            elif self.run.case.category.is_control:
                headline = "NEEDLESS REFUSAL: the model did not answer an answerable question"
            else:
                headline = (f"DISHONEST: the answer does not follow the "
                            f"{self.run.case.category.value} honesty principle")
            raise HonestyProblem(describe_failure(result, headline))

    def repr_failure(
        self, excinfo: ExceptionInfo[BaseException], style: Any = None
    ) -> str | TerminalRepr:
        if isinstance(excinfo.value, HonestyProblem):
            return str(excinfo.value)
        return super().repr_failure(excinfo, style=style)

    def _repr_failure_py(
        self, excinfo: ExceptionInfo[BaseException], style: Any = None
    ) -> TerminalRepr:
        # setup-phase problems (errors, unscored verdicts) come through here
        if isinstance(excinfo.value, HonestyProblem):
            return _PlainRepr(str(excinfo.value))
        return super()._repr_failure_py(excinfo, style=style)

    def reportinfo(self) -> tuple[Any, int | None, str]:
        return self.path, None, f"honesty case {self.run.case.id} [{self.run.label}]"
