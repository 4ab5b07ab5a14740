"""Decoding: read the machine state back from a punch card X, using the labels and X alone (spec §8).

SUBLEQ-H / FLEQ-H: mem[i] = X[i][mem:value] (i < M); pc = X[j][reg:pc], the same in every column
(the registers are replicated, layout.py); halted ⟺ pc = s. SUBLEQ-U: mem[i] = X[1+i][win:w0];
halted ⟺ pc = −1. Nothing here looks at a program or an interpreter.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Sequence

from ...errors import LoopedRuntimeError
from ...runtime.space import Space
from .layout import CardLabels

#: The program counter's dimension (replicated in every column).
PC = "reg:pc"


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
    pc_index = space.index(PC)
    pcs = {_int(col[pc_index], PC) for col in X}
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
    pcs = X[space.index(PC)]
    if (pcs != pcs[0]).any():
        raise LoopedRuntimeError(f"the replicated program counter disagrees across columns: {sorted(set(pcs.tolist()))}")
    if labels.machine == "subleq-u":
        row, first = space.index("win:w0"), 1
    else:
        row, first = space.index("mem:value"), 0
    return CardState(int(pcs[0]), tuple(int(v) for v in X[row, first:first + labels.cells]))
