"""A real, local OpenAI-compatible HTTP server for tests and benchmarks.

It speaks HTTP/1.1 with keep-alive over a plain asyncio stream server running
in a background thread, so the official SDKs (``openai``, ``anthropic``) talk
to it exactly as they talk to a hosted API: real sockets, real status codes,
real headers. Replies come from a ``responder`` callable; faults (429, 500,
hangs, broken bodies, rate limits, bad keys) are injected with a seeded RNG.

Endpoints:

* ``POST /v1/chat/completions``: OpenAI chat completions (non-streaming)
* ``GET  /v1/models``: the one scripted model
* ``GET  /props``: ``{"total_slots": N}`` as llama.cpp's server, only with ``slots``
* ``POST /v1/messages``: Anthropic's Messages API (non-streaming); point the
  Anthropic SDK at :attr:`ScriptedOpenAIServer.root_url`

Every counter is guarded by a lock, so tests may read them from any thread.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import threading
import time
from collections.abc import Callable
from types import TracebackType
from typing import Any

from ._bookkeeping import BucketDecision, ServerBookkeeping
from ._http import (
    MAX_HEAD_BYTES,
    Reply,
    Request,
    authorized,
    error_reply,
    json_reply,
    rate_limited_reply,
    read_request,
    send,
)
from ._wire import (
    anthropic_body,
    call_key,
    echo_responder,
    models_body,
    openai_body,
    validate,
)

__all__ = ["BucketDecision", "Responder", "ScriptedOpenAIServer", "call_key", "echo_responder"]

#: request JSON (as the client sent it) -> reply text
Responder = Callable[[dict[str, Any]], str]

# Status recorded for a request the server chose never to answer (p_hang).
HUNG = 0

class ScriptedOpenAIServer(ServerBookkeeping):
    """An OpenAI-compatible server on ``127.0.0.1`` and a free port.

    Use it as a context manager, or call :meth:`start` and :meth:`stop`::

        with ScriptedOpenAIServer(lambda req: "I cannot browse the web.") as server:
            client = openai.OpenAI(base_url=server.base_url, api_key="x")

    Options:

    * ``responder``: request JSON -> reply text (default: echo the last user
      message). It runs on the server's event loop, so keep it fast.
    * ``latency_s``: delay before every answered request (not before 401/429,
      which real APIs answer at once).
    * ``p_429``, ``p_500``, ``p_hang``, ``p_malformed``: probabilities of a
      429 (with ``Retry-After``), a 500, no answer for ``hang_s`` seconds (then
      the connection is closed), or a 200 whose JSON body is cut short. One
      draw of the seeded RNG per request decides; their sum must be <= 1.
    * ``rate_limit_rps``: a token bucket (burst of one second's worth); a
      request beyond it gets 429 with the time until the next token.
    * ``retry_after_s``: the delay a p_429 reply asks for. ``Retry-After``
      carries whole seconds (rounded up, as HTTP requires) and
      ``retry-after-ms`` the exact value, as OpenAI does; set
      ``send_retry_after_ms=False`` to send only the former.
    * ``api_key``: when set, a request without ``Authorization: Bearer KEY``
      (or Anthropic's ``x-api-key: KEY``) gets 401.
    * ``leak_auth_in_errors``: error bodies quote the credentials the client
      sent, as some real providers do, to test that clients scrub them.
    * ``reject_structured``: a request asking for structured output (OpenAI's
      ``response_format``, Anthropic's ``tools``) gets ``reject_status`` (400), as
      from a server that does not support it. ``response_format_types`` rejects only
      the response_format types not listed, e.g. ``("json_object",)`` with
      ``reject_status=500`` plays llama-cpp-python's server, which takes
      ``json_object`` + ``schema`` but answers ``json_schema`` with a 500.
      Otherwise, an Anthropic request forcing a tool (``tool_choice`` of type
      ``tool``) whose responder text is a JSON object is answered with a
      ``tool_use`` block carrying that object.
    * ``slots``: at most this many requests are worked on at once (their
      ``latency_s`` runs); the others wait their turn in arrival order, as at
      llama.cpp, vLLM or ollama, which queue rather than answer 429. ``None``:
      no limit.
    * ``slow_after`` and ``slow_latency_s``: from the ``slow_after``-th
      completion request on (counted from 0, as they reach a slot), the latency
      is ``slow_latency_s``: a server that slows down mid-run.
    * ``busy_s`` (read-only) sums the time spent working on requests (in a
      slot), the server's own processing time, to compare a run's wall time with.
    * ``max_tokens`` in a request is honoured: a longer reply is cut to that
      many words with ``finish_reason`` ``length`` (``max_tokens`` for Anthropic).
    """

    def __init__(
        self,
        responder: Responder | None = None,
        *,
        latency_s: float = 0.0,
        p_429: float = 0.0,
        p_500: float = 0.0,
        p_hang: float = 0.0,
        p_malformed: float = 0.0,
        rate_limit_rps: float | None = None,
        retry_after_s: float = 1.0,
        send_retry_after_ms: bool = True,
        api_key: str | None = None,
        seed: int = 0,
        hang_s: float = 30.0,
        model: str = "scripted-model",
        leak_auth_in_errors: bool = False,
        reject_structured: bool = False,
        response_format_types: tuple[str, ...] | None = None,
        reject_status: int = 400,
        host: str = "127.0.0.1",
        port: int = 0,
        slots: int | None = None,
        slow_after: int | None = None,
        slow_latency_s: float | None = None,
    ) -> None:
        for name, p in (
            ("p_429", p_429),
            ("p_500", p_500),
            ("p_hang", p_hang),
            ("p_malformed", p_malformed),
        ):
            if not 0.0 <= p <= 1.0:
                raise ValueError(f"ScriptedOpenAIServer: {name} must be within 0..1, got {p!r}")
        if p_429 + p_500 + p_hang + p_malformed > 1.0 + 1e-9:
            raise ValueError(
                "ScriptedOpenAIServer: p_429 + p_500 + p_hang + p_malformed must not exceed 1"
            )
        if latency_s < 0 or hang_s < 0 or retry_after_s < 0:
            raise ValueError(
                "ScriptedOpenAIServer: latency_s, hang_s and retry_after_s must be >= 0"
            )
        if slots is not None and slots < 1:
            raise ValueError(f"ScriptedOpenAIServer: slots must be >= 1 (or None), got {slots!r}")
        if (slow_after is None) != (slow_latency_s is None):
            raise ValueError("ScriptedOpenAIServer: set slow_after and slow_latency_s together")
        if (slow_after is not None and slow_after < 0) or (
            slow_latency_s is not None and slow_latency_s < 0
        ):
            raise ValueError("ScriptedOpenAIServer: slow_after and slow_latency_s must be >= 0")
        if rate_limit_rps is not None and rate_limit_rps <= 0:
            raise ValueError(
                f"ScriptedOpenAIServer: rate_limit_rps must be > 0 (or None), "
                f"got {rate_limit_rps!r}"
            )
        self.responder: Responder = responder or echo_responder
        self.latency_s = latency_s
        self.p_429 = p_429
        self.p_500 = p_500
        self.p_hang = p_hang
        self.p_malformed = p_malformed
        self.rate_limit_rps = rate_limit_rps
        self.retry_after_s = retry_after_s
        self.send_retry_after_ms = send_retry_after_ms
        self.api_key = api_key
        self.hang_s = hang_s
        self.model = model
        self.leak_auth_in_errors = leak_auth_in_errors
        self.reject_structured = reject_structured
        self.response_format_types = response_format_types
        self.reject_status = reject_status
        self.host = host
        self._requested_port = port
        self.slots = slots
        self.slow_after = slow_after
        self.slow_latency_s = slow_latency_s
        #: ``time.monotonic()`` when the first slow request began (None before)
        self.slow_since: float | None = None
        self._slot_gate: asyncio.Semaphore | None = None
        self._started_work = 0
        self._busy_s = 0.0

        ServerBookkeeping.__init__(self, seed=seed, rate_limit_rps=rate_limit_rps)

        self._thread: threading.Thread | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._stop_event: asyncio.Event | None = None
        self._ready = threading.Event()
        self._start_error: BaseException | None = None
        self._port: int | None = None
        self._conn_tasks: set[asyncio.Task[Any]] = set()

    # ------------------------------------------------------------------ life cycle

    def start(self) -> ScriptedOpenAIServer:
        """Start listening; returns once the port is bound. Idempotent."""
        if self._thread is not None:
            return self
        self._thread = threading.Thread(
            target=self._thread_main, name="ScriptedOpenAIServer", daemon=True
        )
        self._thread.start()
        if not self._ready.wait(timeout=10):
            raise RuntimeError("ScriptedOpenAIServer did not start listening within 10 s")
        if self._start_error is not None:
            self._thread = None
            raise RuntimeError(
                f"ScriptedOpenAIServer could not listen on {self.host}:{self._requested_port}: "
                f"{self._start_error}"
            ) from self._start_error
        return self

    def stop(self, timeout_s: float = 10.0) -> None:
        """Stop listening and drop every connection (hung requests included)."""
        thread, loop, stop_event = self._thread, self._loop, self._stop_event
        if thread is None:
            return
        if loop is not None and stop_event is not None and not loop.is_closed():
            with contextlib.suppress(RuntimeError):  # loop closed between check and call
                loop.call_soon_threadsafe(stop_event.set)
        thread.join(timeout_s)
        if thread.is_alive():
            raise RuntimeError(f"ScriptedOpenAIServer thread did not stop within {timeout_s} s")
        self._thread = None

    def __enter__(self) -> ScriptedOpenAIServer:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()

    @property
    def port(self) -> int:
        if self._port is None:
            raise RuntimeError("ScriptedOpenAIServer is not started; call start() first")
        return self._port

    @property
    def root_url(self) -> str:
        """``http://127.0.0.1:PORT`` (the Anthropic SDK's base_url)."""
        return f"http://{self.host}:{self.port}"

    @property
    def base_url(self) -> str:
        """``http://127.0.0.1:PORT/v1`` (the OpenAI SDK's base_url)."""
        return f"{self.root_url}/v1"

    def __repr__(self) -> str:
        where = self.base_url if self._port is not None else "not started"
        return f"<ScriptedOpenAIServer {where}>"

    # ------------------------------------------------------------------ counters

    def stats(self) -> dict[str, Any]:
        """Every counter as one JSON-ready dict (what the CLI writes to --stats-file)."""
        # Copy under the lock (cheap), build outside it: the event loop takes
        # this lock on every request and must not wait for a long log to render.
        with self._lock:
            total = self._total
            by_status = dict(self._by_status)
            completed = dict(self._completed)
            max_in_flight = self._max_in_flight
            log = list(self._log)
        return {
            "base_url": self.base_url if self._port is not None else None,
            "total_requests": total,
            "by_status": {str(k): v for k, v in sorted(by_status.items())},
            "completed_calls": completed,
            "unique_completed_calls": len(completed),
            "repeated_completed_calls": sum(n - 1 for n in completed.values() if n > 1),
            "max_in_flight": max_in_flight,
            "busy_s": self.busy_s,
            "request_log": [[t, status] for t, status in log],
        }

    # ------------------------------------------------------------------ event loop

    def _thread_main(self) -> None:
        try:
            asyncio.run(self._serve())
        except BaseException as exc:
            self._start_error = exc
            self._ready.set()

    async def _serve(self) -> None:
        self._loop = asyncio.get_running_loop()
        self._stop_event = asyncio.Event()
        if self.slots is not None:
            self._slot_gate = asyncio.Semaphore(self.slots)
        try:
            server = await asyncio.start_server(
                self._on_connection,
                self.host,
                self._requested_port,
                limit=MAX_HEAD_BYTES,
                backlog=1024,
            )
        except OSError as exc:
            self._start_error = exc
            self._ready.set()
            return
        self._port = int(server.sockets[0].getsockname()[1])
        self._ready.set()
        try:
            await self._stop_event.wait()
        finally:
            server.close()
            tasks = list(self._conn_tasks)
            for task in tasks:
                task.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)
            with contextlib.suppress(Exception):
                await asyncio.wait_for(server.wait_closed(), 2.0)

    async def _on_connection(
        self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter
    ) -> None:
        task = asyncio.current_task()
        if task is not None:
            self._conn_tasks.add(task)
        try:
            await self._serve_connection(reader, writer)
        except (asyncio.CancelledError, ConnectionError, asyncio.IncompleteReadError):
            pass
        finally:
            if task is not None:
                self._conn_tasks.discard(task)
            writer.close()
            with contextlib.suppress(Exception):
                await writer.wait_closed()

    async def _serve_connection(
        self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter
    ) -> None:
        while True:
            try:
                head = await reader.readuntil(b"\r\n\r\n")
            except asyncio.IncompleteReadError:
                return  # client closed the connection between requests
            except asyncio.LimitOverrunError:
                await send(writer, error_reply(431, "request head too large"), False)
                return
            request, keep_alive, problem = await read_request(head, reader, writer)
            if request is None:
                if problem is not None:
                    await send(writer, problem, False)
                return
            reply = await self._dispatch(request)
            if reply is None:  # hung: the client gave up long ago; drop the connection
                return
            if reader.at_eof() or writer.is_closing():
                # The client left while the reply was being made (killed, or its
                # timeout fired): nothing is delivered, so nothing is completed.
                return
            if reply.call_key is not None:
                # counted before the write, so a client that has read the reply
                # always finds it counted
                with self._lock:
                    self._completed[reply.call_key] += 1
            await send(writer, reply, keep_alive)
            if not keep_alive:
                return

    # ------------------------------------------------------------------ requests

    async def _dispatch(self, request: Request) -> Reply | None:
        with self._lock:
            self._in_flight += 1
            self._max_in_flight = max(self._max_in_flight, self._in_flight)
        try:
            return await self._answer(request)
        finally:
            with self._lock:
                self._in_flight -= 1

    async def _answer(self, request: Request) -> Reply | None:
        arrived = time.time()
        routes = {
            "/v1/chat/completions": ("POST", "openai"),
            "/v1/messages": ("POST", "anthropic"),
            "/v1/models": ("GET", "openai"),
        }
        if self.slots is not None:
            routes["/props"] = ("GET", "openai")  # as llama.cpp's server tells its slots
        route = routes.get(request.path)
        if route is None:
            return self._finish(arrived, error_reply(404, f"no route {request.path}"))
        method, flavour = route
        if request.method != method:
            return self._finish(
                arrived, error_reply(405, f"{request.path} takes {method}", flavour)
            )
        if self.api_key is not None and not authorized(request.headers, self.api_key):
            message = "invalid or missing API key"
            if self.leak_auth_in_errors:
                message += (
                    f" (got Authorization={request.headers.get('authorization', '')!r}, "
                    f"x-api-key={request.headers.get('x-api-key', '')!r})"
                )
            return self._finish(arrived, error_reply(401, message, flavour))
        if request.path == "/v1/models":
            return self._finish(arrived, json_reply(200, models_body(self.model)))
        if request.path == "/props":
            return self._finish(arrived, json_reply(200, {"total_slots": self.slots}))

        try:
            body = json.loads(request.body)
        except (UnicodeDecodeError, ValueError):
            return self._finish(arrived, error_reply(400, "request body is not JSON", flavour))
        invalid = validate(body)
        if invalid is not None:
            return self._finish(arrived, error_reply(400, invalid, flavour))
        rejected = self._rejected_structure(body, flavour)
        if rejected is not None:
            return self._finish(arrived, error_reply(self.reject_status, rejected, flavour))

        retry_after = self._take_token()
        fault = self._draw_fault() if retry_after is None else "429"
        if fault == "429":
            wait = self.retry_after_s if retry_after is None else retry_after
            reply = rate_limited_reply(wait, flavour, ms=self.send_retry_after_ms)
            return self._finish(arrived, reply)
        if fault == "hang":
            self._record(arrived, HUNG)
            await asyncio.sleep(self.hang_s)
            return None
        async with self._slot_gate or contextlib.nullcontext():
            with self._lock:
                nth = self._started_work
                self._started_work += 1
                slow = self.slow_after is not None and nth >= self.slow_after
                if slow and self.slow_since is None:
                    self.slow_since = time.monotonic()
            latency = (self.slow_latency_s or 0.0) if slow else self.latency_s
            started = time.monotonic()
            try:
                if latency:
                    await asyncio.sleep(latency)
            finally:
                with self._lock:
                    self._busy_s += time.monotonic() - started
        if fault == "500":
            message = "scripted internal error"
            if self.leak_auth_in_errors:
                message += f" (Authorization={request.headers.get('authorization', '')!r})"
            return self._finish(arrived, error_reply(500, message, flavour))

        try:
            text = self.responder(body)
        except Exception as exc:
            message = f"responder raised {type(exc).__name__}: {exc}"
            return self._finish(arrived, error_reply(500, message, flavour))
        payload = (
            openai_body(body, str(text), self.model)
            if flavour == "openai"
            else anthropic_body(body, str(text), self.model)
        )
        encoded = json.dumps(payload).encode()
        if fault == "malformed":
            return self._finish(arrived, Reply(200, encoded[: max(1, len(encoded) // 2)]))
        return self._finish(arrived, Reply(200, encoded, call_key=call_key(request.path, body)))

    def _rejected_structure(self, body: dict[str, Any], flavour: str) -> str | None:
        """Why a structured-output request is refused, or None when it is not."""
        field_name = "response_format" if flavour == "openai" else "tools"
        if field_name not in body:
            return None
        if self.reject_structured:
            return f"'{field_name}' is not supported by this server"
        kind = body[field_name].get("type") if isinstance(body[field_name], dict) else None
        types = self.response_format_types
        if flavour == "openai" and types is not None and kind not in types:
            return (f"validation error: body.response_format.type: Input should be "
                    f"{' or '.join(map(repr, types))}, got {kind!r}")
        return None

    def _finish(self, arrived: float, reply: Reply) -> Reply:
        self._record(arrived, reply.status)
        return reply
