"""Every mistake of spec §9.1 and §6 in a program has its own error type, names the file, line and
column, and says how to fix it (tests/broken/programs/ holds one file per kind)."""

from __future__ import annotations

import pytest

from paths import BROKEN
from turingformer import errors as E
from turingformer.programs.formats import load_program

FOLDER = BROKEN / "programs"

# file, exact type, line, column, a phrase of the message
CASES = [
    ("unknown_label.subleq", E.UnknownLabelError, 6, 11, "unknown label 'tpo'"),
    ("duplicate_label.subleq", E.DuplicateLabelError, 4, 1, "label 'x' is defined twice (first on line 2)"),
    ("operand_count.subleq", E.OperandCountError, 5, 7, "add takes 2 operands, got 1"),
    ("cell_out_of_range.subleq", E.AddressError, 4, 11, "operand '9' is cell 9, outside the memory [0, 1]"),
    ("offset_out_of_range.subleq", E.AddressError, 5, 11, "'list+7' is cell 7, outside the memory [0, 4]"),
    ("target_out_of_range.subleq", E.AddressError, 4, 18, "target '12' is instruction 12, outside [0, 2]"),
    ("word_too_wide.subleq", E.WordRangeError, 3, 6, "the data value 200 does not fit in 8 bits"),
    ("literal_too_wide.subleq", E.WordRangeError, 4, 11, "the literal 128 does not fit in 8 bits"),
    ("unknown_instruction.subleq", E.AssemblySyntaxError, 4, 7, "unknown instruction 'sbuleq'"),
    ("unknown_directive.subleq", E.AssemblySyntaxError, 1, 1, "unknown directive '.bit'"),
    ("bad_number.subleq", E.AssemblySyntaxError, 2, 4, "'7a' is not a whole number"),
    ("data_label_as_target.subleq", E.UnknownLabelError, 4, 11, "'x' names a data cell, not an instruction"),
    ("bad_expect.subleq", E.AssemblySyntaxError, 5, 9, "expected 'name = value' in .expect, got 'r'"),
    ("unknown_expect_label.subleq", E.UnknownLabelError, 5, 16, "unknown label 'q'"),
    ("bits_too_small.subleq", E.ProgramSizeError, 1, 7, ".bits 1: the looped computer needs N >= 2"),
    ("instruction_in_data.subleq", E.AssemblySyntaxError, 3, 7, "instruction 'halt' in the .data section"),
    ("reserved_label.subleq", E.AssemblySyntaxError, 2, 1, "'HALT' is a reserved name"),
    ("too_many_cells.usubleq", E.ProgramSizeError, 1, 7, "M <= 2^(N-1) = 8 cells"),
    ("operand_label_on_macro.usubleq", E.AssemblySyntaxError, 1, 11, "an operand label ('p:X') needs a plain subleq"),
    ("io_operand.usubleq", E.AddressError, 1, 14, "operand '-1' is not a cell"),
    ("unknown_function.fleq", E.AssemblySyntaxError, 5, 7, "unknown instruction 'div'"),
    ("fleq_operand_count.fleq", E.OperandCountError, 5, 7, "add takes 3 to 5 operands, got 2"),
    # issue 22: one number parser (ASCII digits, at most 4,300), word widths, labels
    ("arabic_digit.subleq", E.AssemblySyntaxError, 2, 4,
     "the data value '٣' is not a whole number: '٣' (arabic-indic digit three) is not one of the ASCII digits 0-9"),
    ("arabic_offset.subleq", E.AssemblySyntaxError, 4, 18, "the offset '٢' is not a whole number"),
    ("digit_separator.fleq", E.AssemblySyntaxError, 2, 4, "'1_0' is not a whole number: digit separators '_'"),
    ("long_offset.usubleq", E.AssemblySyntaxError, 1, 22, "is too long: a number of 4,301 digits (at most 4,300)"),
    ("bits_too_wide.subleq", E.ProgramSizeError, 1, 7, ".bits 99999999999999: a word has at most 4,096 bits"),
    ("label_on_directive.usubleq", E.AssemblySyntaxError, 1, 1, "a label cannot name a directive"),
    ("unicode_label.usubleq", E.AssemblySyntaxError, 1, 1, "'αβ' is not a label name"),
    ("halt_as_data.usubleq", E.AssemblySyntaxError, 2, 8, "HALT is the halting jump target, not a cell"),
]


def test_every_broken_file_is_covered():
    assemblies = {p.name for p in FOLDER.iterdir() if p.suffix != ".csv"}
    assert assemblies == {case[0] for case in CASES}


@pytest.mark.parametrize("name, error, line, column, phrase", CASES, ids=[c[0] for c in CASES])
def test_located_error(name, error, line, column, phrase):
    with pytest.raises(E.ProgramError) as caught:
        load_program(FOLDER / name)
    found = caught.value
    assert type(found) is error
    assert phrase in found.message and found.hint
    assert (found.location.file, found.location.line, found.location.column) == (str(FOLDER / name), line, column)
    assert str(found).startswith(f"{FOLDER / name}:{line}:{column}: ")
    assert len(found.message) < 300            # every echoed value is shortened


def test_hints_suggest_the_nearest_name():
    with pytest.raises(E.UnknownLabelError) as caught:
        load_program(FOLDER / "unknown_label.subleq")
    assert caught.value.hint == "did you mean 'top'?"
    with pytest.raises(E.AssemblySyntaxError) as caught:
        load_program(FOLDER / "unknown_instruction.subleq")
    assert caught.value.hint.startswith("did you mean 'subleq'?")
