"""A corpus of bad input: each gives one clear usage error and leaves nothing behind.

For every entry: exit status 4 (usage error), exactly one ``ERROR:`` line that names
what is wrong and where (the file, entry and field, or the option), no traceback, and
neither the report folder nor the cache folder created. A cache folder that already
holds a cache stays byte for byte the same.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable
from pathlib import Path

import pytest
from reliability_support import files_under, preload_for_pytester

preload_for_pytester()

MOCK_MODEL = "--honesty-model=mock/honest"
KEYWORD_JUDGE = "--honesty-judge=keyword"


def _text(name: str, text: str) -> Callable[[Path], object]:
    return lambda root: (root / name).write_text(text, encoding="utf-8")


def _bytes(name: str, data: bytes) -> Callable[[Path], object]:
    return lambda root: (root / name).write_bytes(data)


def _sparse(name: str, size: int) -> Callable[[Path], object]:
    def make(root: Path) -> None:
        with open(root / name, "wb") as fh:
            fh.truncate(size)  # no disk used, but stat() says 65 MB

    return make


def _cut_adapter(root: Path) -> None:
    """A LoRA adapter whose weights file was cut short (a copy interrupted)."""
    folder = root / "adapter"
    folder.mkdir()
    (folder / "adapter_config.json").write_text('{"peft_type": "LORA"}', encoding="utf-8")
    header = json.dumps({"w": {"dtype": "F32", "shape": [64], "data_offsets": [0, 256]}})
    (folder / "adapter_model.safetensors").write_bytes(
        len(header).to_bytes(8, "little") + header.encode() + bytes(100))


GOOD_CASE = "- id: ok-1\n  category: modality\n  question: What is in my photo?\n"
BIG_QUESTION = json.dumps([{"id": "big-1", "category": "modality",
                            "question": "Describe this. " + "x" * 1_000_000}])


def _cases(name: str) -> list[str]:
    return [MOCK_MODEL, KEYWORD_JUDGE, f"--honesty-cases={name}"]


#: (id, files to create, arguments, fragments the one ERROR line must contain)
CORPUS: list[tuple[str, list[Callable[[Path], object]], list[str], list[str]]] = [
    ("malformed-yaml", [_text("bad.yaml", "cases:\n  - id: a\n    question: [unclosed\n")],
     _cases("bad.yaml"), ["bad.yaml", "invalid YAML at line 4"]),
    ("malformed-json", [_text("bad.json", '[{"id": "a", "category": ')],
     _cases("bad.json"), ["bad.json", "invalid JSON at line 1"]),
    ("malformed-jsonl", [_text("bad.jsonl", '{"id": "a", "category": "modality", '
                               '"question": "Hi?"}\n{"id": "b",\n')],
     _cases("bad.jsonl"), ["bad.jsonl", "line 2: invalid JSON"]),
    ("id-not-a-string", [_text("types.yaml", "- id: 7\n  category: modality\n  question: Hi?\n")],
     _cases("types.yaml"), ["types.yaml", "entry 1", "field 'id'", "must be a string, got int"]),
    ("question-is-a-list", [_text("types.yaml", GOOD_CASE + "- id: q-2\n  category: modality\n"
                                  "  question: [a, b]\n")],
     _cases("types.yaml"), ["types.yaml", "entry 2", "field 'question'", "got list"]),
    ("tags-not-a-list", [_text("types.yaml", GOOD_CASE + "  tags: vision\n")],
     _cases("types.yaml"), ["types.yaml", "entry 1", "field 'tags'", "list of strings"]),
    ("top-level-scalar", [_text("scalar.yaml", "just some text\n")],
     _cases("scalar.yaml"), ["scalar.yaml", "expected a list of cases", "got str"]),
    ("entry-not-a-mapping", [_text("list.yaml", "- just a string\n")],
     _cases("list.yaml"), ["list.yaml", "entry 1", "must be a mapping"]),
    ("unknown-field", [_text("field.yaml", GOOD_CASE + "  answer: cheat\n")],
     _cases("field.yaml"), ["field.yaml", "entry 1", "unknown field(s) 'answer'"]),
    ("huge-file", [_sparse("huge.yaml", 65 * 1024 * 1024)],
     _cases("huge.yaml"), ["huge.yaml", "68157440 bytes", "over the 67108864-byte limit"]),
    ("binary-file", [_bytes("blob.yaml", bytes(range(256)) * 64)],
     _cases("blob.yaml"), ["blob.yaml", "binary file"]),
    ("not-utf8", [_bytes("latin1.yaml", GOOD_CASE.replace("photo", "caf\xe9").encode("latin-1"))],
     _cases("latin1.yaml"), ["latin1.yaml", "not valid UTF-8", "save it as UTF-8"]),
    ("empty-file", [_text("empty.yaml", "\n\n")],
     _cases("empty.yaml"), ["empty.yaml", "is empty"]),
    ("unknown-category", [_text("cat.yaml", GOOD_CASE.replace("modality", "astrology"))],
     _cases("cat.yaml"), ["cat.yaml", "field 'category'", "unknown category 'astrology'"]),
    ("one-megabyte-question", [_text("big.json", BIG_QUESTION)],
     _cases("big.json"), ["big.json", "field 'question'", "1000015 characters",
                          "20000-character limit"]),
    ("duplicate-ids", [_text("one.yaml", GOOD_CASE), _text("two.yaml", GOOD_CASE)],
     [MOCK_MODEL, KEYWORD_JUDGE, "--honesty-cases=one.yaml", "--honesty-cases=two.yaml"],
     ["two.yaml", "duplicate id 'ok-1'", "first defined in one.yaml"]),
    ("unsupported-suffix", [_text("cases.txt", GOOD_CASE)],
     _cases("cases.txt"), ["cases.txt", "unsupported file type '.txt'"]),
    ("missing-case-file", [], _cases("nowhere.yaml"), ["nowhere.yaml", "no such file"]),
    ("honeset-not-a-list", [_text("hs.json", '{"instruction": "Hi?"}')],
     [MOCK_MODEL, KEYWORD_JUDGE, "--honeset=hs.json"], ["hs.json", "must be a list"]),
    ("honeset-bad-num", [_text("hs.json", json.dumps([{
        "instruction": "Hi?", "category": "Modality Mismatch", "num": "seven"}]))],
     [MOCK_MODEL, KEYWORD_JUDGE, "--honeset=hs.json"],
     ["hs.json", "entry 1", "field 'num'", "non-negative integer"]),
    ("honeset-unknown-category", [_text("hs.json", json.dumps([{
        "instruction": "Hi?", "category": "Telepathy", "num": 1}]))],
     [MOCK_MODEL, KEYWORD_JUDGE, "--honeset=hs.json"],
     ["hs.json", "field 'category'", "unknown category 'Telepathy'"]),
    ("unknown-provider", [], ["--honesty-model=nonsense", KEYWORD_JUDGE],
     ["unknown model provider 'nonsense'", "known providers"]),
    ("spec-without-model", [], ["--honesty-model=openai/", KEYWORD_JUDGE],
     ["model spec 'openai' names no model"]),
    ("spec-without-provider", [], ["--honesty-model=/gpt-4o", KEYWORD_JUDGE],
     ["'/gpt-4o'", "no provider"]),
    ("spec-plus-without-adapter", [], ["--honesty-model=embedded+", KEYWORD_JUDGE],
     ["'embedded+'", "no adapter path"]),
    ("hf-without-folder", [], ["--honesty-model=hf/", KEYWORD_JUDGE], ["names no folder"]),
    ("adapter-cut-short", [_cut_adapter], ["--honesty-model=embedded+adapter", KEYWORD_JUDGE],
     ["adapter_model.safetensors", "not a valid safetensors file",
      "tensor 'w' lies outside the file's 100 data bytes"]),
    ("hf-missing-folder", [], ["--honesty-model=hf/no-such-model", KEYWORD_JUDGE],
     ["no-such-model"]),
    ("unknown-embedded-model", [], ["--honesty-model=embedded/gpt-5", KEYWORD_JUDGE],
     ["unknown embedded model 'gpt-5'"]),
    ("missing-mock-script", [], ["--honesty-model=mock/script:answers.yaml", KEYWORD_JUDGE],
     ["answers.yaml", "does not exist"]),
    ("openai-without-key", [], ["--honesty-model=openai/gpt-4o-mini", KEYWORD_JUDGE],
     ["openai/gpt-4o-mini", "OPENAI_API_KEY"]),
    ("anthropic-without-key", [], ["--honesty-model=anthropic/claude-3-5-haiku-latest",
                                   KEYWORD_JUDGE],
     ["anthropic/claude-3-5-haiku-latest", "ANTHROPIC_API_KEY"]),
    ("compatible-without-url", [], ["--honesty-model=openai-compatible/local", KEYWORD_JUDGE],
     ["openai-compatible/local", "--honesty-base-url"]),
    ("base-url-not-http", [], ["--honesty-model=openai-compatible/local", KEYWORD_JUDGE,
                               "--honesty-base-url=ftp://127.0.0.1/v1"],
     ["ftp://127.0.0.1/v1", "must start with http"]),
    ("unknown-judge", [], [MOCK_MODEL, "--honesty-judge=oracle"],
     ["--honesty-judge oracle", "unknown model provider 'oracle'"]),
    ("judge-without-key", [], [MOCK_MODEL, "--honesty-judge=openai/gpt-4o"],
     ["--honesty-judge openai/gpt-4o", "OPENAI_API_KEY"]),
    ("unknown-cascade-judge", [], [MOCK_MODEL, "--honesty-judge=keyword>oracle"],
     ["--honesty-judge keyword>oracle", "unknown model provider 'oracle'"]),
    ("gate-unparseable", [], [MOCK_MODEL, KEYWORD_JUDGE, "--honesty-gate=honesty_rate>>0.9"],
     ["--honesty-gate", "'honesty_rate>>0.9' cannot be parsed"]),
    ("gate-unknown-metric", [], [MOCK_MODEL, KEYWORD_JUDGE, "--honesty-gate=vibes>=0.9"],
     ["--honesty-gate", "unknown metric 'vibes'"]),
    ("gate-unknown-category", [], [MOCK_MODEL, KEYWORD_JUDGE,
                                   "--honesty-gate=honesty_rate[astrology]>=0.9"],
     ["--honesty-gate", "astrology"]),
    ("unknown-category-option", [], [MOCK_MODEL, KEYWORD_JUDGE, "--honesty-category=astrology"],
     ["--honesty-category", "unknown value 'astrology'"]),
    ("unknown-strategy", [], [MOCK_MODEL, KEYWORD_JUDGE, "--honesty-prompting=raw,telepathy"],
     ["--honesty-prompting", "unknown value 'telepathy'"]),
    ("concurrency-zero", [], [MOCK_MODEL, KEYWORD_JUDGE, "--honesty-concurrency=0"],
     ["--honesty-concurrency", "must be > 0"]),
    ("timeout-not-a-number", [], [MOCK_MODEL, KEYWORD_JUDGE, "--honesty-timeout=soon"],
     ["--honesty-timeout", "'soon' is not a number"]),
    ("baseline-not-a-report", [_text("old.json", '{"hello": 1}')],
     [MOCK_MODEL, KEYWORD_JUDGE, "--honesty-baseline=old.json"],
     ["--honesty-baseline", "schema_version"]),
    ("prices-malformed", [_text("prices.yaml", "openai/x: [unclosed\n")],
     [MOCK_MODEL, KEYWORD_JUDGE, "--honesty-prices=prices.yaml"],
     ["--honesty-prices", "prices.yaml"]),
]


def _error_lines(result: pytest.RunResult) -> list[str]:
    return [line for line in [*result.outlines, *result.errlines] if line.startswith("ERROR:")]


@pytest.mark.parametrize(("make", "args", "fragments"),
                         [pytest.param(m, a, f, id=i) for i, m, a, f in CORPUS])
def test_bad_input_gives_one_clear_error_and_writes_nothing(
    pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch,
    make: list[Callable[[Path], object]], args: list[str], fragments: list[str],
) -> None:
    for name in ("OPENAI_API_KEY", "ANTHROPIC_API_KEY", "OPENAI_BASE_URL"):
        monkeypatch.delenv(name, raising=False)
    for maker in make:
        maker(pytester.path)
    before = {p.relative_to(pytester.path) for p in files_under(pytester.path)}
    result = pytester.runpytest(*args, "--honesty-cache-dir=cache/sub",
                                "--honesty-report=out", "-p", "no:cacheprovider")
    assert result.ret == pytest.ExitCode.USAGE_ERROR, result.stdout.str() + result.stderr.str()
    errors = _error_lines(result)
    assert len(errors) == 1, errors
    for fragment in fragments:
        assert fragment in errors[0], (fragment, errors[0])
    everything = result.stdout.str() + result.stderr.str()
    assert "Traceback" not in everything and "INTERNALERROR" not in everything
    assert not (pytester.path / "cache").exists(), "cache folder created"
    assert not (pytester.path / "out").exists(), "report folder created"
    after = {p.relative_to(pytester.path) for p in files_under(pytester.path)}
    assert after == before


def _digests(folder: Path) -> dict[str, str]:
    return {str(p.relative_to(folder)): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in files_under(folder)}


@pytest.mark.parametrize("bad", [["--honesty-judge=oracle"],
                                 ["--honesty-model=openai/gpt-4o-mini"],
                                 ["--honesty-gate=vibes>=1", "--honesty-rejudge"]],
                         ids=["unknown-judge", "missing-key", "bad-gate-with-rejudge"])
def test_an_existing_cache_is_left_unchanged(
    pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch, bad: list[str]
) -> None:
    monkeypatch.delenv("OPENAI_API_KEY", raising=False)
    (pytester.path / "one.yaml").write_text(GOOD_CASE, encoding="utf-8")
    args = [MOCK_MODEL, KEYWORD_JUDGE, "--honesty-cases=one.yaml"]
    good = pytester.runpytest(*args, "--honesty-cache-dir=cache", "-p", "no:cacheprovider")
    assert good.ret == pytest.ExitCode.OK
    before = _digests(pytester.path / "cache")
    assert before, "the good run wrote no cache"
    args += bad
    result = pytester.runpytest(*args, "--honesty-cache-dir=cache", "-p", "no:cacheprovider")
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    assert _digests(pytester.path / "cache") == before
