"""The looped transformer runs a Turing machine (issue 14): the SUBLEQ-U/3L model of the compiled
program, saved to a model file and read back, gives the simulator's trace decoded from its punch
cards alone; float64 and float32 runs of the same weights stay exact on these sizes."""

from __future__ import annotations

import pytest

from turingformer.runtime.looped import FloatLoop, IntegerLoop

from paths import MACHINES, halting_corpus_cases
from strategies import BB4
from turingformer.compiler.bridge.model import run_machine_model, with_input
from turingformer.compiler.bridge.tm_to_subleq import compile_looped
from turingformer.errors import InputError
from turingformer.modelfile import from_json, to_json
from turingformer.tm import simulator
from turingformer.tm.formats import load_machine, prepare_input
from turingformer.tm.trace import HaltReason

CORPUS_STEPS = 150
#: Every loop attends over all M + 1 columns, so a run costs about steps × M² operations: the suite
#: runs the corpus cases below this budget (``python benchmarks/two_transformers.py --corpus`` runs
#: all of them from model files in fresh processes; test_tm_to_subleq.py runs them all on the
#: interpreter).
CORPUS_BUDGET = 1_500_000


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


CORPUS = halting_corpus_cases(CORPUS_STEPS)


@pytest.mark.slow
@pytest.mark.skipif(not CORPUS, reason="no corpus present")
@pytest.mark.parametrize("root, case", CORPUS)
def test_corpus_case_runs_on_the_looped_transformer(root, case):
    machine, word = prepare_input(load_machine(root / case["file"]), case["input"])
    reference = simulator.run(machine, word)
    model = round_trip(machine, word, reference)
    cells = model.looped.labels.cells
    if reference.steps * cells ** 2 > CORPUS_BUDGET:
        pytest.skip(f"{reference.steps} steps of a program of {cells} cells: benchmarks/two_transformers.py --corpus")
    trace, _ = run_machine_model(model)
    assert trace == reference
    final = trace.final
    assert (final.head, final.tape.span(final.head)) == (case["expected"]["head"],
                                                        (case["expected"]["tape_offset"], case["expected"]["tape"]))


@pytest.mark.parametrize("dtype", ["float64", "float32"])
def test_float_runs_of_the_same_weights_reproduce_busy_beaver_4(dtype):
    reference = simulator.run(BB4, "")
    model = round_trip(BB4, "", reference)
    float_run = FloatLoop(model.looped.transformer, dtype)
    assert run_machine_model(model, runner=float_run) == run_machine_model(model)
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


RUN_IN_A_FRESH_PROCESS = """
import json, sys
from turingformer.modelfile import load_model
from turingformer.compiler.bridge.model import run_machine_model
trace, loops = run_machine_model(load_model(sys.argv[1]))
loaded = sorted(m for m in sys.modules if m.startswith("turingformer."))
print(json.dumps({"summary": trace.summary(), "tapes": [c.tape.span(c.head) for c in trace], "loaded": loaded}))
"""


def test_a_fresh_process_runs_the_model_file_without_the_machine_the_simulator_or_the_compiler(tmp_path):
    import json
    import subprocess
    import sys

    from turingformer.modelfile import save_model
    path = tmp_path / "bb4.json"
    reference = simulator.run(BB4, "")
    _, model = compile_looped(BB4, "", tape_cells=16, head_offset=12)
    save_model(model, path)
    out = subprocess.run([sys.executable, "-c", RUN_IN_A_FRESH_PROCESS, str(path)],
                         capture_output=True, text=True, check=True)
    result = json.loads(out.stdout)
    for forbidden in ("tm.machine", "tm.simulator", "tm.formats", "compiler.bridge.tm_to_subleq", "analysis"):
        assert not any(m.startswith(f"turingformer.{forbidden}") for m in result["loaded"]), forbidden
    assert result["summary"] == reference.summary()
    assert [tuple(t) for t in result["tapes"]] == [c.tape.span(c.head) for c in reference]


def test_a_damaged_tape_layout_is_one_clear_error(tmp_path):
    import json

    from turingformer.errors import ModelFileError
    from turingformer.modelfile import load_model, save_model
    path = tmp_path / "m.json"
    _, model = compile_looped(load_machine(MACHINES / "binary_increment.yaml"), "1", tape_cells=4)
    save_model(model, path)
    assert load_model(path) == model
    data = json.loads(path.read_text())
    for change, message in ((lambda d: d["tape_layout"].pop("entries"), "tape_layout"),
                            (lambda d: d["tape_layout"].update(head_cell=10**6), "does not fit the program")):
        broken = json.loads(json.dumps(data))
        change(broken)
        path.write_text(json.dumps(broken))
        with pytest.raises(ModelFileError, match=message):
            load_model(path)
