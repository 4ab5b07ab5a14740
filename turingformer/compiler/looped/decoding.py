"""Decoding: read the machine state back from a punch card X, using the labels and X alone (spec §8).

SUBLEQ-H / FLEQ-H: mem[i] = X[i][mem:value] (i < M); pc = X[j][reg:pc], the same in every column
(the registers are replicated, layout.py); halted ⟺ pc = s. SUBLEQ-U: mem[i] = X[1+i][win:w0];
halted ⟺ pc = −1. Nothing here looks at a program or an interpreter.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable, Sequence

from ...errors import LoopedRuntimeError
from ...programs import DEFAULT_MAX_LOOPS, LoopState, ProgramTrace
from ...runtime.looped import IntegerLoop
from ...runtime.space import Space
from .layout import CardLabels, LoopedModel


@dataclass(frozen=True)
class CardState:
    """The machine state a punch card holds: the program counter and the memory words."""

    pc: int
    mem: tuple[int, ...]

    def halted(self, labels: CardLabels) -> bool:
        return self.pc == labels.halt_pc


def _int(value, where: str) -> int:
    if getattr(value, "denominator", 1) != 1 or value != int(value):
        raise LoopedRuntimeError(f"{where} holds {value}, not an integer: the punch card is corrupt")
    return int(value)


def read_state(labels: CardLabels, space: Space, X: Sequence[Sequence]) -> CardState:
    """The state of punch card ``X`` (columns of numbers; Fractions, ints or an array's columns)."""
    pc_index = space.index("reg:pc")
    pcs = {_int(col[pc_index], "reg:pc") for col in X}
    if len(pcs) != 1:
        raise LoopedRuntimeError(f"the replicated program counter disagrees across columns: {sorted(pcs)}")
    if labels.machine == "subleq-u":
        value, first = space.index("win:w0"), 1
    else:
        value, first = space.index("mem:value"), 0
    mem = tuple(_int(X[first + i][value], f"cell {i}") for i in range(labels.cells))
    return CardState(pcs.pop(), mem)


def read_array(labels: CardLabels, space: Space, X) -> CardState:
    """The same for a d × n integer array (the integer fast path's representation)."""
    pcs = X[space.index("reg:pc")]
    if (pcs != pcs[0]).any():
        raise LoopedRuntimeError(f"the replicated program counter disagrees across columns: {sorted(set(pcs.tolist()))}")
    if labels.machine == "subleq-u":
        row, first = space.index("win:w0"), 1
    else:
        row, first = space.index("mem:value"), 0
    return CardState(int(pcs[0]), tuple(int(v) for v in X[row, first:first + labels.cells]))


def run_looped(model: LoopedModel, max_loops: int = DEFAULT_MAX_LOOPS, *, record: bool = True,
               progress: Callable[[int], None] | None = None) -> ProgramTrace:
    """Run the model on its punch card (exact integer path) and decode after every loop.

    Loops until the decoded pc is the halt pc or ``max_loops`` loops ran; the trace has the same
    shape as the reference interpreter's (:func:`turingformer.programs.run`), built from the
    weights, the card and the labels only. ``record=False`` keeps only the final state.
    """
    labels, space = model.labels, model.space
    fast = IntegerLoop(model.transformer)
    X = fast.to_array(model.card)
    state = read_array(labels, space, X)
    states = [LoopState(0, state.pc, state.mem)]
    t = 0
    while state.pc != labels.halt_pc and t < max_loops:
        X, _ = fast.step(X)
        t += 1
        state = read_array(labels, space, X)
        loop = LoopState(t, state.pc, state.mem)
        if record:
            states.append(loop)
        else:
            states[0] = loop
        if progress is not None and not t & 0xFFFF:
            progress(t)
    return ProgramTrace(tuple(states), labels.halt_pc, name=labels.name, kind=labels.machine, bits=labels.bits,
                        labels=dict(labels.cell_labels))
