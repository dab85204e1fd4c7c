"""Compose two stacked LoRA adapters into one adapter on the original base.

Stage 2 trains a LoRA on the stage-1-merged model ``W0 + s1·B1·A1``; the model it
produces is ``W0 + s1·B1·A1 + s2·B2·A2``. That sum is itself a LoRA of rank
``r1 + r2`` on ``W0``, exactly::

    s1·B1·A1 + s2·B2·A2 = [s1·B1 | s2·B2] · [A1 ; A2]

so the composed adapter stacks the A matrices, stacks the B matrices scaled by
their adapter's scaling (``lora_alpha / r``, or ``/ sqrt(r)`` with rsLoRA), and
sets ``lora_alpha = r`` (scaling 1). It loads with plain PEFT on the original
base (``embedded+ADAPTER``, ``hf/BASE+ADAPTER``) and gives the stage-2-on-merged
model's outputs up to float rounding. A module that only one adapter targets gets
zero rows/columns from the other.

Only plain LoRA is composed: no DoRA, no bias training, no ``modules_to_save``, no
per-module rank or alpha patterns (the error says which one was found).
"""

from __future__ import annotations

import json
import math
import re
from pathlib import Path
from typing import Any

from ..backends._local_files import ADAPTER_CONFIG, ADAPTER_WEIGHTS

__all__ = ["ComposeError", "compose_adapters", "lora_scaling"]

_KEY = re.compile(r"^(?P<module>.+)\.lora_(?P<part>[AB])\.weight$")


class ComposeError(ValueError):
    """The adapters cannot be composed into one LoRA."""


def _read_config(folder: Path) -> dict[str, Any]:
    try:
        config = json.loads((folder / ADAPTER_CONFIG).read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise ComposeError(f"cannot read {folder / ADAPTER_CONFIG}: {exc}") from None
    if not isinstance(config, dict):
        raise ComposeError(f"{folder / ADAPTER_CONFIG} is not a JSON object")
    checks = (
        (str(config.get("peft_type", "")).upper() == "LORA", "peft_type is not LORA"),
        (not config.get("use_dora"), "use_dora is set (DoRA)"),
        (config.get("bias", "none") == "none", f"bias={config.get('bias')!r} (not 'none')"),
        (not config.get("modules_to_save"), "modules_to_save is set"),
        (not config.get("rank_pattern"), "rank_pattern is set"),
        (not config.get("alpha_pattern"), "alpha_pattern is set"),
    )
    for ok, problem in checks:
        if not ok:
            raise ComposeError(
                f"adapter {folder} cannot be composed: {problem}. Only plain LoRA adapters "
                "(lora_A/lora_B on linear layers) can be stacked into one adapter."
            )
    return config


def lora_scaling(config: dict[str, Any]) -> float:
    """PEFT's scaling factor of a LoRA config."""
    r = int(config["r"])
    alpha = float(config.get("lora_alpha", r))
    return alpha / math.sqrt(r) if config.get("use_rslora") else alpha / r


def _split(weights: dict[str, Any], folder: Path) -> dict[str, dict[str, Any]]:
    modules: dict[str, dict[str, Any]] = {}
    for key, tensor in weights.items():
        match = _KEY.match(key)
        if match is None:
            raise ComposeError(
                f"adapter {folder} holds {key!r}, which is not a lora_A/lora_B weight; only "
                "plain LoRA adapters can be composed"
            )
        modules.setdefault(match["module"], {})[match["part"]] = tensor
    for module, parts in modules.items():
        if set(parts) != {"A", "B"}:
            raise ComposeError(f"adapter {folder}: module {module} lacks lora_A or lora_B")
    return modules


def _targets(first: dict[str, Any], second: dict[str, Any]) -> Any:
    a, b = first.get("target_modules"), second.get("target_modules")
    if isinstance(a, str) or isinstance(b, str):
        if a != b:
            raise ComposeError(
                "the adapters' target_modules are regular expressions that differ "
                f"({a!r} vs {b!r}); give both stages the same target_modules"
            )
        return a
    return sorted(set(a or ()) | set(b or ()))


def _factors(
    torch: Any, module: str, parts: dict[str, Any] | None, r: int, scale: float,
    shape: tuple[int, int], dtype: Any,
) -> tuple[Any, Any]:
    """(A, scale·B) of one adapter on one module; zeros when it does not target it."""
    out_features, in_features = shape
    if parts is None:
        return (torch.zeros(r, in_features, dtype=dtype),
                torch.zeros(out_features, r, dtype=dtype))
    a, b = parts["A"], parts["B"]
    if tuple(a.shape) != (r, in_features) or tuple(b.shape) != (out_features, r):
        raise ComposeError(
            f"module {module}: shapes A{tuple(a.shape)} B{tuple(b.shape)} do not fit rank "
            f"{r} on a {out_features}x{in_features} layer; were both adapters trained on "
            "the same architecture?"
        )
    # Scale in float32 so that a bf16 adapter does not lose the factor's precision.
    return a.to(dtype), (b.float() * scale).to(dtype)


def compose_adapters(first: Path, second: Path, out: Path) -> dict[str, Any]:
    """Write to ``out`` one LoRA adapter equal to ``first`` then ``second`` stacked.

    ``second`` must have been trained on the base with ``first`` merged in. Returns
    the composed adapter config.
    """
    import torch
    from safetensors.torch import load_file, save_file

    config1, config2 = _read_config(first), _read_config(second)
    scale1, scale2 = lora_scaling(config1), lora_scaling(config2)
    r1, r2 = int(config1["r"]), int(config2["r"])
    mods1 = _split(load_file(str(first / ADAPTER_WEIGHTS)), first)
    mods2 = _split(load_file(str(second / ADAPTER_WEIGHTS)), second)
    if not mods1 or not mods2:
        raise ComposeError(f"adapter {first if not mods1 else second} holds no LoRA weights")
    combined: dict[str, Any] = {}
    for module in sorted(set(mods1) | set(mods2)):
        p1, p2 = mods1.get(module), mods2.get(module)
        ref = p2 if p2 is not None else p1
        assert ref is not None
        shape = (int(ref["B"].shape[0]), int(ref["A"].shape[1]))  # (out, in) features
        a1, b1 = _factors(torch, module, p1, r1, scale1, shape, ref["A"].dtype)
        a2, b2 = _factors(torch, module, p2, r2, scale2, shape, ref["A"].dtype)
        combined[f"{module}.lora_A.weight"] = torch.cat([a1, a2], dim=0).contiguous()
        combined[f"{module}.lora_B.weight"] = torch.cat([b1, b2], dim=1).contiguous()
    rank = r1 + r2
    config = dict(config2)
    config.update(
        r=rank,
        lora_alpha=rank,  # scaling 1: the factors already carry each stage's scaling
        use_rslora=False,
        target_modules=_targets(config1, config2),
        base_model_name_or_path=config1.get("base_model_name_or_path"),
    )
    out.mkdir(parents=True, exist_ok=True)
    save_file(combined, str(out / ADAPTER_WEIGHTS), metadata={"format": "pt"})
    (out / ADAPTER_CONFIG).write_text(json.dumps(config, indent=2) + "\n", encoding="utf-8")
    return config
