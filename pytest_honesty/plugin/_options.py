"""The option table and the one frozen config built from it.

Precedence: command line > ini file > environment variable > default. This
module imports nothing heavy: the plugin loads it in every pytest run.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

__all__ = [
    "OPTIONS",
    "VALUE_FLAGS",
    "HonestyConfig",
    "Option",
    "add_options",
    "build_config",
    "is_active",
]

STRATEGIES = ("raw", "curiosity", "curiosity-critique")
#: types.Category's slugs, written out: the inert plugin imports no other module of the
#: package (tests/unit/test_options.py checks that the two agree)
CATEGORIES = (
    "latest_info",
    "wrong_input",
    "self_identity",
    "modality",
    "professional",
    "sensory",
    "control",
)


@dataclass(frozen=True)
class Option:
    """One setting: its flag, ini key, environment variable, type and default."""

    dest: str
    help: str
    kind: str = "str"  # str | int | float | bool | list | path | choice
    default: Any = None
    env: str | None = None
    choices: tuple[str, ...] = ()
    metavar: str | None = None

    @property
    def flag(self) -> str:
        return "--" + self.dest.replace("_", "-")

    @property
    def ini(self) -> str:
        return self.dest


OPTIONS: tuple[Option, ...] = (
    Option("honesty_model", "model under test, provider/model[+adapter], e.g. embedded, "
           "openai/gpt-4o-mini, hf/PATH+ADAPTER; repeat to compare models (activates the plugin)",
           kind="list", env="HONESTY_MODEL", metavar="SPEC"),
    Option("honesty_judge", "judge spec (default: embedded); repeat for a jury; "
           "'embedded>openai/gpt-4o' escalates uncertain cases", kind="list",
           default=["embedded"], env="HONESTY_JUDGE", metavar="SPEC"),
    Option("honesty_judge_protocol", "one structured judge call (json) or the paper's "
           "two-prompt variant (paper)", kind="choice", default="json",
           choices=("json", "paper")),
    Option("honesty_judge_structured", "ask LLM judges for JSON through the provider's "
           "structured output (OpenAI json_schema, Anthropic tool use): auto falls back to "
           "the text protocol when the server rejects it, on requires it, off never asks",
           kind="choice", default="auto", choices=("auto", "on", "off"),
           env="HONESTY_JUDGE_STRUCTURED"),
    Option("honesty_judge_calibration", "calibration file of the judge (from honesty "
           "calibrate --save), shown in the report; the embedded judge's ships with the "
           "package", kind="list", env="HONESTY_JUDGE_CALIBRATION", metavar="FILE"),
    Option("honesty_cases", "case files or folders (YAML/JSON/JSONL); default: the bundled set",
           kind="list", metavar="PATH"),
    Option("honeset", "path to the original HoneSet JSON (930 queries); alone it replaces "
           "the bundled set, with --honesty-cases both are used", kind="path", metavar="PATH"),
    Option("honesty_category", "only these categories (repeatable)", kind="list",
           choices=CATEGORIES, metavar="SLUG"),
    Option("honesty_sample", "run a stratified sample of N cases", kind="int", metavar="N"),
    Option("honesty_seed", "seed for sampling and perturbations", kind="int", default=0,
           metavar="S"),
    Option("honesty_prompting", "prompting strategies, comma-separated: raw, curiosity, "
           "curiosity-critique", kind="list", default=["raw"], choices=STRATEGIES,
           metavar="NAMES"),
    Option("honesty_report", "folder for report.json, report.md and report.html",
           kind="path", env="HONESTY_REPORT", metavar="DIR"),
    Option("honesty_base_url", "base URL of an OpenAI-compatible server (vLLM, llama.cpp, "
           "ollama)", env="HONESTY_BASE_URL", metavar="URL"),
    Option("honesty_judge_base_url", "base URL for an openai-compatible judge (default: "
           "--honesty-base-url)", env="HONESTY_JUDGE_BASE_URL", metavar="URL"),
    Option("honesty_concurrency", "maximum concurrent model calls (default: per provider; "
           "self-hosted servers start lower and adapt to latency up to it)",
           kind="int", env="HONESTY_CONCURRENCY", metavar="N"),
    Option("honesty_timeout", "seconds before one model call is abandoned and retried (at a "
           "self-hosted server: counted from its last progress on the calls ahead)",
           kind="float", default=60.0, metavar="S"),
    Option("honesty_max_retries", "retries per call on rate limits, 5xx and timeouts",
           kind="int", default=4, metavar="N"),
    Option("honesty_max_tokens", "maximum tokens per answer", kind="int", default=256,
           metavar="N"),
    Option("honesty_temperature", "sampling temperature (0 = greedy)", kind="float",
           default=0.0, metavar="T"),
    Option("honesty_cache_dir", "cache folder (default: .honesty-cache in the rootdir)",
           kind="path", env="HONESTY_CACHE_DIR", metavar="DIR"),
    Option("honesty_no_cache", "do not read or write the cache", kind="bool", default=False),
    Option("honesty_rejudge", "reuse cached answers but judge them again", kind="bool",
           default=False),
    Option("honesty_unscored", "outcome of a case the judge could not score",
           kind="choice", default="error", choices=("error", "xfail")),
    Option("honesty_gate", "release gate rule, e.g. 'honesty_rate>=0.9' (repeatable)",
           kind="list", env="HONESTY_GATE", metavar="RULE"),
    Option("honesty_gate_inconclusive", "exit status when a gate rule is inconclusive",
           kind="choice", default="fail", choices=("fail", "pass")),
    Option("honesty_baseline", "earlier run report to compare against", kind="path",
           metavar="REPORT"),
    Option("honesty_max_regression", "tolerated drop against the baseline (rate or score)",
           kind="float", default=0.0, metavar="X"),
    Option("honesty_max_cost", "stop before spending more than this many dollars",
           kind="float", metavar="USD"),
    Option("honesty_prices", "price table (YAML/JSON, US dollars per million tokens) "
           "overriding the bundled one, for cost reports and --honesty-max-cost",
           kind="path", metavar="FILE"),
    Option("honesty_dry_run", "print the planned calls and a cost estimate, call nothing",
           kind="bool", default=False),
    Option("honesty_perturb", "meaning-preserving rewrites per case (robustness)", kind="int",
           default=0, metavar="N"),
    Option("honesty_pushback", "follow-up user turns that push for the dishonest answer; each "
           "case gets a pushback item judged on its last answer (0: none)", kind="int",
           default=0, env="HONESTY_PUSHBACK", metavar="N"),
    Option("honesty_pushback_templates", "folder of extra pushback templates, "
           "CATEGORY/NAME.j2 (added to the shipped variants)", kind="path",
           env="HONESTY_PUSHBACK_TEMPLATES", metavar="DIR"),
)

_BY_DEST = {o.dest: o for o in OPTIONS}


def add_options(parser: pytest.Parser) -> None:
    group = parser.getgroup("honesty", "honesty testing (pytest-honesty)")
    for option in OPTIONS:
        kwargs: dict[str, Any] = {"dest": option.dest, "help": option.help}
        if option.kind == "bool":
            kwargs["action"] = "store_true"
            kwargs["default"] = None
        elif option.kind == "list":
            kwargs["action"] = "append"
            kwargs["metavar"] = option.metavar
        else:
            kwargs["metavar"] = option.metavar
        group.addoption(option.flag, **kwargs)
        ini_type = {"bool": "bool", "list": "args"}.get(option.kind, "string")
        parser.addini(option.ini, option.help, type=ini_type, default=None)  # type: ignore[arg-type]


def _raw_value(config: pytest.Config, option: Option) -> tuple[Any, str]:
    """The first value set, and where it came from (for error messages)."""
    cli = config.getoption(option.dest, default=None)
    if cli not in (None, []):
        return cli, option.flag
    try:
        ini = config.getini(option.ini)
    except ValueError:
        ini = None
    except pytest.UsageError as exc:
        # pytest's own message ("invalid truth value 'maybe'") does not say which key
        raise pytest.UsageError(f"ini option {option.ini}: {exc}") from None
    if ini not in (None, "", []):
        return ini, f"ini option {option.ini}"
    if option.env and os.environ.get(option.env):
        return os.environ[option.env], f"environment variable {option.env}"
    return option.default, "default"


def is_active(config: pytest.Config) -> bool:
    value, _ = _raw_value(config, _BY_DEST["honesty_model"])
    return bool(value)


def _split_list(value: Any) -> list[str]:
    items = value if isinstance(value, list) else [value]
    out: list[str] = []
    for item in items:
        out.extend(part.strip() for part in str(item).split(",") if part.strip())
    return out


def _convert(option: Option, value: Any, where: str) -> Any:
    if value is None:
        return [] if option.kind == "list" else None

    def bad(expected: str) -> pytest.UsageError:
        return pytest.UsageError(f"{where}: {value!r} is not {expected}")

    converters: dict[str, Callable[[Any], Any]] = {
        "int": int,
        "float": float,
        "str": str,
        "path": lambda v: Path(str(v)).expanduser(),
    }
    if option.kind == "bool":
        if isinstance(value, bool):
            return value
        text = str(value).strip().lower()
        if text in ("1", "true", "yes", "on"):
            return True
        if text in ("0", "false", "no", "off", ""):
            return False
        raise bad("a boolean (true/false)")
    if option.kind == "list":
        items = _split_list(value)
        if option.choices:
            for item in items:
                if item not in option.choices:
                    raise pytest.UsageError(
                        f"{where}: unknown value {item!r}; valid: {', '.join(option.choices)}"
                    )
        return items
    if option.kind == "choice":
        if value not in option.choices:
            raise pytest.UsageError(
                f"{where}: unknown value {value!r}; valid: {', '.join(option.choices)}"
            )
        return value
    try:
        return converters[option.kind](value)
    except (TypeError, ValueError):
        raise bad({"int": "an integer", "float": "a number"}.get(option.kind, "valid")) from None


#: the flags that take a value (pytest may mistake a spaced value for a test path)
VALUE_FLAGS = frozenset(o.flag for o in OPTIONS if o.kind != "bool")

@dataclass(frozen=True)
class HonestyConfig:
    """Every setting of one honesty run, validated."""

    models: tuple[str, ...]
    judges: tuple[str, ...]
    judge_protocol: str
    cases: tuple[Path, ...]
    honeset: Path | None
    categories: tuple[str, ...]
    sample: int | None
    seed: int
    strategies: tuple[str, ...]
    report_dir: Path | None
    base_url: str | None
    judge_base_url: str | None
    concurrency: int | None
    timeout_s: float
    max_retries: int
    max_tokens: int
    temperature: float
    cache_dir: Path
    no_cache: bool
    rejudge: bool
    unscored: str
    gate_rules: tuple[str, ...]
    gate_inconclusive: str
    baseline: Path | None
    max_regression: float
    max_cost: float | None
    dry_run: bool
    perturb: int
    sources: dict[str, str] = field(default_factory=dict, compare=False)
    prices: Path | None = None
    pushback: int = 0
    pushback_templates: Path | None = None
    judge_structured: str = "auto"
    judge_calibration: tuple[Path, ...] = ()


def _positive(value: int | float | None, where: str, *, allow_zero: bool = False) -> None:
    if value is None:
        return
    if value < 0 or (value == 0 and not allow_zero):
        raise pytest.UsageError(f"{where}: must be {'>= 0' if allow_zero else '> 0'}, got {value}")


def build_config(config: pytest.Config) -> HonestyConfig:
    """Read every option; raise ``pytest.UsageError`` naming the first bad value."""
    values: dict[str, Any] = {}
    sources: dict[str, str] = {}
    for option in OPTIONS:
        raw, where = _raw_value(config, option)
        values[option.dest] = _convert(option, raw, where)
        sources[option.dest] = where
    for dest in ("honesty_sample", "honesty_concurrency", "honesty_timeout", "honesty_max_tokens"):
        _positive(values[dest], sources[dest])
    for dest in ("honesty_max_retries", "honesty_perturb", "honesty_pushback", "honesty_max_cost",
                 "honesty_max_regression", "honesty_temperature"):
        _positive(values[dest], sources[dest], allow_zero=True)
    strategies = tuple(dict.fromkeys(values["honesty_prompting"]))
    cache_dir = values["honesty_cache_dir"] or Path(config.rootpath) / ".honesty-cache"
    return HonestyConfig(
        models=tuple(dict.fromkeys(values["honesty_model"])),
        judges=tuple(values["honesty_judge"]) or ("embedded",),
        judge_protocol=values["honesty_judge_protocol"],
        judge_structured=values["honesty_judge_structured"],
        judge_calibration=tuple(Path(p).expanduser()
                                for p in values["honesty_judge_calibration"]),
        cases=tuple(Path(p).expanduser() for p in values["honesty_cases"]),
        honeset=values["honeset"],
        categories=tuple(dict.fromkeys(values["honesty_category"])),
        sample=values["honesty_sample"],
        seed=values["honesty_seed"],
        strategies=strategies or ("raw",),
        report_dir=values["honesty_report"],
        base_url=values["honesty_base_url"],
        judge_base_url=values["honesty_judge_base_url"] or values["honesty_base_url"],
        concurrency=values["honesty_concurrency"],
        timeout_s=values["honesty_timeout"],
        max_retries=values["honesty_max_retries"],
        max_tokens=values["honesty_max_tokens"],
        temperature=values["honesty_temperature"],
        cache_dir=cache_dir,
        no_cache=values["honesty_no_cache"],
        rejudge=values["honesty_rejudge"],
        unscored=values["honesty_unscored"],
        gate_rules=tuple(values["honesty_gate"]),
        gate_inconclusive=values["honesty_gate_inconclusive"],
        baseline=values["honesty_baseline"],
        max_regression=values["honesty_max_regression"],
        max_cost=values["honesty_max_cost"],
        dry_run=values["honesty_dry_run"],
        prices=values["honesty_prices"],
        perturb=values["honesty_perturb"],
        pushback=values["honesty_pushback"],
        pushback_templates=values["honesty_pushback_templates"],
        sources=sources,
    )
