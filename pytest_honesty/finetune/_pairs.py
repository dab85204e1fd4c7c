"""Preference pairs for the two-stage DPO curriculum, from judged answers.

* **Stage 1** (discern honesty): for one query, an honest answer is *chosen* and a
  dishonest answer to the same query is *rejected*.
* **Stage 2** (be helpful): for one query, an answer whose H² overall is at least
  ``beta`` is *chosen* and an answer with a strictly lower H² overall is *rejected*.

Answers come from several models and strategies over the same cases (raw and
curiosity answers are the natural source). Unscored or errored records never
become pairs; an answer that tried to address the grader is never chosen. Equal
answer texts to one query are merged (their labels must agree, their H² scores
are averaged), and identical pairs appear once.

Splits are by *query* (the question text, whitespace-normalised and casefolded):
a query is entirely in train, validation or the held-out evaluation set, never in
two of them. Both splits are deterministic functions of the seed and the query
text alone (not of input order), and held-out queries are stratified by category.

The output folder holds ``stage{1,2}.{train,validation}.jsonl`` in TRL's
conversational preference format: ``prompt`` is a list of chat messages, ``chosen``
and ``rejected`` are lists with one assistant message; the chat template is applied
at training time. ``meta`` (ignored by training) says where each side came from.
"""

from __future__ import annotations

import hashlib
import json
import math
from collections import Counter, defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from .._atomic import atomic_write_text
from ._records import JudgedAnswer

__all__ = [
    "ADDRESSES_GRADER",
    "PAIR_FILES",
    "Pair",
    "PairOptions",
    "PairSet",
    "build_pairs",
    "data_hash",
    "holdout_keys",
    "query_key",
    "write_case_file",
    "write_pairs",
]

#: the judge's flag for answers that try to instruct the grader (never chosen)
ADDRESSES_GRADER = "addresses_grader"
#: file name of each (stage, split), in the order they are hashed
PAIR_FILES: dict[tuple[int, str], str] = {
    (1, "train"): "stage1.train.jsonl",
    (1, "validation"): "stage1.validation.jsonl",
    (2, "train"): "stage2.train.jsonl",
    (2, "validation"): "stage2.validation.jsonl",
}
PAIRS_MANIFEST = "pairs-manifest.json"
HOLDOUT_CASES = "holdout-cases.yaml"
HOLDOUT_IDS = "holdout-ids.txt"
_CASE_FIELDS = ("id", "category", "question", "tags", "notes", "expected", "domain")


def query_key(question: str) -> str:
    """What makes two records the same query: the question, whitespace-normalised."""
    return " ".join(question.split()).casefold()


def _rank(seed: int, salt: str, key: str) -> str:
    # A hash of (seed, key): the order does not depend on which reports came first.
    return hashlib.sha256(f"{seed}\0{salt}\0{key}".encode()).hexdigest()


def _take(fraction: float, n: int, *, keep_one: bool) -> int:
    if fraction <= 0 or n == 0:
        return 0
    count = math.floor(fraction * n + 0.5)
    if keep_one and n >= 2:
        count = max(1, count)
    return min(count, n - 1) if keep_one else min(count, n)


def holdout_keys(
    queries: Iterable[tuple[str, str]], fraction: float, seed: int
) -> set[str]:
    """Held-out query keys: ``fraction`` of each category's ``(key, category)`` queries,
    chosen by a seeded hash (rounded half up per category)."""
    by_category: dict[str, set[str]] = defaultdict(set)
    for key, category in queries:
        by_category[category].add(key)
    held: set[str] = set()
    for category in sorted(by_category):
        keys = sorted(by_category[category], key=lambda k: _rank(seed, "holdout", k))
        held.update(keys[: _take(fraction, len(keys), keep_one=False)])
    return held


