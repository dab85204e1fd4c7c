"""Two-stage DPO + LoRA training (trl ``DPOTrainer``, peft ``LoraConfig``).

Stage 1 trains a LoRA on the base with the honest-vs-dishonest pairs. Its adapter
is merged into the base (``merge_and_unload``) and the merged model is saved to
``OUT/work/stage1-merged``; stage 2 trains a fresh LoRA on that merged model with
the H²-ranked pairs. Finally both adapters are composed into **one** LoRA of rank
``r1 + r2`` that applies to the *original* base (see :mod:`._compose`), written to
``OUT`` itself, so ``pytest --honesty-model=embedded+OUT`` (or ``hf/BASE+OUT``)
tests it. The stage adapters stay in ``OUT/stages/``.

Layout of ``OUT``::

    adapter_config.json, adapter_model.safetensors   the composed adapter (on the base)
    finetune-manifest.json                           base id + hash, data hash, stages,
                                                     hyperparameters, metrics, versions
    stages/stage{1,2}/                               each stage's own adapter
    checkpoints/stage{1,2}/checkpoint-N/             Trainer checkpoints (--resume)
    work/stage1-merged/                              base + stage 1 (removed at the end
                                                     unless keep_merged_base)
    train-state.json                                 which stages are done, for --resume

The same code runs on CPU (``use_cpu: true``, ``bf16: false``) and unchanged under
``accelerate launch`` on GPUs (DDP: every process holds the model; only the main
process writes files). torch, transformers, peft, trl and datasets are imported
inside the functions.
"""

from __future__ import annotations

import datetime as _dt
import json
import platform
import shutil
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from .._atomic import atomic_write_text
from ..backends._base import BackendUnavailable, import_optional
from ..backends._local_files import (
    ADAPTER_CONFIG,
    ADAPTER_WEIGHTS,
    adapter_fingerprint,
    model_weight_files,
    validate_model_dir,
    weights_fingerprint,
)
from ._compose import compose_adapters
from ._config import ConfigError, TrainConfig
from ._curriculum import DIRECT, capped_indices, curriculum_of, stage_seed
from ._pairs import PAIR_FILES, PAIRS_MANIFEST, data_hash
from ._train_files import (
    Layout,
    TrainError,
    check_start,
    config_hash,
    read_rows,
    save_state,
)

__all__ = ["MANIFEST", "TrainError", "resolve_base", "train"]

MANIFEST = "finetune-manifest.json"
_VERSIONED = ("torch", "transformers", "peft", "trl", "datasets", "accelerate", "safetensors")
# A fixed prompt for the composition check: the logits of the composed adapter on the
# base must equal those of stage 2 on the merged base.
_PROBE = [{"role": "user", "content": "Can you tell me what the weather is like right now?"}]

Progress = Callable[[str], None]


def _stderr(message: str) -> None:
    print(f"[honesty finetune] {message}", file=sys.stderr, flush=True)


def resolve_base(spec: str) -> Path:
    """The transformers folder of a base model spec: ``embedded``, ``hf/PATH`` or ``PATH``."""
    if spec == "embedded":
        from ..backends._local_model import embedded_model_dir

        return embedded_model_dir()
    path = Path(spec[3:] if spec.startswith("hf/") else spec).expanduser()
    validate_model_dir(path)
    return path


