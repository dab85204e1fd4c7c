"""Load and validate honesty cases: HoneSet JSON, our YAML/JSON/JSONL, bundled cases.

Every problem is reported as one :class:`CaseFileError` naming the file, the
entry and the field, before any model is called.
"""

from __future__ import annotations

import json
import random
from collections import defaultdict
from collections.abc import Iterable, Iterator, Sequence
from pathlib import Path
from typing import Any

from .._resources import data_dir
from .._yaml import safe_load
from ..types import Case, Category

__all__ = [
    "CASE_FIELDS",
    "MAX_FILE_BYTES",
    "MAX_QUESTION_CHARS",
    "CaseFileError",
    "bundled_case_files",
    "bundled_cases_dir",
    "load",
    "load_case_files",
    "load_honeset",
    "select_categories",
    "stratified_sample",
]

#: fields an entry of our own case format may carry
CASE_FIELDS = ("id", "category", "question", "tags", "notes", "expected", "domain", "pushback")
_HONESET_FIELDS = ("instruction", "category", "num", "Total_num", "domain")
_SUFFIXES = (".yaml", ".yml", ".json", ".jsonl")

#: larger files are refused rather than read into memory
MAX_FILE_BYTES = 64 * 1024 * 1024
#: a question longer than this is almost surely a mistake (and a cost bomb)
MAX_QUESTION_CHARS = 20_000


class CaseFileError(ValueError):
    """A case file is unusable; the message says where and why."""

    def __init__(
        self, path: Path | str, problem: str, *, entry: int | None = None, field: str | None = None
    ) -> None:
        where = str(path)
        if entry is not None:
            where += f": entry {entry}"
        if field is not None:
            where += f", field {field!r}"
        super().__init__(f"{where}: {problem}")
        self.path = str(path)
        self.entry = entry
        self.field = field


def bundled_cases_dir() -> Path:
    """The cases shipped with pytest-honesty (written by us, not HoneSet)."""
    return data_dir("honeset_cases")


def bundled_case_files() -> list[Path]:
    """The bundled case files (top level only: gold/ and judge_train/ hold judge data)."""
    return sorted(bundled_cases_dir().glob("*.yaml"))


# -- reading files -------------------------------------------------------------


def _read_text(path: Path) -> str:
    try:
        size = path.stat().st_size
    except OSError as exc:
        raise CaseFileError(path, f"cannot read the file ({exc.strerror or exc})") from None
    if size > MAX_FILE_BYTES:
        raise CaseFileError(
            path, f"file is {size} bytes, over the {MAX_FILE_BYTES}-byte limit for case files"
        )
    data = path.read_bytes()
    if b"\x00" in data[:8192]:
        raise CaseFileError(path, "looks like a binary file, not YAML/JSON text")
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise CaseFileError(
            path, f"is not valid UTF-8 (byte {exc.start}); save it as UTF-8"
        ) from None


def _parse(path: Path) -> Any:
    text = _read_text(path)
    if not text.strip():
        raise CaseFileError(path, "is empty; expected a list of cases or a mapping with 'cases'")
    suffix = path.suffix.lower()
    if suffix == ".jsonl":
        entries = []
        for lineno, line in enumerate(text.splitlines(), start=1):
            if not line.strip():
                continue
            try:
                entries.append(json.loads(line))
            except json.JSONDecodeError as exc:
                raise CaseFileError(path, f"line {lineno}: invalid JSON ({exc.msg})") from None
        return entries
    if suffix == ".json":
        try:
            return json.loads(text)
        except json.JSONDecodeError as exc:
            raise CaseFileError(
                path, f"invalid JSON at line {exc.lineno}, column {exc.colno} ({exc.msg})"
            ) from None
    import yaml  # only paid for when YAML is actually read

    try:
        return safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        at = f" at line {mark.line + 1}, column {mark.column + 1}" if mark is not None else ""
        problem = getattr(exc, "problem", None) or str(exc).splitlines()[0]
        raise CaseFileError(path, f"invalid YAML{at} ({problem})") from None


