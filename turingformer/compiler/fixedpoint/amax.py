"""amax, the late function without products (linear-algebra spec §2.4): min(max_ij |x_ij|, B − 1).

Block 2: a_ij = sat|x_ij| = relu(x) + relu(−x) − step(−x − B + 1) (3k² units, ungated, into
``am:<ij>``). Blocks 3 … 2 + ⌈log₂ k²⌉: the entries (row-major) are paired level by level,
a_p += relu(a_q − a_p) with a_q cleared (1 + 1 units per pair; an odd entry waits for the next
level). The last level writes h₀₀ += op·(a_p + relu(a_q − a_p)) (a gated pass and a gated relu)
and clears both; for k = 1 it is one gated pass of a₀₀. The last block writes sat(h₀₀) like a
product's result.
"""

from __future__ import annotations

from .gadgets import D, Layer, clear, passing, relu, step
from .layout import Shape, dim, op_dim


def levels(shape: Shape) -> list[list[tuple[tuple[int, int], tuple[int, int] | None]]]:
    """The pairs (p, q) of every level; q None: p alone (k = 1, or an odd entry waiting)."""
    items = list(shape.entries)
    out = []
    while True:
        level = [(items[n], items[n + 1] if n + 1 < len(items) else None) for n in range(0, len(items), 2)]
        out.append(level)
        items = [p for p, _ in level]
        if len(items) == 1:
            return out


def absolute_values(layer: Layer, shape: Shape) -> None:
    """am_ij = sat|x_ij| (ungated: every column, every function)."""
    k, B = shape.k, shape.fmt.B
    for i, j in shape.entries:
        x, out = D(dim("x", i, j, k)), {dim("am", i, j, k): 1}
        relu(layer, f"am.{i}{j}.pos", x, out)
        relu(layer, f"am.{i}{j}.neg", -x, out)
        step(layer, f"am.{i}{j}.sat", -x - B + 1, {dim("am", i, j, k): -1})


def level(layer: Layer, shape: Shape, number: int) -> None:
    """Level ``number`` (0-based) of the pairwise maxima; the last one writes h₀₀ (gated by op)."""
    k = shape.k
    plan = levels(shape)
    last = number == len(plan) - 1
    for p, q in plan[number]:
        a_p = D(dim("am", *p, k))
        if last:
            h, gate = {dim("h", 0, 0, k): 1}, (op_dim("amax"),)
            passing(layer, "amax.result", a_p, h, gate, vrange=(0, shape.fmt.B - 1))
            if q is not None:
                relu(layer, "amax.result.relu", D(dim("am", *q, k)) - a_p, h, gate)
            clear(layer, dim("am", *p, k))
        elif q is not None:
            relu(layer, f"amax.{number}.{p}", D(dim("am", *q, k)) - a_p, {dim("am", *p, k): 1})
        if q is not None:
            clear(layer, dim("am", *q, k))
