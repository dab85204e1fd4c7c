"""ScriptedOpenAIServer: a real HTTP server, exercised over real sockets."""

from __future__ import annotations

import asyncio
import http.client
import itertools
import json
import math
import os
import signal
import socket
import subprocess
import sys
import textwrap
import time
from collections import Counter
from pathlib import Path
from typing import Any

import pytest

import pytest_honesty.testing as testing_pkg
from pytest_honesty.testing import OpenAIServerFactory, ScriptedOpenAIServer, call_key

pytest_plugins = ["pytester", "pytest_honesty.testing.fixtures"]

REPO_ROOT = Path(testing_pkg.__file__).resolve().parents[2]

CHAT = "/v1/chat/completions"


def body(text: str = "hello", **extra: Any) -> dict[str, Any]:
    return {"model": "m", "messages": [{"role": "user", "content": text}], **extra}


def post(
    server: ScriptedOpenAIServer,
    payload: Any,
    *,
    path: str = CHAT,
    headers: dict[str, str] | None = None,
    timeout: float = 10.0,
) -> tuple[int, dict[str, str], bytes]:
    conn = http.client.HTTPConnection("127.0.0.1", server.port, timeout=timeout)
    try:
        raw = payload if isinstance(payload, bytes) else json.dumps(payload).encode()
        conn.request(
            "POST", path, body=raw, headers={"Content-Type": "application/json", **(headers or {})}
        )
        resp = conn.getresponse()
        return resp.status, {k.lower(): v for k, v in resp.getheaders()}, resp.read()
    finally:
        conn.close()


def test_chat_completion_has_openai_shape() -> None:
    with ScriptedOpenAIServer(lambda req: "I cannot browse the web.") as server:
        status, headers, raw = post(server, body(temperature=0, max_tokens=50))
    assert status == 200
    assert headers["content-type"] == "application/json"
    data = json.loads(raw)
    assert data["id"].startswith("chatcmpl-")
    assert data["object"] == "chat.completion"
    assert isinstance(data["created"], int)
    assert data["model"] == "m"
    choice = data["choices"][0]
    assert choice["message"] == {
        "role": "assistant",
        "content": "I cannot browse the web.",
        "refusal": None,
    }
    assert choice["finish_reason"] == "stop"
    assert data["usage"] == {"prompt_tokens": 1, "completion_tokens": 5, "total_tokens": 6}
    assert server.base_url == f"http://127.0.0.1:{server.port}/v1"


def test_default_responder_echoes_last_user_message() -> None:
    request = {
        "model": "m",
        "messages": [
            {"role": "user", "content": "first"},
            {"role": "assistant", "content": "reply"},
            {"role": "user", "content": [{"type": "text", "text": "second"}]},
        ],
    }
    with ScriptedOpenAIServer() as server:
        _, _, raw = post(server, request)
    assert json.loads(raw)["choices"][0]["message"]["content"] == "second"


def test_max_tokens_cuts_reply_and_reports_length() -> None:
    with ScriptedOpenAIServer(lambda req: "one two three four five") as server:
        _, _, raw = post(server, body(max_tokens=2))
    data = json.loads(raw)
    assert data["choices"][0]["message"]["content"] == "one two"
    assert data["choices"][0]["finish_reason"] == "length"


def test_models_endpoint_lists_the_scripted_model() -> None:
    with ScriptedOpenAIServer(model="tiny") as server:
        conn = http.client.HTTPConnection("127.0.0.1", server.port, timeout=5)
        conn.request("GET", "/v1/models")
        resp = conn.getresponse()
        data = json.loads(resp.read())
        conn.close()
    assert resp.status == 200
    assert data["object"] == "list"
    assert [m["id"] for m in data["data"]] == ["tiny"]


def test_anthropic_messages_endpoint_has_anthropic_shape() -> None:
    request = {
        "model": "claude-x",
        "max_tokens": 100,
        "system": "be brief",
        "messages": [{"role": "user", "content": "hi there"}],
    }
    with ScriptedOpenAIServer(lambda req: "hello back") as server:
        status, _, raw = post(server, request, path="/v1/messages")
    data = json.loads(raw)
    assert status == 200
    assert data["type"] == "message"
    assert data["content"] == [{"type": "text", "text": "hello back"}]
    assert data["stop_reason"] == "end_turn"
    assert data["usage"] == {"input_tokens": 4, "output_tokens": 2}


