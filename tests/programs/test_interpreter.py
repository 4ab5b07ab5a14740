"""The reference interpreters against cases worked by hand from the looped spec §2."""

from __future__ import annotations

import json

import pytest

from turingformer import errors as E
from turingformer.programs import (
    FLEQ_FUNCTIONS, FUNCTIONS, FleqH, FleqInstruction as F, SubleqH, SubleqInstruction as I, SubleqU,
    run, step, wrap,
)


def test_wrap_is_twos_complement():
    assert [wrap(v, 4) for v in (7, 8, 9, -8, -9, -16, 15, 0)] == [7, -8, -7, -8, 7, 0, -1, 0]


def test_subleq_h_add_by_hand():
    # mem = x, y, Z; add x y = (x Z) (Z y) (Z Z); halt = (Z Z HALT)
    program = SubleqH(memory=(7, 35, 0), labels={"x": 0, "y": 1},
                      code=[I(0, 2, 1), I(2, 1, 2), I(2, 2, 3), I(2, 2, 4)])
    trace = run(program)
    assert [(s.pc, s.memory) for s in trace] == [
        (0, (7, 35, 0)), (1, (7, 35, -7)), (2, (7, 42, -7)), (3, (7, 42, 0)), (4, (7, 42, 0))]
    assert trace.steps == 4 and trace.halted and trace.value("y") == 42


def test_subleq_h_branches_on_result_and_wraps_both_ways():
    # 4 bits: 7 - (-1) = 8 wraps to -8 (<= 0: jump); -8 - 1 = -9 wraps to 7 (> 0: next)
    program = SubleqH(bits=4, memory=(-1, 7, 1, -8), code=[I(0, 1, 2), I(0, 0, 0), I(2, 3, 0)])
    assert step(program, 0, program.memory) == (2, (-1, -8, 1, -8))
    assert step(program, 2, (-1, -8, 1, -8)) == (3, (-1, -8, 1, 7))          # next = 3 = s: halted


def test_subleq_h_falls_off_the_end_and_halted_is_a_fixpoint():
    program = SubleqH(memory=(1, 5), code=[I(0, 1, 0)])       # 5 - 1 = 4 > 0: pc 1 = s, halted
    trace = run(program)
    assert trace.steps == 1 and trace.final.pc == 1 and trace.halted
    assert step(program, 1, (1, 4)) == (1, (1, 4))


def test_step_limit_leaves_it_running():
    program = SubleqH(memory=(0,), code=[I(0, 0, 0)])          # 0 - 0 = 0 <= 0: jump to itself forever
    trace = run(program, max_steps=5)
    assert trace.steps == 5 and not trace.halted and trace.final.pc == 0
    quiet = run(program, max_steps=5, record=False)
    assert len(quiet) == 1 and quiet.summary() == trace.summary() and not quiet.recorded


def test_subleq_u_self_modification_takes_effect_at_the_next_fetch():
    # cells 0-2: (6, 4, 3); cells 3-5: (7, 7, -1); cell 6: -1; cells 7, 8: 0.
    # Instruction 0 writes cell 4, the b field of the next instruction: 7 - mem[6] = 8 > 0 -> pc 3;
    # the next fetch reads the changed b = 8 and clears cell 8 (0 - 0 = 0 <= 0 -> c = -1: halt).
    memory = (6, 4, 3, 7, 7, -1, -1, 0, 0)
    program = SubleqU(bits=5, memory=memory)
    pc, after = step(program, 0, memory)
    assert (pc, after[4]) == (3, 8)
    pc, after2 = step(program, pc, after)                       # (7, 8, -1): mem[8] = 0 - 0 = 0 -> -1
    assert pc == -1 and after2 == after
    assert run(program).steps == 2


def test_subleq_u_halts_on_an_invalid_operand_without_writing():
    program = SubleqU(bits=4, memory=(1, -1, 0, 5))
    assert step(program, 0, program.memory) == (-1, program.memory)
    program = SubleqU(bits=4, memory=(7, 0, 0, 5))             # a = 7 >= M = 4
    assert step(program, 0, program.memory) == (-1, program.memory)


def test_subleq_u_targets_past_the_last_instruction_halt():
    # mem[2] = 2 - 1 = 1 > 0: pc + 3 = 3 > M - 3 = 1: halt, but the write happened
    program = SubleqU(bits=4, memory=(3, 2, 2, 1))
    assert step(program, 0, program.memory) == (-1, (3, 2, 1, 1))
    # a jump to a negative cell halts; a jump to 1 is legal (M - 3 = 1)
    assert step(SubleqU(bits=4, memory=(1, 1, -5, 0)), 0, (1, 1, -5, 0))[0] == -1
    assert step(SubleqU(bits=4, memory=(1, 1, 1, 0)), 0, (1, 1, 1, 0))[0] == 1


