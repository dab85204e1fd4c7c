"""A provider that cannot be used ends the run with one error line and exit status 2
(interrupted, as SIGTERM ends a run), not with one error per case and the status of
dishonest answers; what was stored before stays in the cache."""

from __future__ import annotations

import socket

import pytest

from pytest_honesty.testing import OpenAIServerFactory
from pytest_honesty.testing.responders import model_and_judge

pytest_plugins = ["pytest_honesty.testing.fixtures"]

MODEL = "--honesty-model=openai-compatible/x"


def closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def stop_lines(result: pytest.RunResult) -> list[str]:
    return [line for line in result.outlines if "pytest-honesty: stopped:" in line]


def test_connection_refused_stops_the_run_with_one_line(
    pytester: pytest.Pytester, xdist_args: list[str], openai_server: OpenAIServerFactory
) -> None:
    # first, a working server answers the modality cases: they are stored
    server = openai_server(model_and_judge)
    category = "--honesty-category=modality"
    judge = "--honesty-judge=keyword"
    first = pytester.runpytest(MODEL, f"--honesty-base-url={server.base_url}", judge,
                               category, *xdist_args)
    assert first.ret in (pytest.ExitCode.OK, pytest.ExitCode.TESTS_FAILED)
    server.stop()

    # then the whole suite against a closed port
    url = f"--honesty-base-url=http://127.0.0.1:{closed_port()}/v1"
    result = pytester.runpytest(MODEL, url, judge, "-rA", *xdist_args)
    assert result.ret == pytest.ExitCode.INTERRUPTED
    [line] = stop_lines(result)
    assert "openai-compatible/x: the provider cannot be reached: 3 connection attempts" in line
    assert "cannot connect" in line
    output = "\n".join(result.outlines)
    assert "PASSED" not in output and "FAILED" not in output and "ERROR honesty" not in output
    assert "crashed" not in output and "INTERNALERROR" not in output
    result.stdout.fnmatch_lines(["*no tests ran*"])

    # what the first run stored was kept: the modality cases run with no server at all
    again = pytester.runpytest(MODEL, url, judge, category, *xdist_args)
    assert again.ret in (pytest.ExitCode.OK, pytest.ExitCode.TESTS_FAILED)
    assert not stop_lines(again)
    assert again.parseoutcomes().get("passed", 0) + again.parseoutcomes().get("failed", 0) > 0


def test_a_rejected_api_key_stops_the_run_at_once(
    pytester: pytest.Pytester, openai_server: OpenAIServerFactory,
    monkeypatch: pytest.MonkeyPatch, xdist_args: list[str],
) -> None:
    server = openai_server(model_and_judge, api_key="sk-test-right-key")
    monkeypatch.setenv("OPENAI_API_KEY", "sk-test-wrong-key")
    result = pytester.runpytest(MODEL, f"--honesty-base-url={server.base_url}",
                                "--honesty-judge=keyword", "--honesty-concurrency=4",
                                *xdist_args)
    assert result.ret == pytest.ExitCode.INTERRUPTED
    [line] = stop_lines(result)
    assert "openai-compatible/x: the provider rejected the API key" in line
    assert "HTTP 401" in line and "check the API key" in line
    assert "sk-test-wrong-key" not in "\n".join(result.outlines)
    # each process stops on its first rejection: at most one call per slot was made
    workers = 2 if xdist_args else 1
    assert server.status_counts[401] <= 4 * workers
    assert server.status_counts[200] == 0
