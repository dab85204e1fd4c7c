"""Two-stage DPO fine-tuning from judged run reports (extra ``[finetune]``).

* :func:`read_answers` + :func:`build_pairs` + :func:`write_pairs`: preference pairs
  (stage 1 honest vs dishonest, stage 2 H² >= beta vs lower) split by query;
* :func:`train`: DPO + LoRA for both stages and one composed adapter on the base;
* :func:`write_direct_pairs`: the one-stage ("direct") arm's pairs, the very pairs the two
  stages trained on; :func:`compare_arms`: base vs adapters on the same held-out cases.

Never imported by the pytest plugin; torch, transformers, peft and trl are imported
only when training starts. The command line is ``honesty finetune pairs|train|run|eval|rejudge``.
"""

from __future__ import annotations

from ._compose import ComposeError, compose_adapters
from ._config import ConfigError, LoraSettings, TrainConfig, config_from_dict, load_config
from ._curriculum import write_direct_pairs
from ._eval import compare_arms
from ._pairs import PAIR_FILES, Pair, PairOptions, PairSet, build_pairs, query_key, write_pairs
from ._records import JudgedAnswer, RecordFormatError, load_records, read_answers
from ._train import MANIFEST, TrainError, train

__all__ = [
    "MANIFEST",
    "PAIR_FILES",
    "ComposeError",
    "ConfigError",
    "JudgedAnswer",
    "LoraSettings",
    "Pair",
    "PairOptions",
    "PairSet",
    "RecordFormatError",
    "TrainConfig",
    "TrainError",
    "build_pairs",
    "compare_arms",
    "compose_adapters",
    "config_from_dict",
    "load_config",
    "load_records",
    "query_key",
    "read_answers",
    "train",
    "write_direct_pairs",
    "write_pairs",
]
