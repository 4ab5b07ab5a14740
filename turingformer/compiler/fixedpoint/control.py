"""Decode, gate, flag and branch (linear-algebra spec §2.5; LC §5, §7 adapted): block 1's FFN,
``useh`` in block 2, and the branch of the last block.

* Block 1 (after the fetch head): gate = [pos = cur:c ∧ kind:mem] (G7, 3 units); the one-hot
  ``op:<name>`` = [cur:op = its index] (G7, 2 units each); fc = [cur:f = cur:c] (2 units).
* Block 2: useh = step(fc + late − 1) (1 unit): the flag comes from h₀₀ when f = c and the
  function is late.
* Last block, after the head T = cur:f that copies mem:v00 → z:
  Δpc = (next − pc) + (p − next)·[−z ≥ 0]·[¬useh] + (p − next)·[−h₀₀ ≥ 0]·[useh]
  (a pass and two gated selects, 7 units). Why h₀₀: an early result is already in mem[c] when
  the head reads, but a late one is written in this same FFN; [sat(h) ≤ 0] = [h ≤ 0], so the
  unsaturated h₀₀ decides; f ≠ c reads an unchanged cell.
"""

from __future__ import annotations

from .gadgets import D, Layer, equal, passing, select, step
from .layout import FC, GATE, KIND, PC, POS, USEH, Z, Shape, dim, op_dim
from .products import late


def decode(layer: Layer, shape: Shape) -> None:
    """Block 1's FFN: the write gate, the one-hot of the function, fc."""
    equal(layer, "gate", D(POS) - D("cur:c"), {GATE: 1}, gates=(KIND,))
    for index, op in enumerate(shape.functions):
        equal(layer, f"op={op}", D("cur:op") - index, {op_dim(op): 1})
    equal(layer, "fc", D("cur:f") - D("cur:c"), {FC: 1})


def flag_source(layer: Layer, shape: Shape) -> None:
    """useh = [fc ∧ late] (block 2; only when late functions are compiled)."""
    if shape.late:
        step(layer, "useh", D(FC) + late(shape) - 1, {USEH: 1})


def branch(layer: Layer, shape: Shape) -> None:
    """Δpc of the last block (module docstring)."""
    passing(layer, "next", D("cur:next") - D(PC), {PC: 1})
    jump = D("cur:p") - D("cur:next")
    if shape.late:
        select(layer, "branch.z", jump, -D(Z), {PC: 1}, negated=(USEH,))
        select(layer, "branch.h", jump, -D(dim("h", 0, 0, shape.k)), {PC: 1}, gates=(USEH,))
    else:
        select(layer, "branch.z", jump, -D(Z), {PC: 1})