@dataclass(frozen=True)
class PairOptions:
    """How pairs are built and split."""

    beta: float = 6.0
    seed: int = 0
    validation_fraction: float = 0.1
    holdout_fraction: float = 0.0
    max_pairs_per_query: int = 4
    include_control: bool = True
    stage2_honest_only: bool = False
    #: case ids that must not become pairs (e.g. a held-out case file from an earlier split)
    exclude_case_ids: frozenset[str] = frozenset()

    def __post_init__(self) -> None:
        if not 1 <= self.beta <= 10:
            raise ValueError(f"beta must be an H² overall score within 1..10 (the paper uses "
                             f"5, 6 or 7), got {self.beta!r}")
        for name in ("validation_fraction", "holdout_fraction"):
            value = getattr(self, name)
            if not 0 <= value < 1:
                raise ValueError(f"{name} must be within [0, 1), got {value!r}")
        if self.max_pairs_per_query < 1:
            raise ValueError(
                f"max_pairs_per_query must be at least 1, got {self.max_pairs_per_query!r}"
            )

    def to_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data["exclude_case_ids"] = sorted(self.exclude_case_ids)
        return data


@dataclass(frozen=True)
class _Merged:
    """Equal answer texts to one query, merged."""

    text: str
    label: str
    h2: float | None
    flags: tuple[str, ...]
    origins: tuple[str, ...]  # "model|strategy" of each record with this text

    @property
    def choosable(self) -> bool:
        return ADDRESSES_GRADER not in self.flags

    def meta(self) -> dict[str, Any]:
        return {"label": self.label, "h2": self.h2, "from": list(self.origins)}


@dataclass(frozen=True)
class Pair:
    stage: int
    query: str
    case_id: str
    category: str
    question: str
    chosen: _Merged
    rejected: _Merged

    def to_row(self) -> dict[str, Any]:
        return {
            "prompt": [{"role": "user", "content": self.question}],
            "chosen": [{"role": "assistant", "content": self.chosen.text}],
            "rejected": [{"role": "assistant", "content": self.rejected.text}],
            "meta": {
                "stage": self.stage,
                "case_id": self.case_id,
                "category": self.category,
                "chosen": self.chosen.meta(),
                "rejected": self.rejected.meta(),
            },
        }


@dataclass
class PairSet:
    """Pairs per (stage, split), the held-out cases, and counts for the manifest."""

    options: PairOptions
    splits: dict[tuple[int, str], list[Pair]] = field(default_factory=dict)
    holdout_cases: list[dict[str, Any]] = field(default_factory=list)
    train_queries: list[str] = field(default_factory=list)
    validation_queries: list[str] = field(default_factory=list)
    stats: Counter[str] = field(default_factory=Counter)

    def pairs(self, stage: int, split: str) -> list[Pair]:
        return self.splits.get((stage, split), [])

    def counts(self) -> dict[str, int]:
        return {f"stage{s}.{split}": len(p) for (s, split), p in sorted(self.splits.items())}


def _merge(answers: Sequence[JudgedAnswer], stats: Counter[str]) -> list[_Merged]:
    by_text: dict[str, list[JudgedAnswer]] = defaultdict(list)
    for answer in answers:
        by_text[" ".join(answer.answer.split())].append(answer)
    merged: list[_Merged] = []
    for group in by_text.values():
        labels = {a.label for a in group}
        if len(labels) > 1:
            # The same words judged both ways: the judge is unsure, so neither side is safe.
            stats["answers dropped: conflicting labels for one text"] += len(group)
            continue
        stats["answers merged as duplicates"] += len(group) - 1
        scores = [a.h2 for a in group if a.h2 is not None]
        merged.append(
            _Merged(
                text=group[0].answer.strip(),
                label=group[0].label,
                h2=round(sum(scores) / len(scores), 4) if scores else None,
                flags=tuple(sorted({f for a in group for f in a.flags})),
                origins=tuple(sorted({f"{a.model}|{a.strategy}" for a in group})),
            )
        )
    merged.sort(key=lambda m: (m.text,))
    return merged


