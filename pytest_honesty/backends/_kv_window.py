"""The KV cache of the continuous batcher: preallocated buffers, rows right aligned.

transformers' ``DynamicCache`` appends each new token with ``torch.cat``, which
copies the whole cache of every layer at every decode step: with 32 rows of a few
hundred tokens that copy cost more than the attention itself. Here each layer
owns one buffer ``[slots, kv_heads, capacity, head_dim]`` for keys and one for
values; a decode step writes its column in place and attention reads a view.

Layout: the running rows occupy slots ``0..rows-1``; every row's last token sits
in column ``end - 1`` (rows are right aligned, as left padding aligns them in
batched ``generate()``), and row ``i``'s real tokens are the columns
``first[i]..end-1``. Columns before a row's first are padding, masked out of its
attention. The window the model sees is ``start..end`` with ``start`` the
smallest ``first``: when a long row leaves, the columns that only it used drop
out of the window at once, with no copy.

A row that leaves hands its slot to the last row (one row copied), so the rows
stay packed and every view stays a plain slice.
"""

from __future__ import annotations

from typing import Any

__all__ = ["KVWindow"]

# Free columns kept after a re-pack, so that decode steps do not re-pack often.
_HEADROOM = 128


class KVWindow:
    """Keys/values of the running rows, plus their attention mask (worker thread only)."""

    def __init__(self, torch: Any, max_rows: int) -> None:
        self.torch = torch
        self.max_rows = max_rows
        self.rows = 0
        self.start = 0
        self.end = 0
        self.first: list[int] = []
        self.keys: list[Any] = []  # per layer [slots, heads, capacity, head_dim]
        self.values: list[Any] = []
        self.mask: Any = None  # [slots, capacity]: 1 = a real token of that row
        self.cache: Any = None  # the transformers Cache whose layers read these buffers

    # -- sizes ---------------------------------------------------------------------

    @property
    def width(self) -> int:
        return self.end - self.start

    @property
    def capacity(self) -> int:
        return 0 if self.mask is None else int(self.mask.shape[1])

    @property
    def slots(self) -> int:
        return 0 if self.mask is None else int(self.mask.shape[0])

    def padded_cells(self) -> int:
        """Cells of the window (rows x columns) that are padding."""
        return self.rows * self.width - sum(self.end - f for f in self.first)

    def padding_share(self) -> float:
        cells = self.rows * self.width
        return self.padded_cells() / cells if cells else 0.0

    # -- layout ----------------------------------------------------------------------

    def _allocate(self, template: Any, layers: int, slots: int, capacity: int) -> None:
        """New zeroed buffers (the caller copies the window over)."""
        torch = self.torch
        _, heads, _, head_dim = template.shape
        shape = (slots, heads, capacity, head_dim)
        # zeros, not empty: padding cells are masked out, but a NaN in them would
        # still poison the attention sum (0 x NaN)
        self.keys = [template.new_zeros(shape) for _ in range(layers)]
        self.values = [template.new_zeros(shape) for _ in range(layers)]
        self.mask = torch.zeros((slots, capacity), dtype=torch.long, device=template.device)

    def reserve(self, rows: int, before: int, after: int, template: Any, layers: int) -> None:
        """Make room for ``rows`` rows, ``before`` columns up to ``end`` and ``after``
        columns past it (re-packing or growing the buffers when needed)."""
        fits_rows = rows <= self.slots
        if fits_rows and self.end >= before and self.end + after <= self.capacity:
            return
        width = self.width if self.rows else 0
        new_end = max(width, before)
        capacity = self.capacity
        if new_end + after > capacity:
            capacity = (new_end + after) * 3 // 2 + _HEADROOM
        slots = self.slots
        if not fits_rows:
            slots = min(self.max_rows, max(rows, 2 * slots))
        shift = new_end - self.end
        old_start, old_end, n = self.start, self.end, self.rows
        if capacity != self.capacity or slots != self.slots:
            old_keys, old_values, old_mask = self.keys, self.values, self.mask
            self._allocate(template, layers, slots, capacity)
            if n and width:
                new = slice(new_end - width, new_end)
                old = slice(old_start, old_end)
                for mine, theirs in zip(self.keys, old_keys, strict=True):
                    mine[:n, :, new] = theirs[:n, :, old]
                for mine, theirs in zip(self.values, old_values, strict=True):
                    mine[:n, :, new] = theirs[:n, :, old]
                self.mask[:n, new] = old_mask[:n, old]
        elif n and width and shift:
            new = slice(new_end - width, new_end)
            old = slice(old_start, old_end)
            for buffers in (self.keys, self.values):
                for buffer in buffers:
                    buffer[:n, :, new] = buffer[:n, :, old].clone()
            moved = self.mask[:n, old].clone()
            self.mask[:n, :] = 0
            self.mask[:n, new] = moved
        self.first = [f + shift for f in self.first]
        self.start, self.end = new_end - width, new_end
        if not n:
            self.start = self.end

    def add_rows(self, prefill: Any, lengths: list[int]) -> None:
        """Append rows from a prefill cache (left padded to its own width).

        The caller reserved ``len(lengths)`` more rows and ``max(lengths)`` columns."""
        padded = int(prefill.layers[0].keys.shape[2])
        base = self.rows
        for j, length in enumerate(lengths):
            slot = base + j
            cols = slice(self.end - length, self.end)
            src = slice(padded - length, padded)
            for layer, buffer in enumerate(self.keys):
                buffer[slot, :, cols] = prefill.layers[layer].keys[j, :, src]
            for layer, buffer in enumerate(self.values):
                buffer[slot, :, cols] = prefill.layers[layer].values[j, :, src]
            self.mask[slot, :] = 0
            self.mask[slot, cols] = 1
            self.first.append(self.end - length)
        self.rows += len(lengths)
        self.start = min(self.first)

    def remove(self, gone: set[int]) -> list[int]:
        """Drop the rows ``gone``; returns, for each remaining slot, the row it held before.

        Rows from the end move into the freed slots; the window then starts at the
        first column a remaining row uses (a long row leaving shrinks it)."""
        keep = [i for i in range(self.rows) if i not in gone]
        n = len(keep)
        holes = [i for i in range(n) if i in gone]
        movers = [i for i in keep if i >= n]
        order = list(range(n))
        for hole, mover in zip(holes, movers, strict=True):
            self._copy_row(mover, hole)
            order[hole] = mover
        self.first = [self.first[i] for i in order]
        self.rows = n
        self.start = min(self.first) if self.first else self.end
        return order

    def _copy_row(self, src: int, dst: int) -> None:
        cols = slice(self.start, self.end)
        for buffers in (self.keys, self.values):
            for buffer in buffers:
                buffer[dst, :, cols] = buffer[src, :, cols]
        self.mask[dst] = self.mask[src]

    # -- a decode step ---------------------------------------------------------------

    def open_column(self, template: Any, layers: int) -> Any:
        """Room for one new token per row; returns the attention mask of the step."""
        self.reserve(self.rows, 0, 1, template, layers)
        self.mask[: self.rows, self.end] = 1
        return self.mask[: self.rows, self.start : self.end + 1].contiguous()

    def write(self, layer: int, keys: Any, values: Any) -> tuple[Any, Any]:
        """Store a step's keys/values (``[rows, heads, 1, dim]``) in column ``end``;
        returns this layer's window including them."""
        column = slice(self.end, self.end + keys.shape[2])
        self.keys[layer][: self.rows, :, column] = keys
        self.values[layer][: self.rows, :, column] = values
        window = slice(self.start, column.stop)
        return self.keys[layer][: self.rows, :, window], self.values[layer][: self.rows, :, window]

    def close_column(self) -> None:
        self.end += 1
