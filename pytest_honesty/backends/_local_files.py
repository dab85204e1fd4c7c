"""File-level rules for local model and adapter folders (no torch needed).

Everything here only reads or writes files, so it is cheap enough for
``Backend.check`` and for the cache fingerprint: the heavy SDKs are imported
by :mod:`._local_model` only when a model is actually loaded.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import shutil
import tempfile
import threading
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path

from .._atomic import atomic_write_text
from ._base import BackendUnavailable

__all__ = [
    "ADAPTER_CONFIG",
    "ADAPTER_WEIGHTS",
    "PICKLE_SUFFIXES",
    "adapter_fingerprint",
    "atomic_export",
    "cached_sha256",
    "check_safetensors_header",
    "model_cache_root",
    "model_weight_files",
    "remove_tree",
    "require_safetensors_only",
    "sha256_file",
    "validate_adapter_dir",
    "validate_model_dir",
    "weights_fingerprint",
]

#: suffixes of files that torch or joblib would unpickle: loading one can run arbitrary code
PICKLE_SUFFIXES = (".bin", ".pt", ".pth", ".pkl", ".ckpt")

ADAPTER_CONFIG = "adapter_config.json"
ADAPTER_WEIGHTS = "adapter_model.safetensors"

# Training-state files that transformers' Trainer writes next to the weights. They are
# pickles too, but nothing here ever loads them, so they do not make a folder unsafe;
# refusing them would refuse every adapter folder a Trainer saved.
_TRAINING_STATE_FILES = frozenset(
    {"training_args.bin", "optimizer.pt", "scheduler.pt", "scaler.pt", "trainer_state.pt"}
)
_TRAINING_STATE_PREFIXES = ("rng_state",)

_MODEL_CACHE_ENV = "PYTEST_HONESTY_MODEL_CACHE"
_HASH_INDEX = "hashes.json"
_hash_lock = threading.Lock()
_hash_memo: dict[str, str] = {}


def model_cache_root() -> Path:
    """The folder that holds exported models and the weight-hash index.

    ``$PYTEST_HONESTY_MODEL_CACHE`` when set, else
    ``${XDG_CACHE_HOME:-~/.cache}/pytest-honesty/models``.
    """
    configured = os.environ.get(_MODEL_CACHE_ENV)
    if configured:
        return Path(configured).expanduser()
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base).expanduser() / "pytest-honesty" / "models"


def _is_training_state(name: str) -> bool:
    return name in _TRAINING_STATE_FILES or name.startswith(_TRAINING_STATE_PREFIXES)


def _safetensors_twin(name: str) -> str:
    """The safetensors file that replaces a pickle weights file of this name.

    ``pytorch_model-00001-of-00002.bin`` -> ``model-00001-of-00002.safetensors``,
    ``adapter_model.bin`` -> ``adapter_model.safetensors``.
    """
    stem = name.rsplit(".", 1)[0]
    if stem.startswith("pytorch_model"):
        stem = "model" + stem[len("pytorch_model") :]
    return stem + ".safetensors"


def require_safetensors_only(folder: Path, *, what: str) -> None:
    """Refuse a folder whose weights exist only as pickle files.

    Pickle weights (``*.bin``, ``*.pt``...) can run code when loaded. A pickle file is
    tolerated only when its safetensors twin sits next to it (we load the twin, never
    the pickle) or when it is Trainer state that nothing loads.
    """
    for path in sorted(folder.iterdir()):
        name = path.name
        if not path.is_file() or not name.endswith(PICKLE_SUFFIXES) or _is_training_state(name):
            continue
        twin = _safetensors_twin(name)
        if not (folder / twin).is_file():
            raise BackendUnavailable(
                f"{what} folder {folder} holds pickle weights {name!r} and no {twin!r}. "
                "Only safetensors weights are accepted, because loading a pickle file can run "
                "arbitrary code. Convert it, e.g. load it once in a trusted session and call "
                "save_pretrained(..., safe_serialization=True)."
            )


def model_weight_files(folder: Path) -> list[Path]:
    """The safetensors weight files of a transformers model folder, sorted."""
    return sorted(p for p in folder.glob("*.safetensors") if p.is_file())


def validate_model_dir(folder: Path) -> None:
    """Check that ``folder`` is a transformers model saved with safetensors."""
    if not folder.is_dir():
        raise BackendUnavailable(
            f"model folder {folder} does not exist (or is not a folder). Give hf/PATH with the "
            "folder a model was saved to with save_pretrained(); hub names are not fetched."
        )
    if not (folder / "config.json").is_file():
        raise BackendUnavailable(
            f"model folder {folder} has no config.json, so it is not a transformers model "
            "folder. Save the model there with save_pretrained()."
        )
    require_safetensors_only(folder, what="model")
    if not model_weight_files(folder):
        raise BackendUnavailable(
            f"model folder {folder} has no *.safetensors weights. Only safetensors weights are "
            "accepted; save the model with save_pretrained(..., safe_serialization=True)."
        )
    for weights in model_weight_files(folder):
        check_safetensors_header(weights, what="model")


def validate_adapter_dir(folder: Path) -> None:
    """Check that ``folder`` is a PEFT adapter saved with safetensors."""
    if not folder.is_dir():
        raise BackendUnavailable(
            f"adapter folder {folder} does not exist (or is not a folder). The part after '+' "
            "in the model spec must be a PEFT adapter folder (adapter_config.json + "
            f"{ADAPTER_WEIGHTS})."
        )
    require_safetensors_only(folder, what="adapter")
    for required in (ADAPTER_CONFIG, ADAPTER_WEIGHTS):
        if not (folder / required).is_file():
            raise BackendUnavailable(
                f"adapter folder {folder} has no {required}; a PEFT adapter folder needs "
                f"{ADAPTER_CONFIG} and {ADAPTER_WEIGHTS} (save it with "
                "model.save_pretrained(folder) on a PeftModel)."
            )
    check_safetensors_header(folder / ADAPTER_WEIGHTS, what="adapter")


def check_safetensors_header(path: Path, *, what: str) -> None:
    """Read a safetensors file's header (no tensors) and check that it describes the file:
    a truncated or corrupt file fails here, named, before any model is loaded."""

    def broken(why: str) -> BackendUnavailable:
        return BackendUnavailable(
            f"{what} weights {path} are not a valid safetensors file ({why}); the file is "
            "corrupt or incomplete. Save it again with save_pretrained()."
        )

    size = path.stat().st_size
    with path.open("rb") as handle:
        prefix = handle.read(8)
        if len(prefix) < 8:
            raise broken(f"{size} bytes, shorter than the 8-byte header length")
        header_len = int.from_bytes(prefix, "little")
        if header_len > size - 8:
            raise broken(f"the header claims {header_len} bytes but the file has {size}")
        raw = handle.read(header_len)
    try:
        header = json.loads(raw)
    except (UnicodeDecodeError, ValueError):
        raise broken("the header is not JSON") from None
    if not isinstance(header, dict):
        raise broken("the header is not a JSON object")
    data_size = size - 8 - header_len
    for name, entry in header.items():
        if name == "__metadata__":
            continue
        offsets = entry.get("data_offsets") if isinstance(entry, dict) else None
        if (not isinstance(offsets, list) or len(offsets) != 2
                or not all(isinstance(o, int) for o in offsets)
                or not 0 <= offsets[0] <= offsets[1] <= data_size):
            raise broken(f"tensor {name!r} lies outside the file's {data_size} data bytes")


def sha256_file(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def _hash_index_path() -> Path:
    return model_cache_root() / _HASH_INDEX


def _read_hash_index() -> dict[str, str]:
    try:
        data = json.loads(_hash_index_path().read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    return {str(k): str(v) for k, v in data.items()} if isinstance(data, dict) else {}


def _write_hash_index(index: dict[str, str]) -> None:
    # The index only saves time; a read-only cache must not stop a run.
    with contextlib.suppress(OSError):
        atomic_write_text(_hash_index_path(), json.dumps(index, indent=0, sort_keys=True))


def cached_sha256(path: Path) -> str:
    """sha256 of a large file, remembered by path + mtime + size (in memory and on disk).

    Base weights are hundreds of MB; hashing them on every run would cost seconds.
    """
    resolved = path.resolve()
    stat = resolved.stat()
    key = f"{resolved}|{stat.st_mtime_ns}|{stat.st_size}"
    with _hash_lock:
        if key in _hash_memo:
            return _hash_memo[key]
        index = _read_hash_index()
        digest = index.get(key)
        if digest is None:
            digest = sha256_file(resolved)
            index = {k: v for k, v in index.items() if not k.startswith(f"{resolved}|")}
            index[key] = digest
            _write_hash_index(index)
        _hash_memo[key] = digest
        return digest


def _combine(named_digests: Iterable[tuple[str, str]]) -> str:
    digest = hashlib.sha256()
    for name, value in named_digests:
        digest.update(f"{name}\0{value}\n".encode())
    return digest.hexdigest()


def adapter_fingerprint(folder: Path) -> str:
    """sha256 over the adapter's config and weights (hashed fresh: they are small, and
    a retrained adapter of the same size must never hit a stale hash)."""
    return _combine(
        (name, sha256_file(folder / name)) for name in (ADAPTER_CONFIG, ADAPTER_WEIGHTS)
    )


def weights_fingerprint(files: Iterable[Path]) -> str:
    """One digest for a model's weight files (cached per file)."""
    return _combine((p.name, cached_sha256(p)) for p in files)


