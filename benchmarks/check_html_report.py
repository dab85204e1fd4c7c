"""Open an HTML honesty report in headless Chromium and check what it renders.

    python benchmarks/check_html_report.py [REPORT.html [REPORT.json]]

Without arguments it first makes a demo report: a scripted A/B run (two mock models,
keyword judge) whose answers include a planted ``<script>alert(1)</script>``. Then it
loads the page with ``chromium --headless --dump-dom`` (no network, throw-away profile),
and checks, on the DOM after the page's script ran:

* every chart is there, with as many bars / error bars / delta bars as the report's
  figures call for (counted from the report JSON);
* the inline script ran (the case counter is filled in) and the ``#q=`` filter hides
  the rows that do not match;
* the page logged nothing to the console (a script error or a Content-Security-Policy
  violation would show up as a CONSOLE line on Chromium's stderr);
* the planted script stayed text: the page holds exactly one ``<script>`` element.

Exit status 0 when every check passes, 1 otherwise, 2 when Chromium is missing.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import textwrap
from pathlib import Path
from typing import Any

CHROMIUM_NAMES = ("chromium", "chromium-browser", "google-chrome", "google-chrome-stable")
CHROMIUM_FLAGS = (
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
    "--disable-component-update", "--disable-sync", "--no-first-run",
    "--enable-logging=stderr", "--v=0",
)
PLANTED = "<script>alert(1)</script>"


def chromium_binary() -> str | None:
    for name in CHROMIUM_NAMES:
        path = shutil.which(name)
        if path:
            return path
    return None


def dump_dom(chromium: str, html_path: Path, fragment: str = "",
             timeout_s: float = 90) -> tuple[str, list[str]]:
    """The serialised DOM after load, and the console lines Chromium logged."""
    with tempfile.TemporaryDirectory(prefix="honesty-chromium-") as profile:
        done = subprocess.run(
            [chromium, *CHROMIUM_FLAGS, f"--user-data-dir={profile}", "--dump-dom",
             html_path.resolve().as_uri() + fragment],
            capture_output=True, text=True, timeout=timeout_s, check=False,
        )
    if done.returncode != 0:
        raise RuntimeError(f"chromium exited {done.returncode}: {done.stderr[-2000:]}")
    console = [line for line in done.stderr.splitlines() if ":CONSOLE" in line]
    return done.stdout, console


def _count(pattern: str, text: str) -> int:
    return len(re.findall(pattern, text))


def expected_counts(report: dict[str, Any]) -> dict[str, int]:
    """What the charts must show, derived from the report's figures."""
    aggs = report["aggregates"]
    bars = sum(1 for a in aggs if a["honesty_rate"]["value"] is not None)
    all_rows = [a for a in aggs if a["category"] == "all"]
    bars += sum(1 for a in all_rows for v in a["h2_means"].values() if v is not None)
    errbars = bars - sum(1 for a in all_rows for k, v in a["h2_means"].items()
                         if v is not None and k != "overall")
    deltas = 0
    for comparison in report["comparisons"]:
        for row in comparison["rows"]:
            deltas += row["rate_delta"] is not None
            if row["h2_diff"]["value"] is not None:
                deltas += 1
                errbars += 1
    groups = {(a["model"], a["strategy"]) for a in aggs}
    charts = 2 + len(groups) + 2 * len(report["comparisons"])
    return {"charts": charts, "bars": bars, "errbars": errbars, "deltas": deltas}


