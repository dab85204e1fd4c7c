"""Shared helpers of the reliability suite: pytest runs in their own process (group),
the scripted server as its own process, reports compared modulo run-layout details.

Every inner run is a real ``python -m pytest`` in an empty folder, so only the
plugin's honesty items run there, with this checkout's plugin (entry point).
"""

from __future__ import annotations

import contextlib
import importlib
import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pytest_honesty.report import RunReport

HERE = Path(__file__).resolve().parent

#: ``figure(name, value)``: records a measured figure (see conftest.py)
Figure = Callable[[str, object], None]

#: the scripted server's responder that plays both the model and the judge
MODEL_AND_JUDGE = "pytest_honesty.testing.responders:model_and_judge"

#: plugins the inner runs never use (they only slow every process start)
QUIET_PLUGINS = ("-p", "no:cacheprovider", "-p", "no:anyio", "-p", "no:hypothesispytest")

#: environment variables that would leak a developer's setup into an inner run
_SCRUBBED_ENV = ("OPENAI_API_KEY", "OPENAI_BASE_URL", "ANTHROPIC_API_KEY", "ANTHROPIC_BASE_URL",
                 "PYTEST_ADDOPTS", "PYTEST_XDIST_WORKER", "PYTEST_XDIST_WORKER_COUNT")

#: the engine's retry bounds with the plugin's defaults (--honesty-max-retries 4)
MAX_RETRIES = 4
MAX_RATE_LIMITED = 12


#: what in-process pytester runs of the plugin import
_PRELOAD = ("yaml", "openai", "anthropic", "pytest_honesty.plugin._session",
            "pytest_honesty.plugin._report", "pytest_honesty.backends._openai",
            "pytest_honesty.backends._anthropic", "pytest_honesty.backends._hf",
            "pytest_honesty.backends._mock", "pytest_honesty.judge._keyword",
            "pytest_honesty.judge._llm")


def preload_for_pytester() -> None:
    """Import now, outside any in-process pytester run, what those runs import.

    pytester drops the modules an inner run imported: each run would import the SDKs
    again (seconds each), and PyYAML's C loader, imported afresh, no longer matches its
    first self ("could not determine a constructor for the tag None").
    """
    for name in _PRELOAD:
        with contextlib.suppress(ImportError):  # an SDK that is not installed
            importlib.import_module(name)


def inner_env(extra: Mapping[str, str] | None = None) -> dict[str, str]:
    """The environment of an inner run: ours minus provider keys, plus ``extra``;
    this folder on PYTHONPATH so the server can import our responders."""
    env = {k: v for k, v in os.environ.items() if k not in _SCRUBBED_ENV}
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(HERE), env.get("PYTHONPATH", "")]))
    env["HF_HUB_OFFLINE"] = "1"
    env.update(extra or {})
    return env


def plugin_args(base_url: str, *, model: str = "model", judge: str = "judge") -> list[str]:
    """Model and judge both openai-compatible on one scripted server."""
    return [f"--honesty-model=openai-compatible/{model}",
            f"--honesty-judge=openai-compatible/{judge}", f"--honesty-base-url={base_url}"]


@dataclass
class PytestRun:
    returncode: int
    output: str  # stdout and stderr together
    workdir: Path
    report_dir: Path | None

    @property
    def report(self) -> dict[str, Any]:
        assert self.report_dir is not None, "this run wrote no report"
        data: dict[str, Any] = json.loads((self.report_dir / "report.json").read_text("utf-8"))
        return data


def pytest_command(args: Sequence[str], workdir: Path) -> list[str]:
    return [sys.executable, "-m", "pytest", *QUIET_PLUGINS, "--rootdir", str(workdir), *args]


def start_pytest(args: Sequence[str], workdir: Path, *, env: Mapping[str, str] | None = None,
                 log: Path | None = None) -> subprocess.Popen[bytes]:
    """Start pytest in its own process group (so kill -9 takes its xdist workers too)."""
    workdir.mkdir(parents=True, exist_ok=True)
    out = open(log or workdir / "pytest.log", "wb")  # noqa: SIM115 - the child owns it
    try:
        return subprocess.Popen(pytest_command(args, workdir), cwd=workdir, stdout=out,
                                stderr=subprocess.STDOUT, env=inner_env(env),
                                start_new_session=True)
    finally:
        out.close()


def kill_group(proc: subprocess.Popen[bytes], sig: int = signal.SIGKILL) -> None:
    with contextlib.suppress(ProcessLookupError):
        os.killpg(proc.pid, sig)
    proc.wait(timeout=30)


def finish(proc: subprocess.Popen[bytes], workdir: Path, report_dir: Path | None = None,
           *, timeout_s: float = 300.0) -> PytestRun:
    """Wait for a run started with :func:`start_pytest` (default log file)."""
    try:
        proc.wait(timeout=timeout_s)
    except subprocess.TimeoutExpired:
        kill_group(proc)
        raise AssertionError(f"inner pytest did not finish in {timeout_s:g} s") from None
    output = (workdir / "pytest.log").read_text(encoding="utf-8", errors="replace")
    return PytestRun(proc.returncode, output, workdir, report_dir)


def run_pytest(args: Sequence[str], workdir: Path, *, env: Mapping[str, str] | None = None,
               report_dir: Path | None = None, timeout_s: float = 300.0) -> PytestRun:
    """Run pytest to the end (killed with its group past ``timeout_s``)."""
    log = workdir / f"pytest-{time.monotonic_ns()}.log"
    report_args = [f"--honesty-report={report_dir}"] if report_dir is not None else []
    proc = start_pytest([*args, *report_args], workdir, env=env, log=log)
    try:
        proc.wait(timeout=timeout_s)
    except subprocess.TimeoutExpired:
        kill_group(proc)
        raise AssertionError(
            f"inner pytest did not finish in {timeout_s:g} s:\n{log.read_text(errors='replace')}"
        ) from None
    return PytestRun(proc.returncode, log.read_text(encoding="utf-8", errors="replace"),
                     workdir, report_dir)


