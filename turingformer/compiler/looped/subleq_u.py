"""SUBLEQ-U/3L: unified-memory, self-modifying SUBLEQ as a looped transformer (spec §6).

Machine (§2.2): M words of N bits hold code and data (3 ≤ M ≤ 2^{N−1}); an instruction is the
three cells mem[pc..pc+2]; pc = −1 means halted; an operand outside [0, M) halts; a next pc
outside [0, M−3] halts.

Columns: 0 is the halt column, 1 + i is cell i. Each cell column caches its **window** (cells
i, i+1, i+2, with the operand validity bits and the canonical jump target
canon(t) = t if 0 ≤ t ≤ M−3 else −1), and a write updates the three columns whose window holds
cell b, so a fetch stays one attention read. Per-loop invariant X_t = E_U(mem_t, pc_t) entry for
entry (:func:`encode`): windows, validity bits and targets included.

* block 0 (fetch, T = reg:pc + 1): cur:* ← the window at pc; ``tmp:valid`` = [v0 ∧ v1] (G1);
  ``tmp:gk`` = [column is cell b − k ∧ kind:mem ∧ v0 ∧ v1] for k = 0, 1, 2 (G7).
* block 1 (read a, T = cur:a + 1; write): in the columns gated by g_k, slot k (= cell b) becomes
  wrap(slot − va) (G4 + G8), its validity bit (k = 0, 1; G2) and its canonical target (k = 2;
  G5 + G2) are recomputed.
* block 2 (read the new b, T = cur:b + 1; branch): pc ← valid ? (vb ≤ 0 ? ce : nx) : −1 (G3, G4, G6).

Widths 10, 34, 10. Deviation: the spec's prototype reports 36 units for FFN2 (not itemised); the
§6 formulas built here need 34: 3 × 4 for the writes, 2 × 4 for the validity bits, 6 + 1 for the
canonical target and 7 clears (docs/looped.md). Checked by the random and stress suites.

A read of an invalid address is unique (the nearest end column) but its score is not 0; its
value is never used because all gates are 0 then.
"""

from __future__ import annotations

from typing import Sequence

from ...programs import SubleqU
from ...runtime.looped import LoopBlock, LoopedTransformer
from ...runtime.space import Space, Vector
from .gadgets import FFN, D, Ranges, address_head, clear, equal, passing, relu, select, step, wrap
from .layout import KIND, ONE, POS, SUBLEQ_U_DIMS, column
from .limits import check_columns

WINDOW = ("w0", "w1", "w2")
GATES = ("tmp:g0", "tmp:g1", "tmp:g2")


def check_size(program: SubleqU) -> None:
    """Refuse, before building, a program whose punch card (n = M + 1) is too large (:mod:`.limits`);
    the weights are independent of M and grow only with N, which the program model bounds."""
    check_columns(program, "SUBLEQ-U", program.cells + 1, f"M + 1 = {program.cells:,} + 1",
                  hint="use fewer memory cells (a Turing machine's: a smaller --tape-cells)")


def ranges(M: int, N: int) -> Ranges:
    B = 2 ** (N - 1)
    word, target, bit = (-B, B - 1), (-1, M - 3), (0, 1)
    return {ONE: (1, 1), POS: (0, M), KIND: bit,
            "win:w0": word, "win:w1": word, "win:w2": word, "win:v0": bit, "win:v1": bit,
            "win:ce": target, "win:nx": target, "reg:pc": target,
            "cur:a": word, "cur:b": word, "cur:ce": target, "cur:nx": target, "cur:v0": bit, "cur:v1": bit,
            "tmp:valid": bit, "tmp:g0": bit, "tmp:g1": bit, "tmp:g2": bit, "tmp:va": word, "tmp:vb": word}


