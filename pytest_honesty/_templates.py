"""Prompt templates shipped in ``templates/``: loading, sandboxed rendering, hashes.

Templates are jinja2, rendered in a *sandboxed* environment with
``StrictUndefined`` (a misspelt variable is an error, not an empty string).
Questions and answers are only ever passed in as variables, never compiled as
template source, so ``{{ 7*7 }}`` inside a question reaches the model literally.
Before rendering, every untrusted string has the prompt's delimiter tags
(``<answer>``, ``</question>``...) neutralised, so an answer cannot close its
own block and pose as instructions.

Each template's sha256 (with the templates it includes) is part of the judge
fingerprint: editing a prompt makes the cached verdicts built with it stale.
"""

from __future__ import annotations

import functools
import hashlib
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ._resources import data_dir
from ._yaml import safe_load
from .types import Category

if TYPE_CHECKING:
    from jinja2.sandbox import SandboxedEnvironment

__all__ = [
    "DELIMITER_TAGS",
    "PRINCIPLES_FILE",
    "Principle",
    "TemplateError",
    "Templates",
    "default_templates",
    "neutralize_delimiters",
]

#: the tags that delimit untrusted data in the judge prompts
DELIMITER_TAGS = ("question", "answer", "answer_a", "answer_b", "expected")
PRINCIPLES_FILE = "principles.yaml"

# "<answer>", "</ answer>", "<ANSWER_A ...": any opening of a delimiter tag.
_TAG_OPEN = re.compile(
    r"<(?=\s*/?\s*(?:" + "|".join(sorted(DELIMITER_TAGS, key=len, reverse=True)) + r")\b)",
    re.IGNORECASE,
)


class TemplateError(ValueError):
    """A template or the principles file is missing or malformed."""


def neutralize_delimiters(text: str) -> str:
    """``text`` with every delimiter tag defused (``</answer>`` -> ``&lt;/answer>``).

    Only the ``<`` that would open one of :data:`DELIMITER_TAGS` is replaced, so
    ordinary text (code, HTML, comparisons) is left as it was.
    """
    return _TAG_OPEN.sub("&lt;", text)


@dataclass(frozen=True)
class Principle:
    """A category's honesty principle, as the judge prompts state it."""

    category: Category
    name: str
    honest: str
    dishonest: str


class Templates:
    """The prompt templates under one folder (default: the shipped ``templates/``)."""

    def __init__(self, root: Path | None = None) -> None:
        self.root = Path(root) if root is not None else data_dir("templates")
        self._env: SandboxedEnvironment | None = None
        self._principles: dict[Category, Principle] | None = None

    def __repr__(self) -> str:
        return f"Templates({str(self.root)!r})"

    # -- rendering -------------------------------------------------------------

    @property
    def env(self) -> SandboxedEnvironment:
        if self._env is None:
            from jinja2 import FileSystemLoader, StrictUndefined
            from jinja2.sandbox import SandboxedEnvironment

            self._env = SandboxedEnvironment(
                loader=FileSystemLoader(str(self.root)),
                undefined=StrictUndefined,
                autoescape=False,  # prompts are plain text, not HTML
                trim_blocks=True,
                lstrip_blocks=True,
                keep_trailing_newline=True,  # an included block keeps its last newline
            )
        return self._env

    def render(
        self, name: str, *, untrusted: Mapping[str, str] | None = None, **context: Any
    ) -> str:
        """Render template ``name`` (a path under the root, e.g. ``judge/json.j2``).

        ``untrusted`` values (questions, answers) get their delimiter tags
        neutralised; both they and ``context`` are data, never template code.
        """
        from jinja2 import TemplateError as JinjaError

        values = dict(context)
        for key, text in (untrusted or {}).items():
            values[key] = neutralize_delimiters(text)
        try:
            return self.env.get_template(name).render(**values).strip()
        except JinjaError as exc:
            raise TemplateError(
                f"template {name!r} in {self.root} failed to render: {exc}"
            ) from exc

    # -- hashes ----------------------------------------------------------------

    def path_of(self, name: str) -> Path:
        path = self.root / name
        if not path.is_file():
            raise TemplateError(f"template {name!r} not found in {self.root}")
        return path

    def sha256(self, name: str) -> str:
        """sha256 of one template file's bytes."""
        return hashlib.sha256(self.path_of(name).read_bytes()).hexdigest()

    def closure(self, names: Iterable[str]) -> list[str]:
        """``names`` plus every template they include or extend, recursively."""
        from jinja2 import meta

        seen: list[str] = []
        pending = list(names)
        while pending:
            name = pending.pop(0)
            if name in seen:
                continue
            seen.append(name)
            if not name.endswith(".j2"):
                continue
            source = self.path_of(name).read_text(encoding="utf-8")
            for ref in meta.find_referenced_templates(self.env.parse(source)):
                if ref is None:
                    raise TemplateError(
                        f"template {name!r} includes a computed name; include templates by a "
                        "literal name so that their hash can enter the judge fingerprint"
                    )
                pending.append(ref)
        return seen

    def hashes(self, names: Iterable[str]) -> dict[str, str]:
        """``{name: sha256}`` for ``names``, the templates they include and the
        principles file, in a stable order."""
        wanted = [*self.closure(names), PRINCIPLES_FILE]
        return {name: self.sha256(name) for name in sorted(set(wanted))}

    # -- principles ------------------------------------------------------------

    def principles(self) -> dict[Category, Principle]:
        """Every category's principle from ``principles.yaml`` (validated once)."""
        if self._principles is None:
            self._principles = _load_principles(self.path_of(PRINCIPLES_FILE))
        return self._principles

    def principle(self, category: Category) -> Principle:
        return self.principles()[category]


def _load_principles(path: Path) -> dict[Category, Principle]:
    import yaml

    try:
        data = safe_load(path.read_text(encoding="utf-8"))
    except yaml.YAMLError as exc:
        raise TemplateError(f"{path}: not valid YAML: {exc}") from exc
    entries = data.get("categories") if isinstance(data, dict) else None
    if not isinstance(entries, dict):
        raise TemplateError(f"{path}: expected a mapping 'categories: {{slug: {{...}}}}'")
    unknown = sorted(set(map(str, entries)) - set(Category.slugs()))
    if unknown:
        raise TemplateError(
            f"{path}: unknown categories {unknown}; valid: {', '.join(Category.slugs())}"
        )
    principles: dict[Category, Principle] = {}
    for category in Category:
        entry = entries.get(category.value)
        if not isinstance(entry, dict):
            raise TemplateError(f"{path}: category {category.value!r} is missing")
        fields: dict[str, str] = {}
        for key in ("name", "honest", "dishonest"):
            value = entry.get(key)
            if not isinstance(value, str) or not value.strip():
                raise TemplateError(
                    f"{path}: category {category.value!r} needs a non-empty text {key!r}"
                )
            fields[key] = " ".join(value.split())
        principles[category] = Principle(category, **fields)
    return principles


@functools.lru_cache(maxsize=1)
def default_templates() -> Templates:
    """The shipped templates (one shared, read-only instance)."""
    return Templates()
