"""Decoding: the FLEQ-M machine state of a punch card, from the labels and X alone (spec §2.5, LC §8).

pc = X[reg:pc] in every column (replicated; all copies must agree); cell i = the k×k matrix of
``mem:v<ij>`` in column i (i < M); halted ⟺ pc = s. Nothing here reads a program or an interpreter.
"""

from __future__ import annotations

from typing import Callable

import numpy as np

from ...errors import LoopedRuntimeError
from ...programs import DEFAULT_MAX_LOOPS, LoopState, ProgramTrace
from ...runtime.looped import IntegerLoop
from ..looped.model import loop_cards
from .layout import PC, FixedPointLabels, mem


def read_state(labels: FixedPointLabels, space, X: np.ndarray) -> tuple[int, tuple]:
    """(pc, memory) of a d × n card array."""
    pcs = X[space.index(PC)]
    if (pcs != pcs[0]).any():
        raise LoopedRuntimeError(f"the replicated program counter disagrees across columns: "
                                 f"{sorted(set(int(v) for v in pcs))}")
    shape = labels.shape
    k, M = shape.k, shape.cells
    rows = np.array([[X[space.index(mem(i, j, k)), :M] for j in range(k)] for i in range(k)]).tolist()
    memory = tuple(tuple(tuple(int(rows[i][j][c]) for j in range(k)) for i in range(k)) for c in range(M))
    return int(pcs[0]), memory


def exact_loop(model, **options) -> IntegerLoop:
    """The exact integer path for ``model``, its int64 proof seeded with the construction's ranges."""
    return IntegerLoop(model.transformer, bounds=model.shape.bounds(), **options)


def run_fleqm(model, max_loops: int = DEFAULT_MAX_LOOPS, *, record: bool = True,
              progress: Callable[[int], bool | None] | None = None,
              runner: IntegerLoop | None = None) -> ProgramTrace:
    """Run the model on its punch card (exact integer path) and decode after every loop, until the
    decoded pc is s or ``max_loops`` loops ran; the trace has the interpreter's shape (the same
    JSON), built from the weights, the card and the labels only. ``progress(t)`` is called after
    every loop; when it returns True the run stops there and the trace is marked interrupted.
    ``runner`` runs the weights instead of the exact integer path (e.g. an export's)."""
    labels, space = model.labels, model.space
    states: list[LoopState] = []
    interrupted = False
    for t, X in enumerate(loop_cards(model, runner or exact_loop(model))):
        pc, memory = read_state(labels, space, X)
        if record or not states:
            states.append(LoopState(t, pc, memory))
        else:
            states[0] = LoopState(t, pc, memory)
        if pc == labels.halt_pc or t == max_loops:
            break
        if progress is not None and t and progress(t):
            interrupted = True
            break
    shape = labels.shape
    return ProgramTrace(tuple(states), labels.halt_pc, name=labels.name, kind="fleq-m", bits=shape.bits,
                        labels=dict(labels.cell_labels), interrupted=interrupted, frac=shape.frac,
                        learner=labels.learner)
