"""The punch card of FLEQ-M (linear-algebra spec §3; LC §5.1, §7.1): named dimensions, value
ranges, the labels that read a card back, the model, and E(mem, pc).

Columns as FLEQ-H: 0 … M−1 memory cells, M … M+s−1 instructions, H = M + s the halt column
(op = the first early function, a = b = c = f = H, p = next = s; not a memory column, so it is
never written and pc stays s). No scratchpad: the registers and transients are replicated in
every column (LC §12.1).

Dimensions (d = 22 + n_ops + k²·(5 + 2(n_d − 1)) [+ k² with amax] with a product function):

===========================  =====================================================  ============
dimension                    meaning                                                live
===========================  =====================================================  ============
``const:one``                1 (the attention's constant coordinate)                static
``pos:index``                the column's index                                     static
``kind:mem``                 1 in a memory column                                   static
``mem:v<ij>`` (k²)           the cell's raw words (memory columns; 0 elsewhere)     static/written
``prog:{op,a,b,c,f,p,next}`` the instruction (instruction and halt columns)         static
``reg:pc``                   the program counter (replicated)                       every loop
``cur:*`` (7)                the fetched instruction                                blocks 1 → 2 / last
``tmp:gate``                 [this column is cell c]                                blocks 1 → last
``tmp:fc``, ``tmp:useh``     [f = c]; [f = c ∧ late]: the flag comes from h₀₀        blocks 1/2 → last
``op:<name>`` (n_ops)        the one-hot of ``cur:op`` (compiled functions)          blocks 1 → last
``x:<ij>``, ``y:<ij>``       mem[a], mem[b] (read by block 2's two heads)           block 2 → product
``xd<d>:<ij>``, ``yd<d>:..`` digit d ≥ 1 of X′ = X + B (base 2^L), of Y′            blocks 2…n_d → product
``h:<ij>``, ``t:<ij>``       the product's high and low sums (§2.3)                  product → last
``am:<ij>``                  sat|x_ij|, then the pairwise maxima (§2.4)             block 2 → its last level
``tmp:z``                    mem[f](0,0) (the last block's head)                    last block
===========================  =====================================================  ============

Per-loop invariant: X_t = E(mem_t, pc_t) (:func:`encode`): every transient 0, the registers
replicated. :class:`FixedPointLabels` (sizes, format, function list, cell labels) is all that
decoding needs besides the weights and X — never the program's code (the model: :mod:`.model`).
"""

from __future__ import annotations

from dataclasses import dataclass
from fractions import Fraction
from typing import Sequence

import numpy as np

from ...programs import FLEQM_LATE, Matrix
from ...programs.fixed import Fixed
from ...programs.learning import Learner
from ...programs.program import function_family
from ...runtime.space import Space, Vector

#: The paper's bound on the layers of its looped transformer (Giannou et al. 2023: "13 layers").
MAX_BLOCKS = 13

ONE, POS, KIND = "const:one", "pos:index", "kind:mem"
FIELDS = ("op", "a", "b", "c", "f", "p", "next")
GATE, FC, USEH, Z, PC = "tmp:gate", "tmp:fc", "tmp:useh", "tmp:z", "reg:pc"
PRODUCTS = ("mm", "had", "smul")


def entry(i: int, j: int, k: int) -> str:
    """The suffix of entry (i, j): ``01`` (``0_1`` when k > 10)."""
    return f"{i}{j}" if k <= 10 else f"{i}_{j}"


def mem(i: int, j: int, k: int) -> str:
    return f"mem:v{entry(i, j, k)}"


def dim(block: str, i: int, j: int, k: int) -> str:
    """``x:01``, ``xd3:01``, ``h:00``, ``am:10`` …"""
    return f"{block}:{entry(i, j, k)}"


def op_dim(name: str) -> str:
    return f"op:{name}"


def is_late(op: str) -> bool:
    return function_family(op)[0] in FLEQM_LATE


