"""The early functions (linear-algebra spec §2.2): one σ layer, in block 2's FFN, written directly.

Every unit is gated by gate ∧ op (``tmp:gate`` = [this column is cell c], ``op:<name>`` the
one-hot of the function) and reads out into ``mem:v<ij>``; the old value is removed for every
function by −gate·mem (a gated pass, k² + 1 units), so column c receives f(X, Y) and every other
column nothing. x = ``x:<ij>`` = mem[a], y = ``y:<ij>`` = mem[b], B = 2^(N−1), ONE = 2^F.

=================  ===========================================  ==================
function           realisation                                  units
=================  ===========================================  ==================
mov, tr            pass(x_ij) (tr: x_ji)                         k² + 1
add, sub, shl<s>   sat(v), v = x + y, y − x, 2^s·x               2k² + 1
neg                pass(−x) − step(−x − B + 1)                   2k² + 1
abs                relu(x) + relu(−x) − step(−x − B + 1)         3k²
relu, pos          relu(x); ONE·step(x)                          k²
max, min           y + relu(x − y); y − relu(y − x)              2k² + 1
lt, eq             ONE·step(y₀₀ − x₀₀); ONE·[y₀₀ = x₀₀]          1, 3
recip, nrm, floor  a table on x₀₀ (one unit per change)          1,018 / 28 / 256
sigm               a table per entry (2^F changes each)           2^F·k²
=================  ===========================================  ==================

(sigm's base f(−B) = 0 needs no unit; the spec's 257·k², and its block-2 widths at N = 16, count
one such unit of read-out 0: here one unit less, docs/linear-algebra.md.)
"""

from __future__ import annotations

from functools import lru_cache

from ...programs.interpreter import fleqm_function
from ...programs.program import function_family
from .gadgets import D, Layer, changes, equal, passing, relu, saturate, step, table
from .layout import GATE, Shape, dim, mem, op_dim


#: The pieces of [−B, B − 1] on which each table function is monotone (spec §1.4).
MONOTONE = {"sigm": "one", "floor": "one", "recip": "signs", "nrm": "signs"}


@lru_cache(maxsize=None)
def tabulated(op: str, bits: int, frac: int) -> tuple[int, tuple[tuple[int, int], ...]]:
    """(f(−B), the changes of f) for a table function f of one word: the interpreter's own
    definition (a 1×1 cell), its change points found by bisection on its monotone pieces."""
    B = 1 << (bits - 1)
    f1 = fleqm_function(op, bits, frac, 1)

    def f(q: int) -> int:
        return f1(((q,),), ((0,),))[0][0]

    pieces = [(-B, B - 1)] if MONOTONE[function_family(op)[0]] == "one" else [(-B, -1), (0, 0), (1, B - 1)]
    return f(-B), tuple(changes(f, pieces))


def write_early(layer: Layer, shape: Shape) -> None:
    """−gate·mem, then every compiled early function gated by gate ∧ op (module docstring)."""
    k, B, ONE = shape.k, shape.fmt.B, shape.fmt.one
    for i, j in shape.entries:
        passing(layer, f"minus_mem.{i}{j}", D(mem(i, j, k)), {mem(i, j, k): -1}, gates=(GATE,))
    for op in shape.early:
        gates = (GATE, op_dim(op))
        family, s = function_family(op)
        if family in ("lt", "eq", "recip", "nrm", "floor"):
            out = {mem(0, 0, k): 1}
            x, y = D(dim("x", 0, 0, k)), D(dim("y", 0, 0, k))
            if family == "lt":
                step(layer, "lt", y - x, {mem(0, 0, k): ONE}, gates)
            elif family == "eq":
                equal(layer, "eq", y - x, {mem(0, 0, k): ONE}, gates)
            else:
                table(layer, family, x, *tabulated(op, shape.bits, shape.frac), (-B, B - 1), out, gates)
            continue
        for i, j in shape.entries:
            x, y, out = D(dim("x", i, j, k)), D(dim("y", i, j, k)), {mem(i, j, k): 1}
            label = f"{op}.{i}{j}"
            if family == "mov":
                passing(layer, label, x, out, gates)
            elif family == "tr":
                passing(layer, label, D(dim("x", j, i, k)), out, gates)
            elif family in ("add", "sub", "shl"):
                v = {"add": x + y, "sub": y - x, "shl": x * (1 << s)}[family]
                saturate(layer, label, v, B, out, gates)
            elif family == "neg":
                passing(layer, label, -x, out, gates)
                step(layer, label + ".sat", -x - B + 1, {mem(i, j, k): -1}, gates)
            elif family == "abs":
                relu(layer, label + ".pos", x, out, gates)
                relu(layer, label + ".neg", -x, out, gates)
                step(layer, label + ".sat", -x - B + 1, {mem(i, j, k): -1}, gates)
            elif family == "relu":
                relu(layer, label, x, out, gates)
            elif family == "pos":
                step(layer, label, x, {mem(i, j, k): ONE}, gates)
            elif family == "max":
                passing(layer, label, y, out, gates)
                relu(layer, label + ".relu", x - y, out, gates)
            elif family == "min":
                passing(layer, label, y, out, gates)
                relu(layer, label + ".relu", y - x, {mem(i, j, k): -1}, gates)
            elif family == "sigm":
                table(layer, label, x, *tabulated(op, shape.bits, shape.frac), (-B, B - 1), out, gates)
            else:
                raise ValueError(f"no early FLEQ-M function {op!r}")
