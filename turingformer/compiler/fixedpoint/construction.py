"""``compile_fleqm``: a FLEQ-M program as looped weights and a punch card (linear-algebra spec §3),
and the size guard that runs before any weight is built.

The weights depend only on the :class:`~.layout.Shape` (M, s, N, F, k, the digit size L and the
compiled functions), so they are built once per shape and shared by every program of that shape
(:func:`weights`); the program itself goes into the punch card.
"""

from __future__ import annotations

from functools import lru_cache

from ...errors import ProgramSizeError
from ...programs import FleqM
from ...runtime.looped import LoopedTransformer
from ...programs.program import function_family
from . import blocks as block_sequence
from .amax import levels as amax_levels
from .early import tabulated
from .layout import MAX_BLOCKS, FixedPointLabels, Shape, card_array, to_card
from .model import FixedPointModel

#: Digit sizes tried by default, largest first (spec §7.12: L = 4 gives N/4 + 3 blocks).
DIGIT_BITS = (4, 2, 1)
#: The most σ units a compiled loop may have (a guard: the weights are exact rationals in memory).
MAX_UNITS = 200_000


def shape_of(program: FleqM, digit_bits: int | None = None) -> Shape:
    """The shape of ``program``'s weights, with the digit size L (default: the largest of
    :data:`DIGIT_BITS` that divides N and F and keeps the loop within 13 blocks)."""
    N, F = program.bits, program.frac
    candidates = (digit_bits,) if digit_bits is not None else DIGIT_BITS
    for L in candidates:
        if L < 1 or N % L or F % L:
            continue
        shape = Shape(program.cells, program.size, N, F, program.k, L, program.functions)
        if shape.blocks <= MAX_BLOCKS:
            return shape
    if digit_bits is not None and (digit_bits < 1 or N % digit_bits or F % digit_bits):
        raise ProgramSizeError(f"digit size L = {digit_bits} must divide N = {N} and F = {F}",
                               hint="use L = 4 (default), 2 or 1 with a format where L divides both")
    raise ProgramSizeError(
        f"Q{N}.{F} with k = {program.k} needs more than {MAX_BLOCKS} blocks per loop "
        f"(N/L + 3 with products, L dividing N and F)",
        hint="use a format whose N and F are multiples of 4 (Q16.8, Q24.16), or a smaller k for amax")


def estimated_units(shape: Shape) -> int:
    """σ units per loop by the counts of spec §2.2–2.5 (checked against the built weights in the
    tests), computed before anything is built."""
    k2, V, nd, fl = shape.k ** 2, (1 << shape.digit_bits) - 1, shape.digits, shape.frac // shape.digit_bits
    n = 3 + 2 * len(shape.functions) + 2                 # gate, one-hots, fc
    n += 4 + k2 + 1 + (1 if shape.late else 0)          # clears, −gate·mem, useh
    for op in shape.early:
        family = function_family(op)[0]
        n += {"mov": k2 + 1, "tr": k2 + 1, "add": 2 * k2 + 1, "sub": 2 * k2 + 1, "shl": 2 * k2 + 1,
              "neg": 2 * k2 + 1, "abs": 3 * k2, "relu": k2, "pos": k2, "max": 2 * k2 + 1, "min": 2 * k2 + 1,
              "lt": 1, "eq": 3}.get(family, 0)
        if family in ("recip", "nrm", "floor", "sigm"):
            base, changes = tabulated(op, shape.bits, shape.frac)
            n += (len(changes) * (k2 if family == "sigm" else 1)) + (1 if base else 0)
    if shape.products:
        n += 2 * k2 * V * (nd - 1) + 2 * k2 * nd + k2 * (shape.floor_steps + 1)
        for op in shape.products:
            pairs = shape.k ** 3 if op == "mm" else k2
            shared = k2 * nd * V if op in ("mm", "had") else nd * V
            n += pairs * V * (nd + fl) + shared + k2 + 1
    else:
        n += 2 * k2
    if "amax" in shape.functions:                     # sat|x| (3 per entry); 2 per pair, 2 more at the last level
        n += 3 * k2 + sum(2 * sum(q is not None for _, q in level) for level in amax_levels(shape)) + 2
    if shape.late:
        n += 2 * k2 + 1 + k2                            # the write, the clears of h
    n += (7 if shape.late else 4) + len(shape.functions) + 6 + (1 if shape.late else 0)
    return n


def check(program: FleqM, digit_bits: int | None = None) -> Shape:
    """The program's shape, refused before any weight is built when its loop would exceed
    :data:`MAX_UNITS` σ units."""
    shape = shape_of(program, digit_bits)
    units = estimated_units(shape)
    if units > MAX_UNITS:
        raise ProgramSizeError(
            f"the loop would have about {units:,} σ units (more than {MAX_UNITS:,}): k = {shape.k} with "
            f"{', '.join(shape.products) or 'these functions'} at Q{shape.bits}.{shape.frac}",
            hint="use a smaller k or a smaller word (the product layer grows like k³·(N/L + F/L)·(2^L − 1))")
    return shape


@lru_cache(maxsize=16)
def weights(shape: Shape) -> LoopedTransformer:
    """The looped weights of a shape (built once per shape)."""
    return block_sequence.build(shape)


def compile_fleqm(program: FleqM, digit_bits: int | None = None) -> FixedPointModel:
    """The looped model of a FLEQ-M program: weights for its shape, the punch card of its start state."""
    shape = check(program, digit_bits)
    transformer = weights(shape)
    labels = FixedPointLabels(shape, program.name, tuple(program.labels.items()), program.learner)
    X = card_array(shape, transformer.space, program.code, program.pc, program.memory)
    return FixedPointModel(transformer, to_card(X), labels)


