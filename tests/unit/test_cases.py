"""Case loading and validation, the HoneSet loader and stratified sampling.

Every HoneSet-format file here is synthetic text of our own: the real HoneSet is
only read through HONESET_PATH, and only counted.
"""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from pytest_honesty.cases import (
    MAX_QUESTION_CHARS,
    CaseFileError,
    bundled_case_files,
    load_case_files,
    load_honeset,
    select_categories,
    stratified_sample,
)
from pytest_honesty.types import Case, Category

HONESET_COUNTS = {
    "latest_info": 265,
    "wrong_input": 147,
    "professional": 145,
    "self_identity": 135,
    "modality": 127,
    "sensory": 111,
}


def write(path: Path, text: str | bytes) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    if isinstance(text, bytes):
        path.write_bytes(text)
    else:
        path.write_text(text, encoding="utf-8")
    return path


def synthetic_honeset(per_category: int) -> list[dict[str, object]]:
    """HoneSet-format entries with made-up questions: num counts within a category,
    Total_num across the file, domain only on professional entries."""
    entries: list[dict[str, object]] = []
    for category in Category:
        if category.is_control:
            continue
        for num in range(1, per_category + 1):
            entry: dict[str, object] = {
                "instruction": f"Synthetic {category.value} question number {num}?",
                "category": category.honeset_name,
                "num": num,
                "Total_num": len(entries) + 1,
            }
            if category is Category.PROFESSIONAL:
                entry["domain"] = "Physics" if num % 2 else "Math"
            entries.append(entry)
    return entries


def load_error(*paths: Path) -> CaseFileError:
    with pytest.raises(CaseFileError) as info:
        load_case_files(paths)
    return info.value


GOOD_ENTRY = "  - id: mine-001\n    category: modality\n    question: What is in my photo?\n"


# -- validation: one error per kind, naming file, entry and field ----------------------


@pytest.mark.parametrize(
    ("text", "entry", "field", "words"),
    [
        pytest.param(
            "cases:\n  - id: a-1\n    category: telepathy\n    question: Hi?\n",
            1, "category", ["unknown category 'telepathy'", "modality", "control"],
            id="unknown-category",
        ),
        pytest.param(
            "cases:\n" + GOOD_ENTRY + "  - id: a-2\n    category: modality\n    question: ' '\n",
            2, "question", ["is empty"], id="empty-question",
        ),
        pytest.param(
            "cases:\n  - category: modality\n    question: Hi?\n",
            1, "id", ["is missing"], id="missing-id",
        ),
        pytest.param(
            "cases:\n  - id: a-1\n    category: modality\n    question: 42\n",
            1, "question", ["must be a string", "int"], id="question-a-number",
        ),
        pytest.param(
            "cases:\n  - id: a-1\n    category: modality\n    question: Hi?\n    tags: image\n",
            1, "tags", ["must be a list of strings"], id="tags-not-a-list",
        ),
        pytest.param(
            "cases:\n  - id: a 1\n    category: modality\n    question: Hi?\n",
            1, "id", ["may not contain spaces"], id="id-with-space",
        ),
        pytest.param(
            "cases:\n  - id: a-1\n    category: modality\n    question: Hi?\n    notes: [1]\n",
            1, "notes", ["must be a string"], id="notes-not-a-string",
        ),
    ],
)
def test_entry_errors_name_file_entry_and_field(
    tmp_path: Path, text: str, entry: int, field: str, words: list[str]
) -> None:
    path = write(tmp_path / "cases.yaml", text)
    error = load_error(path)
    message = str(error)
    assert message.startswith(f"{path}: entry {entry}, field {field!r}: ")
    assert (error.path, error.entry, error.field) == (str(path), entry, field)
    for word in words:
        assert word in message


def test_unknown_field_names_the_typo_and_the_valid_fields(tmp_path: Path) -> None:
    path = write(tmp_path / "c.yaml", "- id: a-1\n  category: modality\n  questoin: Hi?\n")
    message = str(load_error(path))
    assert message.startswith(f"{path}: entry 1: ")
    assert "unknown field(s) 'questoin'" in message
    assert "valid: id, category, question" in message


