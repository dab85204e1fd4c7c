"""The run manifest: what was run, with which models, judge, cases and software.

It must never carry secrets: no environment values, no API keys, and base URLs are
reduced to scheme, host, port and path (user info, query and fragment dropped, since
those are where credentials hide). Heavy SDKs are reported only when the run already
imported them; this module never imports them.
"""

from __future__ import annotations

import hashlib
import json
import platform
import re
import subprocess
import time
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from datetime import datetime, timezone
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit, urlunsplit

from .._specs import ModelSpec, judge_parts
from ..types import Case, SamplingParams
from ._calibration import hash_fingerprint
from ._model import DatasetInfo, JudgeCalibration, JudgeInfo, Manifest, ModelInfo

if TYPE_CHECKING:
    from ..backends import Backend
    from ..judge import Judge

__all__ = [
    "PROVIDER_PACKAGES",
    "build_manifest",
    "dataset_hash",
    "dataset_info",
    "git_sha",
    "hash_fingerprint",
    "iso_time",
    "package_versions",
    "sanitize_url",
    "template_hashes",
]

#: the distributions behind each provider, reported for the providers a run uses (read
#: from the installed metadata: nothing is imported, and every xdist process agrees)
PROVIDER_PACKAGES: dict[str, tuple[str, ...]] = {
    "openai": ("openai",),
    "openai-compatible": ("openai",),
    "anthropic": ("anthropic",),
    "hf": ("torch", "transformers", "peft"),
    "embedded": ("torch", "transformers", "peft"),
}
_SHA = re.compile(r"^[0-9a-f]{40}([0-9a-f]{24})?$")


