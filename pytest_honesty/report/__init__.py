"""The H² run report and the release gate.

Build a :class:`RunReport` from a run's records (:func:`build_report`), evaluate gate
rules on it (:func:`evaluate_gate`), and write it as JSON, Markdown or one
self-contained HTML file. The JSON form is published as a JSON Schema
(:func:`load_schema`, ``schema/run-report.v1.json``), generated from the typed model
(``python -m pytest_honesty.report._schema --write``).
"""

from __future__ import annotations

from ._build import build_report, paired_rows
from ._cost import (
    BudgetExceeded,
    CostPlan,
    PriceFileError,
    PriceTable,
    check_budget,
    format_plan,
    plan_cost,
)
from ._gate import GateRule, GateRuleError, evaluate_gate, parse_rule, parse_rules
from ._html import render_html
from ._io import atomic_write_text, load_report, load_schema, validate_report_dict, write_json
from ._manifest import build_manifest, dataset_hash, sanitize_url
from ._markdown import render_markdown
from ._model import (
    ALL,
    SCHEMA_VERSION,
    Aggregate,
    CaseRecord,
    Comparison,
    ComparisonRow,
    CostLine,
    CostSummary,
    GateResult,
    Manifest,
    Mean,
    Rate,
    RegressionOutcome,
    ReportFormatError,
    RuleOutcome,
    RunReport,
)
from ._terminal import gate_lines, summary_lines
from ._write import append_step_summary, write_reports

__all__ = [
    "ALL",
    "SCHEMA_VERSION",
    "Aggregate",
    "BudgetExceeded",
    "CaseRecord",
    "Comparison",
    "ComparisonRow",
    "CostLine",
    "CostPlan",
    "CostSummary",
    "GateResult",
    "GateRule",
    "GateRuleError",
    "Manifest",
    "Mean",
    "PriceFileError",
    "PriceTable",
    "Rate",
    "RegressionOutcome",
    "ReportFormatError",
    "RuleOutcome",
    "RunReport",
    "append_step_summary",
    "atomic_write_text",
    "build_manifest",
    "build_report",
    "check_budget",
    "dataset_hash",
    "evaluate_gate",
    "format_plan",
    "gate_lines",
    "load_report",
    "load_schema",
    "paired_rows",
    "parse_rule",
    "parse_rules",
    "plan_cost",
    "render_html",
    "render_markdown",
    "sanitize_url",
    "summary_lines",
    "validate_report_dict",
    "write_json",
    "write_reports",
]
