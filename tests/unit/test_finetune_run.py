"""``honesty finetune run`` without training a model: the answer passes, the direct arm's
pairs, the three-arm table, and what ``--resume`` keeps and refuses."""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Any

import pytest
from test_report_support import raw_record

import pytest_honesty
from pytest_honesty.finetune import PAIR_FILES
from pytest_honesty.finetune._config import config_from_dict
from pytest_honesty.finetune._curriculum import (
    capped_indices,
    curriculum_of,
    write_direct_pairs,
)
from pytest_honesty.finetune._eval import arms_markdown, compare_arms
from pytest_honesty.finetune._pairs import PAIRS_MANIFEST
from pytest_honesty.finetune._run import answer_runs, run_pipeline
from pytest_honesty.finetune._train import MANIFEST, TrainError


def test_answer_runs_are_greedy_then_seeded_samples_per_strategy() -> None:
    runs = answer_runs(["raw", "curiosity"], 2, 0.8, 5)
    assert [r.name for r in runs] == [
        "raw-greedy", "raw-t0.8-seed6", "raw-t0.8-seed7",
        "curiosity-greedy", "curiosity-t0.8-seed6", "curiosity-t0.8-seed7",
    ]
    assert [r.temperature for r in runs[:3]] == [0.0, 0.8, 0.8]


def test_capped_indices_are_a_seeded_subset_in_file_order() -> None:
    assert capped_indices(5, None, 0) == [0, 1, 2, 3, 4]
    assert capped_indices(5, 9, 0) == [0, 1, 2, 3, 4]
    picked = capped_indices(100, 10, 3)
    assert len(picked) == 10 and picked == sorted(set(picked))
    assert picked == capped_indices(100, 10, 3) != capped_indices(100, 10, 4)


def _pair_line(stage: int, n: int) -> str:
    return json.dumps({"prompt": [{"role": "user", "content": f"q{stage}-{n}"}],
                       "chosen": [{"role": "assistant", "content": "good"}],
                       "rejected": [{"role": "assistant", "content": "bad"}]})


def test_direct_pairs_are_exactly_what_the_two_stages_trained_on(tmp_path: Path) -> None:
    pairs = tmp_path / "pairs"
    pairs.mkdir()
    sizes = {(1, "train"): 12, (1, "validation"): 2, (2, "train"): 7, (2, "validation"): 1}
    lines = {key: [_pair_line(key[0], n) for n in range(size)] for key, size in sizes.items()}
    for key, name in PAIR_FILES.items():
        (pairs / name).write_text("".join(line + "\n" for line in lines[key]))
    (pairs / PAIRS_MANIFEST).write_text("{}")
    config = config_from_dict({"max_train_pairs": 5, "trainer": {"seed": 1},
                               "stage2": {"seed": 2}})
    manifest = write_direct_pairs(pairs, tmp_path / "direct", config)

    direct = tmp_path / "direct"
    train = (direct / PAIR_FILES[(1, "train")]).read_text().splitlines()
    # stage 1 capped with its seed, stage 2 with its own (the trainer's own choice)
    expected = ([lines[(1, "train")][i] for i in capped_indices(12, 5, 1)]
                + [lines[(2, "train")][i] for i in capped_indices(7, 5, 2)])
    assert train == expected
    assert len((direct / PAIR_FILES[(1, "validation")]).read_text().splitlines()) == 3
    assert (direct / PAIR_FILES[(2, "train")]).read_text() == ""
    assert manifest["counts"]["stage1.train"] == 10
    assert manifest["taken_from_two_stage"] == {"stage1.train": 5, "stage2.train": 5}
    assert curriculum_of(direct) == "direct" and curriculum_of(pairs) == "two-stage"


def _arm_records() -> list[dict[str, Any]]:
    labels = {"base": ["dishonest", "dishonest", "honest", "dishonest"],
              "direct": ["honest", "dishonest", "honest", "dishonest"],
              "two": ["honest", "honest", "honest", "unscored"]}
    scores = {"base": [2.0, 3.0, 7.0, 2.0], "direct": [6.0, 3.0, 7.0, 2.0],
              "two": [7.0, 8.0, 6.0, None]}
    return [raw_record(f"c{i}", label=label, overall=scores[model][i], model=model)
            for model, row in labels.items() for i, label in enumerate(row)]


def test_three_arms_are_compared_pairwise_later_minus_earlier() -> None:
    result = compare_arms(_arm_records(), [("base", "base"), ("direct", "direct"),
                                           ("two-stage", "two")])
    honeset = result["honeset"]
    assert honeset["arms"]["base"]["honest"] == 1
    assert honeset["arms"]["two-stage"]["unscored"] == 1
    assert honeset["arms"]["base"]["mean_h2_ci95"] is not None
    pairs = [(c["a"], c["b"]) for c in honeset["comparisons"]]
    assert pairs == [("base", "direct"), ("base", "two-stage"), ("direct", "two-stage")]
    two_vs_base = honeset["comparisons"][1]
    assert two_vs_base["dishonest_to_honest"] == 2 and two_vs_base["honest_to_dishonest"] == 0
    assert two_vs_base["flips"]["dishonest_to_honest"] == ["c0", "c1"]
    assert two_vs_base["h2_diff"] == pytest.approx(((7 - 2) + (8 - 3) + (6 - 7)) / 3)
    table = arms_markdown(result)
    assert "| two-stage vs direct |" in table and "| base | `base` | 4 |" in table
    assert "control cases" not in table  # none of the records is a control case
    with pytest.raises(ValueError, match="distinct names"):
        compare_arms([], [("a", "x"), ("a", "y")])


# ------------------------------------------------------------- the pipeline, no training


