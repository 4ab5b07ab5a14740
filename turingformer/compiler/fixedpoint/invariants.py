"""The per-block invariants of one FLEQ-M loop (linear-algebra spec §2–3): what the card must hold
after every block, computed from the machine state alone — integer arithmetic on the words, the
interpreter's functions, never the weights. :mod:`.verify` compares the network with them to name
the first divergent block; the tests check every block from random states.

After block (1-based; x = X = mem[a], y = Y = mem[b], X′ = X + B, digits base 2^L):

1. E plus cur:* = the fields of instruction pc (the halt column's when pc = s); gate_j =
   [j = c ∧ j < M]; op:<f> = [f is the instruction's function]; fc = [f = c].
2. cur:a, b, c, op = 0; x, y = X, Y (0 again without products); mem[c] = f(X, Y) for an early
   function, 0 for a late one; useh = [fc ∧ late]; the top digit of X′, Y′; am = sat|X|.
3 … n_d: digit n_d + 1 − ℓ of X′ and Y′; amax level ℓ − 2 (pairwise maxima, row-major pairs).
product: h = Σ_pairs [Σ_{Ld≥F} 2^(Ld−F)·x_d·Y′_q + Σ_{Ld<F} x_d·hi_d] − c·Σ(x_p + y_q) − n_t·c·B,
   t = Σ_pairs Σ_{Ld<F} 2^(Ld)·x_d·lo_d for the instruction's product function (0 otherwise);
   x, y and the digits 0.
floor: h += ⌊(t + 2^(F−1)) / 2^F⌋ = rnd_F(Σ X_p·Y_q); t = 0.
last: E(mem′, pc′) with (pc′, mem′) = the interpreter's step.
"""

from __future__ import annotations

from typing import Sequence

import numpy as np

from ...programs import Matrix
from ...programs.interpreter import fleqm_function
from .amax import levels
from .layout import FC, FIELDS, GATE, USEH, Shape, card_array, dim, is_late, mem, op_dim
from .products import pairs


def instruction_fields(shape: Shape, code: Sequence, pc: int) -> dict[str, object]:
    """The fetched fields: the instruction at pc, or the halt column's at pc = s."""
    H, s = shape.halt_column, shape.instructions
    if pc == s:
        return {"op": shape.functions[shape.halt_op] if shape.functions else "", "a": H, "b": H, "c": H, "f": H,
                "p": s, "next": s}
    ins = code[pc]
    return {"op": ins.op, "a": ins.a, "b": ins.b, "c": ins.c, "f": ins.f, "p": ins.p, "next": pc + 1}