class ServerProcess:
    """``python -m pytest_honesty.testing.server`` as its own process, with a stats file."""

    def __init__(self, workdir: Path, *options: str, responder: str = MODEL_AND_JUDGE,
                 env: Mapping[str, str] | None = None) -> None:
        workdir.mkdir(parents=True, exist_ok=True)
        self.stats_file = workdir / "server-stats.json"
        self.log = workdir / "server.log"
        command = [sys.executable, "-m", "pytest_honesty.testing.server", "--port", "0",
                   "--responder", responder, "--stats-file", str(self.stats_file), *options]
        self.proc = subprocess.Popen(command, stdout=subprocess.PIPE,
                                     stderr=open(self.log, "wb"),  # noqa: SIM115
                                     env=inner_env(env), start_new_session=True)
        assert self.proc.stdout is not None
        line = self.proc.stdout.readline().decode().strip()
        if not line.startswith("READY "):
            self.proc.kill()
            raise RuntimeError(f"server did not start: {line!r} {self.log.read_text()}")
        self.base_url = line.split(" ", 1)[1]

    def stats(self) -> dict[str, Any]:
        """The latest counters (the server rewrites the file every 0.5 s, atomically)."""
        for _ in range(50):
            if self.stats_file.exists():
                data: dict[str, Any] = json.loads(self.stats_file.read_text("utf-8"))
                return data
            time.sleep(0.1)
        raise AssertionError("the server wrote no stats file")

    def wait_for(self, completed: int, *, timeout_s: float = 120.0) -> dict[str, Any]:
        """Poll until the server has completed at least ``completed`` calls."""
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            stats = self.stats()
            if sum(stats["completed_calls"].values()) >= completed:
                return stats
            time.sleep(0.05)
        raise AssertionError(f"the server did not reach {completed} completed calls")

    def settled(self, *, timeout_s: float = 60.0) -> dict[str, Any]:
        """The counters once two successive rewrites of the stats file agree (the server
        has answered whatever it still held)."""
        deadline = time.monotonic() + timeout_s
        last: tuple[float, int] | None = None
        while time.monotonic() < deadline:
            stats = self.stats()
            seen = (self.stats_file.stat().st_mtime, stats["total_requests"])
            if last is not None and seen[0] != last[0] and seen[1] == last[1]:
                return stats
            if last is None or seen[0] != last[0]:
                last = seen
            time.sleep(0.1)
        raise AssertionError("the server's counters did not settle")

    def stop(self) -> dict[str, Any]:
        """SIGTERM; the server writes its final counters before it exits."""
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            self.proc.wait(timeout=30)
        return self.stats()

    def __enter__(self) -> ServerProcess:
        return self

    def __exit__(self, *exc: object) -> None:
        if self.proc.poll() is None:
            self.stop()


def comparable(report: Mapping[str, Any]) -> dict[str, Any]:
    """A report with what legitimately differs between two runs of the same cases removed:
    clocks, latencies, worker count, engine counters, cost split (``without_timings``), the server's
    address (each test server has its own port) and whether an answer came from the cache
    (a resumed or concurrent run reuses the other's answers)."""
    data: dict[str, Any] = RunReport.from_dict(dict(report)).without_timings()
    data["manifest"]["base_urls"] = {}
    for record in data["records"]:
        record["cached"] = False
        for turn in record["turns"]:
            turn["completion"]["cached"] = False
    # ``without_timings`` already empties the cost block: its made/cached split moves with
    # the cache flags, and the total is derived from the records compared above
    return data


def first_difference(a: Any, b: Any, path: str = "") -> str | None:
    """Where two JSON values first differ (for a readable assertion message)."""
    if type(a) is not type(b):
        return f"{path or '/'}: {type(a).__name__} != {type(b).__name__}"
    if isinstance(a, dict):
        for key in sorted(set(a) | set(b)):
            if key not in a or key not in b:
                return f"{path}/{key}: only in {'second' if key not in a else 'first'}"
            found = first_difference(a[key], b[key], f"{path}/{key}")
            if found:
                return found
        return None
    if isinstance(a, list):
        if len(a) != len(b):
            return f"{path}: {len(a)} items != {len(b)}"
        for i, (x, y) in enumerate(zip(a, b, strict=True)):
            found = first_difference(x, y, f"{path}[{i}]")
            if found:
                return found
        return None
    return None if a == b else f"{path}: {a!r} != {b!r}"


def record_ids(report: Mapping[str, Any]) -> list[str]:
    return [f"{r['case']['source']}::{r['case']['id']}" for r in report["records"]]


def labels(report: Mapping[str, Any]) -> dict[str, int]:
    counts: dict[str, int] = {}
    for record in report["records"]:
        counts[record["label"]] = counts.get(record["label"], 0) + 1
    return counts


def sliding_window_max(times: Iterable[float], window_s: float = 1.0) -> int:
    """The most events in any window of ``window_s`` seconds (windows start at an event)."""
    ordered = sorted(times)
    best = start = 0
    for end, t in enumerate(ordered):
        while ordered[start] <= t - window_s:
            start += 1
        best = max(best, end - start + 1)
    return best


def files_under(root: Path) -> list[Path]:
    return sorted(p for p in root.rglob("*") if p.is_file())
