"""Random FLEQ-M programs and words for the tests and the benchmark campaign (linear-algebra spec §5).

Words mix uniform (40 %), extremes {−B, −B+1, B−1, B−2, 0, ±1, ±ONE, ±ONE/2} (15 %), small values
in ±4·ONE (25 %) and tie-prone odd multiples of powers of two (20 %). Programs have M cells and s
instructions of random functions (f = c in 40 %), so that one compiled shape serves many programs.
"""

from __future__ import annotations

import random

from turingformer.compiler.fixedpoint.layout import Shape
from turingformer.programs import FLEQM_FUNCTIONS, FleqInstruction, FleqM
from turingformer.programs.program import FLEQM_TABLE_BITS

SHIFTS = ("shl1", "shl2", "shl5")


def functions(bits: int) -> tuple[str, ...]:
    """Every function the format allows (``shl`` as three shifts), in the compiled order."""
    out = []
    for f in FLEQM_FUNCTIONS:
        if f == "shl":
            out += SHIFTS
        elif bits <= FLEQM_TABLE_BITS.get(f, bits):
            out.append(f)
    return tuple(out)


def word(r: random.Random, bits: int, frac: int) -> int:
    B, one = 1 << (bits - 1), 1 << frac
    u = r.random()
    if u < 0.40:
        return r.randrange(-B, B)
    if u < 0.55:
        return r.choice([-B, -B + 1, B - 1, B - 2, 0, 1, -1, one, -one, one // 2, -one // 2])
    if u < 0.80:
        return r.randint(-4 * one, 4 * one)
    e = r.randrange(0, bits - 2)
    return max(-B, min(B - 1, r.choice((1, -1)) * (2 * r.randrange(0, max(1, B >> (e + 1))) + 1) << e))


def cell(r: random.Random, bits: int, frac: int, k: int):
    return tuple(tuple(word(r, bits, frac) for _ in range(k)) for _ in range(k))


def program(r: random.Random, shape: Shape) -> FleqM:
    """A random program of ``shape`` (M cells, s instructions) over its functions."""
    M, s = shape.cells, shape.instructions
    pool = r.sample(shape.functions, r.randint(2, min(8, len(shape.functions))))
    code = []
    for _ in range(s):
        c = r.randrange(M)
        f = c if r.random() < 0.4 else r.randrange(M)
        code.append(FleqInstruction(r.choice(pool), r.randrange(M), r.randrange(M), c, f, r.randrange(s + 1)))
    memory = [cell(r, shape.bits, shape.frac, shape.k) for _ in range(M)]
    return FleqM(bits=shape.bits, frac=shape.frac, k=shape.k, memory=memory, code=code,
                 pc=r.randrange(s))
