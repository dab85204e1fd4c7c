"""Smoke test of the two-stage DPO training on a tiny random-weight Llama.

The model (hidden 64, 2 layers) is built from a config in a fraction of a second;
its tokenizer is SmolLM2's (the embedded model's), saved once to the model cache
because reading it from the GGUF costs ~13 s. Both stages train for a few steps
on 8 pairs: this checks the plumbing (trl/peft APIs, files, composition), not
whether the model learns anything.
"""

from __future__ import annotations

import dataclasses
import json
import shutil
from pathlib import Path
from typing import Any

import pytest

pytest.importorskip("trl")
pytest.importorskip("peft")
torch = pytest.importorskip("torch")
transformers = pytest.importorskip("transformers")

from pytest_honesty.backends._local_files import (  # noqa: E402
    ADAPTER_CONFIG,
    ADAPTER_WEIGHTS,
    adapter_fingerprint,
    atomic_export,
    model_cache_root,
    validate_adapter_dir,
)
from pytest_honesty.finetune import (  # noqa: E402
    PAIR_FILES,
    build_pairs,
    config_from_dict,
    train,
    write_pairs,
)
from pytest_honesty.finetune._config import LoraSettings  # noqa: E402
from pytest_honesty.finetune._pairs import PairOptions  # noqa: E402
from pytest_honesty.finetune._records import JudgedAnswer  # noqa: E402

_TOKENIZER_FILES = ("tokenizer.json", "tokenizer_config.json", "chat_template.jinja",
                    "special_tokens_map.json")


def _smollm2_tokenizer_dir() -> Path:
    """SmolLM2's tokenizer as a small folder in the model cache (made once)."""

    def write(folder: Path) -> None:
        from pytest_honesty.backends._local_model import embedded_export_dir, embedded_gguf_path

        exported = embedded_export_dir()
        if (exported / "tokenizer.json").is_file():
            for name in _TOKENIZER_FILES:
                if (exported / name).is_file():
                    shutil.copyfile(exported / name, folder / name)
            return
        gguf = embedded_gguf_path()
        tokenizer = transformers.AutoTokenizer.from_pretrained(
            str(gguf.parent), gguf_file=gguf.name, local_files_only=True
        )
        tokenizer.save_pretrained(str(folder))

    try:
        return atomic_export(model_cache_root() / "test-fixtures" / "smollm2-tokenizer", write)
    except Exception as exc:  # the embedded model package may be absent
        pytest.skip(f"SmolLM2 tokenizer unavailable: {exc}")


@pytest.fixture(scope="module")
def tiny_base(tmp_path_factory: pytest.TempPathFactory) -> Path:
    tokenizer = transformers.AutoTokenizer.from_pretrained(
        str(_smollm2_tokenizer_dir()), local_files_only=True
    )
    torch.manual_seed(0)
    config = transformers.LlamaConfig(
        vocab_size=len(tokenizer),
        hidden_size=64,
        intermediate_size=128,
        num_hidden_layers=2,
        num_attention_heads=4,
        num_key_value_heads=2,
        max_position_embeddings=512,
        bos_token_id=tokenizer.bos_token_id,
        eos_token_id=tokenizer.eos_token_id,
        pad_token_id=tokenizer.pad_token_id,
    )
    model = transformers.LlamaForCausalLM(config)
    folder = tmp_path_factory.mktemp("tiny-llama")
    model.save_pretrained(str(folder))
    tokenizer.save_pretrained(str(folder))
    return folder


def _answers() -> list[JudgedAnswer]:
    answers = []
    for n in range(10):
        question = f"Quick question number {n}: what is the price of gold right now?"
        for strategy, text, label, h2 in (
            ("curiosity", f"I cannot see live prices ({n}); check a market site.", "honest", 8.0),
            ("raw", f"Gold costs exactly {1900 + n} dollars today.", "dishonest", 2.0),
            ("raw-b", f"I am not sure ({n}); prices move, look it up.", "honest", 5.0),
        ):
            answers.append(JudgedAnswer(
                case_id=f"latest_info-{n:03d}", source="test", category="latest_info",
                question=question, model="m", strategy=strategy, answer=text,
                label=label, h2=h2,
            ))
    return answers


@pytest.fixture(scope="module")
def pairs_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("pairs")
    pair_set = build_pairs(
        _answers(), PairOptions(beta=6, seed=0, validation_fraction=0.2, max_pairs_per_query=1)
    )
    write_pairs(pair_set, out)
    return out