def expected_blocks(shape: Shape, space, code: Sequence, pc: int, memory: Sequence[Matrix],
                    after: tuple[int, Sequence[Matrix]]) -> list[np.ndarray]:
    """The card after each block of the loop from (pc, memory); ``after`` = (pc′, mem′), the
    interpreter's next state (the last block's card is E(mem′, pc′))."""
    M, k, B, F, L = shape.cells, shape.k, shape.fmt.B, shape.frac, shape.digit_bits
    n = M + shape.instructions + 1
    row = space.index
    X = card_array(shape, space, code, pc, memory).astype(object)
    cards = []
    ins = instruction_fields(shape, code, pc)
    op = ins["op"]
    index = {f: i for i, f in enumerate(shape.functions)}
    zero = tuple((0,) * k for _ in range(k))
    Xa = memory[ins["a"]] if ins["a"] < M else zero
    Yb = memory[ins["b"]] if ins["b"] < M else zero

    # block 1: fetch and decode
    for field in FIELDS:
        X[row(f"cur:{field}")] = index.get(op, 0) if field == "op" else ins[field]
    gate = np.array([int(j == ins["c"] and j < M) for j in range(n)], dtype=object)
    X[row(GATE)] = gate
    for f in shape.functions:
        X[row(op_dim(f))] = int(f == op)
    X[row(FC)] = int(ins["f"] == ins["c"])
    cards.append(X.copy())

    # block 2: read, early write, useh, top digit, am
    for field in ("a", "b", "c", "op"):
        X[row(f"cur:{field}")] = 0
    c = ins["c"]
    if c < M:
        result = fleqm_function(op, shape.bits, shape.frac, k)(Xa, Yb) if not is_late(op) else zero
        for i, j in shape.entries:
            X[row(mem(i, j, k)), c] = result[i][j]
    if shape.late:
        X[row(USEH)] = int(ins["f"] == ins["c"] and is_late(op))
    if shape.products:
        for i, j in shape.entries:
            X[row(dim("x", i, j, k))] = Xa[i][j]
            X[row(dim("y", i, j, k))] = Yb[i][j]
    digits = {}
    for block, W in (("x", Xa), ("y", Yb)):
        for i, j in shape.entries:
            value = W[i][j] + B
            digits[(block, i, j)] = [(value >> (L * d)) & ((1 << L) - 1) for d in range(shape.digits)]
    am = {e: min(abs(Xa[e[0]][e[1]]), B - 1) for e in shape.entries}
    plan = levels(shape) if "amax" in shape.functions else []
    if plan:
        for e in shape.entries:
            X[row(dim("am", *e, k))] = am[e]

    def set_digit(d: int) -> None:
        for block in ("x", "y"):
            for i, j in shape.entries:
                X[row(dim(f"{block}d{d}", i, j, k))] = digits[(block, i, j)][d]

    def amax_level(number: int) -> None:
        for p, q in plan[number]:
            if number == len(plan) - 1:
                if op == "amax":
                    X[row(dim("h", 0, 0, k))] += max(am[p], am[q]) if q is not None else am[p]
                X[row(dim("am", *p, k))] = 0
            elif q is not None:
                am[p] = max(am[p], am[q])
                X[row(dim("am", *p, k))] = am[p]
            if q is not None:
                X[row(dim("am", *q, k))] = 0

    count = shape.blocks
    for b in range(2, count):                                # blocks 2 … count − 1 (1-based)
        if shape.products and 2 <= b <= shape.digits:
            set_digit(shape.digits + 1 - b)
        if b == count - 2 and shape.products:
            product_block(X, shape, row, op, Xa, Yb, digits)
        if b == count - 1 and shape.products:
            for i, j in shape.entries:
                t = X[row(dim("t", i, j, k))]
                X[row(dim("h", i, j, k))] += (t + (1 << (F - 1))) >> F
                X[row(dim("t", i, j, k))] = 0
        if plan and 3 <= b <= 2 + len(plan):
            amax_level(b - 3)
        cards.append(X.copy())

    cards.append(card_array(shape, space, code, after[0], after[1]).astype(object))
    return cards


def product_block(X: np.ndarray, shape: Shape, row, op: str, Xa: Matrix, Yb: Matrix, digits: dict) -> None:
    """The product layer's output: h and t of the instruction's product function (module docstring)."""
    k, B, F, L, N = shape.k, shape.fmt.B, shape.frac, shape.digit_bits, shape.bits
    c = 1 << (N - 1 - F)
    for i, j in shape.entries:
        h = t = 0
        if op in shape.products:
            terms = pairs(op, i, j, k)
            for p, q in terms:
                y = Yb[q[0]][q[1]] + B
                for d in range(shape.digits):
                    x_d = digits[("x", *p)][d]
                    if L * d >= F:
                        h += (1 << (L * d - F)) * x_d * y
                    else:
                        split = F - L * d
                        h += x_d * (y >> split)
                        t += (1 << (L * d)) * x_d * (y & ((1 << split) - 1))
                h -= c * (Xa[p[0]][p[1]] + Yb[q[0]][q[1]])
            h -= len(terms) * c * B
        X[row(dim("h", i, j, k))] += h
        X[row(dim("t", i, j, k))] += t
        for block in ("x", "y"):
            X[row(dim(block, i, j, k))] = 0
            for d in range(1, shape.digits):
                X[row(dim(f"{block}d{d}", i, j, k))] = 0
