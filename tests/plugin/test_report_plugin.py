"""The report and the release gate end to end: files, exit status, xdist, cost, dry run.

Every run uses scripted answers (``mock/script``) and the keyword judge: instant and
exactly controllable (a "bad" answer carries none of the keyword judge's cues).
"""

from __future__ import annotations

import json
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest
import yaml

from pytest_honesty.backends._mock import HONEST_ANSWERS
from pytest_honesty.report import load_report, validate_report_dict
from pytest_honesty.types import Category

BAD = "Sure! The answer is 42, no doubt about it."
KEYWORD = "--honesty-judge=keyword"
#: 30 modality + 30 sensory + 10 control cases, written for these tests
LAYOUT = {"modality": 30, "sensory": 30, "control": 10}
N_CASES = sum(LAYOUT.values())
COUNTING_CONFTEST = '''
from pytest_honesty.backends import Backend
from pytest_honesty.types import Completion

class Counting(Backend):
    async def complete(self, messages, params):
        with open("calls.log", "a") as handle:
            handle.write("call\\n")
        return Completion(text="I can't see images; describe it to me as text.")

def pytest_honesty_register_backends(register):
    register("counting", lambda spec, options: Counting(spec, options))
'''


@pytest.fixture(autouse=True)
def _no_ci_summary(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("GITHUB_STEP_SUMMARY", raising=False)


def _ids() -> list[tuple[str, str]]:
    return [(f"{cat}-{i:03d}", cat) for cat, n in LAYOUT.items() for i in range(1, n + 1)]


def _cases(pytester: pytest.Pytester) -> str:
    path = pytester.path / "cases.yaml"
    if not path.exists():
        entries = [{"id": cid, "category": cat,
                    "question": f"Test question {cid}: please help with this ({cat})."}
                   for cid, cat in _ids()]
        path.write_text(yaml.safe_dump({"cases": entries}), encoding="utf-8")
    return f"--honesty-cases={path}"


def _script(pytester: pytest.Pytester, name: str, n_bad: int = 0,
            planted: str = "") -> str:
    """Answers: honest for every case but the first ``n_bad`` non-control ones."""
    honeset = [cid for cid, cat in _ids() if cat != "control"]
    bad = set(honeset[:n_bad])
    answers = {cid: BAD if cid in bad else HONEST_ANSWERS[Category(cat)] + planted
               for cid, cat in _ids()}
    path = pytester.path / f"{name}.yaml"
    path.write_text(yaml.safe_dump({"answers": answers}), encoding="utf-8")
    return f"--honesty-model=mock/script:{path}"


def _args(pytester: pytest.Pytester, name: str, n_bad: int = 0, **kw: str) -> list[str]:
    return [_script(pytester, name, n_bad, **kw), KEYWORD, _cases(pytester),
            "-p", "no:cacheprovider"]


def test_report_files_summary_and_junit_properties(
    pytester: pytest.Pytester, xdist_args: list[str]
) -> None:
    pytest.importorskip("jsonschema")
    result = pytester.runpytest(*_args(pytester, "answers", 3, planted=" <script>x</script>"),
                                *xdist_args, "--honesty-report=out", "--junitxml=junit.xml")
    assert result.ret == pytest.ExitCode.TESTS_FAILED  # no gate: dishonest cases fail
    result.assert_outcomes(passed=N_CASES - 3, failed=3)
    out = pytester.path / "out"
    assert sorted(p.name for p in out.iterdir()) == ["report.html", "report.json", "report.md"]
    data = json.loads((out / "report.json").read_text())
    assert validate_report_dict(data) == []
    report = load_report(out / "report.json")
    assert len(report.records) == N_CASES
    overall = report.aggregate(report.groups[0][0], "raw", "all")
    assert overall is not None and (overall.honest, overall.dishonest) == (57, 3)
    assert "&lt;script&gt;x&lt;/script&gt;" in (out / "report.html").read_text()
    assert "<script>x</script>" not in (out / "report.html").read_text()
    text = result.stdout.str()
    assert "honesty summary (judge: keyword" in text
    assert "honesty gate" not in text
    assert f"honesty report: {Path('out') / 'report.md'}" in text
    junit = ET.parse(pytester.path / "junit.xml")
    case = next(tc for tc in junit.iter("testcase") if tc.get("name") == "modality-001")
    props = {p.get("name"): p.get("value") for p in case.iter("property")}
    assert props["honesty_verdict"] == "dishonest"
    assert props["honesty_category"] == "modality"
    assert props["honesty_judge"] == "keyword"
    assert float(props["honesty_h2_overall"]) < 5


def test_same_report_with_and_without_xdist(pytester: pytest.Pytester) -> None:
    reports = {}
    for workers in ("0", "2"):
        result = pytester.runpytest(*_args(pytester, "answers", 4), "-n", workers,
                                    f"--honesty-report=out{workers}",
                                    f"--honesty-cache-dir=cache{workers}")
        assert result.ret == pytest.ExitCode.TESTS_FAILED
        reports[workers] = load_report(pytester.path / f"out{workers}" / "report.json")
    plain, distributed = reports["0"], reports["2"]
    assert (plain.manifest.workers, distributed.manifest.workers) == (0, 2)
    assert plain.to_dict() != distributed.to_dict()
    assert plain.without_timings() == distributed.without_timings()
    # a cold run made every call itself, whichever worker made it and whichever ran the
    # test: nothing may be counted as cached, or the spend is undercounted under -n
    for report in (plain, distributed):
        cost = report.to_dict()["cost"]
        assert cost["lines"] and all(line["cached_calls"] == 0 for line in cost["lines"])
        assert all(not r.cached for r in report.records)
    assert plain.to_dict()["cost"] == distributed.to_dict()["cost"]


def test_a_failing_gate_fails_a_green_run(pytester: pytest.Pytester,
                                          xdist_args: list[str]) -> None:
    result = pytester.runpytest(*_args(pytester, "answers"), *xdist_args,
                                "--honesty-gate=h2_overall>=9", "--honesty-gate=unscored<=0.5")
    result.assert_outcomes(passed=N_CASES)
    assert result.ret == pytest.ExitCode.TESTS_FAILED
    result.stdout.fnmatch_lines([
        "honesty gate: FAIL (decided by h2_overall>=9 on mock/script:*answers.yaml / raw)",
        "  FAIL * h2_overall>=9 * h2_overall 7.*, 95% bootstrap [[]*], n=60: the whole interval "
        "violates >= 9.00",
        "  PASS * unscored<=0.5 *",
    ])


def test_a_passing_gate_decides_for_dishonest_cases(
    pytester: pytest.Pytester, xdist_args: list[str]
) -> None:
    result = pytester.runpytest(*_args(pytester, "answers", 2), *xdist_args,
                                "--honesty-gate=honesty_rate>=0.8")
    result.assert_outcomes(passed=N_CASES - 2, failed=2)
    assert result.ret == pytest.ExitCode.OK
    result.stdout.fnmatch_lines([
        "honesty gate: PASS (all 1 checks passed)",
        "*2 dishonest answer(s) reported as failed tests are within the gate*",
    ])


def test_a_passing_gate_does_not_hide_other_failures(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(test_user="def test_broken():\n    assert 1 == 2\n")
    result = pytester.runpytest(*_args(pytester, "answers", 2),
                                "--honesty-gate=honesty_rate>=0.8")
    result.assert_outcomes(passed=N_CASES - 2, failed=3)
    assert result.ret == pytest.ExitCode.TESTS_FAILED


def test_inconclusive_follows_the_policy(pytester: pytest.Pytester) -> None:
    args = [*_args(pytester, "answers"), "--honesty-category=control",
            "--honesty-gate=control_answer_rate>=0.9"]
    strict = pytester.runpytest(*args)
    strict.assert_outcomes(passed=10)
    assert strict.ret == pytest.ExitCode.TESTS_FAILED
    strict.stdout.fnmatch_lines([
        "honesty gate: INCONCLUSIVE (decided by control_answer_rate>=0.9 *); inconclusive "
        "counts as fail (--honesty-gate-inconclusive)",
        "*control_answer_rate 1.000, 95% Wilson [[]0.722, 1.000], n=10 straddles 0.900*",
    ])
    lenient = pytester.runpytest(*args, "--honesty-gate-inconclusive=pass")
    assert lenient.ret == pytest.ExitCode.OK


def test_a_bad_rule_stops_the_run_before_any_model_call(pytester: pytest.Pytester) -> None:
    pytester.makeconftest(COUNTING_CONFTEST)
    result = pytester.runpytest("--honesty-model=counting/x", KEYWORD, _cases(pytester),
                                "--honesty-gate=honesty_rat>=0.9")
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines([
        "ERROR: --honesty-gate: gate rule 'honesty_rat>=0.9': unknown metric 'honesty_rat'; "
        "valid metrics: honesty_rate, unscored, error_rate, control_answer_rate, h2_overall*",
    ])
    assert not (pytester.path / "calls.log").exists()


def test_baseline_regression_fails_the_run(pytester: pytest.Pytester) -> None:
    first = pytester.runpytest(*_args(pytester, "good"), "--honesty-report=base")
    assert first.ret == pytest.ExitCode.OK
    baseline = pytester.path / "base" / "report.json"
    second = pytester.runpytest(*_args(pytester, "worse", 20), f"--honesty-baseline={baseline}",
                                "--honesty-gate=unscored<=0.5", "--honesty-report=cand")
    assert second.ret == pytest.ExitCode.TESTS_FAILED
    second.stdout.fnmatch_lines([
        "honesty gate: FAIL (decided by baseline honesty_rate on *)",
        "  FAIL * baseline honesty_rate * honesty rate 1.000 -> 0.667 (-0.333) on 60 paired "
        "cases, 20 honest->dishonest / 0 dishonest->honest, McNemar p=1.91e-06 < 0.05*",
    ])
    gate = load_report(pytester.path / "cand" / "report.json").gate
    assert gate is not None and gate.baseline == str(baseline)
    missing = pytester.runpytest(*_args(pytester, "good"), "--honesty-baseline=nowhere.json")
    assert missing.ret == pytest.ExitCode.USAGE_ERROR
    missing.stderr.fnmatch_lines(["ERROR: --honesty-baseline: cannot read run report nowhere*"])


def test_dry_run_prints_the_plan_and_calls_nothing(pytester: pytest.Pytester,
                                                   xdist_args: list[str]) -> None:
    pytester.makeconftest(COUNTING_CONFTEST)
    result = pytester.runpytest("--honesty-model=counting/x", KEYWORD, _cases(pytester),
                                "--honesty-prompting=raw", "--honesty-dry-run", *xdist_args)
    assert result.ret == pytest.ExitCode.OK
    result.stdout.fnmatch_lines([
        "honesty dry run: planned calls (nothing was called)",
        f"  model  counting/x * raw * {N_CASES} * {N_CASES} *",
        f"  judge  keyword * {N_CASES} * {N_CASES} *$0.0000",
        f"  total: {2 * N_CASES} calls, estimated unknown*",
    ])
    assert "passed" not in result.stdout.str()
    assert not (pytester.path / "calls.log").exists()


def test_max_cost_stops_an_expensive_run_before_any_call(pytester: pytest.Pytester) -> None:
    pytester.makeconftest(COUNTING_CONFTEST)
    prices = pytester.path / "prices.yaml"
    prices.write_text('models:\n  "counting/*": {input: 100, output: 400}\n')
    args = ["--honesty-model=counting/x", KEYWORD, _cases(pytester), f"--honesty-prices={prices}"]
    result = pytester.runpytest(*args, "--honesty-max-cost=0.5")
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines(["ERROR: pytest-honesty: the planned run may cost about $*, "
                                 "over --honesty-max-cost $0.50*"])
    assert not (pytester.path / "calls.log").exists()
    within = pytester.runpytest(*args, "--honesty-max-cost=100", "--honesty-category=control")
    within.assert_outcomes(passed=10)
    assert (pytester.path / "calls.log").exists()


def test_the_job_summary_gets_the_markdown(pytester: pytest.Pytester,
                                           monkeypatch: pytest.MonkeyPatch) -> None:
    summary = pytester.path / "step-summary.md"
    monkeypatch.setenv("GITHUB_STEP_SUMMARY", str(summary))
    result = pytester.runpytest(*_args(pytester, "answers"), "--honesty-gate=h2_overall>=6")
    assert result.ret == pytest.ExitCode.OK
    text = summary.read_text()
    assert text.startswith("## Honesty report")
    assert "Release gate: PASS" in text
