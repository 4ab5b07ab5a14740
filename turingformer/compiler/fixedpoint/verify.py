"""Verification of a FLEQ-M model against the reference interpreter, after every loop (spec §5).

After every loop t the card X_t must equal E(ref_t) entry for entry, where ref_t is the state of
the independent interpreter (:mod:`turingformer.programs.interpreter`) after t loops, and after
the halt one more loop must leave the card unchanged (the halted state is a fixpoint); every head
must have one winner in every column (the runtime raises otherwise, and that is reported). On the
first mismatch at loop t, loop t is re-run block by block from X_{t−1} and each block's card is
compared with the per-block invariants (:mod:`.invariants`), so the report names the loop, the
first wrong **block**, the column, the dimension and, for a matrix dimension, the entry (i, j).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Callable

import numpy as np

from ...errors import AttentionTieError
from ...programs import DEFAULT_MAX_LOOPS, FleqM, LoopState, ProgramTrace, run
from ...programs.interpreter import step, trace_of
from .construction import compile_fleqm
from .decoding import read_state, runner
from .invariants import expected_blocks
from .layout import card_array
from .model import FixedPointModel

_ENTRY = re.compile(r"^(?:mem:v|[a-z]+\d*:)(\d)(\d)$|^(?:mem:v|[a-z]+\d*:)(\d+)_(\d+)$")


def matrix_entry(dimension: str) -> tuple[int, int] | None:
    """The (i, j) a dimension such as ``mem:v12``, ``h:01`` or ``xd3:10`` belongs to (None otherwise)."""
    match = _ENTRY.match(dimension)
    if not match:
        return None
    i, j = (match.group(1), match.group(2)) if match.group(1) is not None else (match.group(3), match.group(4))
    return int(i), int(j)


@dataclass(frozen=True)
class FixedPointDivergence:
    """The first place where the network and the reference disagree (``block`` is 1-based)."""

    loop: int
    block: int | None
    column: int | None
    dimension: str | None
    expected: object = None
    got: object = None
    detail: str = ""

    @property
    def entry(self) -> tuple[int, int] | None:
        return matrix_entry(self.dimension) if self.dimension else None

    def __str__(self) -> str:
        where = f"loop {self.loop}"
        if self.block is not None:
            where += f", block {self.block} (loop.{self.block - 1})"
        if self.column is not None:
            where += f", column {self.column}, dimension {self.dimension}"
            if self.entry is not None:
                where += f" (matrix entry {self.entry})"
            where += f": expected {self.expected}, got {self.got}"
        return f"first divergence at {where}" + (f"; {self.detail}" if self.detail else "")


@dataclass(frozen=True)
class FixedPointVerification:
    model: FixedPointModel
    reference: ProgramTrace
    decoded: ProgramTrace
    divergence: FixedPointDivergence | None
    loops_checked: int

    @property
    def ok(self) -> bool:
        return self.divergence is None


def verify_fleqm(program: FleqM, *, model: FixedPointModel | None = None, max_loops: int = DEFAULT_MAX_LOOPS,
                 progress: Callable[[int], object] | None = None, fold: bool = True) -> FixedPointVerification:
    """Run ``program``'s model (exact integer path) beside the interpreter; see the module docstring.
    ``fold=False`` runs the plain path (no column folding)."""
    model = model or compile_fleqm(program)
    shape, space = model.shape, model.space
    reference = run(program, max_steps=max_loops)
    fast = runner(model, fold=fold)
    X = fast.to_array(model.card)
    divergence = _compare(space, X, card_array(shape, space, program.code, program.pc, program.memory), 0, None)
    decoded = [reference[0]]
    t = 0
    for state in reference.states[1:]:
        if divergence is not None:
            break
        t = state.step
        previous = X
        try:
            X, _ = fast.step(X)
        except AttentionTieError as error:
            divergence = FixedPointDivergence(t, None, None, None, detail=str(error))
            break
        want = card_array(shape, space, program.code, state.pc, state.memory)
        divergence = _compare(space, X, want, t, None)
        if divergence is not None:
            before = reference[t - 1]
            divergence = first_wrong_block(model, program, fast, previous, before.pc, before.memory, t) or divergence
            break
        pc, memory = read_state(model.labels, space, X)
        decoded.append(LoopState(t, pc, memory))
        if progress is not None and not t & 0x3FF:
            progress(t)
    if divergence is None and reference.halted:
        try:
            after, _ = fast.step(X)
        except AttentionTieError as error:
            return FixedPointVerification(model, reference, trace_of(program, decoded),
                                          FixedPointDivergence(t + 1, None, None, None, detail=str(error)), t)
        divergence = _compare(space, after, X, t + 1, None)
        if divergence is not None:
            divergence = FixedPointDivergence(divergence.loop, None, divergence.column, divergence.dimension,
                                              divergence.expected, divergence.got,
                                              "the halted state must be a fixpoint (one more loop changes nothing)")
    return FixedPointVerification(model, reference, trace_of(program, decoded), divergence, t)


def first_wrong_block(model: FixedPointModel, program: FleqM, fast, X: np.ndarray, pc: int, memory,
                      t: int) -> FixedPointDivergence | None:
    """Re-run loop ``t`` block by block from X = X_{t−1} and name the first block whose card
    breaks its invariant."""
    shape, space = model.shape, model.space
    after = step(program, pc, memory)
    cards = expected_blocks(shape, space, program.code, pc, memory, after)
    for l, want in enumerate(cards):
        try:
            X, _ = fast.block(l, X)
        except AttentionTieError as error:
            return FixedPointDivergence(t, l + 1, None, None, detail=str(error))
        found = _compare(space, X, want, t, l + 1)
        if found is not None:
            return found
    return None


def _compare(space, X: np.ndarray, want: np.ndarray, t: int, block: int | None) -> FixedPointDivergence | None:
    if X.shape == want.shape and (X == want).all():
        return None
    if X.shape != want.shape:
        return FixedPointDivergence(t, block, None, None, detail=f"punch card shape {X.shape}, expected {want.shape}")
    d, column = (int(v[0]) for v in np.nonzero(X != want))
    return FixedPointDivergence(t, block, column, space.names[d], int(want[d, column]), int(X[d, column]))
