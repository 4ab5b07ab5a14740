"""A Turing machine compiled to SUBLEQ-U reproduces the simulator's trace (issue 14, item 2).

The program runs on the SUBLEQ-U reference interpreter (looped spec §2.2); the decoder reads the
machine's configuration back from the memory with the layout alone. Every teaching example and
every corpus case whose run fits a tape block of at most 300 cells gives the simulator's trace,
configuration for configuration, on the *tightest* block that holds the run; one cell less on the
side the head reached ends the run with ``tape bound`` after exactly the steps the simulator took
on the smaller block.
"""

from __future__ import annotations

import pytest
from hypothesis import given, settings

from paths import MACHINES, halting_corpus_cases
from strategies import BB4, bbchallenge, machines_with_inputs
from turingformer.compiler.bridge.decoding import interpret, machine_trace
from turingformer.compiler.bridge.tm_to_subleq import machine_to_program
from turingformer.errors import InputError, TapeDecodingError
from turingformer.programs.interpreter import iterate
from turingformer.tm import simulator
from turingformer.tm.formats import load_machine, prepare_input
from turingformer.tm.trace import HaltReason, Verdict

MAX_CELLS = 300
LIMIT = 2_000


def extent(trace, word: str) -> tuple[int, int]:
    """The lowest and highest machine cells a run touches (the input included)."""
    return min(0, *trace.heads), max(len(word) - 1, *trace.heads)


def tight(machine, word, reference):
    """The program on the smallest tape block that holds the whole run."""
    low, high = extent(reference, word)
    return machine_to_program(machine, word, tape_cells=high - low + 1, head_offset=-low)


def check_fits_and_bound(machine, word, *, max_steps: int = LIMIT) -> None:
    reference = simulator.run(machine, word, max_steps=max_steps)
    low, high = extent(reference, word)
    compiled = tight(machine, word, reference)
    assert interpret(compiled.program, compiled.layout, max_steps=max_steps)[0] == reference
    # one cell less, on the right (or the left): the run stops, with tape bound, where the head leaves.
    for cut_low, cut_high in ((low, high - 1), (low + 1, high)):
        if cut_low > 0 or cut_high < max(0, len(word) - 1):      # the start cell and the input must fit
            continue
        small = machine_to_program(machine, word, tape_cells=cut_high - cut_low + 1, head_offset=-cut_low)
        got, _ = interpret(small.program, small.layout, max_steps=max_steps)
        leaves = next(t for t, head in enumerate(reference.heads) if not cut_low <= head <= cut_high)
        assert got.states == reference.states[:leaves + 1]
        assert got.heads == reference.heads[:leaves + 1]
        assert got.writes == reference.writes[:leaves]
        state = reference.states[leaves]
        if state in machine.halting_states or machine.rule(state, machine.blank) is None:
            assert got == reference                 # a real halt just off the block is still exact
        else:
            assert (got.reason, got.verdict, got.halted) == (HaltReason.TAPE_BOUND, Verdict.RUNNING, False)


def _teaching():
    for path in sorted(MACHINES.glob("*.yaml")):
        for example in load_machine(path).examples:
            yield pytest.param(path, example.input, id=f"{path.stem}:{example.input!r}")


@pytest.mark.parametrize("path, word", list(_teaching()))
def test_every_teaching_example_runs_as_a_subleq_u_program(path, word):
    machine, word = prepare_input(load_machine(path), word)
    check_fits_and_bound(machine, word)


CORPUS = halting_corpus_cases(LIMIT)


@pytest.mark.skipif(not CORPUS, reason="no corpus present")
@pytest.mark.parametrize("root, case", CORPUS)
def test_corpus_case_runs_as_a_subleq_u_program(root, case):
    machine, word = prepare_input(load_machine(root / case["file"]), case["input"])
    reference = simulator.run(machine, word, max_steps=LIMIT)
    low, high = extent(reference, word)
    if high - low + 1 > MAX_CELLS:
        pytest.skip(f"the run needs {high - low + 1} tape cells")
    check_fits_and_bound(machine, word)
    assert case["expected"]["steps"] == reference.steps


