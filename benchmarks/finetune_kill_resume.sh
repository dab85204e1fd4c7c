#!/bin/bash
# Kill `honesty finetune train` twice with SIGKILL (mid stage 1, mid stage 2), resume each
# time, and compare the adapter hash with an uninterrupted run of the same recipe and seed.
#
#   bash benchmarks/finetune_kill_resume.sh PAIRS_DIR WORK_DIR
#
# PAIRS_DIR: a folder written by `honesty finetune pairs` (or OUT/pairs of `finetune run`).
# The recipe is finetune/smollm2-cpu.yaml with a small budget (40 pairs per stage, a
# checkpoint every 3 steps) so that the whole check takes about 15 minutes on 2 cores.
set -u
PAIRS=${1:?usage: finetune_kill_resume.sh PAIRS_DIR WORK_DIR}
WORK=${2:?usage: finetune_kill_resume.sh PAIRS_DIR WORK_DIR}
HONESTY=${HONESTY:-honesty}
export HF_HUB_OFFLINE=1
here=$(cd "$(dirname "$0")/.." && pwd)
mkdir -p "$WORK"
rm -rf "$WORK/ref" "$WORK/cut"
sed -e 's/^max_train_pairs: .*/max_train_pairs: 40/' -e 's/^  save_steps: .*/  save_steps: 3/' \
    "$here/finetune/smollm2-cpu.yaml" > "$WORK/recipe.yaml"
# an array, not a function: a function sent to the background runs in a subshell, and
# SIGKILL to that subshell would leave the training process running
TRAIN=("$HONESTY" finetune train --pairs "$PAIRS" --config "$WORK/recipe.yaml")

t0=$(date +%s)
"${TRAIN[@]}" --out "$WORK/ref" > "$WORK/ref.log" 2>&1
echo "uninterrupted: exit $? in $(( $(date +%s) - t0 )) s"

kill_after() {  # $1: the checkpoint folder to wait for; $2: --resume or nothing
  "${TRAIN[@]}" --out "$WORK/cut" $2 >> "$WORK/cut.log" 2>&1 &
  local pid=$!
  while [ ! -d "$1" ]; do
    sleep 1
    if ! kill -0 $pid 2>/dev/null; then echo "training ended before $1 appeared"; exit 1; fi
  done
  sleep 8  # into the next steps, past the checkpoint
  kill -9 $pid; wait $pid 2>/dev/null
  if pgrep -f -- "--out $WORK/cut" > /dev/null; then echo "a training process survived"; exit 1; fi
  echo "SIGKILL 8 s after $(basename "$(dirname "$1")")/$(basename "$1") appeared"
}
kill_after "$WORK/cut/checkpoints/stage1/checkpoint-6" ""
kill_after "$WORK/cut/checkpoints/stage2/checkpoint-3" "--resume"
"${TRAIN[@]}" --out "$WORK/cut" --resume >> "$WORK/cut.log" 2>&1
echo "final --resume: exit $?"
grep "resuming from\|already trained" "$WORK/cut.log"
python3 - "$WORK" <<'PY'
import json, sys
work = sys.argv[1]
hashes = [json.load(open(f"{work}/{run}/finetune-manifest.json"))["adapter"]["sha256"]
          for run in ("ref", "cut")]
print(f"uninterrupted adapter sha256 {hashes[0]}\nkilled twice  adapter sha256 {hashes[1]}")
print("same adapter:", hashes[0] == hashes[1])
PY
