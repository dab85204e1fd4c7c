"""Throughput of the scripted OpenAI server under N concurrent keep-alive clients.

    python benchmarks/bench_openai_server.py --clients 64 --latency 0.1 --seconds 5

The server runs in its own process (``python -m pytest_honesty.testing.server``)
as benchmarks and kill -9 tests use it. Two clients are measured: a minimal
raw-socket HTTP/1.1 client (the server's ceiling) and the official AsyncOpenAI
SDK, and OpenAIBackend driven by the Engine (what a honesty run sees). The
ideal rate is clients / latency.
"""

from __future__ import annotations

import argparse
import asyncio
import itertools
import json
import subprocess
import sys
import time
from urllib.parse import urlsplit

BODY = json.dumps(
    {"model": "m", "messages": [{"role": "user", "content": "hello"}], "max_tokens": 16}
).encode()


async def raw_worker(host: str, port: int, deadline: float, counts: list[int]) -> None:
    reader, writer = await asyncio.open_connection(host, port)
    request = (
        f"POST /v1/chat/completions HTTP/1.1\r\nHost: {host}\r\n"
        f"Content-Type: application/json\r\nContent-Length: {len(BODY)}\r\n\r\n"
    ).encode() + BODY
    while time.monotonic() < deadline:
        writer.write(request)
        head = await reader.readuntil(b"\r\n\r\n")
        length = int(
            next(
                line.split(b":")[1]
                for line in head.split(b"\r\n")
                if line.lower().startswith(b"content-length")
            )
        )
        await reader.readexactly(length)
        counts[0] += 1
    writer.close()


async def sdk_worker(client: object, deadline: float, counts: list[int]) -> None:
    while time.monotonic() < deadline:
        await client.chat.completions.create(  # type: ignore[attr-defined]
            model="m", messages=[{"role": "user", "content": "hello"}], max_tokens=16
        )
        counts[0] += 1


async def run(kind: str, base_url: str, clients: int, seconds: float) -> float:
    counts = [0]
    start = time.monotonic()
    deadline = start + seconds
    if kind == "raw":
        parts = urlsplit(base_url)
        assert parts.hostname and parts.port
        await asyncio.gather(
            *(raw_worker(parts.hostname, parts.port, deadline, counts) for _ in range(clients))
        )
    elif kind == "engine":
        from pytest_honesty.backends import BackendOptions, ModelSpec
        from pytest_honesty.backends._openai import OpenAIBackend
        from pytest_honesty.calls.engine import Engine
        from pytest_honesty.types import Message, SamplingParams

        backend = OpenAIBackend(
            ModelSpec.parse("openai-compatible/m"), BackendOptions(base_url=base_url)
        )
        engine = Engine(concurrency=clients, adaptive=False)
        serial = itertools.count()

        async def engine_worker() -> None:
            while time.monotonic() < deadline:
                # distinct prompts: the engine memoises identical calls
                prompt = f"hello {next(serial)}"
                await engine.complete(backend, [Message("user", prompt)], SamplingParams())
                counts[0] += 1

        await asyncio.gather(*(engine_worker() for _ in range(clients)))
        await backend.aclose()
    else:
        import httpx2 as httpx  # the transport the installed openai SDK uses
        import openai

        limits = httpx.Limits(max_connections=clients, max_keepalive_connections=clients)
        http_client = openai.DefaultAsyncHttpxClient(limits=limits)
        client = openai.AsyncOpenAI(
            base_url=base_url, api_key="x", max_retries=0, http_client=http_client
        )
        await asyncio.gather(*(sdk_worker(client, deadline, counts) for _ in range(clients)))
        await client.close()
    return counts[0] / (time.monotonic() - start)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--clients", type=int, default=64)
    ap.add_argument("--latency", type=float, default=0.1)
    ap.add_argument("--seconds", type=float, default=5.0)
    args = ap.parse_args()
    proc = subprocess.Popen(
        [sys.executable, "-m", "pytest_honesty.testing.server", "--latency", str(args.latency)],
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert proc.stdout is not None
        line = proc.stdout.readline().strip()
        assert line.startswith("READY "), line
        base_url = line.split(" ", 1)[1]
        ideal = args.clients / args.latency if args.latency else float("inf")
        for kind in ("raw", "sdk", "engine"):
            rps = asyncio.run(run(kind, base_url, args.clients, args.seconds))
            print(
                f"{kind:>6} client: {rps:8.1f} req/s with {args.clients} concurrent clients, "
                f"latency {args.latency} s (ideal {ideal:.0f} req/s, {rps / ideal:.0%} of ideal)"
            )
    finally:
        proc.terminate()
        proc.wait(10)


if __name__ == "__main__":
    main()
