"""Where a compiled Turing machine lives in SUBLEQ-U memory: the layout metadata (docs/two-transformers.md).

A :class:`TapeLayout` is everything the decoder (:mod:`.decoding`) needs to read the *machine's*
configuration out of a SUBLEQ-U memory, and nothing of the machine's rule table:

* the program counter's **regions**: state ``states[i]``'s block starts at cell ``entries[i]``; a
  machine step ends exactly when the pc lands on an entry (blocks only jump forward inside
  themselves and leave through a jump to an entry, or halt);
* the **tape block**: ``tape_cells`` = K cells from ``tape_start``; block cell ``origin`` is the
  machine's cell 0 (where the head starts and the input begins); the cells just outside the block
  hold the sentinel value ``len(alphabet)``;
* symbols are small integers: symbol ``alphabet[v]`` is the value v (the blank is 0);
* ``head_cell`` holds −H, where H is the cell under the head (so a patch is two instructions);
* ``status_cell`` holds 0 while running and −code when halted (:data:`STATUS_REASONS`).

Invariant (checked by the decoder at every machine step): between two entries only the tape cell
under the old head changes, every tape cell holds a symbol value, and −mem[head_cell] is a cell of
the tape block or one of its two sentinels.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Sequence

from turingformer.tm.trace import HaltReason

#: The tape block's size when none is given.
DEFAULT_TAPE_CELLS = 64
#: What a halted program's ``status_cell`` says: −code for each reason (0 = still running).
STATUS_REASONS: dict[int, HaltReason] = {
    -1: HaltReason.HALTING_STATE, -2: HaltReason.NO_RULE, -3: HaltReason.TAPE_BOUND,
}
#: The code (a positive constant the halt instruction subtracts from the status cell) per reason.
STATUS_CODES: dict[HaltReason, int] = {reason: -value for value, reason in STATUS_REASONS.items()}


@dataclass(frozen=True)
class TapeLayout:
    """The layout metadata of a Turing machine compiled to SUBLEQ-U (module docstring)."""

    machine_name: str
    states: tuple[str, ...]
    entries: tuple[int, ...]
    accept: tuple[str, ...]
    reject: tuple[str, ...]
    alphabet: tuple[str, ...]
    tape_start: int
    tape_cells: int
    origin: int
    input_length: int
    head_cell: int
    status_cell: int
    code_end: int
    #: The most loops one machine step can take (the longest path through a state's block).
    max_loops_per_step: int

    def __post_init__(self) -> None:
        for name in ("states", "entries", "accept", "reject", "alphabet"):
            object.__setattr__(self, name, tuple(getattr(self, name)))

    @property
    def blank(self) -> str:
        return self.alphabet[0]

    @property
    def sentinel(self) -> int:
        """The value of the two cells just outside the tape block."""
        return len(self.alphabet)

    def tape_cell(self, cell: int) -> int:
        """The memory cell of the machine's tape cell ``cell`` (may be a sentinel or beyond)."""
        return self.tape_start + self.origin + cell

    def region(self, pc: int) -> str | None:
        """The state whose block holds ``pc`` (None outside the code)."""
        owner = None
        for state, entry in zip(self.states, self.entries):
            if entry <= pc < self.code_end:
                owner = state
        return owner

    def initial_memory(self, memory: Sequence[int], word: str) -> tuple[int, ...]:
        """``memory`` with its tape block holding ``word`` from the machine's cell 0, blanks elsewhere.

        Raises :class:`ValueError` when a symbol is not in the alphabet or the word does not fit
        (the compiler turns both into user errors).
        """
        if len(word) > self.tape_cells - self.origin:
            raise ValueError(f"{len(word)} symbols from block cell {self.origin} do not fit in {self.tape_cells} cells")
        values = {symbol: value for value, symbol in enumerate(self.alphabet)}
        tape = [0] * self.tape_cells
        for i, symbol in enumerate(word):
            tape[self.origin + i] = values[symbol]
        memory = list(memory)
        memory[self.tape_start:self.tape_start + self.tape_cells] = tape
        return tuple(memory)

    # ------------------------------------------------------------------ the model file
    def to_json(self) -> dict:
        """The layout as JSON values (tuples as lists), for the model file."""
        return {key: list(value) if isinstance(value, tuple) else value for key, value in asdict(self).items()}
