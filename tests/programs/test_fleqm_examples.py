"""The FLEQ-M example programs (machines/programs/*.fleqm) run on the reference interpreter to the
results their own ``.expect`` lines state, and the programs of linear-algebra spec §4.2 have the
spec's loop counts, sizes and raw results (which the files carry in ``.expect raw``)."""

from __future__ import annotations

from pathlib import Path

import pytest

from turingformer.programs import FleqM, run, step
from turingformer.programs.formats import load_program

PROGRAMS = Path(__file__).resolve().parents[2] / "machines" / "programs"
EXAMPLES = sorted(PROGRAMS.glob("*.fleqm"))

#: spec §4.2 and §6: loops, (N, F, k), columns n = M + s + 1
SPEC = {"calc24": (137, (24, 16, 1), 133), "calc16": (78, (16, 8, 1), None), "inv3": (147, (24, 16, 3), 56),
        "power4": (215, (24, 16, 4), 61)}


def test_the_spec_examples_are_there():
    assert set(SPEC) <= {p.stem for p in EXAMPLES} and len(EXAMPLES) >= len(SPEC) + 2


@pytest.mark.parametrize("path", EXAMPLES, ids=lambda p: p.name)
def test_example_meets_its_expectation(path):
    program = load_program(path)
    assert isinstance(program, FleqM)
    assert program.expect.steps is not None and program.expect.cells, "every example states its result"
    trace = run(program, max_steps=program.expect.steps + 10, record=False)
    assert trace.halted and trace.steps == program.expect.steps
    assert program.expect.failures(trace.steps, trace.halted, trace.final.memory) == ()
    state = (trace.final.pc, trace.final.memory)
    assert step(program, *state) == state
    assert any(type(c).__name__ == "ExpectedNear" for c in program.expect.cells), "and how close it is to real math"


@pytest.mark.parametrize("name", sorted(SPEC))
def test_spec_figures(name):
    loops, (bits, frac, k), columns = SPEC[name]
    program = load_program(PROGRAMS / f"{name}.fleqm")
    assert (program.bits, program.frac, program.k, program.expect.steps) == (bits, frac, k, loops)
    if columns is not None:
        assert program.cells + program.size + 1 == columns
    if name == "calc24":
        assert program.size == 99                           # spec §7.11: macros make code grow
