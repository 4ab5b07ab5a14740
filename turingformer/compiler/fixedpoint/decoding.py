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
from .layout import PC, FixedPointLabels, mem
from .model import FixedPointModel


def read_state(labels: FixedPointLabels, space, X: np.ndarray) -> tuple[int, tuple]:
    """(pc, memory) of a d × n card array."""
    pcs = X[space.index(PC)]
    if (pcs != pcs[0]).any():
        raise LoopedRuntimeError(f"the replicated program counter disagrees across columns: "
                                 f"{sorted(set(int(v) for v in pcs))}")
    shape = labels.shape
    k, M = shape.k, shape.cells
    rows = [[X[space.index(mem(i, j, k)), :M] for j in range(k)] for i in range(k)]
    memory = tuple(tuple(tuple(int(rows[i][j][c]) for j in range(k)) for i in range(k)) for c in range(M))
    return int(pcs[0]), memory


def runner(model: FixedPointModel, **options) -> IntegerLoop:
    """The exact integer path for ``model``, its int64 proof seeded with the construction's ranges."""
    return IntegerLoop(model.transformer, bounds=model.shape.bounds(), **options)


def run_fleqm(model: FixedPointModel, max_loops: int = DEFAULT_MAX_LOOPS, *, record: bool = True,
              progress: Callable[[int], object] | None = None) -> ProgramTrace:
    """Run the model on its punch card (exact integer path) and decode after every loop, until the
    decoded pc is s or ``max_loops`` loops ran; the trace has the interpreter's shape (the same
    JSON), built from the weights, the card and the labels only. ``progress(t)`` is called every
    1,024 loops."""
    labels, space = model.labels, model.space
    fast = runner(model)
    X = fast.to_array(model.card)
    pc, memory = read_state(labels, space, X)
    states = [LoopState(0, pc, memory)]
    t = 0
    while pc != labels.halt_pc and t < max_loops:
        X, _ = fast.step(X)
        t += 1
        pc, memory = read_state(labels, space, X)
        if record:
            states.append(LoopState(t, pc, memory))
        else:
            states[0] = LoopState(t, pc, memory)
        if progress is not None and not t & 0x3FF:
            progress(t)
    shape = labels.shape
    return ProgramTrace(tuple(states), labels.halt_pc, name=labels.name, kind="fleq-m", bits=shape.bits,
                        labels=dict(labels.cell_labels), frac=shape.frac)
