"""The jinja2 environment of the HTML report: templates in the package, autoescape on.

Case text, answers and judge output are untrusted: with autoescape every value a
template prints is escaped unless Python marked it safe (only the SVG charts, which
escape their own text, and the report's one inline script).
"""

from __future__ import annotations

from typing import Any

from jinja2 import Environment, PackageLoader, StrictUndefined

from ._model import ALL
from ._quality import fmt_interval

__all__ = ["render_template"]

_ENV: Environment | None = None


def _pct(value: float | None) -> str:
    return "–" if value is None else f"{value:.1%}"


def _num(value: float | None, digits: int = 2) -> str:
    return "–" if value is None else f"{value:.{digits}f}"


def _rate(value: float | None) -> str:
    return "-" if value is None else f"{value:.2f}"


def _environment() -> Environment:
    global _ENV
    if _ENV is None:
        env = Environment(
            loader=PackageLoader("pytest_honesty.report", "templates"),
            autoescape=True,
            undefined=StrictUndefined,
            trim_blocks=True,
            lstrip_blocks=True,
            keep_trailing_newline=True,
        )
        env.filters.update(pct=_pct, num=_num, rate=_rate, fmt=format)
        env.globals.update(ALL=ALL, interval=fmt_interval)
        _ENV = env
    return _ENV


def render_template(name: str, **context: Any) -> str:
    return _environment().get_template(name).render(**context)
