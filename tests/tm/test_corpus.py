"""Third-party machines, loaded in their original formats, reproduce their published results.

Two corpora: the full external one (``../shared/corpus/EXPECTED.json``, skipped when it is not
checked out next to the repository) and the copy in ``tests/corpus/`` that always runs. Steps and
final states are compared in each source's own convention (``formats.reported_steps``). BB(5)
(47,176,870 steps, about 5 s) is left to the benchmarks; set TURINGFORMER_SLOW_CORPUS=1 to run it.

Every corpus machine also survives conversion to turingformer YAML and the graph round trip.
"""

from __future__ import annotations

import os
from pathlib import Path

import networkx as nx
import pytest

from turingformer.tm.formats import (
    detect_format,
    dump_machine,
    load_machine,
    loads_machine,
    normalize_format,
    prepare_input,
    reported_final_state,
    reported_steps,
)
from turingformer.tm.machine import TuringMachine
from turingformer.tm.simulator import run

from paths import LOCAL_CORPUS as LOCAL, SHARED_CORPUS as SHARED, corpus_cases as _cases
#: Cases too long for the test run (the benchmark runs them).
SLOW_STEPS = 1_000_000
RUN_SLOW = os.environ.get("TURINGFORMER_SLOW_CORPUS") == "1"



def _params(root: Path, index: str) -> list:
    cases = _cases(root, index)
    if not cases:
        return [pytest.param(None, marks=pytest.mark.skip(reason=f"the corpus {root / index} is not present"))]
    params = []
    for case in cases:
        marks = []
        if case["expected"]["steps"] > SLOW_STEPS and not RUN_SLOW:
            marks.append(pytest.mark.skip(reason=f"{case['expected']['steps']:,} steps: a benchmark, not a test "
                                                 "(TURINGFORMER_SLOW_CORPUS=1 runs it)"))
        params.append(pytest.param(case, marks=marks, id=f"{case['file']}:{case['input']!r}"))
    return params


def _files(root: Path, index: str) -> list:
    files = sorted({case["file"] for case in _cases(root, index)})
    if not files:
        return [pytest.param(None, marks=pytest.mark.skip(reason=f"the corpus {root / index} is not present"))]
    return files


def check_case(root: Path, case: dict) -> None:
    path = root / case["file"]
    expected = case["expected"]
    assert detect_format(path, path.read_text(encoding="utf-8")) == normalize_format(case["format"])
    machine = load_machine(path)
    assert machine.source_format == normalize_format(case["format"])
    assert machine.blank == case["blank"].replace(" ", "_") if machine.source_format == "morphett" \
        else machine.blank == case["blank"]
    runnable, word = prepare_input(machine, case["input"])
    limit = expected["steps"] if not expected["halts"] else max(2 * expected["steps"], 1000)
    result = run(runnable, word, max_steps=limit, record=False)
    final = result.final
    assert result.halted == expected["halts"]
    assert reported_steps(runnable, result) == expected["steps"]
    assert reported_final_state(runnable, result) == expected["final_state"]
    assert final.head == expected["head"]
    assert final.tape.nonblank() == expected["nonblank"]
    if expected.get("tape") is not None:
        offset, tape = final.tape.span(final.head)
        assert (tape, offset) == (expected["tape"], expected["tape_offset"])


@pytest.mark.parametrize("case", _params(SHARED, "EXPECTED.json"))
def test_shared_corpus(case):
    check_case(SHARED, case)


@pytest.mark.parametrize("case", _params(LOCAL, "expected.json"))
def test_local_corpus(case):
    check_case(LOCAL, case)


def test_local_corpus_is_a_verbatim_subset():
    local = _cases(LOCAL, "expected.json")
    assert {c["file"] for c in local} >= {"bbchallenge/bb4_champion.txt", "turingmachine_io/busy_beaver_4.yaml",
                                          "morphett/4statebeaver.txt"}
    assert {normalize_format(c["format"]) for c in local} == {
        "turingmachine.io", "morphett", "bbchallenge", "automata-lib"}
    if not SHARED.exists():
        pytest.skip(f"{SHARED} is not present")
    shared = _cases(SHARED, "EXPECTED.json")
    assert all(case in shared for case in local)
    for name in {c["file"] for c in local}:
        assert (LOCAL / name).read_bytes() == (SHARED / name).read_bytes(), name


def test_bb4_agrees_across_formats():
    finals = []
    for name in ("bbchallenge/bb4_champion.txt", "turingmachine_io/busy_beaver_4.yaml", "morphett/4statebeaver.txt"):
        machine = load_machine(LOCAL / name)
        result = run(machine, "", record=False)
        offset, tape = result.final.tape.span(result.final.head)
        finals.append((result.final.head, offset, tape.replace(machine.blank, "0"), result.final.tape.nonblank(),
                       reported_steps(machine, result)))
    # same tape everywhere; Morphett's extra zero-move first step (0 * * * a) makes it 108 there
    assert finals[0] == finals[1] == (-9, -10, "10111111111111", 13, 107)
    assert finals[2] == (-9, -10, "10111111111111", 13, 108)


def _check_round_trip(root: Path, index: str, name: str) -> None:
    machine = load_machine(root / name)
    cases = [c for c in _cases(root, index) if c["file"] == name and c["expected"]["steps"] <= SLOW_STEPS]
    text = dump_machine(machine)
    again = loads_machine(text, "turingformer", "converted.yaml")
    assert again == machine
    assert again.states == machine.states and again.tape_alphabet == machine.tape_alphabet
    assert again.examples == machine.examples and again.name == machine.name
    # writing is stable: only the "# converted from ..." comment is gone the second time
    assert text.startswith(f"# converted from the {machine.source_format} format")
    assert dump_machine(again) == text.split("\n", 1)[1]
    for case in cases:
        runnable, word = prepare_input(machine, case["input"])
        converted = loads_machine(dump_machine(runnable), "turingformer")
        limit = case["expected"]["steps"] + 1
        original, copy = (run(m, word, max_steps=limit, record=False).summary() for m in (runnable, converted))
        assert copy == original

    graph = machine.to_graph()
    rebuilt = TuringMachine.from_graph(graph)
    assert rebuilt == machine
    assert nx.utils.graphs_equal(rebuilt.graph, machine.graph)
    assert nx.utils.graphs_equal(again.graph, machine.graph)


@pytest.mark.parametrize("name", _files(SHARED, "EXPECTED.json"))
def test_shared_corpus_round_trip(name):
    _check_round_trip(SHARED, "EXPECTED.json", name)


@pytest.mark.parametrize("name", _files(LOCAL, "expected.json"))
def test_local_corpus_round_trip(name):
    _check_round_trip(LOCAL, "expected.json", name)