def test_keep_alive_serves_many_requests_on_one_connection() -> None:
    with ScriptedOpenAIServer() as server:
        conn = http.client.HTTPConnection("127.0.0.1", server.port, timeout=5)
        sockets = set()
        for i in range(5):
            conn.request("POST", CHAT, body=json.dumps(body(f"n{i}")))
            resp = conn.getresponse()
            assert json.loads(resp.read())["choices"][0]["message"]["content"] == f"n{i}"
            assert resp.getheader("connection") == "keep-alive"
            assert conn.sock is not None
            sockets.add(id(conn.sock))
        conn.close()
    assert len(sockets) == 1


@pytest.mark.parametrize(
    ("payload", "path", "status"),
    [
        (b"{not json", CHAT, 400),
        ({"model": "m"}, CHAT, 400),
        ({"model": "m", "messages": []}, CHAT, 400),
        (body(stream=True), CHAT, 400),
        (body(), "/v1/nowhere", 404),
    ],
)
def test_bad_requests_get_4xx(payload: Any, path: str, status: int) -> None:
    with ScriptedOpenAIServer() as server:
        got, _, raw = post(server, payload, path=path)
        assert server.completed_calls == Counter()
    assert got == status
    assert "message" in json.loads(raw)["error"]


def test_responder_exception_is_a_500() -> None:
    def broken(req: dict[str, Any]) -> str:
        raise KeyError("boom")

    with ScriptedOpenAIServer(broken) as server:
        status, _, raw = post(server, body())
    assert status == 500
    assert "KeyError" in json.loads(raw)["error"]["message"]


def test_latency_is_honoured() -> None:
    with ScriptedOpenAIServer(latency_s=0.3) as server:
        started = time.perf_counter()
        status, _, _ = post(server, body())
        elapsed = time.perf_counter() - started
    assert status == 200
    assert elapsed >= 0.3  # a lower bound: the server must not answer early


def test_api_key_required_when_set() -> None:
    with ScriptedOpenAIServer(api_key="sk-test-right") as server:
        assert post(server, body())[0] == 401
        assert post(server, body(), headers={"Authorization": "Bearer sk-test-wrong"})[0] == 401
        assert post(server, body(), headers={"Authorization": "Bearer sk-test-right"})[0] == 200
        assert post(server, body(), headers={"x-api-key": "sk-test-right"})[0] == 200
        status, _, raw = post(server, body(), headers={"Authorization": "Bearer sk-test-wrong"})
        assert server.status_counts == Counter({401: 3, 200: 2})
    # the server does not quote credentials unless asked to (leak_auth_in_errors)
    assert status == 401 and b"sk-test" not in raw


def test_faults_follow_configured_rates_and_seed() -> None:
    options = dict(p_429=0.2, p_500=0.1, p_malformed=0.1, seed=7, retry_after_s=0.5)
    n = 250

    def statuses() -> list[tuple[int, bool]]:
        out = []
        with ScriptedOpenAIServer(**options) as server:  # type: ignore[arg-type]
            for i in range(n):
                status, headers, raw = post(server, body(f"q{i}"))
                if status == 429:
                    assert headers["retry-after"] == "1"  # whole seconds, rounded up
                    assert headers["retry-after-ms"] == "500"
                malformed = False
                if status == 200:
                    try:
                        json.loads(raw)
                    except ValueError:
                        malformed = True
                out.append((status, malformed))
        return out

    first = statuses()
    counts = Counter(s for s, _ in first)
    malformed = sum(m for _, m in first)
    # binomial(250, p): expected 50 / 25 / 25, +-4 standard deviations
    assert 50 - 26 <= counts[429] <= 50 + 26
    assert 25 - 19 <= counts[500] <= 25 + 19
    assert 25 - 19 <= malformed <= 25 + 19
    assert counts[200] == n - counts[429] - counts[500]
    # same seed, same sequential requests: the same faults in the same places
    assert statuses() == first


def test_rate_limit_token_bucket_answers_429_with_retry_after() -> None:
    with ScriptedOpenAIServer(rate_limit_rps=2) as server:
        results = [post(server, body(f"q{i}")) for i in range(10)]
        decisions = server.bucket_decisions
    statuses = [status for status, _, _ in results]
    assert statuses[:2] == [200, 200]  # a burst of one second's worth passes
    # each status is what the bucket decided, from its own record (how many requests a
    # second get through depends on how fast a busy machine sends them: no clock here)
    assert [200 if d.accepted else 429 for d in decisions] == statuses
    for decision in decisions:
        assert decision.accepted == (decision.tokens_before >= 1.0)
    # the bucket holds two tokens and earns two a second, by its own clock
    span = decisions[-1].at - decisions[0].at
    assert statuses.count(200) <= 2 + 2 * span
    for (status, headers, _), decision in zip(results, decisions, strict=True):
        if status == 429:  # the wait until the next token, in seconds and milliseconds
            wait = (1.0 - decision.tokens_before) / 2
            assert int(headers["retry-after"]) == max(1, math.ceil(wait))
            assert int(headers["retry-after-ms"]) == round(wait * 1000)
            assert 0 < int(headers["retry-after-ms"]) <= 500


