"""The training budget of each stage, and the direct (one-stage) arm built from the same pairs.

The paper's claim is a comparison: the two-stage curriculum (stage 1 honest vs dishonest,
then stage 2 H²-ranked pairs on the merged stage-1 model) beats training once on both
stages' pairs ("direct"). For the comparison to be fair, the direct arm trains on exactly
the pairs the two stages trained on (after each stage's ``max_train_pairs`` cap), with the
same recipe, so it sees as many pairs for as many epochs: the same number of optimizer
steps, up to one partial batch.
"""

from __future__ import annotations

import json
import random
from pathlib import Path
from typing import Any

from .._atomic import atomic_write_text
from ._config import TrainConfig
from ._pairs import PAIR_FILES, PAIRS_MANIFEST, data_hash

__all__ = ["DIRECT", "capped_indices", "curriculum_of", "stage_seed", "write_direct_pairs"]

#: the pairs manifest's ``curriculum`` of a direct pairs folder
DIRECT = "direct"


def capped_indices(n: int, cap: int | None, seed: int) -> list[int]:
    """The rows (indices, in file order) a stage trains on: all of them, or a seeded
    sample of ``cap``; a pure function of ``n``, ``cap`` and ``seed``."""
    if cap is None or n <= cap:
        return list(range(n))
    return sorted(random.Random(f"{seed}:train-pairs").sample(range(n), cap))


def stage_seed(config: TrainConfig, stage: int) -> int:
    return int(config.stage_trainer_args(stage).get("seed", 0))


def _lines(path: Path) -> list[str]:
    return [line for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]


def curriculum_of(pairs_dir: Path) -> str:
    """``direct`` for a folder written by :func:`write_direct_pairs`, else ``two-stage``."""
    try:
        manifest = json.loads((pairs_dir / PAIRS_MANIFEST).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return "two-stage"
    return DIRECT if isinstance(manifest, dict) and manifest.get("curriculum") == DIRECT \
        else "two-stage"


def write_direct_pairs(pairs_dir: Path, out: Path, config: TrainConfig) -> dict[str, Any]:
    """A pairs folder for the direct arm: stage 1 holds both stages' training pairs (each
    stage capped as :func:`~._train.train` caps it) and both validation sets, stage 2
    nothing. Train it with the same recipe, ``max_train_pairs`` lifted (the caps are
    already applied). The manifest is written last: its presence means the folder is done."""
    train: list[str] = []
    validation: list[str] = []
    counts: dict[str, int] = {}
    for stage in (1, 2):
        rows = _lines(pairs_dir / PAIR_FILES[(stage, "train")])
        keep = capped_indices(len(rows), config.max_train_pairs, stage_seed(config, stage))
        train += [rows[i] for i in keep]
        validation += _lines(pairs_dir / PAIR_FILES[(stage, "validation")])
        counts[f"stage{stage}.train"] = len(keep)
    out.mkdir(parents=True, exist_ok=True)
    contents = {(1, "train"): train, (1, "validation"): validation,
                (2, "train"): [], (2, "validation"): []}
    for key, name in PAIR_FILES.items():
        atomic_write_text(out / name, "".join(line + "\n" for line in contents[key]))
    manifest = {
        "kind": "pytest-honesty preference pairs",
        "curriculum": DIRECT,
        "from": str(pairs_dir),
        "from_data_sha256": data_hash(pairs_dir),
        "counts": {"stage1.train": len(train), "stage1.validation": len(validation),
                   "stage2.train": 0, "stage2.validation": 0},
        "taken_from_two_stage": counts,
        "data_sha256": data_hash(out),
    }
    atomic_write_text(out / PAIRS_MANIFEST, json.dumps(manifest, indent=2) + "\n")
    return manifest
