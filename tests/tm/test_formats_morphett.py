"""The Morphett importer (FORMATS.md §2): wildcards, halting names, initial tape, step counting."""

from __future__ import annotations

import pytest

from turingformer.errors import DefinitionSyntaxError, InputError
from turingformer.tm.formats import loads_machine, prepare_input, reported_final_state, reported_steps
from turingformer.tm.formats.morphett import initial_tape
from turingformer.tm.machine import Example, Move, Rule
from turingformer.tm.simulator import run


def load(text: str):
    return loads_machine(text, "morphett", "m.txt")


def test_wildcard_precedence_and_unchanged_fields():
    machine = load("""\
; exact > (state, *) > (*, symbol) > (*, *)
0 a A r 0        ; exact
0 * * l 1        ; (0, *) beats (*, b)
* b B * *        ; (*, b): stay, keep the state
* * ! r halt     ; everything else
1 c C r 0
""")
    assert machine.rule("0", "a") == Rule("0", "a", "A", Move.R, "0")
    assert machine.rule("0", "b") == Rule("0", "b", "b", Move.L, "1")     # '*' new symbol: unchanged
    assert machine.rule("1", "b") == Rule("1", "b", "B", Move.S, "1")     # '*' new state: unchanged
    assert machine.rule("1", "c") == Rule("1", "c", "C", Move.R, "0")
    assert machine.rule("1", "_") == Rule("1", "_", "!", Move.R, "halt")
    assert machine.rule("1", "a") == Rule("1", "a", "!", Move.R, "halt")
    assert machine.rule("0", "b").location.line == 3                     # the line the rule came from
    # expanded over the collected alphabet, never onto halt* states
    assert set(machine.tape_alphabet) == {"_", "a", "A", "b", "B", "!", "c", "C"}
    assert all(not r.state.startswith("halt") for r in machine.rules)
    assert len(machine.rules) == 2 * len(machine.tape_alphabet)


def test_later_lines_replace_earlier_ones_and_directions_are_case_insensitive():
    machine = load("0 1 x R 0\n0 1 y L 0 !\n0 _ _ * HALT-Accept\n")
    assert machine.rule("0", "1") == Rule("0", "1", "y", Move.L, "0")
    assert machine.rule("0", "1").location.line == 2
    assert machine.rule("0", "_").move is Move.S
    assert machine.accept_states == {"HALT-Accept"}


def test_halting_states_and_roles():
    machine = load("0 a a r halt-accept\n0 b b r halt-reject\n0 c c r Halt\n0 d d r halting\nhalt * x r 0\n")
    assert machine.accept_states == {"halt-accept"}
    assert machine.reject_states == {"halt-reject"}
    assert machine.halt_states == {"Halt", "halting", "halt"}
    assert machine.rule("halt", "a") is None                      # rules on halt* states never apply
    assert machine.start == "0" and machine.source_format == "morphett"
    assert run(machine, "a").verdict.value == "accept"
    assert run(machine, "c").verdict.value == "reject"            # a machine with accept states rejects elsewhere


def test_initial_tape():
    assert initial_tape("0 _ _ r 0\n; $INITIAL_TAPE: 1 0") == ("1 0", 2)
    assert initial_tape("0 _ _ r 0\n;$INITIAL_TAPE:101\n") == ("101", 2)          # one final newline is fine
    assert initial_tape("; Load a blank tape. $INITIAL_TAPE: ") == (" ", 1)      # the simulator's regex
    assert initial_tape("; $INITIAL_TAPE: 101\n0 _ _ r 0\n") is None              # only on the last line
    assert initial_tape("0 _ _ r 0\r\n; $INITIAL_TAPE: 11") == ("11", 2)
    machine = load("0 1 1 r 0\n; $INITIAL_TAPE: 1 2")
    assert machine.examples == (Example("1_2"),)
    assert "2" in machine.input_alphabet                           # the tape's symbols join the alphabet
    assert load("0 _ _ r 0\n; $INITIAL_TAPE: *12").examples == (Example("12"),)
    # the simulator drops the whole line holding "$INITIAL_TAPE:", a rule before the comment included
    assert load("0 1 1 r 0\n0 _ _ r halt ; $INITIAL_TAPE: 1").rule("0", "_") is None
    assert load("0 1 1 r 0\n0 _ _ r halt ; no tape here").rule("0", "_") is not None
    with pytest.raises(DefinitionSyntaxError, match="head") as caught:
        load("0 _ _ r 0\n; $INITIAL_TAPE: 1*2")
    assert caught.value.location.line == 2


def test_inputs_follow_the_simulator():
    machine = load("0 * * r 0\n0 _ _ * halt\n; $INITIAL_TAPE: 10")
    runnable, word = prepare_input(machine, "1 0")
    assert runnable is machine and word == "1_0"
    assert prepare_input(machine, "*10")[1] == "10"
    with pytest.raises(InputError, match="head marker"):
        prepare_input(machine, "1*0")
    with pytest.raises(InputError, match="do not occur in the Morphett program"):
        prepare_input(machine, "12")


def test_a_stop_for_lack_of_a_rule_counts_one_more_step():
    machine = load("0 1 1 r 0\n0 _ _ r halt\n")
    done = run(machine, "11")
    assert (reported_steps(machine, done), reported_final_state(machine, done)) == (3, "halt")
    machine = load("0 1 1 r 0\n1 x x r halt\n; $INITIAL_TAPE: x")
    result = run(machine, "1x")
    assert result.reason.value == "no rule" and result.steps == 1
    assert (reported_steps(machine, result), reported_final_state(machine, result)) == (2, "halt")


@pytest.mark.parametrize("line, phrase", [
    ("0", "missing <current symbol>"),
    ("0 ab c r 1", "<current symbol> should be a single character"),
    ("0 a", "missing <new symbol>"),
    ("0 a bc r 1", "<new symbol> should be a single character"),
    ("0 a b", "missing <direction>"),
    ("0 a b x 1", "<direction> should be 'l', 'r' or '*'"),
    ("0 a b r", "missing <new state>"),
    ("0 a b r 1 ?", "too many entries"),
    ("0 a b r 1 ! x", "too many entries"),
])
def test_syntax_errors(line, phrase):
    with pytest.raises(DefinitionSyntaxError, match=phrase) as caught:
        load(f"; a comment\n\n{line}   ; trailing comment\n")
    assert caught.value.location.line == 3