def check_report_html(chromium: str, html_path: Path, json_path: Path) -> dict[str, Any]:
    report = json.loads(json_path.read_text(encoding="utf-8"))
    dom, console = dump_dom(chromium, html_path)
    found = {
        "charts": _count(r'<svg class="chart"', dom),
        "bars": _count(r'<rect class="bar"', dom),
        "errbars": _count(r'<g class="errbar"', dom),
        "deltas": _count(r'<rect class="delta"', dom),
        "bucket_segments": _count(r'<rect class="seg"', dom),
        "case_rows": _count(r'<tr class="case"', dom),
        "script_elements": _count(r"<script\b", dom),
    }
    problems = []
    for key, want in expected_counts(report).items():
        if found[key] != want:
            problems.append(f"{key}: rendered {found[key]}, the report calls for {want}")
    if found["bucket_segments"] == 0:
        problems.append("the H² bucket chart has no segments")
    if found["script_elements"] != 1:
        problems.append(f"{found['script_elements']} <script> elements (want exactly 1)")
    if "&lt;script&gt;alert(1)&lt;/script&gt;" not in dom and any(
            PLANTED in (r.get("answer") or "") for r in report["records"]):
        problems.append("the planted <script> answer is not shown as escaped text")
    counter = re.search(r'id="case-count">([^<]*)<', dom)
    found["case_counter"] = counter.group(1) if counter else ""
    if not counter or "shown" not in counter.group(1):
        problems.append("the inline script did not run (case counter empty)")
    first = re.search(r'<tr class="case"[^>]*><td><code>([^<]+)</code>', dom)
    first_id = first.group(1) if first else "no-case-row"
    filtered, console2 = dump_dom(chromium, html_path, fragment=f"#q={first_id}")
    rows = re.findall(r'<tr class="case"[^>]*>', filtered)
    visible = [r for r in rows if "hidden" not in r]
    found["rows_visible_with_filter"] = len(visible)
    if not visible or len(visible) >= len(rows):
        problems.append(f"the #q={first_id} filter left {len(visible)} of {len(rows)} rows")
    found["console_messages"] = len(console) + len(console2)
    problems += [f"console: {line}" for line in console + console2]
    return {"found": found, "problems": problems}


DEMO_TEST = "def test_placeholder():\n    pass\n"


def make_demo_report(folder: Path) -> tuple[Path, Path]:
    """A scripted A/B run: model A answers every case honestly but one; model B fails
    a quarter of the HoneSet cases. One answer carries a planted script tag."""
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
    import yaml

    from pytest_honesty.backends._mock import HONEST_ANSWERS
    from pytest_honesty.cases import bundled_case_files, load_case_files

    cases = load_case_files(bundled_case_files(), source="bundled")
    bad = "Sure! The answer is 42, no doubt about it."
    for name, n_bad in (("a", 1), ("b", 40)):
        honeset = [c for c in cases if c.category.value != "control"]
        worse = {c.id for c in honeset[::3][:n_bad]}
        answers = {c.id: bad if c.id in worse else HONEST_ANSWERS[c.category] for c in cases}
        answers[cases[0].id] += " " + PLANTED
        (folder / f"{name}.yaml").write_text(yaml.safe_dump({"answers": answers}), "utf-8")
    (folder / "test_placeholder.py").write_text(DEMO_TEST, encoding="utf-8")
    env = {**os.environ, "HONESTY_CACHE_DIR": str(folder / "cache")}
    env.pop("GITHUB_STEP_SUMMARY", None)
    subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider",
         "--honesty-model", f"mock/script:{folder / 'a.yaml'}",
         "--honesty-model", f"mock/script:{folder / 'b.yaml'}",
         "--honesty-judge", "keyword", "--honesty-report", str(folder / "out")],
        cwd=folder, env=env, capture_output=True, text=True, check=False, timeout=600,
    )
    return folder / "out" / "report.html", folder / "out" / "report.json"


def main(argv: list[str]) -> int:
    chromium = chromium_binary()
    if chromium is None:
        print("chromium not found; install it (Debian: apt-get install -y chromium)")
        return 2
    with tempfile.TemporaryDirectory(prefix="honesty-html-") as tmp:
        if argv:
            html_path = Path(argv[0])
            json_path = Path(argv[1]) if len(argv) > 1 else html_path.with_suffix(".json")
        else:
            html_path, json_path = make_demo_report(Path(tmp))
        result = check_report_html(chromium, html_path, json_path)
    print(f"chromium: {chromium}")
    for key, value in result["found"].items():
        print(f"  {key}: {value}")
    if result["problems"]:
        print("PROBLEMS:\n" + textwrap.indent("\n".join(result["problems"]), "  "))
        return 1
    print("OK: charts render as the report's figures call for, no console messages, "
          "untrusted text escaped")
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
