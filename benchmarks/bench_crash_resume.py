"""kill -9 a HoneSet run half-way, rerun it on the same cache: no finished call is made twice.

    python benchmarks/bench_crash_resume.py --honeset PATH/HoneSet.json \\
        [--latency 0.1 --concurrency 64 --kill-at 0.5 --workers 0 --signal KILL]

1. reference: an uninterrupted run (fresh server, fresh cache) writes its report.
2. crash: a second run on a fresh cache dir, in its own process group; once the
   server has completed ``--kill-at`` of the reference's calls (its stats file,
   rewritten every 0.5 s), the whole group gets SIGKILL (``--workers N``: the
   xdist controller and its workers), or with ``--signal TERM`` pytest gets
   SIGTERM (plain runs only: there the plugin finishes and stores the calls in
   flight, then exits 2). The cache is inspected right after:
   SQLite integrity, completions stored, claims the dead processes left behind.
3. resume: the same command on the same cache and the same server, to the end.

The server counts a call as completed when it hands the reply to a connection
that is still open (``repeated completed calls`` = calls completed more than
once): a reply made for the killed client after its death was never delivered.
A reply delivered but not yet stored by the killed client is lost with it, so
the resumed run must make that call again; every other repeat would be a
finished call made twice. To tell the two apart, the server's responder logs
each request it answers (``logged_model_and_judge``); the benchmark recomputes
each request's cache key (spec, messages, sampling parameters, namespace) and
checks it against the cache as it was at the kill. Target: 0 repeated completed
calls, and in any case 0 repeats of calls stored before the kill.
Finally the resumed run's report must equal the reference report modulo timings
(``RunReport.without_timings``); differences in cache provenance (which turns
came from the cache, and so the cost lines) are listed apart, since a resumed
run has cached turns by design.
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import sqlite3
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

from bench_run_930 import Server, load1, pytest_command

from pytest_honesty.backends import ModelSpec
from pytest_honesty.calls.cache import CACHE_FILENAME, completion_key
from pytest_honesty.report import load_report
from pytest_honesty.testing import call_key
from pytest_honesty.testing.responders import LOG_ENV
from pytest_honesty.types import Message, SamplingParams

LOGGED = "pytest_honesty.testing.responders:logged_model_and_judge"
CHAT_PATH = "/v1/chat/completions"


def command(args: argparse.Namespace, server: Server, cache_dir: Path, report: Path) -> list[str]:
    cmd = [
        *pytest_command(args), f"--honesty-base-url={server.base_url}",
        f"--honesty-concurrency={args.concurrency}", f"--honesty-cache-dir={cache_dir}",
        f"--honesty-report={report}",
    ]
    if args.workers:
        cmd += ["-n", str(args.workers)]
    return cmd


def run_to_end(cmd: list[str], cwd: Path) -> tuple[float, str]:
    t0 = time.perf_counter()
    proc = subprocess.run(cmd, cwd=cwd, capture_output=True, text=True)
    wall = time.perf_counter() - t0
    if proc.returncode not in (0, 1):
        sys.stderr.write(proc.stdout[-3000:] + proc.stderr[-3000:])
        raise SystemExit(f"pytest exited {proc.returncode}")
    return wall, (proc.stdout.strip().splitlines() or [""])[-1]


def cache_state(cache_dir: Path) -> dict[str, Any]:
    """Read the cache file directly (read-only): integrity, stored keys (with the time
    each was stored), claims left."""
    path = cache_dir / CACHE_FILENAME
    conn = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
    try:
        integrity = conn.execute("PRAGMA integrity_check").fetchone()[0]
        stored = dict(conn.execute("SELECT key, created FROM completions").fetchall())
        verdicts = conn.execute("SELECT COUNT(*) FROM verdicts").fetchone()[0]
        claims = conn.execute("SELECT COUNT(*) FROM claims").fetchone()[0]
    finally:
        conn.close()
    return {"integrity": integrity, "keys": set(stored), "stored_at": stored,
            "verdicts": verdicts, "claims": claims}


def cache_key_of(body: dict[str, Any]) -> str:
    """The engine's cache key for one logged request (see OpenAIBackend._request)."""
    model = str(body["model"])
    messages = [Message(m["role"], m["content"]) for m in body["messages"]]
    return completion_key(
        ModelSpec.parse(f"openai-compatible/{model}"), messages, SamplingParams.from_dict(body),
        namespace="judge" if model == "judge" else "model",
    )


