"""The looped transformer runs a Turing machine (issue 14): the SUBLEQ-U/3L model of the compiled
program, saved to a model file and read back, gives the simulator's trace decoded from its punch
cards alone; float64 and float32 runs of the same weights stay exact on these sizes."""

from __future__ import annotations

import pytest

from paths import LOCAL_CORPUS, MACHINES, SHARED_CORPUS, corpus_cases
from strategies import BB4
from turingformer.compiler.bridge.model import compile_looped, run_machine_model, with_input
from turingformer.errors import InputError
from turingformer.modelfile import from_json, to_json
from turingformer.tm import simulator
from turingformer.tm.formats import load_machine, prepare_input
from turingformer.tm.trace import HaltReason

CORPUS_STEPS = 150
#: Every loop attends over all M + 1 columns: the suite runs the corpus programs up to this size
#: (benchmarks/two_transformers.py --corpus runs the rest; the interpreter test runs them all).
CORPUS_CELLS = 800


def round_trip(machine, word, reference):
    """The model of the run on its tightest tape block, through the model file's JSON."""
    low, high = min(0, *reference.heads), max(len(word) - 1, *reference.heads)
    _, model = compile_looped(machine, word, tape_cells=high - low + 1, head_offset=-low)
    return from_json(to_json(model))


def _teaching():
    for path in sorted(MACHINES.glob("*.yaml")):
        for example in load_machine(path).examples:
            yield pytest.param(path, example.input, id=f"{path.stem}:{example.input!r}")


@pytest.mark.slow
@pytest.mark.parametrize("path, word", list(_teaching()))
def test_every_teaching_example_runs_on_the_looped_transformer(path, word):
    machine, word = prepare_input(load_machine(path), word)
    reference = simulator.run(machine, word)
    trace, loops = run_machine_model(round_trip(machine, word, reference))
    assert trace == reference
    assert loops >= reference.steps


def _corpus():
    seen = set()
    for root, index in ((SHARED_CORPUS, "EXPECTED.json"), (LOCAL_CORPUS, "expected.json")):
        for case in corpus_cases(root, index):
            key = (case["file"], case["input"])
            if case["expected"]["halts"] and case["expected"]["steps"] <= CORPUS_STEPS and key not in seen:
                seen.add(key)
                yield pytest.param(root, case, id=f"{case['file']}:{case['input']!r}")


CORPUS = list(_corpus())


@pytest.mark.slow
@pytest.mark.skipif(not CORPUS, reason="no corpus present")
@pytest.mark.parametrize("root, case", CORPUS)
def test_corpus_case_runs_on_the_looped_transformer(root, case):
    machine, word = prepare_input(load_machine(root / case["file"]), case["input"])
    reference = simulator.run(machine, word)
    model = round_trip(machine, word, reference)
    if model.looped.labels.cells > CORPUS_CELLS:
        pytest.skip(f"a program of {model.looped.labels.cells} cells")
    trace, _ = run_machine_model(model)
    assert trace == reference
    final = trace.final
    assert (final.head, final.tape.span(final.head)) == (case["expected"]["head"],
                                                        (case["expected"]["tape_offset"], case["expected"]["tape"]))


@pytest.mark.parametrize("dtype", ["float64", "float32"])
def test_float_runs_of_the_same_weights_reproduce_busy_beaver_4(dtype):
    reference = simulator.run(BB4, "")
    model = round_trip(BB4, "", reference)
    assert run_machine_model(model, dtype=dtype) == run_machine_model(model)
    assert run_machine_model(model)[0] == reference


def test_a_small_block_stops_the_transformer_with_tape_bound():
    _, model = compile_looped(BB4, "", tape_cells=6, head_offset=3)
    trace, _ = run_machine_model(model)
    reference = simulator.run(BB4, "", max_steps=trace.steps)
    assert trace.reason is HaltReason.TAPE_BOUND and not trace.halted
    assert (trace.states, trace.heads, trace.writes) == (reference.states, reference.heads, reference.writes)
    assert trace.final.head in (-4, 3)


def test_a_new_input_is_written_into_the_card_as_compiling_with_it_would():
    machine = load_machine(MACHINES / "binary_increment.yaml")
    _, model = compile_looped(machine, "1011", tape_cells=12)
    _, direct = compile_looped(machine, "111", tape_cells=12, head_offset=model.layout.origin)
    moved = with_input(model, "111")
    assert moved.looped.card == direct.looped.card and moved.layout == direct.layout
    assert run_machine_model(moved)[0] == simulator.run(machine, "111")
    with pytest.raises(InputError, match="do not fit"):
        with_input(model, "1" * 12)
    with pytest.raises(InputError, match="not in the tape alphabet"):
        with_input(model, "12")
