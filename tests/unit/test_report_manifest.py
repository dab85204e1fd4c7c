"""The run manifest: reproducibility facts, and never a secret."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from test_report_support import make_case, make_report, records_for

from pytest_honesty.backends import Backend, BackendOptions, ModelSpec
from pytest_honesty.report import build_manifest, dataset_hash, sanitize_url
from pytest_honesty.report._manifest import git_sha, hash_fingerprint
from pytest_honesty.types import SamplingParams


@pytest.mark.parametrize(
    ("url", "clean"),
    [
        ("https://user:sk-secret@api.example.com/v1", "https://api.example.com/v1"),
        ("http://localhost:8000/v1?api_key=sk-secret#frag", "http://localhost:8000/v1"),
        ("https://token@[::1]:9000/v1", "https://[::1]:9000/v1"),
        ("https://api.openai.com/v1", "https://api.openai.com/v1"),
        ("http://host:notaport/v1", "<unparseable URL removed>"),
    ],
)
def test_sanitize_url_drops_credentials(url: str, clean: str) -> None:
    assert sanitize_url(url) == clean


class _AdapterBackend(Backend):
    def fingerprint(self) -> str:
        return "adapter=/home/alice/secret-project/adapter;sha=abc"

    async def complete(self, messages, params):  # type: ignore[no-untyped-def]
        raise NotImplementedError


def test_manifest_holds_no_secret(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("OPENAI_API_KEY", "sk-test-SECRETVALUE")
    monkeypatch.setenv("HONESTY_BASE_URL", "https://bob:SECRETPASS@llm.example.com/v1")
    backend = _AdapterBackend(ModelSpec.parse("hf/model+adapter"), BackendOptions())
    manifest = build_manifest(
        models={"hf/model+adapter": backend}, judges=["openai/gpt-4o"], judge=None,
        judge_protocol="json", cases=[make_case("modality-001")], sampling=SamplingParams(),
        strategies=["raw"],
        base_urls={"models": "https://bob:SECRETPASS@llm.example.com/v1?key=SECRETKEY"},
    )
    text = json.dumps(manifest.to_dict())
    for secret in ("SECRETVALUE", "SECRETPASS", "SECRETKEY", "bob", "alice"):
        assert secret not in text
    assert manifest.base_urls == {"models": "https://llm.example.com/v1"}
    assert manifest.models[0].fingerprint == hash_fingerprint(backend.fingerprint())
    assert len(manifest.models[0].fingerprint) == 64


def test_manifest_records_what_was_run() -> None:
    report = make_report(records_for(["honest", "dishonest"]))
    m = report.manifest
    assert [x.spec for x in m.models] == ["mock/a"]
    assert [j.spec for j in m.judges] == ["keyword"]
    assert m.dataset.n_cases == 2 and m.dataset.categories == {"modality": 2}
    assert m.versions["pytest-honesty"] and m.versions["python"] and m.versions["pytest"]
    assert m.strategies == ("raw",)
    assert m.sampling["temperature"] == 0.0
    assert m.duration_s == pytest.approx(2.5)
    assert m.started_at.endswith("+00:00")
    assert len(m.judge_fingerprint) == 64


class _LocalBackend(Backend):
    def generation_settings(self) -> dict[str, object]:
        return {"runtime": "transformers", "batching": "continuous", "batch_size": 32}

    async def complete(self, messages, params):  # type: ignore[no-untyped-def]
        raise NotImplementedError


def test_manifest_records_how_answers_were_generated() -> None:
    from pytest_honesty.report._model import Manifest

    local = _LocalBackend(ModelSpec.parse("hf/model"), BackendOptions())
    api = _AdapterBackend(ModelSpec.parse("hf/other"), BackendOptions())
    manifest = build_manifest(
        models={"hf/model": local, "hf/other": api}, judges=["keyword"], judge=None,
        judge_protocol="json", cases=[make_case("modality-001")], sampling=SamplingParams(),
        strategies=["raw"],
    )
    data = manifest.to_dict()
    assert data["models"][0]["generation"] == local.generation_settings()
    assert "generation" not in data["models"][1]  # nothing to say: the key stays out
    assert Manifest.from_dict(json.loads(json.dumps(data))) == manifest


def _fresh_python(code: str) -> str:
    """stdout of ``code`` in a new interpreter (nothing imported by this test session)."""
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          timeout=120, check=True)
    return done.stdout


def test_versions_never_import_heavy_sdks() -> None:
    code = (
        "import sys\n"
        "from pytest_honesty.report._manifest import package_versions\n"
        "v = package_versions()\n"
        "heavy = [m for m in ('torch', 'transformers', 'openai', 'anthropic') "
        "if m in sys.modules or m in v]\n"
        "print(heavy)\n"
    )
    assert _fresh_python(code).strip() == "[]"


def test_dataset_hash_ignores_order_and_sees_any_change() -> None:
    cases = [make_case(f"modality-{i:03d}") for i in range(5)]
    assert dataset_hash(cases) == dataset_hash(list(reversed(cases)))
    changed = [*cases[:-1], make_case("modality-004", question="A different question?")]
    assert dataset_hash(changed) != dataset_hash(cases)


def test_git_sha_is_optional(tmp_path: Path) -> None:
    assert git_sha(tmp_path) is None  # not a repository: no error, no value
    git = shutil.which("git")
    if git is None:
        pytest.skip("git is not installed")
    env = {"GIT_AUTHOR_NAME": "t", "GIT_AUTHOR_EMAIL": "t@example.invalid",
           "GIT_COMMITTER_NAME": "t", "GIT_COMMITTER_EMAIL": "t@example.invalid",
           "HOME": str(tmp_path), "PATH": str(Path(git).parent)}
    subprocess.run([git, "init", "-q"], cwd=tmp_path, check=True, env=env)
    (tmp_path / "f.txt").write_text("x")
    subprocess.run([git, "add", "f.txt"], cwd=tmp_path, check=True, env=env)
    subprocess.run([git, "commit", "-qm", "x"], cwd=tmp_path, check=True, env=env)
    sha = git_sha(tmp_path)
    assert sha is not None and len(sha) in (40, 64)


def test_versions_follow_the_providers_in_use_without_importing_them() -> None:
    # the same in every process of a run (the xdist controller imports no SDK, a worker
    # does): read from the installed metadata, never from what happens to be imported
    code = (
        "import sys, json\n"
        "from pytest_honesty.report._manifest import package_versions\n"
        "v = package_versions(['openai-compatible/model', 'mock/honest', 'embedded+x'])\n"
        "print(json.dumps({'versions': v, 'imported': [m for m in ('openai', 'torch') "
        "if m in sys.modules]}))\n"
    )
    result = json.loads(_fresh_python(code))
    assert result["imported"] == []
    versions = result["versions"]
    assert set(versions) == {"pytest-honesty", "pytest", "python", "openai", "torch",
                             "transformers", "peft"}
    import importlib.metadata

    assert versions["openai"] == importlib.metadata.version("openai")


def test_versions_cover_every_stage_of_a_cascade_judge() -> None:
    from pytest_honesty.report._manifest import package_versions

    versions = package_versions(["keyword > anthropic/claude-test"])
    assert "anthropic" in versions
    assert set(package_versions(["keyword"])) == {"pytest-honesty", "pytest", "python"}