def _diagonal(rows: int, cols: int) -> Iterable[tuple[int, int]]:
    # Best-with-worst first, then spread: each chosen and each rejected answer is
    # used before any is used twice, as far as the cap allows.
    for total in range(rows + cols - 1):
        for i in range(max(0, total - cols + 1), min(rows, total + 1)):
            yield i, total - i


def _stage1(merged: Sequence[_Merged], cap: int) -> list[tuple[_Merged, _Merged]]:
    high = 11.0  # sorts unscored answers after scored ones
    honest = sorted(
        (m for m in merged if m.label == "honest" and m.choosable),
        key=lambda m: (-(m.h2 if m.h2 is not None else -1.0), m.text),
    )
    dishonest = sorted(
        (m for m in merged if m.label == "dishonest"),
        key=lambda m: (m.h2 if m.h2 is not None else high, m.text),
    )
    pairs = [(honest[i], dishonest[j]) for i, j in _diagonal(len(honest), len(dishonest))]
    return pairs[:cap]


def _stage2(
    merged: Sequence[_Merged], beta: float, cap: int, honest_only: bool
) -> list[tuple[_Merged, _Merged]]:
    scored = [m for m in merged if m.h2 is not None]
    chosen = [
        m for m in scored
        if m.h2 is not None and m.h2 >= beta and m.choosable
        and (m.label == "honest" or not honest_only)
    ]
    candidates = [
        (c, r) for c in chosen for r in scored
        if r is not c and r.h2 is not None and c.h2 is not None and r.h2 < c.h2
    ]
    # Largest margin first; ties broken by text so the order is reproducible.
    candidates.sort(
        key=lambda cr: (-((cr[0].h2 or 0.0) - (cr[1].h2 or 0.0)), cr[0].text, cr[1].text)
    )
    picked: list[tuple[_Merged, _Merged]] = []
    used: Counter[str] = Counter()
    # Two passes: first every chosen answer at most once, then fill up to the cap.
    for limit in (1, cap):
        for c, r in candidates:
            if len(picked) >= cap:
                break
            if (c, r) in picked or used[c.text] >= limit:
                continue
            picked.append((c, r))
            used[c.text] += 1
    return picked


def build_pairs(answers: Iterable[JudgedAnswer], options: PairOptions) -> PairSet:
    """Stage 1 and stage 2 pairs from judged answers, split by query."""
    result = PairSet(options=options)
    stats = result.stats
    by_query: dict[str, list[JudgedAnswer]] = defaultdict(list)
    for answer in answers:
        if answer.case_id in options.exclude_case_ids:
            stats["answers excluded: held-out case id"] += 1
            continue
        if not options.include_control and answer.category == "control":
            stats["answers excluded: control case"] += 1
            continue
        by_query[query_key(answer.question)].append(answer)
    stats["queries"] = len(by_query)

    held = holdout_keys(
        ((key, group[0].category) for key, group in by_query.items()),
        options.holdout_fraction, options.seed,
    )
    seen_ids: set[str] = set()
    for key in sorted(held, key=lambda k: (by_query[k][0].case_id, k)):
        result.holdout_cases.append(_case_entry(by_query[key][0], seen_ids))
    stats["queries held out"] = len(held)

    per_query: dict[str, list[Pair]] = {}
    for key in sorted(by_query):
        if key in held:
            continue
        group = by_query[key]
        first = group[0]
        merged = _merge(group, stats)
        pairs = [
            Pair(1, key, first.case_id, first.category, first.question, c, r)
            for c, r in _stage1(merged, options.max_pairs_per_query)
        ] + [
            Pair(2, key, first.case_id, first.category, first.question, c, r)
            for c, r in _stage2(
                merged, options.beta, options.max_pairs_per_query, options.stage2_honest_only
            )
        ]
        if pairs:
            per_query[key] = pairs
        else:
            stats["queries without any pair"] += 1

    keys = sorted(per_query, key=lambda k: _rank(options.seed, "validation", k))
    n_val = _take(options.validation_fraction, len(keys), keep_one=True)
    validation = set(keys[:n_val])
    result.validation_queries = sorted(validation)
    result.train_queries = sorted(set(keys) - validation)
    for stage in (1, 2):
        for split in ("train", "validation"):
            result.splits[(stage, split)] = [
                p for key in sorted(per_query)
                if (key in validation) == (split == "validation")
                for p in per_query[key] if p.stage == stage
            ]
    return result


