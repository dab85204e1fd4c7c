"""The continuous batcher's KV cache: rows right aligned in preallocated buffers."""

from __future__ import annotations

from typing import Any

import pytest

from pytest_honesty.backends._kv_window import KVWindow

torch = pytest.importorskip("torch")

LAYERS, HEADS, DIM = 2, 2, 4


class _Prefill:
    """What a transformers prefill cache looks like: ``layers[i].keys/values``."""

    def __init__(self, keys: list[Any], values: list[Any]) -> None:
        self.layers = [
            type("L", (), {"keys": k, "values": v})() for k, v in zip(keys, values, strict=True)
        ]


def _prefill(lengths: list[int], seed: int) -> tuple[_Prefill, list[list[Any]]]:
    """A left padded prefill of rows with these lengths; returns it and, per row and
    layer, the real keys (values are keys + 1000)."""
    generator = torch.Generator().manual_seed(seed)
    width = max(lengths)
    keys = [torch.randn(len(lengths), HEADS, width, DIM, generator=generator)
            for _ in range(LAYERS)]
    real = [[k[j, :, width - n:] for k in keys] for j, n in enumerate(lengths)]
    return _Prefill(keys, [k + 1000 for k in keys]), real


def _add(window: KVWindow, lengths: list[int], seed: int) -> list[list[Any]]:
    prefill, real = _prefill(lengths, seed)
    template = prefill.layers[0].keys
    window.reserve(window.rows + len(lengths), max(lengths), 1, template, LAYERS)
    window.add_rows(prefill, lengths)
    return real


def _row_tokens(window: KVWindow, row: int, layer: int) -> Any:
    """The real keys of ``row`` as the window holds them (mask = 1 columns)."""
    keys = window.keys[layer][row, :, window.start:window.end]
    mask = window.mask[row, window.start:window.end].bool()
    assert mask.sum() == window.end - window.first[row]
    values = window.values[layer][row, :, window.start:window.end]
    assert torch.equal(values[:, mask], keys[:, mask] + 1000)
    return keys[:, mask]


def _step(window: KVWindow, template: Any, fill: float) -> list[Any]:
    """One decode step: every row gets a token whose keys are all ``fill``."""
    window.open_column(template, LAYERS)
    new = torch.full((window.rows, HEADS, 1, DIM), fill)
    for layer in range(LAYERS):
        window.write(layer, new, new + 1000)
    window.close_column()
    return [new[0] for _ in range(LAYERS)]


def test_rows_of_different_lengths_keep_their_tokens_right_aligned() -> None:
    window = KVWindow(torch, max_rows=8)
    real = _add(window, [3, 9, 5], seed=1)
    real += _add(window, [12], seed=2)  # longer than the window: it grows to the left
    assert window.width == 12 and window.rows == 4
    for row, lengths in enumerate([3, 9, 5, 12]):
        for layer in range(LAYERS):
            assert torch.equal(_row_tokens(window, row, layer), real[row][layer])
        assert window.first[row] == window.end - lengths
    assert window.padded_cells() == 4 * 12 - (3 + 9 + 5 + 12)


def test_padding_share_drops_when_a_long_row_leaves() -> None:
    window = KVWindow(torch, max_rows=8)
    real = _add(window, [40, 4, 6, 5], seed=3)
    template = window.keys[0]
    for step in range(3):
        _step(window, template, float(step))
    before = window.padding_share()
    assert window.width == 43
    order = window.remove({0})  # the long row ends
    # the last row took the freed slot; the window now starts where row 6+3 starts
    assert order == [3, 1, 2]
    assert window.width == 9 and window.rows == 3
    assert window.padding_share() < before
    assert window.padded_cells() == 3 * 9 - (8 + 9 + 7)
    for slot, original in enumerate(order):
        for layer in range(LAYERS):
            kept = _row_tokens(window, slot, layer)
            assert torch.equal(kept[:, : kept.shape[1] - 3], real[original][layer])


def test_decode_steps_past_the_capacity_repack_without_losing_tokens() -> None:
    window = KVWindow(torch, max_rows=4)
    real = _add(window, [7, 2], seed=4)
    template = window.keys[0]
    capacity = window.capacity
    steps = capacity + 5  # forces at least one re-pack or growth
    for step in range(steps):
        _step(window, template, float(step))
    assert window.width == 7 + steps
    for row in range(2):
        tokens = _row_tokens(window, row, 0)
        assert torch.equal(tokens[:, : tokens.shape[1] - steps], real[row][0])
        generated = tokens[:, tokens.shape[1] - steps:, 0]
        assert generated[0].tolist() == [float(s) for s in range(steps)]


def test_freed_slots_are_reused_and_rows_grow_the_buffers() -> None:
    window = KVWindow(torch, max_rows=6)
    _add(window, [3, 3], seed=5)
    assert window.slots >= 2
    window.remove({0, 1})
    assert window.rows == 0 and window.width == 0
    real = _add(window, [5, 2, 4, 3, 1, 6], seed=6)  # more rows than slots so far
    assert window.rows == 6 and window.slots == 6
    for row in range(6):
        assert torch.equal(_row_tokens(window, row, 1), real[row][1])


def test_only_full_attention_models_take_the_window_cache() -> None:
    transformers = pytest.importorskip("transformers")
    from types import SimpleNamespace

    from pytest_honesty.backends._continuous import supports_window

    def state(config: Any) -> Any:
        return SimpleNamespace(model=SimpleNamespace(config=config))

    assert supports_window(state(transformers.LlamaConfig(num_hidden_layers=2)))
    # a sliding window keeps only the last tokens: the window cache would attend to all
    sliding = transformers.MistralConfig(num_hidden_layers=2, sliding_window=16)
    assert not supports_window(state(sliding))