def _versions() -> dict[str, str]:
    from importlib import metadata

    from .._version import __version__

    found = {"python": platform.python_version(), "pytest-honesty": __version__}
    for name in _VERSIONED:
        try:
            found[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            found[name] = "not installed"
    return found


def _accelerate_state() -> Any:
    accelerate = import_optional("accelerate", extra="finetune", purpose="Training adapters")
    return accelerate.PartialState()


def _trainer_args(config: TrainConfig, stage: int, has_eval: bool) -> dict[str, Any]:
    torch = import_optional("torch", extra="finetune", purpose="Training adapters")
    args = config.stage_trainer_args(stage)
    accelerator = torch.cuda.is_available() or (
        getattr(torch.backends, "mps", None) is not None and torch.backends.mps.is_available()
    )
    if not accelerator:
        args.setdefault("use_cpu", True)
    if args.get("use_cpu"):
        # trl turns bf16 on by default, also on CPU, where fp32 learns faster (measured);
        # its default gradient checkpointing only slows down the small models CPUs train.
        args.setdefault("bf16", False)
        args.setdefault("gradient_checkpointing", False)
    if not has_eval:
        args["eval_strategy"] = "no"
        args.pop("load_best_model_at_end", None)
    return args


def _metrics(trainer: Any) -> dict[str, Any]:
    history = list(trainer.state.log_history)
    train_summary: dict[str, Any] = next((h for h in reversed(history) if "train_loss" in h), {})
    last_eval: dict[str, Any] = next(
        (h for h in reversed(history) if any(k.startswith("eval_") for k in h)), {}
    )
    return {
        "global_step": int(trainer.state.global_step),
        "epochs": float(trainer.state.epoch or 0.0),
        "train": train_summary,
        "eval": last_eval,
        "log_history": history,
    }


def _train_stage(
    stage: int,
    model_dir: Path,
    config: TrainConfig,
    rows: tuple[list[dict[str, Any]], list[dict[str, Any]]],
    layout: Layout,
    *,
    resume: bool,
    progress: Progress,
) -> dict[str, Any]:
    from ..backends._local_model import load_causal_lm

    purpose = "Training adapters (honesty finetune train)"
    datasets = import_optional("datasets", extra="finetune", purpose=purpose)
    peft = import_optional("peft", extra="finetune", purpose=purpose)
    trl = import_optional("trl", extra="finetune", purpose=purpose)

    all_train_rows, eval_rows = rows
    keep = capped_indices(len(all_train_rows), config.max_train_pairs, stage_seed(config, stage))
    train_ds = datasets.Dataset.from_list([all_train_rows[i] for i in keep])
    eval_ds = datasets.Dataset.from_list(eval_rows) if eval_rows else None

    args = _trainer_args(config, stage, eval_ds is not None)
    try:
        dpo_args = trl.DPOConfig(output_dir=str(layout.checkpoints(stage)), **args)
    except TypeError as exc:
        raise ConfigError(
            f"{config.source}: trainer/stage{stage} settings are not all trl.DPOConfig "
            f"arguments ({exc}); see the DPOConfig documentation for trl "
            f"{_versions()['trl']}"
        ) from None
    model, tokenizer = load_causal_lm(model_dir, dtype=config.dtype)
    lora = peft.LoraConfig(
        r=config.lora.r,
        lora_alpha=config.lora.alpha,
        lora_dropout=config.lora.dropout,
        target_modules=list(config.lora.target_modules),
        bias="none",
        task_type="CAUSAL_LM",
    )
    trainer = trl.DPOTrainer(
        model=model,
        ref_model=None,  # with a LoRA, the reference is the same model with the adapter off
        args=dpo_args,
        train_dataset=train_ds,
        eval_dataset=eval_ds,
        processing_class=tokenizer,
        peft_config=lora,
    )
    # by step number, as the Trainer picks the last one (checkpoint-10 after checkpoint-9)
    checkpoints = sorted(layout.checkpoints(stage).glob("checkpoint-*"),
                         key=lambda p: int(p.name.rpartition("-")[2] or 0))
    resume_from = resume and bool(checkpoints)
    progress(
        f"stage {stage}: {len(train_ds)} train / {len(eval_rows)} validation pairs on "
        f"{model_dir}" + (f", resuming from {checkpoints[-1].name}" if resume_from else "")
    )
    started = time.perf_counter()
    trainer.train(resume_from_checkpoint=True if resume_from else None)
    seconds = time.perf_counter() - started
    state = _accelerate_state()
    if state.is_main_process:
        target = layout.stage(stage)
        if target.exists():
            shutil.rmtree(target)
        trainer.model.save_pretrained(str(target), safe_serialization=True)
    state.wait_for_everyone()
    metrics = _metrics(trainer)
    metrics["seconds"] = round(seconds, 1)
    progress(
        f"stage {stage}: done in {seconds:.0f} s, {metrics['global_step']} steps, train loss "
        f"{metrics['train'].get('train_loss', float('nan')):.4f}"
    )
    return {
        "stage": stage,
        "train_pairs": len(train_ds),
        "validation_pairs": len(eval_rows),
        "trainer_args": args,
        "metrics": metrics,
        "adapter": str(layout.stage(stage).relative_to(layout.out)),
    }


def _merge_stage1(
    base_dir: Path, layout: Layout, dtype: str, progress: Progress, *, barrier: bool = True
) -> Path:
    """Save base + stage-1 adapter, merged, as a plain model folder (main process only;
    with ``barrier`` the other processes wait for it)."""
    from ..backends._local_model import load_causal_lm

    state = _accelerate_state()
    target = layout.merged
    if state.is_main_process and not (target / "config.json").is_file():
        progress(f"merging stage 1 into the base -> {target}")
        # load_causal_lm applies the adapter with merge_and_unload
        model, tokenizer = load_causal_lm(base_dir, layout.stage(1), dtype=dtype)
        partial = target.with_name(target.name + ".partial")
        if partial.exists():
            shutil.rmtree(partial)
        model.save_pretrained(str(partial), safe_serialization=True)
        tokenizer.save_pretrained(str(partial))
        partial.replace(target)
        del model
    if barrier:
        state.wait_for_everyone()
    return target


def _probe_logits(model_dir: Path, adapter: Path | None, dtype: str) -> Any:
    from ..backends._local_model import load_causal_lm

    torch = import_optional("torch", extra="finetune", purpose="Checking the composed adapter")
    model, tokenizer = load_causal_lm(model_dir, adapter, dtype=dtype)
    ids = tokenizer.apply_chat_template(_PROBE, add_generation_prompt=True, return_tensors="pt")
    if not isinstance(ids, torch.Tensor):  # transformers 5 may return a BatchEncoding
        ids = ids["input_ids"]
    with torch.no_grad():
        return model(input_ids=ids).logits.float()


def _verify(base_dir: Path, layout: Layout, dtype: str) -> dict[str, float]:
    composed = _probe_logits(base_dir, layout.out, dtype)
    stacked = _probe_logits(layout.merged, layout.stage(2), dtype)
    diff = float((composed - stacked).abs().max())
    scale = float(stacked.abs().max())
    return {"max_abs_logit_diff": diff, "max_abs_logit": scale}


def _write_final(src: Path, out: Path) -> None:
    for name in (ADAPTER_CONFIG, ADAPTER_WEIGHTS):
        shutil.copyfile(src / name, out / name)


def train(
    pairs_dir: Path,
    config: TrainConfig,
    out: Path,
    *,
    resume: bool = False,
    progress: Progress = _stderr,
) -> dict[str, Any]:
    """Run both stages on the pairs in ``pairs_dir`` and write the adapter to ``out``.

    Returns the manifest (also written to ``out/finetune-manifest.json``).
    """
    missing = [n for n in PAIR_FILES.values() if not (pairs_dir / n).is_file()]
    if missing:
        raise TrainError(
            f"pairs folder {pairs_dir} lacks {', '.join(missing)}; build it with "
            "`honesty finetune pairs --report REPORT --out DIR`"
        )
    try:
        base_dir = resolve_base(config.base_model)
    except BackendUnavailable as exc:
        raise TrainError(f"{config.source}: base_model {config.base_model!r}: {exc}") from None
    layout = Layout(out)
    identity = {
        "data_sha256": data_hash(pairs_dir),
        "config_sha256": config_hash(config),
        "base_sha256": weights_fingerprint(model_weight_files(base_dir)),
    }
    state = check_start(layout, resume, identity)
    if state.get("complete") and (out / MANIFEST).is_file() and (out / ADAPTER_WEIGHTS).is_file():
        progress(f"{out} already holds the finished adapter (resume): nothing to do")
        done_manifest: dict[str, Any] = json.loads((out / MANIFEST).read_text(encoding="utf-8"))
        return done_manifest
    stage_rows = {
        stage: (read_rows(pairs_dir / PAIR_FILES[(stage, "train")]),
                read_rows(pairs_dir / PAIR_FILES[(stage, "validation")]))
        for stage in (1, 2)
    }
    if not stage_rows[1][0] and not stage_rows[2][0]:
        raise TrainError(
            f"pairs folder {pairs_dir} holds no training pairs for either stage; the reports "
            "need honest and dishonest (stage 1) or differently scored (stage 2) answers to "
            "the same queries"
        )
    accel = _accelerate_state()
    if accel.is_main_process:
        out.mkdir(parents=True, exist_ok=True)
        save_state(layout, state)
    accel.wait_for_everyone()
    started = time.perf_counter()
    records: list[dict[str, Any]] = []
    for stage in (1, 2):
        done = state["stages"].get(str(stage))
        if done and (layout.stage(stage) / ADAPTER_WEIGHTS).is_file():
            progress(f"stage {stage}: already trained (resume), skipping")
            records.append(done)
            continue
        if not stage_rows[stage][0]:
            progress(f"stage {stage}: no training pairs, skipped")
            continue
        model_dir = base_dir
        if stage == 2 and str(1) in state["stages"]:
            model_dir = _merge_stage1(base_dir, layout, config.dtype, progress)
        record = _train_stage(
            stage, model_dir, config, stage_rows[stage], layout, resume=resume,
            progress=progress,
        )
        record["started_from"] = "base" if model_dir == base_dir else "base + stage 1 merged"
        records.append(record)
        state["stages"][str(stage)] = record
        if accel.is_main_process:
            save_state(layout, state)
        accel.wait_for_everyone()

    trained = [int(r["stage"]) for r in records]
    verification: dict[str, float] | None = None
    if accel.is_main_process:
        if trained == [1, 2]:
            compose_adapters(layout.stage(1), layout.stage(2), out)
            composition = (
                "one LoRA of rank r1+r2 on the original base: A=[A1;A2], B=[s1*B1 | s2*B2], "
                "lora_alpha=r (exactly stage 2 trained on base + stage 1 merged)"
            )
            if config.verify_composition:
                # the merged base is gone when an earlier run finished all but this step
                _merge_stage1(base_dir, layout, config.dtype, progress, barrier=False)
                verification = _verify(base_dir, layout, config.dtype)
                progress(
                    "composed adapter vs stage 2 on the merged base: max |logit diff| = "
                    f"{verification['max_abs_logit_diff']:.2e}"
                )
        else:
            _write_final(layout.stage(trained[0]), out)
            composition = (
                "direct: one stage on both stages' pairs" if curriculum_of(pairs_dir) == DIRECT
                else f"stage {trained[0]} only (the other stage had no pairs)"
            )
        if not config.keep_merged_base and layout.merged.parent.exists():
            shutil.rmtree(layout.merged.parent)
        manifest = _manifest(
            config, base_dir, pairs_dir, out, records, composition, verification,
            identity, time.perf_counter() - started,
        )
        atomic_write_text(out / MANIFEST, json.dumps(manifest, indent=2) + "\n")
        state["complete"] = True
        save_state(layout, state)
    accel.wait_for_everyone()
    manifest_data: dict[str, Any] = json.loads((out / MANIFEST).read_text(encoding="utf-8"))
    return manifest_data


def _manifest(
    config: TrainConfig,
    base_dir: Path,
    pairs_dir: Path,
    out: Path,
    records: list[dict[str, Any]],
    composition: str,
    verification: dict[str, float] | None,
    identity: dict[str, str],
    seconds: float,
) -> dict[str, Any]:
    adapter_config = json.loads((out / ADAPTER_CONFIG).read_text(encoding="utf-8"))
    try:
        pairs_manifest = json.loads((pairs_dir / PAIRS_MANIFEST).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        pairs_manifest = None
    spec = "embedded" if config.base_model == "embedded" else f"hf/{base_dir}"
    return {
        "kind": "pytest-honesty two-stage DPO LoRA adapter",
        "created": _dt.datetime.now(_dt.timezone.utc).isoformat(timespec="seconds"),
        "base_model": {
            "spec": config.base_model,
            "path": str(base_dir),
            "sha256": identity["base_sha256"],
        },
        "adapter": {
            "path": str(out),
            "format": "peft LoRA (safetensors)",
            "r": adapter_config.get("r"),
            "lora_alpha": adapter_config.get("lora_alpha"),
            "target_modules": adapter_config.get("target_modules"),
            "composition": composition,
            "sha256": adapter_fingerprint(out),
            "verification": verification,
        },
        "data": {
            "pairs_dir": str(pairs_dir),
            "sha256": identity["data_sha256"],
            "pairs": pairs_manifest,
        },
        "stages": records,
        "hyperparameters": config.to_dict(),
        "seconds": round(seconds, 1),
        "versions": _versions(),
        "usage": [
            f"pytest --honesty-model={spec}+{out}",
            f"honesty run --model {spec}+{out}",
        ],
    }
