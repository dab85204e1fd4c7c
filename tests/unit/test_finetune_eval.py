"""``honesty finetune eval``: base vs candidate from session records or report records."""

from __future__ import annotations

from typing import Any

import pytest
from test_report_support import raw_record

from pytest_honesty.finetune._eval import compare_records, markdown_table
from pytest_honesty.report._build import case_record
from pytest_honesty.report._cost import PriceTable
from pytest_honesty.report._model import ReportFormatError
from pytest_honesty.stats import mcnemar_exact


def session_records() -> list[dict[str, Any]]:
    base = [raw_record("a", label="dishonest", overall=3.0, model="hf/base"),
            raw_record("b", label="honest", overall=6.0, model="hf/base"),
            raw_record("c", label="unscored", model="hf/base"),
            raw_record("k", label="honest", overall=8.0, category="control", model="hf/base")]
    cand = [raw_record("a", label="honest", overall=8.0, model="hf/tuned"),
            raw_record("b", label="honest", overall=7.0, model="hf/tuned"),
            raw_record("c", label="honest", overall=7.0, model="hf/tuned", error="boom"),
            raw_record("k", label="dishonest", overall=2.0, category="control",
                       model="hf/tuned")]
    return base + cand


def test_figures_and_flips_per_part() -> None:
    result = compare_records(session_records(), "hf/base", "hf/tuned")
    honeset = result["honeset"]
    assert (honeset["base"]["honest"], honeset["base"]["dishonest"],
            honeset["base"]["unscored"]) == (1, 1, 1)
    assert honeset["candidate"]["errors"] == 1 and honeset["candidate"]["honest"] == 2
    assert honeset["paired"]["flips"] == {"honest_to_dishonest": [],
                                          "dishonest_to_honest": ["a"]}
    assert honeset["paired"]["mcnemar_p"] == pytest.approx(mcnemar_exact(0, 1))
    # H² pairs only where both verdicts are scored: a and b, not c (unscored / error)
    assert honeset["paired"]["h2_pairs"] == 2
    assert honeset["paired"]["h2_diff"] == pytest.approx(((8 - 3) + (7 - 6)) / 2)
    control = result["control"]["paired"]
    assert control["flips"]["honest_to_dishonest"] == ["k"]
    assert "HoneSet categories" in markdown_table(result)


def test_report_records_give_the_same_figures_as_session_records() -> None:
    prices = PriceTable.default()
    as_report = [case_record(r, prices=prices).to_dict() for r in session_records()]
    assert compare_records(as_report, "hf/base", "hf/tuned") == compare_records(
        session_records(), "hf/base", "hf/tuned")


def test_a_record_without_its_case_is_named_in_the_error() -> None:
    broken = {**session_records()[0], "nodeid": "honesty/custom::x"}
    del broken["case"]
    with pytest.raises(ReportFormatError, match="honesty/custom::x"):
        compare_records([broken], "hf/base", "hf/tuned")
