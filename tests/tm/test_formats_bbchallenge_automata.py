"""The bbchallenge (FORMATS.md §3) and automata-lib (§4) importers."""

from __future__ import annotations

import json

import pytest

from turingformer.errors import (
    DefinitionSyntaxError,
    InputError,
    MachineError,
    MissingKeyError,
    StartStateError,
    UnknownSymbolError,
)
from turingformer.tm.formats import loads_machine, prepare_input
from turingformer.tm.machine import Example, Move, Rule
from turingformer.tm.simulator import run


# ---------------------------------------------------------------------------- bbchallenge
def bb(text: str):
    return loads_machine(text, "bbchallenge", "m.txt")


def test_bbchallenge_standard_text():
    machine = bb("1RB1LB_1LA1RZ\n")
    assert machine.states == ("A", "B", "Z") and machine.start == "A"
    assert machine.blank == "0" and machine.input_alphabet == ("1",) and machine.tape_alphabet == ("0", "1")
    assert machine.halt_states == {"Z"}
    assert machine.rule("B", "1") == Rule("B", "1", "1", Move.R, "Z")
    assert machine.rule("B", "0").location.column == 8
    result = run(machine, "")
    assert (result.steps, result.final.state, result.final.tape.nonblank()) == (6, "Z", 4)   # BB(2)


def test_bbchallenge_undefined_cells_three_symbols_and_suffixes():
    machine = bb("1RB2LA1RZ_2LB2RB---  Halt 4 3")
    assert machine.tape_alphabet == ("0", "1", "2") and machine.rule("B", "2") is None
    assert machine.examples == (Example("", "halted", steps=4),)
    result = run(machine, "")
    assert result.reason.value in ("halting state", "no rule")
    assert bb("1RB---_0LA1RH Infinite").halt_states == {"H"}
    assert bb("1RB---_0LA1RH Infinite").examples == (Example("", "running"),)


@pytest.mark.parametrize("text, phrase, column", [
    ("1RB1LB_1LA1XZ", "bad instruction '1XZ' for state B", 11),
    ("1RB1LB_1LA", "the row of state B", 8),
    ("1RB1L", "not a sequence of 3-character instructions", 1),
    ("1RB2LB_1LA1RZ", "bad instruction '2LB'", 4),
    ("1RB1LB_1LA1RZ 107", "unexpected text", 15),
])
def test_bbchallenge_errors(text, phrase, column):
    with pytest.raises(DefinitionSyntaxError, match=phrase) as caught:
        bb(text)
    assert (caught.value.location.line, caught.value.location.column) == (1, column)


def test_bbchallenge_one_machine_per_file():
    with pytest.raises(DefinitionSyntaxError, match="one machine on one line") as caught:
        bb("1RB1LB_1LA1RZ\n1RB1LB_1LA1RZ\n")
    assert caught.value.location.line == 2


# ---------------------------------------------------------------------------- automata-lib
DTM = {
    "_note": "keys starting with _ are ignored",
    "states": ["q0", "q1", "q2"],
    "input_symbols": ["0", "1"],
    "tape_symbols": ["0", "1", "x", "."],
    "transitions": {"q0": {"0": ["q1", "x", "R"], "1": ["q0", "1", "N"]},
                    "q1": {".": ["q2", ".", "L"]}},
    "initial_state": "q0",
    "blank_symbol": ".",
    "final_states": ["q2"],
}


def dtm(data: dict | str):
    return loads_machine(data if isinstance(data, str) else json.dumps(data, indent=2), "automata-lib", "m.json")


def test_automata_lib_transition_order_and_moves():
    machine = dtm(DTM)
    assert machine.rule("q0", "0") == Rule("q0", "0", "x", Move.R, "q1")     # [next state, write, direction]
    assert machine.rule("q0", "1").move is Move.S                           # N = no move
    assert machine.accept_states == {"q2"} and machine.start == "q0" and machine.blank == "."
    assert machine.tape_alphabet == (".", "0", "1", "x")
    where = machine.rule("q1", ".").location                                # where the transition list starts
    lines = json.dumps(DTM, indent=2).splitlines()
    assert lines[where.line - 1][where.column - 1] == "[" and '"q2"' in lines[where.line]
    assert run(machine, "0").verdict.value == "accept"
    assert run(machine, "00").verdict.value == "reject"                     # no transition: rejected


def test_automata_lib_runs_any_input_symbol():
    machine = dtm(DTM)
    with pytest.raises(InputError):
        machine.check_input("02")
    runnable, word = prepare_input(machine, "02")
    result = run(runnable, word)
    assert (result.steps, result.final.state, result.verdict.value) == (1, "q1", "reject")


@pytest.mark.parametrize("change, error, phrase", [
    ({"initial_state": "q2"}, StartStateError, "halting"),
    ({"transitions": {"q2": {"0": ["q0", "0", "R"]}}}, MachineError, "leaves the halting state"),
    ({"transitions": {"q0": {"0": ["q1", "z", "R"]}}}, UnknownSymbolError, "'z'"),
    ({"transitions": {"q0": {"0": ["q1", "x"]}}}, DefinitionSyntaxError, "is not \\[next state, write, direction\\]"),
    ({"transitions": {"q0": {"0": ["q1", "x", "S"]}}}, DefinitionSyntaxError, "direction 'S'"),
    ({"states": "q0"}, DefinitionSyntaxError, "list of strings"),
])
def test_automata_lib_errors(change, error, phrase):
    with pytest.raises(error, match=phrase):
        dtm({**DTM, **change})


def test_automata_lib_missing_key_and_syntax():
    with pytest.raises(MissingKeyError, match="'blank_symbol'"):
        dtm({k: v for k, v in DTM.items() if k != "blank_symbol"})
    with pytest.raises(DefinitionSyntaxError, match="JSON object"):
        dtm("[1, 2]")
    with pytest.raises(DefinitionSyntaxError, match="malformed JSON") as caught:
        dtm('{\n  "states": ["q0",]\n}')
    assert (caught.value.location.line, caught.value.location.column) == (2, 19)
