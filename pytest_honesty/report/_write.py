"""Write a report's files (JSON, Markdown, HTML) and the CI job summary."""

from __future__ import annotations

import os
from pathlib import Path

from ._html import render_html
from ._io import atomic_write_text, report_json
from ._markdown import render_markdown
from ._model import RunReport

__all__ = ["STEP_SUMMARY_ENV", "append_step_summary", "write_reports"]

STEP_SUMMARY_ENV = "GITHUB_STEP_SUMMARY"


def write_reports(report: RunReport, report_dir: Path | str) -> list[Path]:
    """``report.json``, ``report.md`` and ``report.html`` in ``report_dir``, each written
    atomically; the JSON goes last so that its presence means the set is complete."""
    folder = Path(report_dir)
    return [
        atomic_write_text(folder / "report.md", render_markdown(report)),
        atomic_write_text(folder / "report.html", render_html(report)),
        atomic_write_text(folder / "report.json", report_json(report)),
    ]


def append_step_summary(report: RunReport, path: str | None = None) -> Path | None:
    """Append the Markdown report to ``$GITHUB_STEP_SUMMARY`` when it is set."""
    target = path if path is not None else os.environ.get(STEP_SUMMARY_ENV)
    if not target:
        return None
    with open(target, "a", encoding="utf-8") as handle:
        handle.write(render_markdown(report))
    return Path(target)
