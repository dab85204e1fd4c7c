"""The training recipe: a YAML file read into one frozen :class:`TrainConfig`.

Shape (see ``finetune/smollm2-cpu.yaml``)::

    base_model: embedded          # embedded | hf/PATH | PATH (a transformers folder)
    dtype: float32                # weights dtype when loading the base
    lora: {r: 8, alpha: 16, dropout: 0.05, target_modules: [q_proj, v_proj]}
    trainer:                      # keyword arguments of trl.DPOConfig, both stages
      beta: 0.1
      loss_type: [sigmoid, sft]   # DPO + an SFT term on the chosen answer
      loss_weights: [1.0, 1.0]
      learning_rate: 5.0e-4
      ...
    stage1: {}                    # DPOConfig overrides for stage 1 only
    stage2: {num_train_epochs: 2} # ... and for stage 2
    max_train_pairs: null         # cap per stage (the first N in file order), for quick runs
    keep_merged_base: false       # keep the stage-1-merged base folder after composing
    verify_composition: true      # check composed adapter == stage 2 on merged base (logits)

``output_dir`` and ``resume_from_checkpoint`` are set by the trainer, not here.
"""

from __future__ import annotations

import copy
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .._yaml import safe_load

__all__ = ["ConfigError", "LoraSettings", "TrainConfig", "load_config"]

_TOP_KEYS = (
    "base_model", "dtype", "lora", "trainer", "stage1", "stage2", "max_train_pairs",
    "keep_merged_base", "verify_composition",
)
_LORA_KEYS = ("r", "alpha", "dropout", "target_modules")
# Set by the training code for each stage; a recipe that sets them would be ignored.
_RESERVED_TRAINER_KEYS = ("output_dir", "resume_from_checkpoint", "overwrite_output_dir")

#: What a recipe gets when it says nothing: the method's settings (LoRA on q/v, rank 8,
#: DPO beta 0.1 with an SFT term on the chosen answer) and plain per-epoch checkpoints.
DEFAULT_TRAINER: dict[str, Any] = {
    "beta": 0.1,
    "loss_type": ["sigmoid", "sft"],
    "loss_weights": [1.0, 1.0],
    "learning_rate": 5.0e-4,
    "num_train_epochs": 3,
    "per_device_train_batch_size": 4,
    "per_device_eval_batch_size": 4,
    "gradient_accumulation_steps": 1,
    "max_length": 512,
    "logging_steps": 5,
    "save_strategy": "epoch",
    "save_total_limit": 2,
    "eval_strategy": "epoch",
    "report_to": "none",
    "seed": 0,
}


class ConfigError(ValueError):
    """A training recipe is invalid; the message says which key and what to do."""


@dataclass(frozen=True)
class LoraSettings:
    r: int = 8
    alpha: int = 16
    dropout: float = 0.05
    target_modules: tuple[str, ...] = ("q_proj", "v_proj")

    def to_dict(self) -> dict[str, Any]:
        return {
            "r": self.r, "alpha": self.alpha, "dropout": self.dropout,
            "target_modules": list(self.target_modules),
        }


@dataclass(frozen=True)
class TrainConfig:
    base_model: str = "embedded"
    dtype: str = "float32"
    lora: LoraSettings = field(default_factory=LoraSettings)
    trainer: Mapping[str, Any] = field(default_factory=lambda: dict(DEFAULT_TRAINER))
    stage1: Mapping[str, Any] = field(default_factory=dict)
    stage2: Mapping[str, Any] = field(default_factory=dict)
    max_train_pairs: int | None = None
    keep_merged_base: bool = False
    verify_composition: bool = True
    source: str = "<defaults>"

    def stage_trainer_args(self, stage: int) -> dict[str, Any]:
        """The DPOConfig keyword arguments of one stage (common, then stage overrides)."""
        merged = copy.deepcopy(dict(self.trainer))
        merged.update(copy.deepcopy(dict(self.stage1 if stage == 1 else self.stage2)))
        return merged

    def to_dict(self) -> dict[str, Any]:
        return {
            "base_model": self.base_model,
            "dtype": self.dtype,
            "lora": self.lora.to_dict(),
            "trainer": copy.deepcopy(dict(self.trainer)),
            "stage1": copy.deepcopy(dict(self.stage1)),
            "stage2": copy.deepcopy(dict(self.stage2)),
            "max_train_pairs": self.max_train_pairs,
            "keep_merged_base": self.keep_merged_base,
            "verify_composition": self.verify_composition,
            "source": self.source,
        }