CASES = {  # op: [(x, y, expected at N = 4)]
    "sub": [(3, 5, 2), (-8, 1, -7), (1, -8, 7)], "add": [(7, 1, -8), (-8, -1, 7), (2, 3, 5)],
    "mov": [(-3, 6, -3)], "neg": [(-8, 0, -8), (5, 0, -5)], "min": [(3, -2, -2)], "max": [(3, -2, 3)],
    "lt": [(1, 2, 1), (2, 2, 0)], "eq": [(2, 2, 1), (2, -2, 0)], "shl": [(4, 0, -8), (-5, 0, 6)],
    "shr": [(-3, 0, -2), (7, 0, 3), (-8, 0, -4)], "mul": [(3, 5, -1), (-4, 4, 0), (-3, -3, -7)],
}


def test_every_fleq_function_by_hand():
    assert set(CASES) == set(FLEQ_FUNCTIONS) == set(FUNCTIONS)
    for op, cases in CASES.items():
        for x, y, z in cases:
            # mem = x, y, z-cell; the flag is the written cell, p = 0 (a loop) else falls through
            program = FleqH(bits=4, memory=(x, y, 0), code=[F(op, 0, 1, 2, 2, 1)])
            pc, memory = step(program, 0, program.memory)
            assert memory[2] == z, (op, x, y)
            assert pc == 1


def test_fleq_branches_on_the_flag_after_the_write():
    # c = f: the new value decides; mem[2] = 3 - 3 = 0 <= 0 -> p = 0
    program = FleqH(bits=4, memory=(3, 3, 9 - 16), code=[F("sub", 0, 1, 2, 2, 0), F("mov", 0, 0, 0, 0, 2)])
    assert step(program, 0, program.memory) == (0, (3, 3, 0))
    # f another cell: mem[0] = 3 > 0 -> next
    assert step(program, 1, (3, 3, 0)) == (2, (3, 3, 0))


def test_json_lines_shape():
    program = SubleqH(memory=(1, 2), labels={"x": 0, "y": 1}, name="tiny", code=[I(0, 1, 1)])
    lines = [json.loads(line) for line in run(program).json_lines()]
    assert lines[0] == {"step": 0, "pc": 0, "memory": [1, 2]}
    assert lines[1] == {"step": 1, "pc": 1, "memory": [1, 1]}
    assert lines[2] == {"summary": True, "program": "tiny", "kind": "subleq-h", "bits": 8, "steps": 1,
                        "halted": True, "pc": 1, "memory": [1, 1], "labels": {"x": 1, "y": 1}}
    assert [json.loads(line) for line in run(program).json_lines(steps=False)] == lines[2:]


@pytest.mark.parametrize("make, error, phrase", [
    (lambda: SubleqH(memory=(1, 300), code=[I(0, 1, 1)]), E.WordRangeError, "cell 1 holds 300"),
    (lambda: SubleqH(memory=(1,), code=[I(0, 1, 1)]), E.AddressError, "instruction 0: b is cell 1"),
    (lambda: SubleqH(memory=(1,), code=[I(0, 0, 2)]), E.AddressError, "instruction 0: c is instruction 2"),
    (lambda: SubleqH(memory=(1,), code=[]), E.ProgramSizeError, "no instructions"),
    (lambda: SubleqH(memory=(), code=[I(0, 0, 0)]), E.ProgramSizeError, "no memory"),
    (lambda: SubleqH(bits=1, memory=(0,), code=[I(0, 0, 0)]), E.ProgramSizeError, "N >= 2"),
    (lambda: SubleqH(memory=(0,), pc=2, code=[I(0, 0, 0)]), E.AddressError, "the start pc"),
    (lambda: SubleqU(bits=4, memory=(0,) * 9), E.ProgramSizeError, "M = 9"),
    (lambda: SubleqU(bits=4, memory=(0, 0)), E.ProgramSizeError, "M = 2"),
    (lambda: SubleqU(bits=4, memory=(0,) * 5, pc=3), E.AddressError, "the start pc is 3"),
    (lambda: FleqH(memory=(0,), code=[F("div", 0, 0, 0, 0, 0)]), E.UnknownFunctionError, "'div'"),
    (lambda: FleqH(memory=(0,), code=[F("mov", 0, 0, 0, 1, 0)]), E.AddressError, "f is cell 1"),
])
def test_construction_validates(make, error, phrase):
    with pytest.raises(error, match=None) as caught:
        make()
    assert type(caught.value) is error and phrase in str(caught.value) and caught.value.hint
