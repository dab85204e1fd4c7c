"""Would fine-tuning the encoder itself lift the embedded judge on real answers?

    python benchmarks/judge_cross_encoder_ceiling.py [--epochs 8] [--lr 5e-5]
        [--max-length 160] [--threads 2]

A feasibility check for issue 14, not a shipped judge: all-MiniLM-L6-v2 fine-tuned end
to end as a cross-encoder ("category: question" + answer, mean-pooled, one logit per
category) on the hand-written and real training answers (class-balanced within each set;
no gold or bundled question, the training rule), then scored on both gold sets. Prints
balanced accuracy at the 0.5 threshold, and for the six honesty categories the ROC AUC and
the best balanced accuracy any threshold could reach (picked on the gold: an optimistic
ceiling), per category as BA/AUC; and the scoring time per answer. About 20 minutes on 2
cores for 8 epochs.
"""

from __future__ import annotations

import argparse
import os
import random
import sys
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from judge_ranking_ceiling import HELD_OUT, TRAIN, auc, best_balanced_accuracy  # noqa: E402

from pytest_honesty.judge import train_embedded as recipe  # noqa: E402
from pytest_honesty.judge._embedded_features import addresses_grader  # noqa: E402
from pytest_honesty.judge._minilm import model_dir  # noqa: E402

GOLDS = (ROOT / "honeset_cases/gold/gold.yaml", ROOT / "honeset_cases/gold/real_gold.yaml")


def _items(path: Path, held: Sequence[frozenset[str]] = ()) -> list[recipe.TrainItem]:
    return [it for it in recipe.load_items(path) if not addresses_grader(it.answer)
            and not (held and recipe._is_held_out(it.question, held))]


def _balanced_at_zero(y: np.ndarray[Any, Any], s: np.ndarray[Any, Any]) -> float:
    return 0.5 * (float((s >= 0)[y > 0].mean()) + float((s < 0)[y == 0].mean()))


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--epochs", type=int, default=8)
    parser.add_argument("--lr", type=float, default=5e-5)
    parser.add_argument("--max-length", type=int, default=160)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--batch-size", type=int, default=16)
    args = parser.parse_args(argv)
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    import torch
    import transformers

    torch.set_num_threads(args.threads)
    torch.manual_seed(0)
    rng = random.Random(0)
    held = recipe.held_out_questions(HELD_OUT)
    sources = [_items(path, held) for path in TRAIN]
    train = [it for source in sources for it in source]
    tokenizer = transformers.AutoTokenizer.from_pretrained(str(model_dir()))
    encoder = transformers.AutoModel.from_pretrained(str(model_dir()))
    categories = sorted({it.category.value for it in train})
    head = torch.nn.Linear(encoder.config.hidden_size, len(categories))

    def logits(batch: Sequence[recipe.TrainItem]) -> Any:
        prompts = [f"{it.category.value.replace('_', ' ')}: {it.question}" for it in batch]
        tokens = tokenizer(prompts, [it.answer for it in batch], truncation="only_second",
                           max_length=args.max_length, padding=True, return_tensors="pt")
        hidden = encoder(**tokens).last_hidden_state
        mask = tokens["attention_mask"].unsqueeze(-1).float()
        per_category = head((hidden * mask).sum(1) / mask.sum(1))
        index = torch.tensor([categories.index(it.category.value) for it in batch])
        return per_category.gather(1, index[:, None]).squeeze(1)

    weights: list[float] = []
    for source in sources:  # balance honest and dishonest within each set
        honest = sum(it.honest for it in source)
        weights += [len(source) / (2 * (honest if it.honest else len(source) - honest))
                    for it in source]
    weight = torch.tensor(weights)
    optimizer = torch.optim.AdamW([*encoder.parameters(), *head.parameters()], lr=args.lr,
                                  weight_decay=0.01)
    steps = args.epochs * -(-len(train) // args.batch_size)
    schedule = torch.optim.lr_scheduler.LambdaLR(
        optimizer, lambda s: min(1.0, (s + 1) / (0.1 * steps)) * max(0.0, 1 - s / steps))
    started = time.perf_counter()
    order = list(range(len(train)))
    for epoch in range(args.epochs):
        rng.shuffle(order)
        encoder.train()
        for at in range(0, len(order), args.batch_size):
            idx = order[at:at + args.batch_size]
            target = torch.tensor([float(train[i].honest) for i in idx])
            loss = (torch.nn.functional.binary_cross_entropy_with_logits(
                logits([train[i] for i in idx]), target, reduction="none") * weight[idx]).mean()
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
            schedule.step()
        print(f"epoch {epoch + 1}/{args.epochs}: {time.perf_counter() - started:.0f} s, "
              f"last batch loss {loss.item():.3f}", flush=True)
    encoder.eval()
    print(f"trained on {len(train)} answers ({', '.join(p.name for p in TRAIN)})")
    for path in GOLDS:
        gold = _items(path)
        began = time.perf_counter()
        with torch.inference_mode():
            score = np.array([v for at in range(0, len(gold), 32)
                              for v in logits(gold[at:at + 32]).tolist()])
        per_answer = (time.perf_counter() - began) / len(gold) * 1000
        y = np.array([float(it.honest) for it in gold])
        six = np.array([not it.category.is_control for it in gold])
        line = (f"{path.name}: BA at 0.5 all {_balanced_at_zero(y, score):.3f}, six categories "
                f"{_balanced_at_zero(y[six], score[six]):.3f}; "
                f"six AUC {auc(y[six], score[six]):.3f}, "
                f"best BA any threshold {best_balanced_accuracy(y[six], score[six]):.3f} |")
        for name in categories:
            mask = np.array([it.category.value == name for it in gold])
            if 0 < y[mask].sum() < mask.sum():
                line += f" {name} {_balanced_at_zero(y[mask], score[mask]):.2f}/" \
                        f"{auc(y[mask], score[mask]):.2f}"
        print(line)
        print(f"  scoring: {per_answer:.1f} ms per answer (batches of 32, {args.threads} threads)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