def build(M: int, N: int) -> LoopedTransformer:
    """SUBLEQ-U/3L for M cells of N bits (the weights know no program)."""
    space, rng = Space(SUBLEQ_U_DIMS), ranges(M, N)
    W = 2 ** N

    fetch = address_head(space, D("reg:pc") + 1, {"win:w0": "cur:a", "win:w1": "cur:b", "win:ce": "cur:ce",
                                                   "win:nx": "cur:nx", "win:v0": "cur:v0", "win:v1": "cur:v1"})
    ffn0 = FFN(space, rng, "ffn0")
    step(ffn0, "valid", D("cur:v0") + D("cur:v1") - 1, {"tmp:valid": 1})
    for k, g in enumerate(GATES):
        equal(ffn0, f"g{k}", D(POS) - D("cur:b") - 1 + k, {g: 1}, gates=(KIND, "cur:v0", "cur:v1"))

    read_a = address_head(space, D("cur:a") + 1, {"win:w0": "tmp:va"})
    ffn1 = FFN(space, rng, "ffn1")
    for k, (slot, g) in enumerate(zip(WINDOW, GATES)):
        d = D(f"win:{slot}") - D("tmp:va")
        passing(ffn1, f"{slot}.minus_va", D("tmp:va"), {f"win:{slot}": -1}, gates=(g,))
        wrap(ffn1, f"{slot}.wrap", d, N, {f"win:{slot}": 1}, gates=(g,))
        if k < 2:
            # new v_k = [d ≥ 0] − [d ≥ M] + [d ≤ M−1−W]  (wrap(d) ∈ [0, M), as M ≤ B); minus the old bit
            v = f"win:v{k}"
            step(ffn1, f"v{k}.ge0", d + 1, {v: 1}, gates=(g,))
            step(ffn1, f"v{k}.geM", d - M + 1, {v: -1}, gates=(g,))
            step(ffn1, f"v{k}.low", M - W - d, {v: 1}, gates=(g,))
            step(ffn1, f"v{k}.old", D(g) + D(v) - 1, {v: -1})
        else:
            # new ce = −1 + Σ_{h∈{0,W}} (x+1)·[0 ≤ x ≤ M−3] at x = d + h; minus the old (ce + 1)
            for h in (0, W):
                x = d + h
                relu(ffn1, f"ce.h{h}.up", x + 1, {"win:ce": 1}, gates=(g,))
                relu(ffn1, f"ce.h{h}.down", x - M + 3, {"win:ce": -1}, gates=(g,))
                step(ffn1, f"ce.h{h}.top", x - M + 3, {"win:ce": -(M - 2)}, gates=(g,))
            passing(ffn1, "ce.old", D("win:ce") + 1, {"win:ce": -1}, gates=(g,))
    for dim in ("cur:a", "tmp:va", *GATES, "cur:v0", "cur:v1"):
        clear(ffn1, dim)

    read_b = address_head(space, D("cur:b") + 1, {"win:w0": "tmp:vb"})
    ffn2 = FFN(space, rng, "ffn2")
    passing(ffn2, "halt", -1 - D("reg:pc"), {"reg:pc": 1})
    passing(ffn2, "next", D("cur:nx") + 1, {"reg:pc": 1}, gates=("tmp:valid",))
    select(ffn2, "branch", D("cur:ce") - D("cur:nx"), -D("tmp:vb"), {"reg:pc": 1}, gates=("tmp:valid",))
    for dim in ("cur:b", "cur:ce", "cur:nx", "tmp:valid", "tmp:vb"):
        clear(ffn2, dim)
    return LoopedTransformer(space, (LoopBlock((fetch,), ffn0.build()), LoopBlock((read_a,), ffn1.build()),
                                     LoopBlock((read_b,), ffn2.build())))


def canon(t: int, M: int) -> int:
    return t if 0 <= t <= M - 3 else -1


def encode(space: Space, program: SubleqU, pc: int, memory: Sequence[int]) -> tuple[Vector, ...]:
    """E_U(memory, pc): the punch card of spec §6 (``program`` gives only the sizes)."""
    M = program.cells

    def cell(i: int) -> int:
        return memory[i] if i < M else 0

    cols = [column(space, {ONE: 1, POS: 0, "win:ce": -1, "win:nx": -1, "reg:pc": pc})]
    for i in range(M):
        cols.append(column(space, {
            ONE: 1, POS: 1 + i, KIND: 1, "win:w0": cell(i), "win:w1": cell(i + 1), "win:w2": cell(i + 2),
            "win:v0": int(0 <= memory[i] < M), "win:v1": int(i + 1 < M and 0 <= memory[i + 1] < M),
            "win:ce": canon(memory[i + 2], M) if i + 2 < M else -1, "win:nx": canon(i + 3, M), "reg:pc": pc}))
    return tuple(cols)