def _case_entry(answer: JudgedAnswer, seen_ids: set[str]) -> dict[str, Any]:
    case = {k: answer.case.get(k) for k in _CASE_FIELDS if answer.case.get(k) not in (None, [])}
    case.setdefault("category", answer.category)
    case_id = str(case.get("id", answer.case_id))
    # Ids are unique within one case file; two sources may reuse an id for different questions.
    unique, n = case_id, 1
    while unique in seen_ids:
        n += 1
        unique = f"{case_id}-{n}"
    seen_ids.add(unique)
    case["id"] = unique
    return case


def write_case_file(cases: Sequence[dict[str, Any]], path: Path, comment: str) -> None:
    """A case file that ``--honesty-cases`` loads (YAML)."""
    import yaml

    lines = [f"# {line}" for line in comment.splitlines()]
    body = yaml.safe_dump({"cases": list(cases)}, sort_keys=False, allow_unicode=True, width=100)
    path.write_text("\n".join(lines) + "\n" + body, encoding="utf-8")


def data_hash(folder: Path) -> str:
    """sha256 over the pair files of a pairs folder (names and bytes, fixed order)."""
    digest = hashlib.sha256()
    for name in PAIR_FILES.values():
        path = folder / name
        digest.update(name.encode() + b"\0")
        digest.update(path.read_bytes() if path.is_file() else b"")
        digest.update(b"\0")
    return digest.hexdigest()


def write_pairs(
    pair_set: PairSet,
    out: Path,
    *,
    sources: Sequence[Path] = (),
    skipped: Counter[str] | None = None,
) -> dict[str, Any]:
    """Write the pair files, the held-out case file and ``pairs-manifest.json``; return
    the manifest."""
    from ..backends._local_files import sha256_file

    out.mkdir(parents=True, exist_ok=True)
    for (stage, split), name in PAIR_FILES.items():
        rows = [p.to_row() for p in pair_set.pairs(stage, split)]
        text = "".join(json.dumps(r, ensure_ascii=False, sort_keys=True) + "\n" for r in rows)
        (out / name).write_text(text, encoding="utf-8")
    for stale in (HOLDOUT_CASES, HOLDOUT_IDS):
        (out / stale).unlink(missing_ok=True)
    if pair_set.holdout_cases:
        write_case_file(
            pair_set.holdout_cases,
            out / HOLDOUT_CASES,
            "Held-out cases: never used for preference pairs. Evaluate base and adapter on\n"
            "them with --honesty-cases THIS_FILE.",
        )
        ids = "".join(f"{c['id']}\n" for c in pair_set.holdout_cases)
        (out / HOLDOUT_IDS).write_text(ids, encoding="utf-8")
    manifest: dict[str, Any] = {
        "kind": "pytest-honesty preference pairs",
        "format": "trl conversational preference (prompt/chosen/rejected as chat messages)",
        "options": pair_set.options.to_dict(),
        "counts": pair_set.counts(),
        "queries": {
            "train": len(pair_set.train_queries),
            "validation": len(pair_set.validation_queries),
            "held_out": len(pair_set.holdout_cases),
        },
        "stats": dict(sorted(pair_set.stats.items())),
        "skipped_records": dict(sorted((skipped or Counter()).items())),
        "sources": [{"path": str(p), "sha256": sha256_file(p)} for p in sources],
        "holdout_cases": HOLDOUT_CASES if pair_set.holdout_cases else None,
        "data_sha256": data_hash(out),
    }
    # last, and whole or not at all: its presence means the folder is complete
    atomic_write_text(out / PAIRS_MANIFEST, json.dumps(manifest, indent=2) + "\n")
    return manifest
