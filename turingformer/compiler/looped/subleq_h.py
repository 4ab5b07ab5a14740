"""SUBLEQ-H/3L and SUBLEQ-H/2L: Harvard SUBLEQ as a looped transformer (spec §5, §5.7).

Machine (§2.1): M words of N bits, s read-only instructions (a, b, c), pc = s means halted;
a step is mem[b] ← wrap(mem[b] − mem[a]); pc ← c if mem[b] ≤ 0 else pc + 1.

Per-loop invariant: X_t = E(mem_t, pc_t) entry for entry (:func:`encode`; transients 0).

* **3L** (default, d = 16, one head per block, FFN widths 3, 7, 8):
  block 0 fetches the instruction at pc (address head T = reg:pc + M) and computes the write
  gate [j = b ∧ kind:mem] (G7); block 1 reads mem[a] (T = cur:a) and writes
  wrap(mem[b] − mem[a]) into the gated column (G4 + G8); block 2 reads the new mem[b]
  (T = cur:b) and branches (G3 + G6). Invariants after each block: §5.3–5.5.
* **2L** (d = 16, blocks of 1 and 2 heads, widths 3, 21): block 1 reads mem[a] *and* the old
  mem[b] with two heads, writes, and branches on D = vb − va:
  wrap(D) ≤ 0 ⟺ [D ≥ −B] − [D ≥ 1] + [D ≥ B] = 1.

Halting is a fixpoint: at pc = s every column fetches the halt column (a = b = H, c = next = s);
the gate is 0, vb = 0, flag = 1, Δpc = 0.
"""

from __future__ import annotations

from typing import Sequence

from ...programs import SubleqH
from ...runtime.looped import LoopBlock, LoopedTransformer
from ...runtime.space import Space, Vector
from .blocks import fall_through, branch_if_nonpositive, subtract_in_place, write_gate
from .gadgets import FFN, D, Ranges, address_head, clear, select
from .layout import KIND, ONE, POS, SUBLEQ_H_DIMS, column
from .limits import check_columns


def check_size(program: SubleqH) -> None:
    """Refuse, before building, a program whose punch card (n = M + s + 1) is too large
    (:mod:`.limits`). The weights are independent of M and s and grow only with N, which the
    program model already bounds."""
    check_columns(program, "SUBLEQ-H", program.cells + program.size + 1,
                  f"M + s + 1 = {program.cells:,} + {program.size:,} + 1",
                  hint="split the program, or use fewer cells and instructions")


def ranges(M: int, N: int, s: int) -> Ranges:
    """Bounds of every dimension in every column at every point of a loop (constants derive from these)."""
    B, H = 2 ** (N - 1), M + s
    word = (-B, B - 1)
    return {ONE: (1, 1), POS: (0, H), KIND: (0, 1), "mem:value": word,
            "prog:a": (0, H), "prog:b": (0, H), "prog:c": (0, s), "prog:next": (0, s), "reg:pc": (0, s),
            "cur:a": (0, H), "cur:b": (0, H), "cur:c": (0, s), "cur:next": (0, s),
            "tmp:gate": (0, 1), "tmp:va": word, "tmp:vb": word}


def fetch_block(space: Space, rng: Ranges, M: int) -> LoopBlock:
    """§5.3: fetch prog[pc] into cur:*; tmp:gate = [pos = cur:b ∧ kind:mem] (G7, 3 units)."""
    head = address_head(space, D("reg:pc") + M, {f"prog:{f}": f"cur:{f}" for f in ("a", "b", "c", "next")})
    ffn = FFN(space, rng, "ffn0")
    write_gate(ffn, "cur:b")
    return LoopBlock((head,), ffn.build())


def build_3l(M: int, N: int, s: int) -> LoopedTransformer:
    """SUBLEQ-H/3L for M cells of N bits and s instructions (the weights know no program)."""
    space, rng = Space(SUBLEQ_H_DIMS), ranges(M, N, s)
    read_a = address_head(space, D("cur:a"), {"mem:value": "tmp:va"})
    ffn1 = FFN(space, rng, "ffn1")
    subtract_in_place(ffn1, "tmp:va", N)
    for dim in ("cur:a", "tmp:va", "tmp:gate"):
        clear(ffn1, dim)
    read_b = address_head(space, D("cur:b"), {"mem:value": "tmp:vb"})
    ffn2 = FFN(space, rng, "ffn2")
    branch_if_nonpositive(ffn2, "cur:c", "tmp:vb")
    for dim in ("cur:b", "cur:c", "cur:next", "tmp:vb"):
        clear(ffn2, dim)
    return LoopedTransformer(space, (fetch_block(space, rng, M), LoopBlock((read_a,), ffn1.build()),
                                     LoopBlock((read_b,), ffn2.build())))


def build_2l(M: int, N: int, s: int) -> LoopedTransformer:
    """SUBLEQ-H/2L (§5.7): block 1 reads mem[a] and the old mem[b] with two heads."""
    space, rng = Space(SUBLEQ_H_DIMS), ranges(M, N, s)
    B = 2 ** (N - 1)
    heads = (address_head(space, D("cur:a"), {"mem:value": "tmp:va"}),
             address_head(space, D("cur:b"), {"mem:value": "tmp:vb"}))
    ffn = FFN(space, rng, "ffn1")
    subtract_in_place(ffn, "tmp:va", N)
    fall_through(ffn)
    diff = D("tmp:vb") - D("tmp:va")
    for label, e, sign in (("ge_minus_B", diff + B, 1), ("ge_1", diff - 1, -1), ("ge_B", diff - B, 1)):
        select(ffn, f"branch.{label}", D("cur:c") - D("cur:next"), e, {"reg:pc": sign})
    for dim in ("cur:a", "cur:b", "cur:c", "cur:next", "tmp:gate", "tmp:va", "tmp:vb"):
        clear(ffn, dim)
    return LoopedTransformer(space, (fetch_block(space, rng, M), LoopBlock(heads, ffn.build())))


def encode(space: Space, program: SubleqH, pc: int, memory: Sequence[int]) -> tuple[Vector, ...]:
    """E(memory, pc) for ``program``'s code: the punch card of spec §5.2 (transients 0)."""
    M, s = program.cells, program.size
    H = M + s
    cols = [column(space, {ONE: 1, POS: i, KIND: 1, "mem:value": v, "reg:pc": pc}) for i, v in enumerate(memory)]
    cols += [column(space, {ONE: 1, POS: M + k, "prog:a": ins.a, "prog:b": ins.b, "prog:c": ins.c,
                            "prog:next": k + 1, "reg:pc": pc}) for k, ins in enumerate(program.code)]
    cols.append(column(space, {ONE: 1, POS: H, "prog:a": H, "prog:b": H, "prog:c": s, "prog:next": s,
                               "reg:pc": pc}))
    return tuple(cols)