@contextlib.contextmanager
def _export_lock(target: Path) -> Iterator[bool]:
    """Serialise exports of one target across processes (pytest-xdist workers).

    Yields whether the lock is really held.
    """
    try:
        from filelock import FileLock  # a transformers dependency, so present whenever we export
    except ImportError:  # pragma: no cover - degrade to the rename race, still safe
        yield False
        return
    with FileLock(str(target.parent / f".{target.name}.lock")):
        yield True


def atomic_export(
    target: Path,
    write: Callable[[Path], None],
    *,
    reuse: Callable[[Path], bool] = lambda _folder: True,
) -> Path:
    """Create folder ``target`` by calling ``write(tmp)`` on a temporary sibling folder,
    then renaming it into place.

    An interrupted or failed ``write`` leaves no ``target`` (and no temporary folder),
    so a later run never loads a half-written model. Concurrent exporters are
    serialised; whoever comes second finds ``target`` and returns at once. An existing
    ``target`` for which ``reuse`` says False (stale) is replaced.
    """
    target.parent.mkdir(parents=True, exist_ok=True)
    with _export_lock(target) as locked:
        if target.is_dir():
            if reuse(target):
                return target
            remove_tree(target)
        if locked:
            # Under the lock, a leftover partial folder belongs to an exporter that was killed.
            for leftover in target.parent.glob(f".{target.name}.partial-*"):
                shutil.rmtree(leftover, ignore_errors=True)
        tmp = Path(tempfile.mkdtemp(dir=target.parent, prefix=f".{target.name}.partial-"))
        try:
            write(tmp)
            os.rename(tmp, target)
        except BaseException:
            shutil.rmtree(tmp, ignore_errors=True)
            if target.is_dir() and reuse(target):  # lost a race with an exporter without lock
                return target
            raise
    return target


def remove_tree(folder: Path) -> None:
    """Remove an exported folder that turned out stale (rename first: atomic for readers)."""
    if not folder.exists():
        return
    trash = Path(tempfile.mkdtemp(dir=folder.parent, prefix=f".{folder.name}.stale-"))
    os.rename(folder, trash / folder.name)
    shutil.rmtree(trash, ignore_errors=True)
