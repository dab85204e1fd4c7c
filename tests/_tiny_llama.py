"""A tiny random Llama for tests that need real weights but not a real model.

Importable from any test module (the suite's top conftest puts ``tests/`` on
``sys.path``). Skips the calling test when torch or transformers is missing.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest


def tiny_llama(*, vocab_size: int = 512, **config: Any) -> Any:
    """A seeded random 2-layer Llama (hidden 64); ``config`` adds or overrides
    LlamaConfig fields (``max_position_embeddings`` defaults to 256)."""
    transformers = pytest.importorskip("transformers")
    pytest.importorskip("torch").manual_seed(0)
    fields: dict[str, Any] = {
        "hidden_size": 64,
        "intermediate_size": 128,
        "num_hidden_layers": 2,
        "num_attention_heads": 4,
        "num_key_value_heads": 2,
        "max_position_embeddings": 256,
        **config,
    }
    return transformers.LlamaForCausalLM(transformers.LlamaConfig(vocab_size=vocab_size, **fields))


def save_tiny_llama(folder: Path, tokenizer: Any, **config: Any) -> Path:
    """Write ``tokenizer`` and a :func:`tiny_llama` sized to its vocabulary into
    ``folder``: a model folder any HF loader accepts."""
    tokenizer.save_pretrained(folder)
    tiny_llama(vocab_size=len(tokenizer), **config).save_pretrained(folder)
    return folder