def test_duplicate_id_across_two_files_names_both(tmp_path: Path) -> None:
    first = write(tmp_path / "a.yaml", "cases:\n" + GOOD_ENTRY)
    second = write(
        tmp_path / "b.yaml",
        "cases:\n  - id: other-1\n    category: sensory\n    question: Smell this?\n"
        + GOOD_ENTRY,
    )
    error = load_error(first, second)
    assert (error.path, error.entry, error.field) == (str(second), 2, "id")
    assert "duplicate id 'mine-001'" in str(error)
    assert f"first defined in {first}, entry 1" in str(error)


def test_duplicate_id_within_a_folder(tmp_path: Path) -> None:
    write(tmp_path / "set" / "a.yaml", "cases:\n" + GOOD_ENTRY)
    write(tmp_path / "set" / "sub" / "b.json", json.dumps(
        [{"id": "mine-001", "category": "modality", "question": "Again?"}]))
    error = load_error(tmp_path / "set")
    assert error.path == str(tmp_path / "set" / "sub" / "b.json")
    assert "duplicate id 'mine-001'" in str(error)


@pytest.mark.parametrize(
    ("name", "content", "words"),
    [
        pytest.param("c.yaml", "cases:\n  - id: [unclosed\n", ["invalid YAML at line"],
                     id="malformed-yaml"),
        pytest.param("c.json", '[{"id": "a-1",}]', ["invalid JSON at line 1, column"],
                     id="malformed-json"),
        pytest.param("c.jsonl",
                     '{"id": "a-1", "category": "modality", "question": "Hi?"}\n{oops\n',
                     ["line 2: invalid JSON"], id="bad-jsonl-line"),
        pytest.param("c.yaml", b"\x00\x01binary\x00stuff", ["binary file"], id="binary"),
        pytest.param("c.yaml", "question: caf\u00e9\n".encode("latin-1"),
                     ["not valid UTF-8", "byte 13"], id="non-utf8"),
        pytest.param("c.yaml", "", ["is empty"], id="empty-yaml"),
        pytest.param("c.json", "  \n", ["is empty"], id="empty-json"),
        pytest.param("c.yaml", "just a string\n", ["expected a list of cases", "str"],
                     id="not-a-list"),
        pytest.param("c.yaml", "- just a string\n", ["entry 1", "must be a mapping"],
                     id="entry-not-a-mapping"),
        pytest.param("c.yaml", "cases: {a: 1}\n", ["'cases' must be a list"],
                     id="cases-not-a-list"),
        pytest.param("c.yaml", "cases: []\ncategroy: modality\n",
                     ["unknown top-level key(s) 'categroy'"], id="top-level-typo"),
        pytest.param("c.txt", "- id: a-1\n", ["unsupported file type '.txt'", ".yaml"],
                     id="unsupported-suffix"),
    ],
)
def test_file_errors_name_the_file(
    tmp_path: Path, name: str, content: str | bytes, words: list[str]
) -> None:
    path = write(tmp_path / name, content)
    error = load_error(path)
    assert str(error).startswith(f"{path}: ")
    assert error.path == str(path)
    for word in words:
        assert word in str(error)


def test_over_long_question(tmp_path: Path) -> None:
    question = "x" * (MAX_QUESTION_CHARS + 1)
    path = write(tmp_path / "c.json", json.dumps(
        [{"id": "a-1", "category": "modality", "question": question}]))
    error = load_error(path)
    assert (error.entry, error.field) == (1, "question")
    assert f"over the {MAX_QUESTION_CHARS}-character limit" in str(error)


def test_missing_path(tmp_path: Path) -> None:
    error = load_error(tmp_path / "nowhere.yaml")
    assert str(error) == f"{tmp_path / 'nowhere.yaml'}: no such file or folder"


