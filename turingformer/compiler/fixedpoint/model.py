"""The compiled FLEQ-M model (weights, punch card, labels) and its compile summary (spec §3:
blocks, heads, d, widths, units, bits)."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ...runtime.looped import IntegerLoop, LoopedTransformer
from ...runtime.space import Space, Vector
from .blocks import MAX_BLOCKS
from .layout import FixedPointLabels, Shape


@dataclass(frozen=True, repr=False)
class FixedPointModel:
    """A compiled FLEQ-M program: the looped weights, the punch card X₀ and the labels."""

    transformer: LoopedTransformer
    card: tuple[Vector, ...]
    labels: FixedPointLabels

    @property
    def space(self) -> Space:
        return self.transformer.space

    @property
    def n(self) -> int:
        return len(self.card)

    @property
    def shape(self) -> Shape:
        return self.labels.shape

    def __repr__(self) -> str:
        s = self.shape
        name = f"{self.labels.name!r}, " if self.labels.name else ""
        return (f"FixedPointModel({name}Q{s.bits}.{s.frac}, k={s.k}, M={s.cells}, s={s.instructions}, "
                f"blocks={len(self.transformer.blocks)}, d={len(self.space)}, n={self.n}, "
                f"functions={len(s.functions)})")

    def summary(self) -> "FixedPointSummary":
        return summary(self)


@dataclass(frozen=True)
class FixedPointSummary:
    """What ``compile`` prints about a FLEQ-M model (spec §3: blocks, heads, d, widths, units, bits)."""

    name: str
    shape: Shape
    columns: int
    d: int
    heads: tuple[int, ...]
    hidden: tuple[int, ...]
    nonzero_weights: int
    largest_integer: int

    def lines(self) -> list[str]:
        s = self.shape
        return [f"construction fleq-m: FLEQ-M on the looped computer, exact fixed point (docs/linear-algebra.md)",
                f"Q{s.bits}.{s.frac} words, {s.k}×{s.k} cells: M = {s.cells} cells, s = {s.instructions} instructions; "
                f"functions {', '.join(s.functions)}",
                f"punch card: n = {self.columns} columns × d = {self.d} named dimensions",
                f"blocks per loop: {len(self.heads)} (at most {MAX_BLOCKS}); heads per block: "
                f"{', '.join(map(str, self.heads))}; digits of L = {s.digit_bits} bits",
                f"hidden widths: {', '.join(f'{h:,}' for h in self.hidden)} ({sum(self.hidden):,} σ units per loop)",
                f"non-zero weights: {self.nonzero_weights:,}",
                f"activations: integers below 2^{self.largest_integer.bit_length()} in the integer path "
                f"(int64 is used when < 2^62)"]


def summary(model: FixedPointModel) -> FixedPointSummary:
    t = model.transformer
    runner = IntegerLoop(t)
    bounds = model.shape.bounds()
    envelope = np.array([bounds.get(n, 0) for n in t.space.names], dtype=object)
    largest = max(runner.bound(l, envelope) for l in range(len(t.blocks)))
    return FixedPointSummary(model.labels.name, model.shape, model.n, len(t.space),
                             tuple(len(b.heads) for b in t.blocks),
                             tuple(b.ffn.hidden_sizes[0] if b.ffn else 0 for b in t.blocks),
                             t.nonzero_weights(), largest)