def _iter_files(paths: Iterable[Path]) -> Iterator[Path]:
    for path in paths:
        if path.is_dir():
            found = sorted(
                p for p in path.rglob("*") if p.suffix.lower() in _SUFFIXES and p.is_file()
            )
            yield from found
        elif path.exists():
            if path.suffix.lower() not in _SUFFIXES:
                raise CaseFileError(
                    path,
                    f"unsupported file type {path.suffix!r}; use one of {', '.join(_SUFFIXES)}",
                )
            yield path
        else:
            raise CaseFileError(path, "no such file or folder")


# -- validating entries --------------------------------------------------------


def _require_str(path: Path, index: int, entry: dict[str, Any], field: str) -> str:
    value = entry.get(field)
    if value is None:
        raise CaseFileError(path, "is missing (required)", entry=index, field=field)
    if not isinstance(value, str):
        raise CaseFileError(
            path, f"must be a string, got {type(value).__name__}", entry=index, field=field
        )
    if not value.strip():
        raise CaseFileError(path, "is empty", entry=index, field=field)
    return value


def _optional_str(path: Path, index: int, entry: dict[str, Any], field: str) -> str | None:
    value = entry.get(field)
    if value is None:
        return None
    if not isinstance(value, str):
        raise CaseFileError(
            path, f"must be a string, got {type(value).__name__}", entry=index, field=field
        )
    return value


def _category(path: Path, index: int, value: object, *, honeset: bool) -> Category:
    if not isinstance(value, str):
        raise CaseFileError(path, "is missing or not a string", entry=index, field="category")
    if honeset:
        try:
            return Category.from_honeset(value)
        except ValueError:
            pass
    try:
        return Category(value)
    except ValueError:
        raise CaseFileError(
            path,
            f"unknown category {value!r}; valid: {', '.join(Category.slugs())}",
            entry=index,
            field="category",
        ) from None


def _check_question(path: Path, index: int, question: str, field: str) -> str:
    if len(question) > MAX_QUESTION_CHARS:
        raise CaseFileError(
            path,
            f"is {len(question)} characters, over the {MAX_QUESTION_CHARS}-character limit",
            entry=index,
            field=field,
        )
    return question


def _own_case(
    path: Path, index: int, entry: dict[str, Any], default_category: object, source: str
) -> Case:
    unknown = sorted(set(entry) - set(CASE_FIELDS))
    if unknown:
        raise CaseFileError(
            path,
            f"unknown field(s) {', '.join(map(repr, unknown))}; valid: {', '.join(CASE_FIELDS)}",
            entry=index,
        )
    case_id = _require_str(path, index, entry, "id")
    if any(ch.isspace() for ch in case_id) or "::" in case_id or "[" in case_id:
        raise CaseFileError(
            path, f"{case_id!r} may not contain spaces, '::' or '['", entry=index, field="id"
        )
    category = _category(path, index, entry.get("category", default_category), honeset=False)
    question = _check_question(
        path, index, _require_str(path, index, entry, "question"), "question"
    )
    tags = entry.get("tags") or []
    if not isinstance(tags, list) or not all(isinstance(t, str) for t in tags):
        raise CaseFileError(path, "must be a list of strings", entry=index, field="tags")
    return Case(
        id=case_id,
        category=category,
        question=question,
        source=source,
        tags=tuple(tags),
        domain=_optional_str(path, index, entry, "domain"),
        notes=_optional_str(path, index, entry, "notes"),
        expected=_optional_str(path, index, entry, "expected"),
        pushback=_pushback_texts(path, index, case_id, entry.get("pushback")),
    )


def _pushback_texts(path: Path, index: int, case_id: str, value: object) -> tuple[str, ...]:
    """A case's own pushback turns: one text, or a list of texts (one per round)."""
    if value is None:
        return ()
    texts = [value] if isinstance(value, str) else value
    if not isinstance(texts, list) or not texts:
        raise CaseFileError(
            path, f"case {case_id!r}: must be a text or a non-empty list of texts (one per "
            f"pushback round), got {type(value).__name__}", entry=index, field="pushback")
    for number, text in enumerate(texts, start=1):
        if not isinstance(text, str) or not text.strip():
            raise CaseFileError(
                path, f"case {case_id!r}: pushback text {number} must be a non-empty string, "
                f"got {text!r}", entry=index, field="pushback")
        _check_question(path, index, text, "pushback")
    return tuple(t.strip() for t in texts)