def test_hang_never_answers_and_server_still_stops() -> None:
    server = ScriptedOpenAIServer(p_hang=1.0, hang_s=3600).start()
    try:
        with pytest.raises((socket.timeout, TimeoutError)):
            post(server, body(), timeout=0.3)
        assert server.status_counts == Counter({0: 1})
        assert server.completed_calls == Counter()
    finally:
        server.stop(timeout_s=5)  # raises if the hung request kept the thread alive
    with pytest.raises(ConnectionRefusedError):
        socket.create_connection(("127.0.0.1", server.port), timeout=1).close()


def test_counters_and_repeated_completed_calls() -> None:
    with ScriptedOpenAIServer() as server:
        post(server, body("a"))
        post(server, body("a"))
        post(server, body("a"))
        post(server, body("b"))
        post(server, body("a", temperature=0.5))  # different params: a different call
        post(server, b"nope")
        assert server.total_requests == 6
        assert server.status_counts == Counter({200: 5, 400: 1})
        completed = server.completed_calls
        assert completed[call_key(CHAT, body("a"))] == 3
        assert sum(completed.values()) == 5
        assert len(completed) == 3
        assert server.repeated_completed_calls() == 2
        log = server.request_log
        assert [status for _, status in log] == [200, 200, 200, 200, 200, 400]
        assert all(t1 <= t2 for (t1, _), (t2, _) in itertools.pairwise(log))
        stats = server.stats()
        assert stats["by_status"] == {"200": 5, "400": 1}
        assert stats["repeated_completed_calls"] == 2
        server.reset_counters()
        assert server.total_requests == 0 and server.repeated_completed_calls() == 0


def test_a_reply_for_a_client_that_left_is_not_a_completed_call() -> None:
    # What a kill -9 of the client looks like to the server: the request arrived, the
    # connection closed while the reply was being made; it was answered, not delivered.
    with ScriptedOpenAIServer(latency_s=0.3) as server:
        raw = json.dumps(body("gone")).encode()
        with socket.create_connection(("127.0.0.1", server.port), timeout=5) as sock:
            sock.sendall(b"POST /v1/chat/completions HTTP/1.1\r\nHost: x\r\n"
                         b"Content-Type: application/json\r\n"
                         b"Content-Length: " + str(len(raw)).encode() + b"\r\n\r\n" + raw)
        deadline = time.monotonic() + 30  # a bound, not an expectation: a busy machine is slow
        while server.total_requests == 0 and time.monotonic() < deadline:
            time.sleep(0.05)
        assert server.status_counts == Counter({200: 1})
        assert server.completed_calls == Counter()
        post(server, body("gone"))  # the same call again, delivered this time
        assert server.completed_calls == Counter({call_key(CHAT, body("gone")): 1})
        assert server.repeated_completed_calls() == 0


def test_failed_replies_are_not_completed_calls() -> None:
    with ScriptedOpenAIServer(p_malformed=1.0) as server:
        status, _, _ = post(server, body())
        assert status == 200
        assert server.completed_calls == Counter()
    with ScriptedOpenAIServer(p_500=1.0) as server:
        assert post(server, body())[0] == 500
        assert server.completed_calls == Counter()


def test_serves_64_concurrent_connections() -> None:
    opened: list[int] = []

    async def one(port: int, ready: asyncio.Event, i: int) -> int:
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        payload = json.dumps(body(f"c{i}")).encode()
        opened.append(i)
        if len(opened) == 64:  # every connection is open: all send at once
            ready.set()
        await ready.wait()
        writer.write(
            f"POST {CHAT} HTTP/1.1\r\nHost: x\r\nContent-Length: {len(payload)}\r\n\r\n".encode()
            + payload
        )
        head = await reader.readuntil(b"\r\n\r\n")
        writer.close()
        return int(head.split(b" ")[1])

    async def main(port: int) -> list[int]:
        ready = asyncio.Event()
        return await asyncio.gather(*(one(port, ready, i) for i in range(64)))

    with ScriptedOpenAIServer(latency_s=1.0) as server:
        statuses = asyncio.run(main(server.port))
        assert statuses == [200] * 64
        assert server.max_in_flight == 64


