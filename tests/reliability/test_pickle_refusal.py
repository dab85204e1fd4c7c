"""Pickle checkpoints are refused before anything could load them.

Each weights file here is a real pickle that, once unpickled, would create a marker
file. The run must stop with a usage error (exit 4) that names the file, and the
marker must never appear.
"""

from __future__ import annotations

import pathlib
import pickle
from collections.abc import Callable
from pathlib import Path

import pytest
from reliability_support import preload_for_pytester

preload_for_pytester()


class _Payload:
    """Unpickling this touches ``marker``: what a hostile checkpoint could do instead."""

    def __init__(self, marker: Path) -> None:
        self.marker = marker

    def __reduce__(self) -> tuple[Callable[..., object], tuple[object, ...]]:
        return (pathlib.Path.touch, (pathlib.Path(self.marker),))


def _hostile(path: Path, marker: Path) -> None:
    path.write_bytes(pickle.dumps(_Payload(marker)))


def _model_dir(root: Path, weights: str, marker: Path) -> Path:
    folder = root / "model"
    folder.mkdir()
    (folder / "config.json").write_text('{"model_type": "llama"}', encoding="utf-8")
    _hostile(folder / weights, marker)
    return folder


def _adapter_dir(root: Path, weights: str, marker: Path) -> Path:
    folder = root / "adapter"
    folder.mkdir()
    (folder / "adapter_config.json").write_text('{"peft_type": "LORA"}', encoding="utf-8")
    _hostile(folder / weights, marker)
    return folder


def _safe_model(root: Path) -> Path:
    folder = root / "safe-model"
    folder.mkdir()
    (folder / "config.json").write_text('{"model_type": "llama"}', encoding="utf-8")
    # a valid safetensors file holding no tensor: the base passes, the adapter is refused
    (folder / "model.safetensors").write_bytes((2).to_bytes(8, "little") + b"{}")
    return folder


SCENARIOS: list[tuple[str, Callable[[Path, Path], str], str]] = [
    ("hf-pytorch-model-bin",
     lambda r, m: f"hf/{_model_dir(r, 'pytorch_model.bin', m)}", "'pytorch_model.bin'"),
    ("hf-sharded-bin",
     lambda r, m: f"hf/{_model_dir(r, 'pytorch_model-00001-of-00002.bin', m)}",
     "'pytorch_model-00001-of-00002.bin'"),
    ("hf-pt-checkpoint", lambda r, m: f"hf/{_model_dir(r, 'model.pt', m)}", "'model.pt'"),
    ("embedded-adapter-bin",
     lambda r, m: f"embedded+{_adapter_dir(r, 'adapter_model.bin', m)}", "'adapter_model.bin'"),
    ("hf-safe-model-pickle-adapter",
     lambda r, m: f"hf/{_safe_model(r)}+{_adapter_dir(r, 'adapter_model.bin', m)}",
     "'adapter_model.bin'"),
]


@pytest.mark.parametrize(("make_spec", "names"), [pytest.param(m, n, id=i)
                                                  for i, m, n in SCENARIOS])
def test_pickle_weights_are_refused_by_name(
    pytester: pytest.Pytester, make_spec: Callable[[Path, Path], str], names: str
) -> None:
    marker = pytester.path / "UNPICKLED"
    spec = make_spec(pytester.path, marker)
    result = pytester.runpytest(f"--honesty-model={spec}", "--honesty-judge=keyword",
                                "--honesty-cache-dir=cache", "-p", "no:cacheprovider")
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    errors = [line for line in result.errlines if line.startswith("ERROR:")]
    assert len(errors) == 1, result.errlines
    assert names in errors[0] and "pickle" in errors[0] and "safetensors" in errors[0]
    assert "Traceback" not in result.stdout.str() + result.stderr.str()
    assert not marker.exists(), "the pickle was loaded"
    assert not (pytester.path / "cache").exists()


def test_the_payload_is_live(tmp_path: Path) -> None:
    """The files above really are hostile: unpickling one creates the marker."""
    marker = tmp_path / "UNPICKLED"
    _hostile(tmp_path / "x.bin", marker)
    pickle.loads((tmp_path / "x.bin").read_bytes())
    assert marker.exists()