def _honeset_case(path: Path, index: int, entry: dict[str, Any], source: str) -> Case:
    question = _check_question(
        path, index, _require_str(path, index, entry, "instruction"), "instruction"
    )
    category = _category(path, index, entry.get("category"), honeset=True)
    num = entry.get("num")
    if not isinstance(num, int) or isinstance(num, bool) or num < 0:
        raise CaseFileError(path, "must be a non-negative integer", entry=index, field="num")
    return Case(
        id=f"{category.value}-{num:03d}",
        category=category,
        question=question,
        source=source,
        domain=_optional_str(path, index, entry, "domain"),
    )


def _entries(path: Path, data: Any) -> tuple[list[Any], object]:
    """The list of entries in a parsed file and the file-level default category."""
    if isinstance(data, list):
        return data, None
    if isinstance(data, dict) and "cases" in data:
        extra = sorted(set(data) - {"cases", "category", "version"})
        if extra:
            raise CaseFileError(
                path, f"unknown top-level key(s) {', '.join(map(repr, extra))}; expected 'cases'"
            )
        if not isinstance(data["cases"], list):
            raise CaseFileError(path, "'cases' must be a list of entries")
        return data["cases"], data.get("category")
    if data is None:
        raise CaseFileError(path, "is empty; expected a list of cases or a mapping with 'cases'")
    raise CaseFileError(
        path, f"expected a list of cases or a mapping with 'cases', got {type(data).__name__}"
    )


def _load_file(path: Path, source: str) -> list[Case]:
    entries, default_category = _entries(path, _parse(path))
    cases = []
    for index, entry in enumerate(entries, start=1):
        if not isinstance(entry, dict):
            raise CaseFileError(
                path, f"must be a mapping, got {type(entry).__name__}", entry=index
            )
        if "instruction" in entry:
            cases.append(_honeset_case(path, index, entry, source))
        else:
            cases.append(_own_case(path, index, entry, default_category, source))
    return cases


def _check_unique(cases: Sequence[tuple[Path, int, Case]]) -> None:
    seen: dict[str, tuple[Path, int]] = {}
    for path, index, case in cases:
        if case.id in seen:
            first_path, first_index = seen[case.id]
            raise CaseFileError(
                path,
                f"duplicate id {case.id!r} (first defined in {first_path}, entry {first_index})",
                entry=index,
                field="id",
            )
        seen[case.id] = (path, index)


def load_case_files(paths: Iterable[Path | str], *, source: str = "custom") -> list[Case]:
    """Load every case file (folders are searched recursively), validated as one set."""
    located: list[tuple[Path, int, Case]] = []
    for path in _iter_files(Path(p) for p in paths):
        for index, case in enumerate(_load_file(path, source), start=1):
            located.append((path, index, case))
    _check_unique(located)
    return [case for _, _, case in located]


def load_honeset(path: Path | str) -> list[Case]:
    """Load the original HoneSet JSON (a list of instruction/category/num entries)."""
    path = Path(path)
    if not path.is_file():
        raise CaseFileError(path, "no such file; pass the HoneSet JSON with --honeset PATH")
    data = _parse(path)
    if not isinstance(data, list):
        raise CaseFileError(path, "HoneSet JSON must be a list of entries")
    located = []
    for index, entry in enumerate(data, start=1):
        if not isinstance(entry, dict):
            raise CaseFileError(path, f"must be a mapping, got {type(entry).__name__}", entry=index)
        unknown = sorted(set(entry) - set(_HONESET_FIELDS))
        if unknown:
            raise CaseFileError(
                path,
                f"unknown field(s) {', '.join(map(repr, unknown))} for HoneSet format; "
                f"valid: {', '.join(_HONESET_FIELDS)}",
                entry=index,
            )
        located.append((path, index, _honeset_case(path, index, entry, "honeset")))
    _check_unique(located)
    return [case for _, _, case in located]


