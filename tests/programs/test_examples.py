"""Every example program in machines/programs/ runs on the reference interpreter to the result
its own ``.expect`` line states (the expectation lives in the file, the code only checks it), and
the programs of spec §9.2-9.4 have the sizes the spec's tables give."""

from __future__ import annotations

from pathlib import Path

import pytest

from turingformer.programs import SubleqU, run, step
from turingformer.programs.formats import load_program

PROGRAMS = Path(__file__).resolve().parents[2] / "machines" / "programs"
EXAMPLES = sorted(p for p in PROGRAMS.iterdir() if p.suffix in (".subleq", ".usubleq", ".fleq"))

# spec §9.2-9.4: name -> (M, s or None for SUBLEQ-U, N)
SPEC_SIZES = {
    "add": (3, 4, 8), "mul": (5, 6, 8), "fact": (6, 18, 8), "fib": (6, 18, 8), "sum": (8, 19, 8),
    "reverse": (7, 25, 8), "search_hit": (17, 84, 8), "search_miss": (17, 84, 8), "div": (6, 17, 8),
    "div_exact": (6, 17, 8), "mul16": (5, 6, 16), "sum_ptr": (31, None, 8), "clear_ptr": (23, None, 8),
    "fact6": (None, None, 12), "gcd": (None, None, 8), "dot": (None, None, 8), "max": (None, None, 8),
}


def test_every_spec_example_is_there():
    assert set(SPEC_SIZES) <= {p.stem for p in EXAMPLES}
    assert len(EXAMPLES) >= len(SPEC_SIZES) + 4


@pytest.mark.parametrize("path", EXAMPLES, ids=lambda p: p.name)
def test_example_meets_its_expectation(path):
    program = load_program(path)
    assert program.expect.steps is not None and program.expect.cells, "every example states its result"
    trace = run(program, max_steps=program.expect.steps + 10)
    assert trace.halted and trace.steps == program.expect.steps
    assert program.expect.failures(trace.steps, trace.halted, trace.final.memory) == ()
    for cell in program.expect.cells:
        assert trace.final.memory[cell.cell] == cell.value
    # halted states are fixpoints: two more loops change nothing
    state = (trace.final.pc, trace.final.memory)
    assert step(program, *step(program, *state)) == state


@pytest.mark.parametrize("name", sorted(SPEC_SIZES))
def test_spec_sizes(name):
    cells, size, bits = SPEC_SIZES[name]
    program = load_program(next(p for p in EXAMPLES if p.stem == name))
    assert program.bits == bits
    if cells is not None:
        assert program.cells == cells
    if size is not None:
        assert program.size == size
    assert isinstance(program, SubleqU) == (name in ("sum_ptr", "clear_ptr"))


def test_a_wrong_expectation_is_reported():
    program = load_program(PROGRAMS / "mul.subleq")
    trace = run(program, max_steps=20)                       # stops before the 55 loops it needs
    failures = program.expect.failures(trace.steps, trace.halted, trace.final.memory)
    assert failures[0] == "steps = 55 expected, still running after 20"
    assert any(f.startswith("r = 63 expected, got ") for f in failures)


def test_self_modification_really_happens():
    program = load_program(PROGRAMS / "sum_ptr.usubleq")
    trace = run(program)
    p = program.labels["p"]
    assert [s.memory[p] for s in trace][::6][:5] == [program.labels["LIST"] + i for i in range(5)]
