"""Reading and writing run reports: atomic writes, JSON load, schema validation."""

from __future__ import annotations

import importlib
import json
from importlib import resources
from pathlib import Path
from typing import Any

from .._atomic import atomic_write_text
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