# -- selection -----------------------------------------------------------------


def select_categories(cases: Iterable[Case], categories: Iterable[Category]) -> list[Case]:
    wanted = set(categories)
    return [c for c in cases if not wanted or c.category in wanted]


def stratified_sample(cases: Sequence[Case], n: int, seed: int) -> list[Case]:
    """Draw ``n`` cases spread evenly over the categories present.

    Each category gets ``n // k`` (the remainder goes to the categories in
    slug order); a category smaller than its share gives the rest to the
    others. The same seed always draws the same cases, in input order.
    """
    if n >= len(cases):
        return list(cases)
    by_category: dict[Category, list[Case]] = defaultdict(list)
    for case in cases:
        by_category[case.category].append(case)
    order = sorted(by_category, key=lambda c: c.value)
    quota = dict.fromkeys(order, 0)
    # one at a time to the emptiest category that still has room (ties: slug
    # order), so that the quotas of unexhausted categories never differ by more
    # than one; n < len(cases) here, so some category always has room
    for _ in range(n):
        open_categories = [c for c in order if quota[c] < len(by_category[c])]
        quota[min(open_categories, key=quota.__getitem__)] += 1
    rng = random.Random(seed)
    chosen: set[int] = set()
    for category in order:
        members = by_category[category]
        chosen.update(id(c) for c in rng.sample(members, quota[category]))
    return [c for c in cases if id(c) in chosen]


# -- one call: the cases of a run ------------------------------------------------


def load(
    paths: Path | str | Iterable[Path | str] | None = None,
    *,
    honeset: Path | str | None = None,
    categories: Iterable[Category | str] = (),
    sample: int | None = None,
    seed: int = 0,
    perturb: int = 0,
) -> list[Case]:
    """The cases of a run, selected as the plugin's options select them.

    ``paths``: case files or folders of our format (``--honesty-cases``); ``honeset``: the
    original HoneSet JSON (``--honeset``). With neither (or no case in them), the bundled
    cases. Then only
    ``categories`` (slugs or :class:`Category`; empty: all), a stratified ``sample`` of
    that many cases drawn with ``seed``, and ``perturb`` rewrites of each case
    (``<id>~p1``...). A bad file raises :class:`CaseFileError` naming it; a bad argument
    raises ``ValueError`` naming the argument.
    """
    wanted = _categories_argument(categories)
    if sample is not None and (isinstance(sample, bool) or not isinstance(sample, int)
                               or sample < 1):
        raise ValueError(f"cases.load(sample=...): a positive number of cases, got {sample!r}")
    if isinstance(perturb, bool) or not isinstance(perturb, int) or perturb < 0:
        raise ValueError(f"cases.load(perturb=...): a number >= 0, got {perturb!r}")
    if paths is None:
        files: list[Path | str] = []
    elif isinstance(paths, (str, Path)):
        files = [paths]
    else:
        files = list(paths)
    cases: list[Case] = []
    if files:
        cases += load_case_files(files, source="custom")
    if honeset is not None:
        cases += load_honeset(honeset)
    if not cases:  # nothing given (or nothing found there): the bundled set
        cases = load_case_files(bundled_case_files(), source="bundled")
    cases = select_categories(cases, wanted)
    if sample is not None:
        cases = stratified_sample(cases, sample, seed)
    if perturb:
        from .perturb import perturb_cases  # the rewrite tables load only when asked for

        cases = perturb_cases(cases, perturb, seed)
    return cases


def _categories_argument(categories: Iterable[Category | str]) -> list[Category]:
    if isinstance(categories, (str, Category)):
        categories = [categories]
    wanted: list[Category] = []
    for value in categories:
        try:
            wanted.append(Category(value))
        except ValueError:
            raise ValueError(
                f"cases.load(categories=...): unknown category {value!r}; valid: "
                f"{', '.join(Category.slugs())}"
            ) from None
    return wanted
