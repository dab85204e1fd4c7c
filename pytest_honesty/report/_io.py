"""Reading and writing run reports: atomic writes, JSON load, schema validation."""

from __future__ import annotations

import contextlib
import importlib
import json
import os
import tempfile
from importlib import resources
from pathlib import Path
from typing import Any

from ._model import SCHEMA_VERSION, ReportFormatError, RunReport

__all__ = [
    "SCHEMA_FILE",
    "atomic_write_text",
    "load_report",
    "load_schema",
    "report_json",
    "schema_text",
    "validate_report_dict",
    "write_json",
]

SCHEMA_FILE = f"run-report.v{SCHEMA_VERSION}.json"


def _umask() -> int:
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


def atomic_write_text(path: Path | str, text: str) -> Path:
    """Write ``text`` to ``path`` through a temporary file in the same folder and
    ``os.replace``: a reader sees the old file or the new one, never half of one."""
    target = Path(path)
    target.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=target.parent, prefix=f".{target.name}.", suffix=".tmp")
    try:
        # mkstemp creates 0600; a report is meant to be shared, so use the usual umask
        os.chmod(tmp, 0o666 & ~_umask())
        with os.fdopen(fd, "w", encoding="utf-8", newline="\n") as handle:
            handle.write(text)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, target)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise
    return target


def report_json(report: RunReport) -> str:
    return json.dumps(report.to_dict(), indent=2, ensure_ascii=False, allow_nan=False) + "\n"


def write_json(report: RunReport, path: Path | str) -> Path:
    return atomic_write_text(path, report_json(report))


def load_report(path: Path | str) -> RunReport:
    """Read a run report; :class:`ReportFormatError` says which file and what is wrong."""
    source = Path(path)
    try:
        data: Any = json.loads(source.read_text(encoding="utf-8"))
    except OSError as exc:
        raise ReportFormatError(f"cannot read run report {source}: {exc.strerror or exc}") from None
    except json.JSONDecodeError as exc:
        raise ReportFormatError(f"{source} is not a JSON run report: {exc}") from None
    try:
        return RunReport.from_dict(data)
    except ReportFormatError as exc:
        raise ReportFormatError(f"{source}: {exc}") from None


def schema_text() -> str:
    return (resources.files(__package__) / "schema" / SCHEMA_FILE).read_text(encoding="utf-8")


def load_schema() -> dict[str, Any]:
    """The published JSON Schema of the run report."""
    schema: dict[str, Any] = json.loads(schema_text())
    return schema


def validate_report_dict(data: Any) -> list[str]:
    """Problems found by validating ``data`` against the JSON Schema (needs the optional
    ``jsonschema`` package; raises ImportError without it). Empty when valid."""
    # imported by name: jsonschema ships no type stubs and is not a dependency
    jsonschema = importlib.import_module("jsonschema")
    validator = jsonschema.Draft202012Validator(load_schema())
    return [
        f"{'/'.join(str(p) for p in error.absolute_path) or '(root)'}: {error.message}"
        for error in sorted(validator.iter_errors(data), key=lambda e: list(e.absolute_path))
    ]
