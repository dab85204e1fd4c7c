"""A planted API key never leaves the process environment.

The inner run gets ``OPENAI_API_KEY=sk-test-PLANTED-...`` and talks to a server that
requires it and quotes the credentials it received in its error bodies (as some real
providers do). Then every byte the run left behind is searched for the key: the
terminal output with ``-vv -l --tb=long`` and DEBUG logs (SDK logging included), the
JUnit XML, the JSON/Markdown/HTML reports and the SQLite cache (WAL files included).
"""

from __future__ import annotations

import secrets
from pathlib import Path

import pytest
from reliability_support import Figure, files_under, labels, plugin_args, run_pytest

from pytest_honesty.testing import ScriptedOpenAIServer
from pytest_honesty.testing.responders import model_and_judge

VERBOSE = ("-vv", "-l", "--tb=long", "-rA", "--log-level=DEBUG", "-o", "log_cli=true",
           "--log-cli-level=DEBUG")


def _leaks(key: str, run_output: str, root: Path) -> list[str]:
    """Every place that holds the key or its random part."""
    needles = (key.encode(), key.rsplit("-", 1)[1].encode())
    found = ["pytest output"] if any(n.decode() in run_output for n in needles) else []
    for path in files_under(root):
        data = path.read_bytes()
        if any(n in data for n in needles):
            found.append(str(path.relative_to(root)))
    return found


@pytest.mark.parametrize("server_key", ["planted", "other"],
                         ids=["key-accepted-500s-echo-it", "key-rejected-401s-echo-it"])
def test_planted_key_is_nowhere(tmp_path: Path, server_key: str, figure: Figure) -> None:
    key = f"sk-test-PLANTED-{secrets.token_hex(12)}"
    expected = key if server_key == "planted" else f"sk-test-OTHER-{secrets.token_hex(12)}"
    server = ScriptedOpenAIServer(model_and_judge, api_key=expected, leak_auth_in_errors=True,
                                  p_500=0.5 if server_key == "planted" else 0.0, seed=3)
    with server:
        run = run_pytest(
            [*plugin_args(server.base_url), "--honesty-category=sensory",
             "--honesty-max-retries=1", f"--honesty-cache-dir={tmp_path / 'cache'}",
             f"--junitxml={tmp_path / 'junit.xml'}", *VERBOSE],
            tmp_path / "run", env={"OPENAI_API_KEY": key}, report_dir=tmp_path / "report")
    if server_key == "planted":
        assert run.returncode == 1, run.output[-3000:]
        report_text = (tmp_path / "report" / "report.json").read_text("utf-8")
        by_label = labels(run.report)
        # some calls failed for good with a 500 that quoted the Authorization header ...
        assert by_label.get("error", 0) > 0 and by_label.get("error", 0) < 25
        assert "Authorization='Bearer ***'" in report_text
        assert list((tmp_path / "report").iterdir())
    else:
        # the first 401, which quoted the key it got, stopped the run with one line ...
        assert run.returncode == 2, run.output[-3000:]
        [line] = [x for x in run.output.splitlines() if "pytest-honesty: stopped:" in x]
        assert "rejected the API key" in line and "HTTP 401" in line
        assert "Bearer ***" in line
    assert (tmp_path / "junit.xml").is_file()
    assert "DEBUG" in run.output  # the SDK's debug logging was on
    assert (tmp_path / "cache").is_dir()

    # ... and the key itself is in none of it
    assert _leaks(key, run.output, tmp_path) == []
    figure(f"secrets ({server_key} key): files and outputs searched, leaks found",
           f"{len(files_under(tmp_path)) + 1}, 0")
