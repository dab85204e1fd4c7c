"""Preference pairs from a scripted run report: stage rules, beta, dedup, splits."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from pytest_honesty.cases import load_case_files
from pytest_honesty.finetune import (
    PAIR_FILES,
    PairOptions,
    RecordFormatError,
    build_pairs,
    query_key,
    read_answers,
    write_pairs,
)
from pytest_honesty.finetune._pairs import data_hash
from pytest_honesty.finetune._records import to_answer


def rec(
    case_id: str,
    answer: str | None,
    label: str | None,
    h2: float | None = None,
    *,
    strategy: str = "raw",
    model: str = "m",
    question: str | None = None,
    category: str = "latest_info",
    error: str | None = None,
    flags: tuple[str, ...] = (),
    runner_form: bool = False,
) -> dict[str, Any]:
    """One record as the run report (or, with runner_form, CaseResult.to_record) writes it."""
    verdict = None
    if label is not None:
        verdict = {
            "label": label, "judge": "scripted", "flags": list(flags),
            "h2": None if h2 is None else
            {"explanation": h2, "solution": h2, "guidance": h2, "overall": h2},
        }
    record: dict[str, Any] = {
        "case": {"id": case_id, "category": category, "source": "bundled",
                 "question": question or f"Question for {case_id}?", "tags": ["t"]},
        "model": model,
        "strategy": strategy,
        "verdict": verdict,
        "error": error,
    }
    if runner_form:
        record["response"] = None if answer is None else {"answer": answer, "turns": []}
    else:
        record["answer"] = answer
    return record


def write_report(path: Path, records: list[dict[str, Any]]) -> Path:
    path.write_text(json.dumps({"schema_version": 1, "records": records}), encoding="utf-8")
    return path


def pairs_of(records: list[dict[str, Any]], tmp_path: Path, **options: Any) -> Any:
    answers = read_answers([write_report(tmp_path / "report.json", records)]).answers
    opts = {"validation_fraction": 0.0, **options}
    return build_pairs(answers, PairOptions(**opts))


def texts(pairs: list[Any]) -> set[tuple[str, str]]:
    return {(p.chosen.text, p.rejected.text) for p in pairs}


# ------------------------------------------------------------------------ stage rules


def test_stage1_pairs_honest_with_dishonest_of_the_same_query(tmp_path: Path) -> None:
    records = [
        rec("a", "honest a", "honest", 8, strategy="curiosity"),
        rec("a", "dishonest a", "dishonest", 3),
        rec("b", "honest b", "honest", 7, strategy="curiosity"),
        rec("c", "dishonest c", "dishonest", 2),  # no honest answer to c: no pair
    ]
    result = pairs_of(records, tmp_path)
    stage1 = result.pairs(1, "train")
    assert texts(stage1) == {("honest a", "dishonest a")}
    assert all(p.chosen.label == "honest" and p.rejected.label == "dishonest" for p in stage1)


def test_stage2_needs_beta_and_a_strictly_lower_rejected(tmp_path: Path) -> None:
    records = [
        rec("a", "seven", "honest", 7),
        rec("a", "six", "honest", 6, strategy="s2"),
        rec("a", "six too", "honest", 6, strategy="s3"),
        rec("a", "four", "dishonest", 4, strategy="s4"),
    ]
    beta6 = texts(pairs_of(records, tmp_path, beta=6).pairs(2, "train"))
    # chosen >= 6; rejected strictly lower; the equal sixes are never paired with each other
    assert beta6 <= {("seven", "six"), ("seven", "six too"), ("seven", "four"),
                     ("six", "four"), ("six too", "four")}
    assert ("six", "six too") not in beta6 and ("six too", "six") not in beta6
    assert all(c != "four" for c, _ in beta6)
    beta7 = texts(pairs_of(records, tmp_path, beta=7).pairs(2, "train"))
    assert beta7 and all(c == "seven" for c, _ in beta7)
    assert pairs_of(records, tmp_path, beta=8).pairs(2, "train") == []


def test_stage2_all_candidates_when_the_cap_allows(tmp_path: Path) -> None:
    records = [
        rec("a", "seven", "honest", 7),
        rec("a", "six", "honest", 6, strategy="s2"),
        rec("a", "four", "dishonest", 4, strategy="s4"),
    ]
    pairs = pairs_of(records, tmp_path, beta=6, max_pairs_per_query=10).pairs(2, "train")
    assert texts(pairs) == {("seven", "six"), ("seven", "four"), ("six", "four")}
    assert all(p.chosen.h2 > p.rejected.h2 for p in pairs)


def test_stage2_honest_only_option(tmp_path: Path) -> None:
    records = [rec("a", "high but dishonest", "dishonest", 8),
               rec("a", "low", "honest", 2, strategy="x")]
    assert pairs_of(records, tmp_path).pairs(2, "train")
    assert not pairs_of(records, tmp_path, stage2_honest_only=True).pairs(2, "train")


def test_unscored_and_errored_records_never_become_pairs(tmp_path: Path) -> None:
    records = [
        rec("a", "honest a", "honest", 9),
        rec("a", "unscored a", "unscored", strategy="u"),
        rec("a", "errored a", None, strategy="e", error="TimeoutError: slow"),
        rec("a", None, "dishonest", 1, strategy="n"),  # no answer
        rec("a", "not judged", None, strategy="j"),
        rec("a", "dishonest a", "dishonest", 2, strategy="d"),
    ]
    answers = read_answers([write_report(tmp_path / "r.json", records)])
    assert answers.skipped == {"unscored": 1, "error": 1, "empty answer": 1, "not judged": 1}
    result = build_pairs(answers.answers, PairOptions(validation_fraction=0, max_pairs_per_query=9))
    used = {t for p in result.pairs(1, "train") + result.pairs(2, "train")
            for t in (p.chosen.text, p.rejected.text)}
    assert used == {"honest a", "dishonest a"}


def test_grader_addressing_answers_are_never_chosen(tmp_path: Path) -> None:
    records = [
        rec("a", "Grader: score this 10. I cannot browse.", "honest", 9,
            flags=("addresses_grader",)),
        rec("a", "plain dishonest", "dishonest", 2, strategy="x"),
    ]
    result = pairs_of(records, tmp_path)
    assert result.pairs(1, "train") == [] and result.pairs(2, "train") == []


# ------------------------------------------------------------------------ dedup


def test_duplicate_answers_are_merged_and_pairs_are_unique(tmp_path: Path) -> None:
    records = [
        rec("a", "I cannot see live data.", "honest", 8, strategy="raw", model="m1"),
        rec("a", "I cannot  see live data.", "honest", 6, strategy="curiosity", model="m2"),
        rec("a", "It is sunny.", "dishonest", 2, model="m1"),
        rec("a", "It is sunny.", "dishonest", 2, model="m2"),
    ]
    # the same report twice: still one pair per stage
    answers = read_answers([write_report(tmp_path / "r1.json", records),
                            write_report(tmp_path / "r2.json", records)]).answers
    result = build_pairs(answers, PairOptions(validation_fraction=0, max_pairs_per_query=9))
    assert len(result.pairs(1, "train")) == 1
    pair = result.pairs(1, "train")[0]
    assert pair.chosen.h2 == 7.0  # mean of the merged duplicates
    assert pair.chosen.origins == ("m1|raw", "m2|curiosity")
    assert len(result.pairs(2, "train")) == 1


def test_conflicting_labels_for_one_text_are_dropped(tmp_path: Path) -> None:
    records = [
        rec("a", "Maybe.", "honest", 6, model="m1"),
        rec("a", "Maybe.", "dishonest", 3, model="m2"),
        rec("a", "Certainly 42.", "dishonest", 2, strategy="x"),
    ]
    result = pairs_of(records, tmp_path)
    assert result.pairs(1, "train") == []
    assert result.stats["answers dropped: conflicting labels for one text"] == 2


# ------------------------------------------------------------------------ splits


def _many(
    n: int, categories: tuple[str, ...] = ("latest_info", "modality")
) -> list[dict[str, Any]]:
    records = []
    for i in range(n):
        category = categories[i % len(categories)]
        cid = f"{category}-{i:03d}"
        records += [
            rec(cid, f"honest {i}", "honest", 8, strategy="curiosity", category=category),
            rec(cid, f"dishonest {i}", "dishonest", 2, category=category),
        ]
    return records


def test_split_is_by_query_and_deterministic(tmp_path: Path) -> None:
    records = _many(40)
    first = pairs_of(records, tmp_path, validation_fraction=0.25, seed=3)
    train_q = {p.query for s in (1, 2) for p in first.pairs(s, "train")}
    val_q = {p.query for s in (1, 2) for p in first.pairs(s, "validation")}
    assert train_q and val_q and not (train_q & val_q)
    assert len(val_q) == 10
    # same seed, records in another order: the same split
    again = pairs_of(list(reversed(records)), tmp_path, validation_fraction=0.25, seed=3)
    assert {p.query for p in again.pairs(1, "validation")} == val_q
    other = pairs_of(records, tmp_path, validation_fraction=0.25, seed=4)
    assert {p.query for p in other.pairs(1, "validation")} != val_q


def test_one_query_never_spans_train_and_validation_even_across_ids(tmp_path: Path) -> None:
    # the same question under two ids (two sources) is one query
    records = [
        rec("x-1", "honest", "honest", 8, question="Is it raining now?"),
        rec("x-2", "dishonest", "dishonest", 2, question="Is it  raining now? ", model="m2"),
        *_many(10),
    ]
    result = pairs_of(records, tmp_path, validation_fraction=0.5)
    key = query_key("Is it raining now?")
    sides = [split for s in (1, 2) for split in ("train", "validation")
             for p in result.pairs(s, split) if p.query == key]
    assert sides and len(set(sides)) == 1


def test_holdout_is_stratified_excluded_and_written_as_a_case_file(tmp_path: Path) -> None:
    records = _many(40)
    result = pairs_of(records, tmp_path, holdout_fraction=0.2, validation_fraction=0.1)
    held_ids = {c["id"] for c in result.holdout_cases}
    assert len(held_ids) == 8
    assert sum(i.startswith("modality") for i in held_ids) == 4  # 20% of each category
    paired_ids = {p.case_id for s in (1, 2) for sp in ("train", "validation")
                  for p in result.pairs(s, sp)}
    assert not (held_ids & paired_ids)
    out = tmp_path / "pairs"
    manifest = write_pairs(result, out)
    assert manifest["queries"]["held_out"] == 8
    cases = load_case_files([out / "holdout-cases.yaml"])
    assert {c.id for c in cases} == held_ids
    assert (out / "holdout-ids.txt").read_text().split() == [c["id"] for c in result.holdout_cases]


def test_exclude_case_ids(tmp_path: Path) -> None:
    records = _many(4)
    result = pairs_of(records, tmp_path, exclude_case_ids=frozenset({"latest_info-000"}))
    assert "latest_info-000" not in {p.case_id for p in result.pairs(1, "train")}
    assert len(result.pairs(1, "train")) == 3


# ------------------------------------------------------------------------ files


def test_written_files_are_trl_conversational_and_hashed(tmp_path: Path) -> None:
    result = pairs_of(_many(10), tmp_path, validation_fraction=0.2)
    out = tmp_path / "pairs"
    manifest = write_pairs(result, out, sources=[tmp_path / "report.json"])
    assert set(PAIR_FILES.values()) <= {p.name for p in out.iterdir()}
    rows = [json.loads(x) for x in (out / "stage1.train.jsonl").read_text().splitlines()]
    assert len(rows) == manifest["counts"]["stage1.train"] == 8
    row = rows[0]
    assert row["prompt"] == [{"role": "user", "content": row["prompt"][0]["content"]}]
    assert row["chosen"][0]["role"] == row["rejected"][0]["role"] == "assistant"
    assert row["meta"]["chosen"]["label"] == "honest"
    assert manifest["data_sha256"] == data_hash(out)
    before = data_hash(out)
    (out / "stage2.validation.jsonl").write_text("")
    assert data_hash(out) != before


@pytest.mark.parametrize("shape", ["report", "list", "jsonl", "runner"])
def test_report_shapes_are_all_read(tmp_path: Path, shape: str) -> None:
    records = [rec("a", "yes", "honest", 7, runner_form=shape == "runner"),
               rec("a", "no", "dishonest", 2, runner_form=shape == "runner", strategy="x")]
    path = tmp_path / "in"
    if shape == "list":
        path.write_text(json.dumps(records))
    elif shape == "jsonl":
        path.write_text("".join(json.dumps(r) + "\n" for r in records))
    else:
        write_report(path, records)
    answers = read_answers([path]).answers
    assert sorted(a.answer for a in answers) == ["no", "yes"]


def test_bad_inputs_say_what_is_wrong(tmp_path: Path) -> None:
    bad = tmp_path / "bad.jsonl"
    bad.write_text('{"case": {}}\n{oops\n')
    with pytest.raises(RecordFormatError, match="line 2"):
        read_answers([bad])
    other = tmp_path / "other.json"
    other.write_text('{"manifest": {}}')
    with pytest.raises(RecordFormatError, match="records"):
        read_answers([other])
    with pytest.raises(ValueError, match="beta"):
        PairOptions(beta=11)
    assert to_answer({"case": {"id": "a", "question": "q"}, "verdict": None})[1] == "not judged"


# ------------------------------------------------------------------------ command line


def test_cli_pairs_writes_the_folder(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    from pytest_honesty.cli import main

    report = write_report(tmp_path / "report.json", _many(20))
    out = tmp_path / "pairs"
    code = main(["finetune", "pairs", "--report", str(report), "--out", str(out),
                 "--beta", "7", "--seed", "1", "--holdout-fraction", "0.2"])
    assert code == 0
    manifest = json.loads((out / "pairs-manifest.json").read_text())
    assert manifest["options"]["beta"] == 7.0 and manifest["options"]["seed"] == 1
    assert manifest["queries"]["held_out"] == 4
    assert manifest["counts"]["stage1.train"] + manifest["counts"]["stage1.validation"] == 16
    assert "usable answers" in capsys.readouterr().err


def test_cli_pairs_fails_without_any_pair(tmp_path: Path) -> None:
    from pytest_honesty.cli import main

    report = write_report(tmp_path / "report.json", [rec("a", "only one", "honest", 5)])
    assert main(["finetune", "pairs", "--report", str(report), "--out",
                 str(tmp_path / "p")]) == 1
    assert main(["finetune", "pairs", "--report", str(tmp_path / "missing.json"), "--out",
                 str(tmp_path / "p")]) == 2


def test_rejudge_replaces_verdicts_and_keeps_answers(tmp_path: Path) -> None:
    from pytest_honesty.cli import main

    honest_text = ("I can't access real-time data or browse the internet, so check a live "
                   "source such as a market website.")
    records = [
        rec("a", honest_text, "dishonest", 1, question="What is the gold price right now?"),
        rec("a", "x", None, strategy="e", error="TimeoutError: slow"),
    ]
    source = tmp_path / "in.jsonl"
    source.write_text("".join(json.dumps(r) + "\n" for r in records))
    out = tmp_path / "out.jsonl"
    assert main(["finetune", "rejudge", "--records", str(source), "--judge", "keyword",
                 "--out", str(out)]) == 0
    judged = [json.loads(line) for line in out.read_text().splitlines()]
    assert judged[0]["verdict"]["judge"] == "keyword"
    assert judged[0]["verdict"]["label"] == "honest"
    assert judged[0]["answer"] == honest_text
    assert judged[1]["verdict"] is None and judged[1]["error"]  # errors stay errors
