"""What a user's program for the looped computer is (looped spec §2, §9): the program types,
the reference interpreters, the assemblers and the importer of the official CSV programs.

    program.py      SubleqH, SubleqU, FleqH, FleqM: frozen, validated (spec §2; FLEQ-M: linear-algebra spec §1)
    fixed.py        FLEQ-M's fixed-point words and k×k cells: rounding, saturation, literals, display
    interpreter.py  step / iterate / run: the reference semantics, one state per loop
    trace.py        ProgramTrace (it prints itself: JSON Lines, table, summary), shared with the decoder of looped weights
    learning.py     FLEQ-M learners: their declared data and weights, data files in, what they learned vs float64
    numbers.py      parse_int: the one number parser of every dialect (ASCII digits, at most 4,300)

This layer sits beside ``tm/``: it imports only :mod:`turingformer.errors`.
"""

from turingformer.programs.interpreter import FUNCTIONS, iterate, run, step
from turingformer.programs.fixed import Fixed, Matrix
from turingformer.programs.program import (
    FLEQ_FUNCTIONS, FLEQM_FUNCTIONS, FLEQM_LATE, Expectation, ExpectedCell, ExpectedMatrix, ExpectedNear, FleqH,
    FleqInstruction, FleqM, Kind, Program, SubleqH, SubleqInstruction, SubleqU, function_family, word_range, wrap,
)
from turingformer.programs.trace import DEFAULT_MAX_LOOPS, LoopState, ProgramTrace, aligned, cell_names

__all__ = [
    "FUNCTIONS", "iterate", "run", "step", "Fixed", "Matrix", "FLEQ_FUNCTIONS", "FLEQM_FUNCTIONS", "FLEQM_LATE",
    "Expectation", "ExpectedCell", "ExpectedMatrix", "ExpectedNear", "FleqH", "FleqInstruction", "FleqM", "Kind",
    "Program", "SubleqH", "SubleqInstruction", "SubleqU", "function_family", "word_range", "wrap",
    "DEFAULT_MAX_LOOPS", "LoopState", "ProgramTrace", "aligned", "cell_names",
]