@dataclass(frozen=True)
class Shape:
    """The sizes the weights depend on: M cells, s instructions, format (N, F), k, digit size L,
    and the compiled function list (its order numbers ``prog:op``)."""

    cells: int
    instructions: int
    bits: int
    frac: int
    k: int
    digit_bits: int
    functions: tuple[str, ...]

    @property
    def fmt(self) -> Fixed:
        return Fixed(self.bits, self.frac)

    @property
    def halt_column(self) -> int:
        return self.cells + self.instructions

    @property
    def digits(self) -> int:
        """n_d = N / L."""
        return self.bits // self.digit_bits

    @property
    def products(self) -> tuple[str, ...]:
        return tuple(f for f in self.functions if f in PRODUCTS)

    @property
    def late(self) -> tuple[str, ...]:
        return tuple(f for f in self.functions if is_late(f))

    @property
    def early(self) -> tuple[str, ...]:
        return tuple(f for f in self.functions if not is_late(f))

    @property
    def amax_levels(self) -> int:
        """⌈log₂ k²⌉ pairwise-max levels (at least 1: for k = 1 the one gated pass)."""
        return max(1, (self.k * self.k - 1).bit_length())

    @property
    def blocks(self) -> int:
        """N/L + 3 with a product function; 3 + the amax levels with amax; 3 without late functions."""
        extra = max(self.digits if self.products else 0, self.amax_levels if "amax" in self.functions else 0)
        return 3 + extra

    @property
    def entries(self) -> list[tuple[int, int]]:
        return [(i, j) for i in range(self.k) for j in range(self.k)]

    @property
    def halt_op(self) -> int:
        """The halt column's op: the first early function (else 0)."""
        return next((i for i, f in enumerate(self.functions) if not is_late(f)), 0)

    @property
    def pairs(self) -> int:
        """n_t of the widest compiled product (k for mm, 1 for had / smul)."""
        return max([self.k if f == "mm" else 1 for f in self.products], default=0)

    @property
    def t_max(self) -> int:
        """The largest low sum T′ (spec §2.3 step 3): n_t·V·Σ_{d < F/L} 2^(Ld)(2^(F−Ld) − 1)."""
        L, V = self.digit_bits, (1 << self.digit_bits) - 1
        return self.pairs * V * sum((1 << (L * d)) * ((1 << (self.frac - L * d)) - 1)
                                    for d in range(self.frac // L))

    @property
    def floor_steps(self) -> int:
        """M_T = ⌊(T_max + 2^(F−1)) / 2^F⌋: the floor layer's thresholds per entry."""
        return (self.t_max + (1 << (self.frac - 1))) >> self.frac

    def h_range(self) -> tuple[int, int]:
        """The range of h_ij (every phase: the high sum before the floor, the rounded product
        after it, amax's result, 0)."""
        fmt, lo, hi = self.fmt, 0, 0
        B = fmt.B
        for f in self.products:
            n_t = self.k if f == "mm" else 1
            lo = min(lo, fmt.rnd(-n_t * B * (B - 1)) - self.floor_steps)
            hi = max(hi, fmt.rnd(n_t * B * B))
        if "amax" in self.functions:
            hi = max(hi, B - 1)
        return lo, hi

    def dimensions(self) -> tuple[str, ...]:
        k, late = self.k, bool(self.late)
        names = [ONE, POS, KIND, *(mem(i, j, k) for i, j in self.entries), *(f"prog:{f}" for f in FIELDS), PC,
                 *(f"cur:{f}" for f in FIELDS), GATE, FC, *((USEH,) if late else ()),
                 *(op_dim(f) for f in self.functions)]
        names += [dim(b, i, j, k) for b in ("x", "y") for i, j in self.entries]
        if self.products:
            names += [dim(f"{b}d{d}", i, j, k) for d in range(self.digits - 1, 0, -1) for b in ("x", "y")
                      for i, j in self.entries]
        if late:
            names += [dim("h", i, j, k) for i, j in self.entries]
        if self.products:
            names += [dim("t", i, j, k) for i, j in self.entries]
        if "amax" in self.functions:
            names += [dim("am", i, j, k) for i, j in self.entries]
        return (*names, Z)

    def ranges(self) -> dict[str, tuple[int, int]]:
        """The range of every dimension at every point of a loop, in every column (with 0)."""
        B, H, s = self.fmt.B, self.halt_column, self.instructions
        word, bit = (-B, B - 1), (0, 1)
        fields = {"op": (0, max(0, len(self.functions) - 1)), "a": (0, H), "b": (0, H), "c": (0, H), "f": (0, H),
                  "p": (0, s), "next": (0, s)}
        out = {ONE: (1, 1), POS: (0, H), KIND: bit, PC: (0, s), GATE: bit, FC: bit, USEH: bit, Z: word}
        for f, r in fields.items():
            out[f"prog:{f}"] = out[f"cur:{f}"] = r
        for name in self.dimensions():
            block = name.split(":")[0]
            if name.startswith("mem:") or block in ("x", "y"):
                out[name] = word
            elif block.startswith(("xd", "yd")):
                out[name] = (0, (1 << self.digit_bits) - 1)
            elif block == "h":
                out[name] = self.h_range()
            elif block == "t":
                out[name] = (0, self.t_max)
            elif block == "am":
                out[name] = (0, B - 1)
            elif block == "op":
                out[name] = bit
        return out


    def bounds(self) -> dict[str, int]:
        """max |value| of every dimension at every point of a loop (from :meth:`ranges`)."""
        names = set(self.dimensions())
        return {name: max(abs(lo), abs(hi)) for name, (lo, hi) in self.ranges().items() if name in names}


@dataclass(frozen=True)
class FixedPointLabels:
    """What decoding needs to read a FLEQ-M punch card: the :class:`Shape` and the program's name
    and data labels (label, cell) for reports — nothing of its code; for a learner program its
    declaration (which cells hold the training data and the weights, which pc starts an epoch:
    :class:`~turingformer.programs.learning.Learner`), recorded by the assembler."""

    shape: Shape
    name: str = ""
    cell_labels: tuple[tuple[str, int], ...] = ()
    learner: Learner | None = None

    construction = "fleq-m"
    machine = "fleq-m"

    @property
    def halt_pc(self) -> int:
        return self.shape.instructions

    @property
    def cells(self) -> int:
        return self.shape.cells

    def to_json(self) -> dict:
        s = self.shape
        return {"cells": s.cells, "instructions": s.instructions, "bits": s.bits, "frac": s.frac, "k": s.k,
                "digit_bits": s.digit_bits, "functions": list(s.functions), "name": self.name,
                "cell_labels": dict(self.cell_labels),
                **({"learner": self.learner.to_json()} if self.learner is not None else {})}


def card_array(shape: Shape, space: Space, code: Sequence, pc: int, memory: Sequence[Matrix]) -> np.ndarray:
    """E(mem, pc) as a d × n integer array (int64; the words and indices are far below 2^62)."""
    M, s, H, k = shape.cells, shape.instructions, shape.halt_column, shape.k
    X = np.zeros((len(space), M + s + 1), dtype=np.int64)
    row = space.index
    X[row(ONE)] = 1
    X[row(POS)] = np.arange(M + s + 1)
    X[row(PC)] = pc
    X[row(KIND), :M] = 1
    for i, j in shape.entries:
        X[row(mem(i, j, k)), :M] = [cell[i][j] for cell in memory]
    index = {f: n for n, f in enumerate(shape.functions)}
    for field in FIELDS[:-1]:
        X[row(f"prog:{field}"), M:M + s] = [index[ins.op] if field == "op" else getattr(ins, field) for ins in code]
    X[row("prog:next"), M:M + s] = np.arange(1, s + 1)
    for field, value in zip(FIELDS, (shape.halt_op, H, H, H, H, s, s)):
        X[row(f"prog:{field}"), H] = value
    return X


def to_card(X: np.ndarray) -> tuple[Vector, ...]:
    """A card array as columns of exact Fractions (the Fraction runtime's input)."""
    cache: dict[int, Fraction] = {}
    return tuple(tuple(cache.setdefault(v, Fraction(v)) for v in col) for col in X.T.tolist())