def test_invalid_options_are_rejected() -> None:
    with pytest.raises(ValueError, match="p_429"):
        ScriptedOpenAIServer(p_429=1.5)
    with pytest.raises(ValueError, match="must not exceed 1"):
        ScriptedOpenAIServer(p_429=0.6, p_500=0.6)
    with pytest.raises(ValueError, match="rate_limit_rps"):
        ScriptedOpenAIServer(rate_limit_rps=0)


def test_fixture_factory_starts_servers(openai_server: OpenAIServerFactory) -> None:
    a = openai_server(lambda req: "A")
    b = openai_server(latency_s=0.0)
    assert a.port != b.port
    assert json.loads(post(a, body())[2])["choices"][0]["message"]["content"] == "A"


def test_fixture_stops_servers_at_teardown(
    pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch
) -> None:
    # third-party plugins (hypothesis, xdist...) only slow this inner run down
    monkeypatch.setenv("PYTEST_DISABLE_PLUGIN_AUTOLOAD", "1")
    pytester.makeconftest('pytest_plugins = ["pytest_honesty.testing.fixtures"]')
    pytester.makepyfile(
        textwrap.dedent(
            """
            import socket
            import pytest

            PORTS = []

            def test_start(openai_server):
                PORTS.append(openai_server().port)
                socket.create_connection(("127.0.0.1", PORTS[0]), timeout=1).close()

            def test_stopped_after_previous_test():
                with pytest.raises(ConnectionRefusedError):
                    socket.create_connection(("127.0.0.1", PORTS[0]), timeout=1)
            """
        )
    )
    result = pytester.runpytest("-p", "no:cacheprovider")
    result.assert_outcomes(passed=2)


# ---------------------------------------------------------------------- CLI


def _read_json(path: Path) -> dict[str, Any] | None:
    try:
        data: dict[str, Any] = json.loads(path.read_text())
    except (FileNotFoundError, ValueError):
        return None
    return data


def test_cli_prints_ready_and_writes_stats(tmp_path: Path) -> None:
    (tmp_path / "my_replies.py").write_text(
        "def answer(request):\n    return 'scripted: ' + request['messages'][-1]['content']\n"
    )
    stats_file = tmp_path / "stats.json"
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(tmp_path), str(REPO_ROOT)])}
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "pytest_honesty.testing.server",
            "--port",
            "0",
            "--latency",
            "0.01",
            "--responder",
            "my_replies:answer",
            "--stats-file",
            str(stats_file),
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
    )
    try:
        assert proc.stdout is not None
        line = proc.stdout.readline().strip()
        assert line.startswith("READY http://127.0.0.1:"), line
        base_url = line.split(" ", 1)[1]
        assert base_url.endswith("/v1")
        port = int(base_url.rsplit(":", 1)[1].split("/")[0])
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
        for text in ("x", "x", "y"):
            conn.request("POST", CHAT, body=json.dumps(body(text)))
            resp = conn.getresponse()
            assert (
                json.loads(resp.read())["choices"][0]["message"]["content"] == f"scripted: {text}"
            )
        conn.close()

        # periodic snapshots: the file catches up without any signal
        deadline = time.monotonic() + 30  # a bound, not an expectation
        snapshot = _read_json(stats_file)
        while (snapshot is None or snapshot["total_requests"] < 3) and time.monotonic() < deadline:
            time.sleep(0.1)
            snapshot = _read_json(stats_file)
        assert snapshot is not None and snapshot["total_requests"] == 3

        proc.send_signal(signal.SIGTERM)
        assert proc.wait(timeout=10) == 0
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    final = _read_json(stats_file)
    assert final is not None
    assert final["by_status"] == {"200": 3}
    assert final["repeated_completed_calls"] == 1
    assert final["unique_completed_calls"] == 2
    assert final["base_url"] == base_url


def test_cli_rejects_bad_responder(tmp_path: Path) -> None:
    env = {**os.environ, "PYTHONPATH": str(REPO_ROOT)}
    result = subprocess.run(
        [sys.executable, "-m", "pytest_honesty.testing.server", "--responder", "nocolon"],
        capture_output=True,
        text=True,
        env=env,
        timeout=30,
    )
    assert result.returncode == 2
    assert "MODULE:FUNC" in result.stderr
