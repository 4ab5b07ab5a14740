"""What a user's program for the looped computer is (looped spec §2, §9): the program types,
the reference interpreters, the assemblers and the importer of the official CSV programs.

    program.py      SubleqH, SubleqU, FleqH: frozen, validated (spec §2)
    interpreter.py  step / iterate / run: the reference semantics, one state per loop
    trace.py        ProgramTrace (it prints itself: JSON Lines, table, summary), shared with the decoder of looped weights

This layer sits beside ``tm/``: it imports only :mod:`turingformer.errors`.
"""

from turingformer.programs.interpreter import FUNCTIONS, iterate, run, step
from turingformer.programs.program import (
    FLEQ_FUNCTIONS, Expectation, ExpectedCell, FleqH, FleqInstruction, Kind, Program, SubleqH,
    SubleqInstruction, SubleqU, word_range, wrap,
)
from turingformer.programs.trace import DEFAULT_MAX_LOOPS, LoopState, ProgramTrace, aligned, cell_names

__all__ = [
    "FUNCTIONS", "iterate", "run", "step", "FLEQ_FUNCTIONS", "Expectation", "ExpectedCell", "FleqH",
    "FleqInstruction", "Kind", "Program", "SubleqH", "SubleqInstruction", "SubleqU", "word_range", "wrap",
    "DEFAULT_MAX_LOOPS", "LoopState", "ProgramTrace", "aligned", "cell_names",
]