def read_log(path: Path) -> tuple[dict[str, str], dict[str, float]]:
    """For every request the server answered: server call key -> engine cache key, and
    engine cache key -> when the reply was made (the last time, for a repeated call)."""
    mapping: dict[str, str] = {}
    made_at: dict[str, float] = {}
    for line in path.read_text(encoding="utf-8").splitlines():
        entry = json.loads(line)
        body = entry["request"]
        key = cache_key_of(body)
        mapping[call_key(CHAT_PATH, body)] = key
        made_at.setdefault(key, float(entry["at"]))
    return mapping, made_at


def _percentiles_ms(values: list[float]) -> str:
    if not values:
        return "-"
    ordered = sorted(values)

    def ms(q: float) -> float:
        return ordered[min(len(ordered) - 1, int(q * len(ordered)))] * 1000

    return f"median {ms(0.5):.0f} ms, p90 {ms(0.9):.0f} ms, max {ms(1.0):.0f} ms"


def diff_paths(a: Any, b: Any, path: str = "") -> list[str]:
    """Where two JSON values differ (paths, at most one per leaf)."""
    if isinstance(a, dict) and isinstance(b, dict):
        out: list[str] = []
        for key in sorted(set(a) | set(b)):
            out += diff_paths(a.get(key), b.get(key), f"{path}.{key}")
        return out
    if isinstance(a, list) and isinstance(b, list) and len(a) == len(b):
        out = []
        for i, (x, y) in enumerate(zip(a, b, strict=True)):
            out += diff_paths(x, y, f"{path}[{i}]")
        return out
    return [] if a == b else [path]


