"""Calibration files: a judge's measured quality, shown in every report.

A calibration file is what ``honesty calibrate --save FILE`` writes: the judge
spec, the (hashed) fingerprint of the judge it measured, when, with which
command, and one measure per gold set (balanced accuracy overall and per
category). Files shipped with the package live in ``pytest_honesty/judge/calibration/``
(``embedded.json`` for the embedded judge); users add theirs with
``--honesty-judge-calibration FILE``.

The report names the calibration that matches the judge in use: measured on
this very judge (same fingerprint), or, failing that, on another version of the
same spec (flagged as not current); no file means the judge was never calibrated,
which the report says as a warning.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Iterable, Mapping
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from ._model import GoldMeasure, JudgeCalibration

__all__ = [
    "SHIPPED_DIR",
    "CalibrationFileError",
    "find_calibration",
    "hash_fingerprint",
    "measure_from_summary",
    "read_calibration_file",
    "save_calibration",
]

#: calibration files shipped with the package (one per bundled judge)
SHIPPED_DIR = Path(__file__).resolve().parent.parent / "judge" / "calibration"


#: a fingerprint that already is a sha256 hex digest
_HEX64 = re.compile(r"^[0-9a-f]{64}$")


def hash_fingerprint(value: str) -> str:
    """A fingerprint as a sha256: kept when it already is one, hashed otherwise (a raw
    fingerprint may hold local paths, which do not belong in a shared report)."""
    if not value:
        return ""
    return value if _HEX64.match(value) else hashlib.sha256(value.encode("utf-8")).hexdigest()


class CalibrationFileError(ValueError):
    """A calibration file cannot be read; the message names the file and the problem."""


def read_calibration_file(path: Path) -> dict[str, Any]:
    """The file's JSON, checked for the fields a report needs."""
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise CalibrationFileError(f"{path}: cannot read it ({exc.strerror})") from None
    except ValueError as exc:
        raise CalibrationFileError(f"{path}: not valid JSON ({exc})") from None
    if not isinstance(data, dict):
        raise CalibrationFileError(f"{path}: expected a JSON object")
    for key in ("judge", "fingerprint", "measures"):
        if key not in data:
            raise CalibrationFileError(f"{path}: missing field {key!r}")
    if not isinstance(data["measures"], list) or not data["measures"]:
        raise CalibrationFileError(f"{path}: 'measures' must be a non-empty list")
    try:
        for measure in data["measures"]:
            GoldMeasure.from_dict(measure)
    except (KeyError, TypeError, ValueError) as exc:
        raise CalibrationFileError(f"{path}: a measure is malformed ({exc!r})") from None
    return data


def _calibration(data: Mapping[str, Any], source: str, current: bool) -> JudgeCalibration:
    return JudgeCalibration(
        judge=str(data["judge"]),
        fingerprint=str(data["fingerprint"]),
        current=current,
        source=source,
        measured_at=str(data.get("measured_at", "")),
        measures=tuple(GoldMeasure.from_dict(m) for m in data["measures"]),
    )


def _source(path: Path, data: Mapping[str, Any]) -> str:
    shipped = path.resolve().parent == SHIPPED_DIR
    where = f"shipped with pytest-honesty ({path.name})" if shipped else str(path)
    command = data.get("command")
    return f"{where}; measured with: {command}" if command else where


def find_calibration(
    judge_name: str, fingerprint: str, files: Iterable[Path] = (),
    *, shipped_dir: Path | None = None,
) -> JudgeCalibration | None:
    """The calibration of judge ``judge_name`` whose fingerprint (raw or hashed) is
    ``fingerprint``; else the newest one of the same spec, marked not current; else None.

    ``files`` (the user's, read first) must exist and be valid: a bad file given on
    purpose is an error, not a silent "never calibrated".
    """
    wanted = hash_fingerprint(fingerprint)
    folder = SHIPPED_DIR if shipped_dir is None else shipped_dir
    shipped = sorted(folder.glob("*.json")) if folder.is_dir() else []
    same_spec: list[tuple[str, Path, dict[str, Any]]] = []
    for path in [*files, *shipped]:
        data = read_calibration_file(Path(path))
        if str(data["judge"]) != judge_name:
            continue
        if wanted and hash_fingerprint(str(data["fingerprint"])) == wanted:
            return _calibration(data, _source(Path(path), data), current=True)
        same_spec.append((str(data.get("measured_at", "")), Path(path), data))
    if not same_spec:
        return None
    _, path, data = max(same_spec, key=lambda item: item[0])
    return _calibration(data, _source(path, data), current=False)


def measure_from_summary(summary: Mapping[str, Any], *, kind: str) -> dict[str, Any]:
    """One gold measure from ``honesty calibrate``'s summary."""
    overall = summary["overall"]
    return {
        "gold": str(summary["gold"]),
        "kind": kind,
        "n": int(overall["n"]),
        "unscored": int(overall["unscored"]),
        "balanced_accuracy": overall["balanced_accuracy"],
        "accuracy": overall["accuracy"],
        "categories": {c: m["balanced_accuracy"] for c, m in summary["categories"].items()},
        "metrics": {"cohen_kappa": overall["cohen_kappa"],
                    "accuracy_all": overall["accuracy_all"],
                    **_ranking_metrics(summary.get("h2_ranking") or {})},
    }


def _ranking_metrics(ranking: Mapping[str, Any]) -> dict[str, float | None]:
    """H² ranking figures worth showing next to the judge (absent when not measured)."""
    out: dict[str, float | None] = {}
    if ranking.get("spearman") is not None:
        out["h2_spearman"] = ranking["spearman"]
    if ranking.get("same_question_agreement") is not None:
        out["h2_same_question_agreement"] = ranking["same_question_agreement"]
    return out


def save_calibration(
    path: Path, summary: Mapping[str, Any], *, kind: str, command: str,
    now: datetime | None = None,
) -> dict[str, Any]:
    """Write (or update) the calibration file ``path`` from a calibrate summary.

    A measure on the same gold file replaces the earlier one; measures on other gold
    sets are kept while the judge's fingerprint is unchanged (a changed judge starts
    a fresh file: old figures say nothing about it)."""
    fingerprint = hash_fingerprint(str(summary["fingerprint"]))
    measure = measure_from_summary(summary, kind=kind)
    measures: list[dict[str, Any]] = []
    if path.exists():
        old = read_calibration_file(path)
        if old["judge"] == summary["judge"] and old["fingerprint"] == fingerprint:
            measures = [m for m in old["measures"] if m.get("gold") != measure["gold"]]
    stamp = (now or datetime.now(timezone.utc)).isoformat(timespec="seconds")
    data = {
        "judge": str(summary["judge"]),
        "fingerprint": fingerprint,
        "measured_at": stamp,
        "command": command,
        "measures": [*measures, measure],
    }
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(data, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    return data