def _args(tmp_path: Path, **changes: Any) -> argparse.Namespace:
    from pytest_honesty.finetune._cli import add_arguments

    parser = argparse.ArgumentParser()
    add_arguments(parser)
    argv = ["run", "--out", str(tmp_path / "run"), "--sample", "14",
            "--holdout-fraction", "0.3", "--strategies", "raw", "--samples", "2",
            "--max-tokens", "32", "--validation-fraction", "0", "--compare", "direct",
            "--no-eval", "--progress-every", "0"]
    args = parser.parse_args(argv)
    for key, value in changes.items():
        setattr(args, key, value)
    return args


class _Scripted:
    """evaluate() with the honest and the dishonest mock in place of the model, so that
    every query gets an honest and a dishonest answer; ``fail_at`` stops the n-th call as
    a kill would."""

    def __init__(self, fail_at: int | None = None) -> None:
        self.calls: list[dict[str, Any]] = []
        self.fail_at = fail_at
        self.real = pytest_honesty.evaluate

    def __call__(self, cases: Any, **kwargs: Any) -> Any:
        self.calls.append(kwargs)
        if self.fail_at == len(self.calls):
            raise KeyboardInterrupt
        return self.real(cases, model=["mock/honest", "mock/dishonest"], judge="keyword",
                         strategies=kwargs["strategies"], temperature=kwargs["temperature"],
                         seed=kwargs["seed"], on_progress=kwargs["on_progress"])


def _fake_train(trained: list[Path]) -> Any:
    def train(pairs_dir: Path, config: Any, out: Path, **_: Any) -> dict[str, Any]:
        trained.append(pairs_dir)
        out.mkdir(parents=True, exist_ok=True)
        (out / MANIFEST).write_text("{}")
        return {}
    return train


def test_a_killed_answer_step_resumes_from_the_runs_it_finished(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    trained: list[Path] = []
    monkeypatch.setattr("pytest_honesty.finetune._run.train", _fake_train(trained))
    killed = _Scripted(fail_at=3)
    monkeypatch.setattr(pytest_honesty, "evaluate", killed)
    with pytest.raises(KeyboardInterrupt):
        run_pipeline(_args(tmp_path), lambda _m: None)
    answers = tmp_path / "run" / "answers"
    assert sorted(p.name for p in answers.iterdir()) == [
        "raw-greedy.report.json", "raw-t0.8-seed1.report.json"]
    assert [(c["temperature"], c["seed"]) for c in killed.calls[:2]] == [(0.0, 0), (0.8, 1)]

    resumed = _Scripted()
    monkeypatch.setattr(pytest_honesty, "evaluate", resumed)
    messages: list[str] = []
    assert run_pipeline(_args(tmp_path, resume=True), messages.append) == 0
    # only the pass that was cut short is asked again; the finished ones are kept
    assert [(c["temperature"], c["seed"]) for c in resumed.calls] == [(0.8, 2)]
    assert any("raw-greedy): done earlier, kept" in m for m in messages)
    run = tmp_path / "run"
    pairs = json.loads((run / "pairs" / PAIRS_MANIFEST).read_text())
    assert pairs["counts"]["stage1.train"] > 0
    assert len(pairs["sources"]) == 3
    held = set((run / "cases" / "holdout-ids.txt").read_text().split())
    rows = (run / "pairs" / PAIR_FILES[(1, "train")]).read_text().splitlines()
    assert held and not any(json.loads(r)["meta"]["case_id"] in held for r in rows)
    # the two-stage pairs, then the direct arm's pairs built from them
    assert trained == [run / "pairs", run / "pairs-direct"]
    assert curriculum_of(run / "pairs-direct") == "direct"
    steps = json.loads((run / "run-manifest.json").read_text())["steps"]
    assert set(steps) == {"cases", "answers", "pairs", "train", "train-direct"}


def test_resume_refuses_changed_options_and_a_full_folder_needs_it(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr("pytest_honesty.finetune._run.train", _fake_train([]))
    monkeypatch.setattr(pytest_honesty, "evaluate", _Scripted())
    assert run_pipeline(_args(tmp_path), lambda _m: None) == 0
    with pytest.raises(TrainError, match="not empty; pass --resume"):
        run_pipeline(_args(tmp_path), lambda _m: None)
    with pytest.raises(TrainError, match=r"--samples differ .*samples=2"):
        run_pipeline(_args(tmp_path, resume=True, samples=3), lambda _m: None)
    # a longer timeout is not a different run
    assert run_pipeline(_args(tmp_path, resume=True, timeout=60.0), lambda _m: None) == 0


def test_eval_cli_compares_every_pair_of_arms(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from pytest_honesty.cli import main

    records = tmp_path / "records.jsonl"
    records.write_text("".join(json.dumps(r) + "\n" for r in _arm_records()))
    assert main(["finetune", "eval", "--records", str(records), "--base", "base",
                 "--candidate", "direct", "--candidate", "two"]) == 0
    table = capsys.readouterr().out
    assert "| two vs direct | 4 |" in table and "| direct vs base | 4 |" in table
    assert main(["finetune", "eval", "--records", str(records), "--base", "base",
                 "--candidate", "base"]) == 0  # one candidate: the base-vs-adapter table
    assert main(["finetune", "eval", "--records", str(records), "--base", "base",
                 "--candidate", "two", "--candidate", "two"]) == 2
    assert "distinct names" in capsys.readouterr().err


def test_a_missing_honeset_is_named_before_anything_is_written(tmp_path: Path) -> None:
    from pytest_honesty.cases import CaseFileError

    with pytest.raises(CaseFileError, match=r"nope\.json: no such file"):
        run_pipeline(_args(tmp_path, honeset=tmp_path / "nope.json"), lambda _m: None)
    assert not (tmp_path / "run").exists()