def _generalise(path: str) -> str:
    # records[12].turns[0].completion.cached -> records[].turns[].completion.cached
    out, depth = [], 0
    for ch in path:
        if ch == "[":
            depth += 1
            out.append("[]")
        elif ch == "]":
            depth -= 1
        elif depth == 0:
            out.append(ch)
    return "".join(out)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--honeset", type=Path, required=True)
    ap.add_argument("--latency", type=float, default=0.1)
    ap.add_argument("--concurrency", type=int, default=64)
    ap.add_argument("--kill-at", type=float, default=0.5, help="fraction of the calls")
    ap.add_argument("--signal", choices=["KILL", "TERM"], default="KILL",
                    help="KILL: SIGKILL to the process group; TERM: SIGTERM to pytest alone "
                         "(what CI services send first; a plain run then finishes the calls "
                         "in flight, stores them and exits with status 2)")
    ap.add_argument("--workers", type=int, default=0, help="pytest-xdist workers (0: none)")
    ap.add_argument("--with-hypothesis", action="store_true")
    args = ap.parse_args()
    if args.signal == "TERM" and args.workers:
        ap.error("--signal TERM is for plain runs: under xdist SIGTERM keeps xdist's behaviour")

    folder = Path(tempfile.mkdtemp(prefix="bench-crash-"))
    rootdir = folder / "rootdir"
    rootdir.mkdir()
    log_path = folder / "requests.jsonl"
    n_flag = f" -n {args.workers}" if args.workers else ""

    # 1. the reference
    print(f"load {load1():.1f}: reference run{n_flag}...", flush=True)
    server = Server.start(args.latency, folder)
    ref_wall, ref_summary = run_to_end(
        command(args, server, folder / "cache-ref", folder / "report-ref"), rootdir
    )
    ref_stats = server.stop()
    expected = int(ref_stats["unique_completed_calls"])

    # 2. the crash, on the reference's port (the report's manifest records the base URL)
    server = Server.start(args.latency, folder, responder=LOGGED, env={LOG_ENV: str(log_path)},
                          port=server.port)
    cache_dir = folder / "cache-crash"
    cmd = command(args, server, cache_dir, folder / "report-crash")
    print(f"load {load1():.1f}: run to be killed at {args.kill_at:.0%} of {expected} calls...",
          flush=True)
    t0 = time.perf_counter()
    proc = subprocess.Popen(cmd, cwd=rootdir, stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL, start_new_session=True)
    threshold = args.kill_at * expected
    seen = 0
    while proc.poll() is None:
        time.sleep(0.05)
        try:
            seen = int(server.read_stats().get("unique_completed_calls", 0))
        except (OSError, ValueError):
            continue  # not written yet
        if seen >= threshold:
            if args.signal == "KILL":
                os.killpg(proc.pid, signal.SIGKILL)
            else:
                os.kill(proc.pid, signal.SIGTERM)
            break
    proc.wait()
    killed_after = time.perf_counter() - t0
    expected_exit = -signal.SIGKILL if args.signal == "KILL" else 2
    if proc.returncode != expected_exit:
        raise SystemExit(f"the run exited {proc.returncode}, not {expected_exit}: it ended "
                         "before the signal? lower --kill-at or raise --latency")
    # Let the requests that were in flight finish on the server, and the stats refresh.
    time.sleep(args.latency + 1.2)
    at_kill = server.read_stats()
    crash = cache_state(cache_dir)

    # 3. the resume
    print(f"load {load1():.1f}: resumed run{n_flag}...", flush=True)
    resume_wall, resume_summary = run_to_end(cmd, rootdir)
    final = server.stop(keep_calls=True)
    after = cache_state(cache_dir)

    # -- analysis --------------------------------------------------------------
    mapping, made_at = read_log(log_path)
    # reply made (server) -> stored (killed client's cache), for the calls it stored
    store_delays = [crash["stored_at"][k] - made_at[k] for k in crash["keys"] if k in made_at]
    first_calls: dict[str, int] = at_kill["completed_calls"]
    all_calls: dict[str, int] = final["completed_calls"]
    repeated = {k: n for k, n in all_calls.items() if n > 1}
    unmapped = [k for k in all_calls if k not in mapping]
    mapped_stored = sum(1 for k in all_calls if mapping.get(k) in after["keys"])
    stored_at_kill = {k for k in first_calls if mapping.get(k) in crash["keys"]}
    lost_at_kill = set(first_calls) - stored_at_kill
    repeats_of_stored = sum(n - 1 for k, n in repeated.items() if k in stored_at_kill)
    repeats_of_lost = sum(n - 1 for k, n in repeated.items() if k in lost_at_kill)

    ref = load_report(folder / "report-ref" / "report.json")
    got = load_report(folder / "report-crash" / "report.json")
    equal = ref.without_timings() == got.without_timings()
    paths = diff_paths(ref.without_timings(), got.without_timings())
    kinds = sorted({_generalise(p) for p in paths})
    only_provenance = all(k.rsplit(".", 1)[-1] in _PROVENANCE for k in kinds)

    def show(label: str, value: object) -> None:
        print(f"  {label:<58} {value}")

    print()
    print(f"HoneSet, latency {args.latency} s, concurrency {args.concurrency}{n_flag}, "
          f"{os.cpu_count()} cores")
    show("reference run (uninterrupted): wall s", f"{ref_wall:.2f}  ({ref_summary})")
    show("reference run: calls completed / repeated",
         f"{ref_stats['unique_completed_calls']} / {ref_stats['repeated_completed_calls']}")
    sent = ("SIGKILL to the process group" if args.signal == "KILL"
            else "SIGTERM to pytest; it exited 2")
    show(f"stopped ({sent}) after s", f"{killed_after:.2f}")
    show("server: calls completed when the kill was decided", seen)
    show("server: calls completed (delivered) for the first run", len(first_calls))
    show("cache after the kill: integrity_check", crash["integrity"])
    show("cache after the kill: completions stored / claims left",
         f"{len(crash['keys'])} / {crash['claims']}")
    show("  first-run calls stored in the cache", len(stored_at_kill))
    show("  first-run calls delivered but not stored (lost in the kill)", len(lost_at_kill))
    show("  reply made -> stored, for the calls it stored", _percentiles_ms(store_delays))
    show("resumed run: wall s", f"{resume_wall:.2f}  ({resume_summary})")
    show("resumed run: calls completed", sum(all_calls.values()) - sum(first_calls.values()))
    show(f"total: unique calls completed (reference: {expected})", len(all_calls))
    total_repeats = sum(n - 1 for n in repeated.values())
    show("total: repeated completed calls (server count; must be 0)", total_repeats)
    show("  repeats of calls stored before the kill", repeats_of_stored)
    show("  repeats of calls lost in the kill", repeats_of_lost)
    show("request log: calls mapped to a stored cache key", f"{mapped_stored}/{len(all_calls)}"
         + (f" ({len(unmapped)} not in the log)" if unmapped else ""))
    show("cache at the end: integrity / claims left", f"{after['integrity']} / {after['claims']}")
    show("final report == reference report, without_timings()", equal)
    if not equal:
        show("  differing fields", ", ".join(kinds[:8]) + (" ..." if len(kinds) > 8 else ""))
        show("  all of them cache provenance (cached flags, cost)", only_provenance)
        if only_provenance:
            same = _strip(ref.without_timings()) == _strip(got.without_timings())
            show("  equal once cache provenance is removed", same)
    ok = total_repeats == 0 and len(all_calls) == expected and not unmapped
    print("\nresult:", "OK" if ok else "FAILED")
    if not ok:
        sys.exit(1)


#: report fields that say where a turn came from (the cache or the provider)
_PROVENANCE = ("cached", "cached_calls")


def _strip(data: Any) -> Any:
    """Drop cache provenance: which turns and calls came from the cache."""
    if isinstance(data, dict):
        return {k: _strip(v) for k, v in data.items() if k not in _PROVENANCE}
    if isinstance(data, list):
        return [_strip(v) for v in data]
    return data


if __name__ == "__main__":
    main()