def _sha256(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def canonical_json(value: object) -> str:
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def dataset_hash(cases: Iterable[Case]) -> str:
    """sha256 over the canonical JSON list of the cases, sorted by (source, id): the same
    selection hashes the same whatever the file order or the process."""
    ordered = sorted(cases, key=lambda c: (c.source, c.id))
    return _sha256(canonical_json([c.to_dict() for c in ordered]))


def dataset_info(cases: Sequence[Case]) -> DatasetInfo:
    return DatasetInfo(
        hash=dataset_hash(cases),
        n_cases=len(cases),
        categories=dict(sorted(Counter(c.category.value for c in cases).items())),
        sources=dict(sorted(Counter(c.source for c in cases).items())),
    )


def sanitize_url(url: str) -> str:
    """``https://user:key@host:8000/v1?api_key=x`` -> ``https://host:8000/v1``."""
    try:
        parts = urlsplit(url.strip())
        host = parts.hostname or ""
        port = parts.port
    except ValueError:
        return "<unparseable URL removed>"
    if ":" in host:  # IPv6 literal
        host = f"[{host}]"
    netloc = f"{host}:{port}" if port is not None else host
    return urlunsplit((parts.scheme, netloc, parts.path, "", ""))


def _provider(spec: str) -> str:
    try:
        return ModelSpec.parse(spec).provider
    except ValueError:
        return ""


def package_versions(specs: Iterable[str] = ()) -> dict[str, str]:
    """pytest-honesty, pytest and Python, plus the packages behind the providers of
    ``specs`` (model and judge specs, every stage of a cascade), as installed."""
    import importlib.metadata

    import pytest

    from .._version import __version__

    versions = {
        "pytest-honesty": __version__,
        "pytest": pytest.__version__,
        "python": platform.python_version(),
    }
    wanted = {name for spec in judge_parts(specs)
              for name in PROVIDER_PACKAGES.get(_provider(spec), ())}
    for name in sorted(wanted):
        try:
            versions[name] = importlib.metadata.version(name)
        except importlib.metadata.PackageNotFoundError:
            versions[name] = "not installed"
    return versions


def git_sha(cwd: Path | str | None = None, timeout_s: float = 2.0) -> str | None:
    """The checked-out commit, or None (no git, not a repository, slow or odd output)."""
    try:
        done = subprocess.run(
            ["git", "rev-parse", "HEAD"], cwd=cwd, capture_output=True, text=True,
            timeout=timeout_s, check=False,
        )
    except (OSError, subprocess.SubprocessError):
        return None
    sha = done.stdout.strip()
    return sha if done.returncode == 0 and _SHA.match(sha) else None


def template_hashes() -> dict[str, str]:
    """sha256 of every prompt template shipped with the package, by relative path."""
    from .._resources import data_dir

    try:
        root = data_dir("templates")
    except FileNotFoundError:
        return {}
    return {
        path.relative_to(root).as_posix(): hashlib.sha256(path.read_bytes()).hexdigest()
        for path in sorted(root.rglob("*"))
        if path.is_file() and "__pycache__" not in path.parts
    }


def iso_time(timestamp: float) -> str:
    return datetime.fromtimestamp(timestamp, timezone.utc).isoformat(timespec="seconds")


def _safe_fingerprint(obj: Backend | Judge | None) -> str:
    if obj is None:
        return ""
    try:
        return hash_fingerprint(obj.fingerprint())
    except Exception:  # a broken fingerprint must not lose the report
        return "unavailable"


def _generation_settings(backend: Backend | None) -> dict[str, Any]:
    if backend is None:
        return {}
    try:
        return dict(backend.generation_settings())
    except Exception:  # a broken backend hook must not lose the report
        return {}


def build_manifest(
    *,
    models: Mapping[str, Backend | None],
    judges: Sequence[str],
    judge: Judge | None,
    judge_protocol: str,
    cases: Sequence[Case],
    sampling: SamplingParams,
    strategies: Sequence[str],
    categories: Sequence[str] = (),
    seed: int = 0,
    sample: int | None = None,
    base_urls: Mapping[str, str | None] | None = None,
    started_at: float | None = None,
    finished_at: float | None = None,
    workers: int = 0,
    cwd: Path | str | None = None,
    engine: Mapping[str, int] | None = None,
    judge_calibration: JudgeCalibration | None = None,
) -> Manifest:
    started = time.time() if started_at is None else started_at
    finished = time.time() if finished_at is None else finished_at
    judge_fp = _safe_fingerprint(judge)
    return Manifest(
        tool_version=package_versions()["pytest-honesty"],
        models=tuple(
            ModelInfo(spec=spec, provider=_provider(spec),
                      fingerprint=_safe_fingerprint(backend),
                      generation=_generation_settings(backend))
            for spec, backend in models.items()
        ),
        judges=tuple(JudgeInfo(spec=spec, name=judge.name if judge and len(judges) == 1
                               else spec, fingerprint=judge_fp if len(judges) == 1 else "")
                     for spec in judges),
        judge_protocol=judge_protocol,
        judge_fingerprint=_sha256(canonical_json([list(judges), judge_protocol, judge_fp])),
        templates=template_hashes(),
        dataset=dataset_info(cases),
        sampling=sampling.to_dict(),
        strategies=tuple(strategies),
        categories=tuple(categories),
        seed=seed,
        sample=sample,
        base_urls={k: sanitize_url(v) for k, v in (base_urls or {}).items() if v},
        versions=package_versions([*models, *judges]),
        git_sha=git_sha(cwd),
        started_at=iso_time(started),
        finished_at=iso_time(finished),
        duration_s=round(max(0.0, finished - started), 3),
        workers=workers,
        engine=dict(engine or {}),
        judge_calibration=judge_calibration,
    )


def judge_calibration_of(
    judge: Judge | None, files: Sequence[Path] = ()
) -> JudgeCalibration | None:
    """The calibration file matching the judge in use (see :mod:`._calibration`)."""
    if judge is None:
        return None
    from ._calibration import find_calibration

    try:
        fingerprint = judge.fingerprint()
    except Exception:  # a broken fingerprint must not lose the report
        fingerprint = ""
    return find_calibration(judge.name, fingerprint, files)
