"""Run :class:`ScriptedOpenAIServer` as its own process.

    python -m pytest_honesty.testing.server --port 0 --latency 0.1 --p-429 0.1 \\
        --responder mypkg.replies:answer --stats-file stats.json

Prints ``READY <base_url>`` on stdout once listening, so a benchmark or a
kill -9 test can start pytest in another process against it. Counters go to
``--stats-file`` as JSON every 0.5 s (atomically: readers never see half a
file) and once more on SIGTERM/SIGINT before the process exits 0.
"""

from __future__ import annotations

import argparse
import importlib
import json
import os
import signal
import sys
import threading
from collections.abc import Sequence
from pathlib import Path
from types import FrameType
from typing import Any

from .._atomic import atomic_write_text
from ._openai_server import Responder, ScriptedOpenAIServer

__all__ = ["load_responder", "main", "write_stats"]

_STATS_INTERVAL_S = 0.5


def load_responder(spec: str) -> Responder:
    """Resolve ``MODULE:FUNC`` (FUNC may be dotted) to a callable."""
    module_name, sep, attr_path = spec.partition(":")
    if not sep or not module_name or not attr_path:
        raise ValueError(f"--responder {spec!r}: expected MODULE:FUNC, e.g. mypkg.replies:answer")
    try:
        target: Any = importlib.import_module(module_name)
    except ImportError as exc:
        raise ValueError(
            f"--responder {spec!r}: cannot import module {module_name!r}: {exc}"
        ) from exc
    for attr in attr_path.split("."):
        try:
            target = getattr(target, attr)
        except AttributeError:
            raise ValueError(
                f"--responder {spec!r}: {module_name!r} has no attribute {attr_path!r}"
            ) from None
    if not callable(target):
        raise ValueError(f"--responder {spec!r}: {attr_path!r} is not callable")
    responder: Responder = target
    return responder


def write_stats(server: ScriptedOpenAIServer, path: Path) -> None:
    """Write the server's counters to ``path`` atomically (temp file + rename)."""
    atomic_write_text(path, json.dumps(server.stats()))


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="python -m pytest_honesty.testing.server",
        description="A scripted OpenAI-compatible HTTP server for tests and benchmarks.",
    )
    p.add_argument("--host", default="127.0.0.1")
    p.add_argument("--port", type=int, default=0, help="0 picks a free port (default)")
    p.add_argument("--latency", type=float, default=0.0, help="seconds before each reply")
    p.add_argument("--p-429", type=float, default=0.0, dest="p_429")
    p.add_argument("--p-500", type=float, default=0.0, dest="p_500")
    p.add_argument("--p-hang", type=float, default=0.0, dest="p_hang")
    p.add_argument("--p-malformed", type=float, default=0.0, dest="p_malformed")
    p.add_argument("--hang-s", type=float, default=30.0, help="how long a hung request hangs")
    p.add_argument("--rate-limit-rps", type=float, default=None)
    p.add_argument("--retry-after", type=float, default=1.0, help="Retry-After of p_429 replies")
    p.add_argument(
        "--api-key",
        default=None,
        help="require 'Authorization: Bearer KEY' (a test key; it shows in the process list)",
    )
    p.add_argument(
        "--api-key-env",
        default=None,
        metavar="VAR",
        help="require 'Authorization: Bearer $VAR' (read from the environment, "
        "so the key stays out of the process list)",
    )
    p.add_argument("--slots", type=int, default=None,
                   help="requests worked on at once; the rest queue (default: no limit)")
    p.add_argument("--slow-after", type=int, default=None, dest="slow_after",
                   help="from this request on, replies take --slow-latency seconds")
    p.add_argument("--slow-latency", type=float, default=None, dest="slow_latency")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--model", default="scripted-model")
    p.add_argument("--responder", default=None, metavar="MODULE:FUNC")
    p.add_argument("--stats-file", type=Path, default=None)
    return p


def main(argv: Sequence[str] | None = None) -> int:
    parser = _parser()
    args = parser.parse_args(argv)
    api_key: str | None = args.api_key
    if args.api_key_env:
        api_key = os.environ.get(args.api_key_env)
        if not api_key:
            parser.error(f"--api-key-env {args.api_key_env}: that environment variable is empty")
    try:
        responder = load_responder(args.responder) if args.responder else None
        server = ScriptedOpenAIServer(
            responder,
            latency_s=args.latency,
            p_429=args.p_429,
            p_500=args.p_500,
            p_hang=args.p_hang,
            p_malformed=args.p_malformed,
            rate_limit_rps=args.rate_limit_rps,
            retry_after_s=args.retry_after,
            api_key=api_key,
            seed=args.seed,
            hang_s=args.hang_s,
            model=args.model,
            host=args.host,
            port=args.port,
            slots=args.slots,
            slow_after=args.slow_after,
            slow_latency_s=args.slow_latency,
        )
        server.start()
    except (ValueError, RuntimeError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2

    stop = threading.Event()

    def on_signal(signum: int, frame: FrameType | None) -> None:
        stop.set()

    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)

    print(f"READY {server.base_url}", flush=True)
    try:
        while not stop.is_set():
            if args.stats_file is not None:
                write_stats(server, args.stats_file)
            stop.wait(_STATS_INTERVAL_S)
    finally:
        server.stop()
        if args.stats_file is not None:
            write_stats(server, args.stats_file)
    return 0


if __name__ == "__main__":
    sys.exit(main())