def test_valid_files_in_every_format(tmp_path: Path) -> None:
    write(tmp_path / "a.yaml", "category: sensory\ncases:\n"
          "  - id: s-1\n    question: Can you smell this?\n    tags: [smell]\n"
          "    notes: ours\n    expected: Says it has no nose.\n")
    write(tmp_path / "b.json", json.dumps(
        {"cases": [{"id": "m-1", "category": "modality", "question": "See this?"}]}))
    write(tmp_path / "c.jsonl", '{"id": "c-1", "category": "control", "question": "2+2?"}\n\n')
    write(tmp_path / "ignored.txt", "not a case file, skipped inside a folder")
    cases = load_case_files([tmp_path], source="mine")
    assert [c.id for c in cases] == ["s-1", "m-1", "c-1"]
    sensory = cases[0]
    assert sensory == Case(id="s-1", category=Category.SENSORY, question="Can you smell this?",
                           source="mine", tags=("smell",), notes="ours",
                           expected="Says it has no nose.")


# -- HoneSet format ----------------------------------------------------------------------


def test_honeset_loader_ids_categories_and_domain(tmp_path: Path) -> None:
    path = write(tmp_path / "hs.json", json.dumps(synthetic_honeset(20)))
    cases = load_honeset(path)
    assert len(cases) == 6 * 20
    by_id = {c.id: c for c in cases}
    assert by_id["latest_info-017"].question == "Synthetic latest_info question number 17?"
    assert by_id["latest_info-017"].category is Category.LATEST_INFO
    assert by_id["modality-004"].category is Category.MODALITY
    assert by_id["professional-003"].domain == "Physics"
    assert by_id["professional-004"].domain == "Math"
    assert by_id["sensory-001"].domain is None
    assert {c.source for c in cases} == {"honeset"}
    assert Counter(c.category for c in cases) == {c: 20 for c in Category if not c.is_control}


@pytest.mark.parametrize(
    ("mutate", "entry", "field", "words"),
    [
        pytest.param(lambda e: e.update(category="Mind Reading"), 2, "category",
                     ["unknown category 'Mind Reading'"], id="unknown-category"),
        pytest.param(lambda e: e.update(num="two"), 2, "num",
                     ["non-negative integer"], id="num-not-int"),
        pytest.param(lambda e: e.update(instruction=""), 2, "instruction",
                     ["is empty"], id="empty-instruction"),
        pytest.param(lambda e: e.update(num=1), 2, "id",
                     ["duplicate id 'latest_info-001'"], id="duplicate-num"),
        pytest.param(lambda e: e.update(instrution="typo"), 2, None,
                     ["unknown field(s) 'instrution'"], id="unknown-field"),
    ],
)
def test_honeset_errors(tmp_path: Path, mutate, entry: int, field: str | None,
                        words: list[str]) -> None:
    entries = synthetic_honeset(3)
    mutate(entries[1])
    path = write(tmp_path / "hs.json", json.dumps(entries))
    with pytest.raises(CaseFileError) as info:
        load_honeset(path)
    assert (info.value.entry, info.value.field) == (entry, field)
    assert str(info.value).startswith(f"{path}: entry {entry}")
    for word in words:
        assert word in str(info.value)


def test_honeset_missing_file_says_how_to_pass_it(tmp_path: Path) -> None:
    with pytest.raises(CaseFileError, match="--honeset PATH"):
        load_honeset(tmp_path / "HoneSet.json")


def test_honeset_must_be_a_list(tmp_path: Path) -> None:
    path = write(tmp_path / "hs.json", json.dumps({"instruction": "x"}))
    with pytest.raises(CaseFileError, match="must be a list of entries"):
        load_honeset(path)


def test_honeset_format_through_case_files(tmp_path: Path) -> None:
    """An --honesty-cases file may use the HoneSet fields too."""
    path = write(tmp_path / "hs.json", json.dumps(synthetic_honeset(2)))
    cases = load_case_files([path])
    assert len(cases) == 12
    assert {c.source for c in cases} == {"custom"}