@settings(max_examples=60, deadline=None)
@given(machines_with_inputs())
def test_random_machines_run_as_subleq_u_programs(machine_and_word):
    machine, word = machine_and_word
    check_fits_and_bound(machine, word, max_steps=200)


def test_busy_beaver_4_and_the_step_limit():
    reference = simulator.run(BB4, "")
    assert reference.steps == 107
    compiled = tight(BB4, "", reference)
    assert interpret(compiled.program, compiled.layout)[0] == reference
    for limit in (0, 1, 50, 106, 107):
        assert interpret(compiled.program, compiled.layout, max_steps=limit)[0] == simulator.run(BB4, "", max_steps=limit)


def test_busy_beaver_5_runs_off_a_block_of_300_cells_with_tape_bound():
    bb5 = bbchallenge("1RB1LC_1RC1RB_1RD0LE_1LA1LD_1RZ0LA")
    compiled = machine_to_program(bb5, "", tape_cells=MAX_CELLS)
    got, _ = interpret(compiled.program, compiled.layout, max_steps=10**6)
    assert got.reason is HaltReason.TAPE_BOUND and got.verdict is Verdict.RUNNING
    assert abs(got.final.head) > MAX_CELLS // 2 - 1
    reference = simulator.run(bb5, "", max_steps=got.steps)
    assert (got.states, got.heads, got.writes) == (reference.states, reference.heads, reference.writes)


def test_the_word_size_follows_from_the_memory_size():
    machine = load_machine(MACHINES / "binary_increment.yaml")
    for cells in (1, 10, 100, 1000):
        program = machine_to_program(machine, "", tape_cells=cells).program
        assert 2 ** (program.bits - 2) < program.cells <= 2 ** (program.bits - 1)


def test_the_cost_per_machine_step_is_bounded_by_the_layout():
    """Loops between two entries never exceed max_loops_per_step, which the decoder enforces."""
    machine = load_machine(MACHINES / "unary_doubling.yaml")
    compiled = machine_to_program(machine, "111", tape_cells=16)
    entries = set(compiled.layout.entries)
    loops = [s.pc for s in iterate(compiled.program)]
    starts = [t for t, pc in enumerate(loops) if pc in entries]
    longest = max(b - a for a, b in zip(starts, starts[1:]))
    assert longest <= compiled.layout.max_loops_per_step


def test_a_corrupt_memory_is_refused_not_decoded():
    machine = load_machine(MACHINES / "binary_increment.yaml")
    compiled = machine_to_program(machine, "1011", tape_cells=8)
    layout = compiled.layout
    states = [(s.pc, s.memory) for s in iterate(compiled.program)]
    t = next(t for t, (pc, _) in enumerate(states) if t > 0 and pc in layout.entries)
    pc, memory = states[t]
    far = layout.tape_start + (layout.origin + 3 + 2) % layout.tape_cells   # not the cell under the old head
    broken = list(memory)
    broken[far] = 1 if memory[far] != 1 else 2
    with pytest.raises(TapeDecodingError, match=f"loop {t}: tape block cell"):
        machine_trace(layout, [*states[:t], (pc, tuple(broken)), *states[t + 1:]])
    with pytest.raises(TapeDecodingError, match="loops without reaching"):
        machine_trace(layout, [states[0]] + [(layout.code_end + 1, states[0][1])] * 50)


def test_inputs_that_do_not_fit_are_refused_with_a_fix():
    machine = load_machine(MACHINES / "binary_increment.yaml")
    with pytest.raises(InputError, match="does not fit a tape block of 3 cells") as error:
        machine_to_program(machine, "1011", tape_cells=3)
    assert "--tape-cells" in error.value.hint
    with pytest.raises(InputError):
        machine_to_program(machine, "10x1", tape_cells=30)