def _mapping(value: Any, where: str) -> dict[str, Any]:
    if value is None:
        return {}
    if not isinstance(value, dict) or not all(isinstance(k, str) for k in value):
        raise ConfigError(f"{where} must be a mapping of names to values")
    for key in _RESERVED_TRAINER_KEYS:
        if key in value:
            raise ConfigError(
                f"{where}.{key} is set by `honesty finetune train` (from --out and --resume); "
                "remove it from the recipe"
            )
    return dict(value)


def _lora(value: Any, where: str) -> LoraSettings:
    data = _mapping(value, where)
    unknown = sorted(set(data) - set(_LORA_KEYS))
    if unknown:
        raise ConfigError(f"{where}: unknown key(s) {unknown}; valid: {list(_LORA_KEYS)}")
    defaults = LoraSettings()
    try:
        settings = LoraSettings(
            r=int(data.get("r", defaults.r)),
            alpha=int(data.get("alpha", defaults.alpha)),
            dropout=float(data.get("dropout", defaults.dropout)),
            target_modules=tuple(
                str(m) for m in data.get("target_modules", defaults.target_modules)
            ),
        )
    except (TypeError, ValueError) as exc:
        raise ConfigError(f"{where}: {exc}") from None
    if settings.r < 1 or settings.alpha < 1:
        raise ConfigError(f"{where}: r and alpha must be positive integers")
    if not settings.target_modules:
        raise ConfigError(f"{where}.target_modules must name at least one module")
    return settings


def config_from_dict(data: Mapping[str, Any], *, source: str = "<dict>") -> TrainConfig:
    unknown = sorted(set(data) - set(_TOP_KEYS))
    if unknown:
        raise ConfigError(f"{source}: unknown key(s) {unknown}; valid: {list(_TOP_KEYS)}")
    trainer = dict(DEFAULT_TRAINER)
    trainer.update(_mapping(data.get("trainer"), f"{source}: trainer"))
    max_pairs = data.get("max_train_pairs")
    if max_pairs is not None and (not isinstance(max_pairs, int) or max_pairs < 1):
        raise ConfigError(f"{source}: max_train_pairs must be a positive integer or null")
    base = data.get("base_model", "embedded")
    if not isinstance(base, str) or not base.strip():
        raise ConfigError(f"{source}: base_model must be 'embedded', 'hf/PATH' or a folder path")
    return TrainConfig(
        base_model=base.strip(),
        dtype=str(data.get("dtype", "float32")),
        lora=_lora(data.get("lora"), f"{source}: lora"),
        trainer=trainer,
        stage1=_mapping(data.get("stage1"), f"{source}: stage1"),
        stage2=_mapping(data.get("stage2"), f"{source}: stage2"),
        max_train_pairs=max_pairs,
        keep_merged_base=bool(data.get("keep_merged_base", False)),
        verify_composition=bool(data.get("verify_composition", True)),
        source=source,
    )


def load_config(path: Path | None) -> TrainConfig:
    """Read a recipe; ``None`` gives the defaults (the small-model CPU settings)."""
    if path is None:
        return config_from_dict({}, source="<defaults>")
    import yaml

    try:
        data = safe_load(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise ConfigError(f"cannot read training config {path}: {exc}") from None
    except yaml.YAMLError as exc:
        raise ConfigError(f"training config {path} is not valid YAML: {exc}") from None
    if data is None:
        data = {}
    if not isinstance(data, dict):
        raise ConfigError(f"training config {path} must be a YAML mapping (key: value lines)")
    return config_from_dict(data, source=str(path))
