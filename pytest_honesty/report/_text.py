"""Markdown escaping shared by the writers (report.md, the pushback section, ``honesty
compare``): one table cell, and text inside a code span."""

from __future__ import annotations

import html
import re

__all__ = ["md_cell", "md_code"]

_MD_SPECIAL = re.compile(r"([\\`*_{}\[\]()#+!|~>-])")


def md_cell(text: object, limit: int = 160) -> str:
    """One table cell: whitespace folded, truncated, HTML- and Markdown-escaped."""
    value = " ".join(str(text).split())
    if len(value) > limit:
        value = value[: limit - 1] + "…"
    return _MD_SPECIAL.sub(r"\\\1", html.escape(value, quote=False))


def md_code(text: object, limit: int = 160) -> str:
    """Text for inside a `code span`: there neither backslash escapes nor HTML entities
    are decoded, so only backticks (which would end the span) and table pipes change."""
    value = " ".join(str(text).split())
    if len(value) > limit:
        value = value[: limit - 1] + "…"
    return value.replace("`", "'").replace("|", "\\|")
