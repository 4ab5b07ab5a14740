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
from ...programs import DEFAULT_MAX_LOOPS, FleqM, LoopState, run
from ...programs.interpreter import step, trace_of
from ..looped.verify import LoopedVerification
from ..protocol import Divergence
from .construction import compile_fleqm
from .decoding import exact_loop, read_state
from .invariants import expected_blocks
from .layout import card_array
from .model import FixedPointModel

#: Rows of the loop table ``verify`` prints when no limit is given.
TABLE_ROWS = 10_000
_ENTRY = re.compile(r"^(?:mem:v|[a-z]+\d*:)(\d)(\d)$|^(?:mem:v|[a-z]+\d*:)(\d+)_(\d+)$")


def matrix_entry(dimension: str) -> tuple[int, int] | None:
    """The (i, j) a dimension such as ``mem:v12``, ``h:01`` or ``xd3:10`` belongs to (None otherwise)."""
    match = _ENTRY.match(dimension)
    if not match:
        return None
    i, j = (match.group(1), match.group(2)) if match.group(1) is not None else (match.group(3), match.group(4))
    return int(i), int(j)


def divergence(loop: int, block: int | None = None, column: int | None = None, dimension: str = "",
               expected: object = None, got: object = None, detail: str = "") -> Divergence:
    """A divergence after loop ``loop`` in ``block`` (1-based; the first block whose card breaks its
    invariant), at ``column`` and ``dimension`` of the card; a matrix dimension names its entry."""
    where = "" if block is None else f"block {block} (loop.{block - 1})"
    entry = matrix_entry(dimension) if dimension else None
    if entry is not None:
        detail = f"matrix entry {entry}" + (f"; {detail}" if detail else "")
    return Divergence(loop, "loop", where, dimension, expected, got, column, detail)


@dataclass(frozen=True, repr=False)
class FixedPointVerification(LoopedVerification):
    """A looped verification (model, the interpreter's trace, the trace decoded from the cards up
    to the first divergence, the divergence, the loops checked) whose cells are matrices."""

    def table(self, *, limit: int | None = None) -> str:
        """One row per loop: pc and the cell the loop wrote, decoded from the card (= E(reference))."""
        lines = list(self.decoded.table_lines())
        header, rows = lines[:1], lines[1:]
        shown = rows[:TABLE_ROWS if limit is None else limit]
        out = [header[0] + "   (every card equal to E(reference state))", *shown]
        if len(rows) > len(shown):
            out.append(f"  ... {len(rows) - len(shown):,} more loops")
        return "\n".join(out)

    def agreement(self) -> str:
        halted = "halted, and one more loop left the card unchanged" if self.reference.halted else \
            "not halted (loop limit)"
        return (f"the looped transformer (fleq-m, {len(self.model.transformer.blocks)} blocks per loop) agrees with "
                f"the FLEQ-M interpreter after every loop: {self.checked:,} loops, {halted}; every punch card equal "
                "to E(state) entry for entry, one winner per head and column")


def verify_fleqm(program: FleqM, *, model: FixedPointModel | None = None, max_loops: int = DEFAULT_MAX_LOOPS,
                 progress: Callable[[int], bool | None] | None = None, fold: bool = True) -> FixedPointVerification:
    """Run ``program``'s model (exact integer path) beside the interpreter; see the module docstring.
    ``progress(t)`` is called after every loop; when it returns True the check stops there.
    ``fold=False`` runs the plain path (no column folding)."""
    model = model or compile_fleqm(program)
    shape, space = model.shape, model.space
    reference = run(program, max_steps=max_loops)
    fast = exact_loop(model, fold=fold)
    X = fast.to_array(model.card)
    found = _compare(space, X, card_array(shape, space, program.code, program.pc, program.memory), 0, None)
    decoded = [reference[0]]
    t, stopped = 0, False
    for state in reference.states[1:]:
        if found is not None:
            break
        t = state.step
        previous = X
        try:
            X, _ = fast.step(X)
        except AttentionTieError as error:
            found = divergence(t, detail=str(error))
            break
        found = _compare(space, X, card_array(shape, space, program.code, state.pc, state.memory), t, None)
        if found is not None:
            before = reference[t - 1]
            found = first_wrong_block(model, program, fast, previous, before.pc, before.memory, t) or found
            break
        pc, memory = read_state(model.labels, space, X)
        decoded.append(LoopState(t, pc, memory))
        if progress is not None and progress(t):
            stopped = True
            break
    if found is None and not stopped and reference.halted:
        try:
            after, _ = fast.step(X)
            found = _compare(space, after, X, t + 1, None)
            if found is not None:
                found = Divergence(found.step, "loop", "", found.slot, found.expected, found.got, found.column,
                                   "the halted state must be a fixpoint (one more loop changes nothing)")
        except AttentionTieError as error:
            found = divergence(t + 1, detail=str(error))
    return FixedPointVerification(model, reference, trace_of(program, decoded), found, t)


def first_wrong_block(model: FixedPointModel, program: FleqM, fast, X: np.ndarray, pc: int, memory,
                      t: int) -> Divergence | None:
    """Re-run loop ``t`` block by block from X = X_{t−1} and name the first block whose card
    breaks its invariant."""
    shape, space = model.shape, model.space
    after = step(program, pc, memory)
    cards = expected_blocks(shape, space, program.code, pc, memory, after)
    for l, want in enumerate(cards):
        try:
            X, _ = fast.block(l, X)
        except AttentionTieError as error:
            return divergence(t, l + 1, detail=str(error))
        found = _compare(space, X, want, t, l + 1)
        if found is not None:
            return found
    return None


def _compare(space, X: np.ndarray, want: np.ndarray, t: int, block: int | None) -> Divergence | None:
    if X.shape == want.shape and (X == want).all():
        return None
    if X.shape != want.shape:
        return divergence(t, block, detail=f"punch card shape {X.shape}, expected {want.shape}")
    d, column = (int(v[0]) for v in np.nonzero(X != want))
    return divergence(t, block, column, space.names[d], int(want[d, column]), int(X[d, column]))
