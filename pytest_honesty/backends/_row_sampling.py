"""Sampling with one random generator per row of a batch.

``generate(do_sample=True)`` draws every row's next token from torch's one global
generator, so a seeded sampled answer depended on which other requests shared its
batch. Here each row draws from its own generator, seeded with its request's seed:
the answer depends on its prompt, settings and seed only, and requests with
different seeds or temperatures can share a batch. ``generate`` then runs greedy:
the processor leaves only the drawn token for each row.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from ..types import SamplingParams

__all__ = ["RowSampler"]


class RowSampler:
    """A logits processor that samples each row with its own temperature, top-p and seed."""

    def __init__(self, torch: Any, params: Sequence[SamplingParams]) -> None:
        self._torch = torch
        self._temperatures = torch.tensor([[p.temperature] for p in params])
        self._top_ps = torch.tensor([[p.top_p] for p in params])
        self._nucleus = any(p.top_p < 1.0 for p in params)
        self._generators = []
        for p in params:
            generator = torch.Generator()
            if p.seed is None:
                generator.seed()  # unseeded: a fresh random state, as the API promises
            else:
                generator.manual_seed(p.seed)
            self._generators.append(generator)

    def __call__(self, input_ids: Any, scores: Any) -> Any:
        torch = self._torch
        probs = torch.softmax(scores.detach().float().cpu() / self._temperatures, dim=-1)
        if self._nucleus:
            probs = _nucleus(torch, probs, self._top_ps)
        # one uniform draw per row from the row's generator, then the inverse of the
        # row's cumulative distribution: the same draw whatever the other rows are;
        # right=True never lands on a token of probability 0 (a draw of exactly 0 too)
        draws = torch.cat([torch.rand(1, generator=g) for g in self._generators])
        cumulative = torch.cumsum(probs, dim=-1)
        tokens = torch.searchsorted(
            cumulative, (draws * cumulative[:, -1]).unsqueeze(1), right=True
        )
        tokens = tokens.clamp(max=probs.shape[-1] - 1)
        chosen = torch.full_like(scores, float("-inf"))
        chosen.scatter_(1, tokens.to(scores.device), 0.0)
        return chosen


def _nucleus(torch: Any, probs: Any, top_ps: Any) -> Any:
    """Per row, the smallest set of most likely tokens whose probability reaches top_p."""
    ordered, order = torch.sort(probs, dim=-1, descending=True)
    # a token stays while the probability of the tokens before it is below top_p,
    # so the most likely token always stays
    before = torch.cumsum(ordered, dim=-1) - ordered
    ordered = ordered.masked_fill(before >= top_ps, 0.0)
    return torch.zeros_like(probs).scatter(-1, order, ordered)
