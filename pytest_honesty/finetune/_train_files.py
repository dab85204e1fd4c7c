"""The files of one training run: the output folder's layout, the resumable state
(``train-state.json``, checked against the run being resumed), the pairs read back, and
:class:`TrainError`."""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from .._atomic import atomic_write_text
from ._config import TrainConfig

__all__ = [
    "STATE_FILE",
    "Layout",
    "TrainError",
    "check_start",
    "config_hash",
    "load_state",
    "read_rows",
    "save_state",
]

STATE_FILE = "train-state.json"


class TrainError(RuntimeError):
    """Training cannot start or continue; the message says why and what to do."""


def read_rows(path: Path) -> list[dict[str, Any]]:
    rows: list[dict[str, Any]] = []
    if not path.is_file():
        return rows
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
        if not line.strip():
            continue
        try:
            row = json.loads(line)
            rows.append({k: row[k] for k in ("prompt", "chosen", "rejected")})
        except (ValueError, KeyError, TypeError) as exc:
            raise TrainError(
                f"{path}, line {number}: not a prompt/chosen/rejected pair ({exc}); rebuild the "
                "pairs with `honesty finetune pairs`"
            ) from None
    return rows


def config_hash(config: TrainConfig) -> str:
    data = config.to_dict()
    data.pop("source", None)
    data.pop("keep_merged_base", None)
    return hashlib.sha256(json.dumps(data, sort_keys=True).encode()).hexdigest()


@dataclass
class Layout:
    out: Path

    @property
    def stages(self) -> Path:
        return self.out / "stages"

    def stage(self, n: int) -> Path:
        return self.stages / f"stage{n}"

    def checkpoints(self, n: int) -> Path:
        return self.out / "checkpoints" / f"stage{n}"

    @property
    def merged(self) -> Path:
        return self.out / "work" / "stage1-merged"

    @property
    def state(self) -> Path:
        return self.out / STATE_FILE


def load_state(layout: Layout) -> dict[str, Any]:
    try:
        data = json.loads(layout.state.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    return data if isinstance(data, dict) else {}


def save_state(layout: Layout, state: dict[str, Any]) -> None:
    atomic_write_text(layout.state, json.dumps(state, indent=2) + "\n")


def check_start(layout: Layout, resume: bool, identity: dict[str, str]) -> dict[str, Any]:
    out = layout.out
    if not resume:
        if out.exists() and any(out.iterdir()):
            raise TrainError(
                f"output folder {out} is not empty. Pass --resume to continue the run it "
                "holds, or give a new --out folder."
            )
        return {**identity, "stages": {}}
    state = load_state(layout)
    if not state:
        if out.exists() and any(out.iterdir()):
            raise TrainError(
                f"--resume: {out} holds no {STATE_FILE}, so it was not written by "
                "`honesty finetune train`; give the folder of an interrupted run"
            )
        return {**identity, "stages": {}}
    for key, value in identity.items():
        if state.get(key) != value:
            raise TrainError(
                f"--resume: the {key.replace('_', ' ')} differs from the interrupted run in "
                f"{out} (was {str(state.get(key))[:16]}..., now {value[:16]}...). Resuming "
                "would mix two trainings; start a new --out folder instead."
            )
    state.setdefault("stages", {})
    return state