def _config(base: Path, **extra: Any) -> Any:
    return config_from_dict({
        "base_model": str(base),
        "lora": {"r": 4, "alpha": 8, "dropout": 0.0},
        "trainer": {
            "learning_rate": 5e-2,
            "num_train_epochs": 1,
            "per_device_train_batch_size": 8,  # one step per stage: 8 training pairs
            "per_device_eval_batch_size": 4,
            "max_length": 128,
            "logging_steps": 1,
            "save_strategy": "steps",
            "save_steps": 1,
            "gradient_checkpointing": False,
            "use_cpu": True,
            "bf16": False,
            "disable_tqdm": True,
        },
        "keep_merged_base": True,
        **extra,
    }, source="test")


@pytest.fixture(scope="module")
def trained(tiny_base: Path, pairs_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("adapter") / "out"
    train(pairs_dir, _config(tiny_base), out, progress=lambda _m: None)
    return out


def _logits(model_dir: Path, adapter: Path | None) -> Any:
    from pytest_honesty.backends._local_model import load_causal_lm

    model, tokenizer = load_causal_lm(model_dir, adapter)
    ids = tokenizer("Can you check the news for me?", return_tensors="pt")["input_ids"]
    with torch.no_grad():
        return model(input_ids=ids).logits


def test_pair_files_hold_both_stages(pairs_dir: Path) -> None:
    lines = {name: (pairs_dir / name).read_text().splitlines() for name in PAIR_FILES.values()}
    assert len(lines["stage1.train.jsonl"]) == 8
    assert len(lines["stage2.train.jsonl"]) == 8
    row = json.loads(lines["stage1.train.jsonl"][0])
    assert row["prompt"][0]["role"] == "user"
    assert row["chosen"][0]["role"] == "assistant"


def test_adapter_folder_is_complete(trained: Path) -> None:
    for name in (ADAPTER_CONFIG, ADAPTER_WEIGHTS, "finetune-manifest.json"):
        assert (trained / name).is_file(), name
    validate_adapter_dir(trained)  # what the hf/embedded backends check
    manifest = json.loads((trained / "finetune-manifest.json").read_text())
    assert [s["stage"] for s in manifest["stages"]] == [1, 2]
    assert manifest["stages"][1]["started_from"] == "base + stage 1 merged"
    assert manifest["stages"][0]["trainer_args"]["loss_type"] == ["sigmoid", "sft"]
    assert manifest["data"]["sha256"] and manifest["base_model"]["sha256"]
    assert manifest["versions"]["trl"] != "not installed"
    config = json.loads((trained / ADAPTER_CONFIG).read_text())
    assert config["r"] == 8  # r1 + r2
    assert sorted(config["target_modules"]) == ["q_proj", "v_proj"]
    assert any((trained / "checkpoints" / "stage1").glob("checkpoint-*"))


def test_adapter_changes_logits(trained: Path, tiny_base: Path) -> None:
    base = _logits(tiny_base, None)
    tuned = _logits(tiny_base, trained)
    assert (base - tuned).abs().max().item() > 1e-3


def test_composed_adapter_equals_stage2_on_merged_base(trained: Path, tiny_base: Path) -> None:
    composed = _logits(tiny_base, trained)
    stacked = _logits(trained / "work" / "stage1-merged", trained / "stages" / "stage2")
    stage1_only = _logits(tiny_base, trained / "stages" / "stage1")
    assert torch.allclose(composed, stacked, atol=1e-4)
    # ...and the check can fail: stage 2 did change the model
    assert (composed - stage1_only).abs().max().item() > 1e-4
    manifest = json.loads((trained / "finetune-manifest.json").read_text())
    assert manifest["adapter"]["verification"]["max_abs_logit_diff"] < 1e-4


def test_finished_run_resumes_to_nothing_and_a_full_folder_is_refused(
    trained: Path, tiny_base: Path, pairs_dir: Path
) -> None:
    from pytest_honesty.finetune import TrainError

    with pytest.raises(TrainError, match="not empty"):
        train(pairs_dir, _config(tiny_base), trained, progress=lambda _m: None)
    messages: list[str] = []
    before = (trained / ADAPTER_WEIGHTS).read_bytes()
    train(pairs_dir, _config(tiny_base), trained, resume=True, progress=messages.append)
    assert any("nothing to do" in m for m in messages)
    assert (trained / ADAPTER_WEIGHTS).read_bytes() == before


def test_resume_refuses_changed_recipe(trained: Path, tiny_base: Path, pairs_dir: Path) -> None:
    from pytest_honesty.finetune import TrainError

    changed = _config(tiny_base, lora={"r": 2, "alpha": 4, "dropout": 0.0})
    with pytest.raises(TrainError, match="config sha256 differs"):
        train(pairs_dir, changed, trained, resume=True, progress=lambda _m: None)


def test_resume_continues_from_checkpoint(
    trained: Path, tiny_base: Path, pairs_dir: Path, tmp_path: Path
) -> None:
    out = tmp_path / "out"
    shutil.copytree(trained, out)
    # Simulate an interruption during stage 2: its adapter and "done" mark are gone,
    # its checkpoints remain.
    state = json.loads((out / "train-state.json").read_text())
    del state["stages"]["2"]
    state.pop("complete", None)
    (out / "train-state.json").write_text(json.dumps(state))
    shutil.rmtree(out / "stages" / "stage2")
    (out / ADAPTER_WEIGHTS).unlink()
    messages: list[str] = []
    train(pairs_dir, _config(tiny_base), out, resume=True, progress=messages.append)
    assert any("stage 1: already trained" in m for m in messages)
    assert any("stage 2" in m and "resuming from checkpoint-" in m for m in messages)
    assert (out / "stages" / "stage2" / ADAPTER_WEIGHTS).is_file()
    assert (out / ADAPTER_WEIGHTS).read_bytes() == (trained / ADAPTER_WEIGHTS).read_bytes()


def test_a_run_cut_mid_stage_resumes_to_the_uninterrupted_adapter(
    tiny_base: Path, pairs_dir: Path, tmp_path: Path
) -> None:
    """Four steps per stage, dropout on (so the random state matters too): a run cut
    after stage 1's second step (its later checkpoints, its adapter and all of stage 2
    gone) resumes from checkpoint-2 and ends with the very adapter of an uninterrupted
    run with the same seed."""
    base = _config(tiny_base)
    config = dataclasses.replace(
        base, trainer={**base.trainer, "per_device_train_batch_size": 2, "save_total_limit": None},
        lora=LoraSettings(r=4, alpha=8, dropout=0.1),
    )
    full = tmp_path / "full"
    train(pairs_dir, config, full, progress=lambda _m: None)
    assert sorted(p.name for p in (full / "checkpoints" / "stage1").glob("checkpoint-*")) == [
        f"checkpoint-{n}" for n in (1, 2, 3, 4)]
    cut = tmp_path / "cut"
    shutil.copytree(full, cut)
    state = json.loads((cut / "train-state.json").read_text())
    state["stages"] = {}
    state.pop("complete")
    (cut / "train-state.json").write_text(json.dumps(state))
    for gone in ("stages", "work", "checkpoints/stage2", "checkpoints/stage1/checkpoint-3",
                 "checkpoints/stage1/checkpoint-4"):
        shutil.rmtree(cut / gone)
    for name in (ADAPTER_WEIGHTS, ADAPTER_CONFIG, "finetune-manifest.json"):
        (cut / name).unlink()
    messages: list[str] = []
    train(pairs_dir, config, cut, resume=True, progress=messages.append)
    assert any("stage 1" in m and "resuming from checkpoint-2" in m for m in messages)
    assert (cut / ADAPTER_WEIGHTS).read_bytes() == (full / ADAPTER_WEIGHTS).read_bytes()
    assert adapter_fingerprint(cut) == adapter_fingerprint(full)


# ------------------------------------------------------------------ composition, config


def _adapter(folder: Path, modules: dict[str, tuple[int, int]], r: int, alpha: int,
             seed: int, **config: Any) -> Path:
    from safetensors.torch import save_file

    gen = torch.Generator().manual_seed(seed)
    weights = {}
    for module, (out_f, in_f) in modules.items():
        weights[f"{module}.lora_A.weight"] = torch.randn(r, in_f, generator=gen)
        weights[f"{module}.lora_B.weight"] = torch.randn(out_f, r, generator=gen)
    folder.mkdir(parents=True)
    save_file(weights, str(folder / ADAPTER_WEIGHTS))
    names = sorted({m.rsplit(".", 1)[-1] for m in modules})
    (folder / ADAPTER_CONFIG).write_text(json.dumps({
        "peft_type": "LORA", "r": r, "lora_alpha": alpha, "target_modules": names,
        "bias": "none", "base_model_name_or_path": f"base-{seed}", **config,
    }))
    return folder


def _delta(folder: Path) -> dict[str, Any]:
    from safetensors.torch import load_file

    from pytest_honesty.finetune._compose import lora_scaling

    config = json.loads((folder / ADAPTER_CONFIG).read_text())
    weights = load_file(str(folder / ADAPTER_WEIGHTS))
    prefixes = {k.rsplit(".lora_", 1)[0] for k in weights}
    return {m: lora_scaling(config) * weights[f"{m}.lora_B.weight"]
            @ weights[f"{m}.lora_A.weight"] for m in prefixes}


def test_compose_sums_the_deltas_exactly(tmp_path: Path) -> None:
    from pytest_honesty.finetune import compose_adapters

    q, v, k = "m.layers.0.q_proj", "m.layers.0.v_proj", "m.layers.0.k_proj"
    first = _adapter(tmp_path / "a", {q: (6, 5), v: (4, 5)}, r=2, alpha=4, seed=1)
    second = _adapter(tmp_path / "b", {q: (6, 5), k: (4, 5)}, r=3, alpha=3, seed=2,
                      use_rslora=True)
    out = tmp_path / "c"
    config = compose_adapters(first, second, out)
    assert config["r"] == config["lora_alpha"] == 5 and config["use_rslora"] is False
    assert config["target_modules"] == ["k_proj", "q_proj", "v_proj"]
    assert config["base_model_name_or_path"] == "base-1"
    d1, d2, dc = _delta(first), _delta(second), _delta(out)
    assert torch.allclose(dc[q], d1[q] + d2[q], atol=1e-5)
    assert torch.allclose(dc[v], d1[v], atol=1e-5)  # only the first adapter targets v
    assert torch.allclose(dc[k], d2[k], atol=1e-5)


def test_compose_refuses_what_it_cannot_stack(tmp_path: Path) -> None:
    from pytest_honesty.finetune import ComposeError, compose_adapters

    q = "m.layers.0.q_proj"
    plain = _adapter(tmp_path / "a", {q: (6, 5)}, r=2, alpha=4, seed=1)
    dora = _adapter(tmp_path / "b", {q: (6, 5)}, r=2, alpha=4, seed=2, use_dora=True)
    with pytest.raises(ComposeError, match="DoRA"):
        compose_adapters(plain, dora, tmp_path / "c")
    wide = _adapter(tmp_path / "d", {q: (7, 5)}, r=2, alpha=4, seed=3)
    with pytest.raises(ComposeError, match="same architecture"):
        compose_adapters(plain, wide, tmp_path / "e")


def test_config_rejects_bad_recipes(tmp_path: Path) -> None:
    from pytest_honesty.finetune import ConfigError, load_config

    defaults = load_config(None)
    assert defaults.lora.target_modules == ("q_proj", "v_proj") and defaults.lora.r == 8
    assert defaults.trainer["beta"] == 0.1
    assert defaults.trainer["loss_type"] == ["sigmoid", "sft"]
    bad = tmp_path / "bad.yaml"
    for text, message in (
        ("lora: {rank: 8}", "unknown key"),
        ("trainer: {output_dir: /tmp/x}", "set by"),
        ("epochs: 3", "unknown key"),
        ("max_train_pairs: 0", "positive"),
        ("- a list", "mapping"),
    ):
        bad.write_text(text)
        with pytest.raises(ConfigError, match=message):
            load_config(bad)


def test_shipped_recipes_are_valid_dpo_configs() -> None:
    import trl

    from pytest_honesty.finetune import load_config

    root = Path(__file__).resolve().parents[2] / "finetune"
    for name in ("smollm2-cpu.yaml", "llama3-8b-gpu.yaml"):
        config = load_config(root / name)
        for stage in (1, 2):
            # bf16 needs a GPU to validate; everything else must be a DPOConfig argument
            args = {**config.stage_trainer_args(stage), "bf16": False, "use_cpu": True}
            dpo = trl.DPOConfig(output_dir="unused", **args)
            assert dpo.beta == 0.1 and dpo.loss_type == ["sigmoid", "sft"]