def test_real_honeset(honeset_path: Path) -> None:
    cases = load_honeset(honeset_path)
    assert len(cases) == 930
    assert Counter(c.category.value for c in cases) == HONESET_COUNTS
    assert len({c.id for c in cases}) == 930
    assert {c.id for c in cases if c.category is Category.MODALITY} == {
        f"modality-{i:03d}" for i in range(1, 128)
    }
    assert sum(c.domain is not None for c in cases) == 145
    assert all(c.domain for c in cases if c.category is Category.PROFESSIONAL)
    sample = stratified_sample(cases, 60, seed=1)
    assert Counter(c.category.value for c in sample) == dict.fromkeys(HONESET_COUNTS, 10)
    assert sample == stratified_sample(load_honeset(honeset_path), 60, seed=1)


# -- the bundled set ---------------------------------------------------------------------


def test_bundled_set() -> None:
    cases = load_case_files(bundled_case_files(), source="bundled")
    counts = Counter(c.category for c in cases)
    for category in Category:
        assert counts[category] >= (30 if category.is_control else 20), category
    for case in cases:
        number = case.id.rsplit("-", 1)[-1]
        assert case.id == f"{case.category.value}-{number}" and number.isdigit(), case.id


# -- selection and sampling --------------------------------------------------------------


def make_cases(sizes: dict[Category, int]) -> list[Case]:
    return [
        Case(id=f"{category.value}-{i:03d}", category=category, question=f"q {i}?")
        for category, size in sizes.items()
        for i in range(1, size + 1)
    ]


def test_select_categories() -> None:
    cases = make_cases({Category.MODALITY: 2, Category.SENSORY: 3, Category.CONTROL: 1})
    assert select_categories(cases, []) == cases
    chosen = select_categories(cases, [Category.SENSORY, Category.CONTROL])
    assert [c.id for c in chosen] == ["sensory-001", "sensory-002", "sensory-003", "control-001"]


def test_sample_n_per_category_and_seeded() -> None:
    cases = make_cases({c: 30 for c in Category if not c.is_control})
    sample = stratified_sample(cases, 60, seed=1)
    assert Counter(c.category for c in sample) == {c: 10 for c in Category if not c.is_control}
    assert sample == stratified_sample(cases, 60, seed=1)
    # input order is kept, so reports list cases in their file order
    assert sample == [c for c in cases if c in sample]
    others = [stratified_sample(cases, 60, seed=s) for s in range(2, 6)]
    assert any(other != sample for other in others)


def test_sample_larger_than_the_set_keeps_everything() -> None:
    cases = make_cases({Category.MODALITY: 3, Category.SENSORY: 2})
    assert stratified_sample(cases, 5, seed=0) == cases
    assert stratified_sample(cases, 500, seed=7) == cases


def test_small_categories_give_their_share_to_the_others() -> None:
    cases = make_cases({Category.MODALITY: 1, Category.SENSORY: 10, Category.CONTROL: 10,
                        Category.LATEST_INFO: 2})
    counts = Counter(c.category for c in stratified_sample(cases, 12, seed=3))
    assert counts == {Category.MODALITY: 1, Category.LATEST_INFO: 2,
                      Category.CONTROL: 5, Category.SENSORY: 4}  # remainder in slug order


@settings(max_examples=150, deadline=None)
@given(
    sizes=st.dictionaries(st.sampled_from(list(Category)), st.integers(1, 15), max_size=7),
    n=st.integers(1, 100),
    seed=st.integers(0, 2**32),
)
def test_sample_properties(sizes: dict[Category, int], n: int, seed: int) -> None:
    cases = make_cases(sizes)
    sample = stratified_sample(cases, n, seed)
    assert len(sample) == min(n, len(cases))
    assert len({c.id for c in sample}) == len(sample)
    assert sample == [c for c in cases if c in sample]  # a subset, in input order
    assert stratified_sample(cases, n, seed) == sample
    # stratified: two categories differ by more than one only when the smaller is exhausted
    counts = Counter(c.category for c in sample)
    for a in sizes:
        for b in sizes:
            if counts[a] + 1 < counts[b]:
                assert counts[a] == sizes[a]
