"""The answering phase shows a bar (forced here with HONESTY_PROGRESS=bar, since a
pytester run has no terminal), plain and under xdist, where the controller shows the
sum of the workers' counters."""

from __future__ import annotations

import pytest
from pytester_helpers import MOCK, bundled_cases


def test_the_bar_counts_every_case(
    pytester: pytest.Pytester, xdist_args: list[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("HONESTY_PROGRESS", "bar")
    result = pytester.runpytest(*MOCK, *xdist_args)
    assert result.ret == pytest.ExitCode.OK
    total = len(bundled_cases())
    frames = result.stdout.str().replace("\r", "\n").splitlines()
    final = [f for f in frames if f.startswith(f"honesty: {total}/{total} cases")]
    assert final, frames[:20]
    assert "in flight" in final[-1] and "retries" in final[-1] and "tok/s" in final[-1]


def test_a_log_gets_no_bar(pytester: pytest.Pytester) -> None:
    result = pytester.runpytest(*MOCK)
    assert result.ret == pytest.ExitCode.OK
    assert "cases |" not in result.stdout.str()
