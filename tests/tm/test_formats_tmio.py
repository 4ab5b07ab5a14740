"""The turingmachine.io importer (FORMATS.md §1)."""

from __future__ import annotations

import pytest

from turingformer.errors import (
    BlankSymbolError,
    DefinitionSyntaxError,
    DuplicateRuleError,
    MissingKeyError,
    StartStateError,
    UnknownKeyError,
    UnknownSymbolError,
)
from turingformer.tm.formats import loads_machine, prepare_input
from turingformer.tm.formats.tmio import split_symbol_key
from turingformer.tm.machine import Example, Move, Rule
from turingformer.tm.simulator import run


def load(text: str):
    return loads_machine(text, "turingmachine.io", "m.yaml")


def test_instruction_forms():
    machine = load("""\
input: '0101'
blank: ' '
start state: a
table:
  a:
    0: R                     # move only
    1: {write: x, L}         # key with a null value: stay in the same state
    x: {L: }                 # likewise
    y: {R: b}                # no write
    ' ': {write: 1, R: b}
  b:
""")
    assert machine.rule("a", "0") == Rule("a", "0", "0", Move.R, "a")
    assert machine.rule("a", "1") == Rule("a", "1", "x", Move.L, "a")
    assert machine.rule("a", "x") == Rule("a", "x", "x", Move.L, "a")
    assert machine.rule("a", "y") == Rule("a", "y", "y", Move.R, "b")
    assert machine.rule("a", " ") == Rule("a", " ", "1", Move.R, "b")
    assert machine.halt_states == {"b"}
    assert machine.blank == " " and set(machine.input_alphabet) == {"0", "1", "x", "y"}
    assert machine.examples == (Example("0101"),)
    assert machine.source_format == "turingmachine.io" and machine.allow_unreachable


def test_list_keys_integers_and_the_comma_symbol():
    machine = load("""\
blank: 0
start state: s
table:
  s:
    [1, 2, ' ']: {write: 0, R}
    [',', a]: L
    'b,c': R                 # a string key is split on commas too, as js-yaml's keys are
  t:
""")
    for symbol in "12 ":
        assert machine.rule("s", symbol) == Rule("s", symbol, "0", Move.R, "s")
    assert machine.rule("s", ",").move is Move.L and machine.rule("s", "a").move is Move.L
    assert machine.rule("s", "b").move is Move.R and machine.rule("s", "c").move is Move.R
    assert machine.blank == "0"
    assert split_symbol_key("a,b, ") == ["a", "b", " "]
    assert split_symbol_key(",") == [","]
    assert split_symbol_key("a,,,b") == ["a", ",", "b"]
    assert split_symbol_key("0") == ["0"]


def test_scalars_keep_their_text():
    machine = load("input: 0111\nblank: ' '\nstart state: no\ntable:\n  no:\n    0: {write: 1, R: 010}\n  010:\n")
    assert machine.examples[0].input == "0111"       # not the YAML 1.1 octal 73
    assert machine.start == "no"                     # not False
    assert machine.rule("no", "0").next_state == "010"


def test_synonyms_and_halting_roles():
    machine = load("""\
blank: ' '
start state: s
synonyms:
  accept: {R: accept}
  reject: {R: reject}
  skip: L
table:
  s: {a: accept, b: reject, c: skip}
  accept:
  reject:
  done:
""")
    assert machine.rule("s", "a") == Rule("s", "a", "a", Move.R, "accept")
    assert machine.rule("s", "c") == Rule("s", "c", "c", Move.L, "s")
    assert machine.accept_states == {"accept"} and machine.reject_states == {"reject"}
    assert machine.halt_states == {"done"}
    assert run(machine, "a").verdict.value == "accept"
    assert run(machine, "b").verdict.value == "reject"
    assert run(machine, "").verdict.value == "reject"    # with accept states, stopping elsewhere rejects


def test_a_state_named_accept_with_rules_is_ordinary():
    machine = load("blank: ' '\nstart state: accept\ntable:\n  accept: {a: {R: H}}\n  H:\n")
    assert not machine.accept_states and machine.halt_states == {"H"}


def test_any_input_runs_as_on_the_site():
    machine = load("blank: ' '\nstart state: s\ntable:\n  s: {a: R}\n")
    runnable, word = prepare_input(machine, "aaz a")
    assert "z" in runnable.input_alphabet and word == "aaz a"
    trace = run(runnable, word)
    assert (trace.steps, trace.final.state, trace.reason.value) == (2, "s", "no rule")


@pytest.mark.parametrize("text, error, phrase", [
    ("start state: a\ntable: {a: }\n", BlankSymbolError, "no blank symbol"),
    ("blank: '  '\nstart state: a\ntable: {a: }\n", BlankSymbolError, "length 1"),
    ("blank: ' '\ntable: {a: }\n", StartStateError, "no start state"),
    ("blank: ' '\nstart state: b\ntable: {a: }\n", StartStateError, "has to be declared"),
    ("blank: ' '\nstart state: a\n", MissingKeyError, "missing transition table"),
    ("blank: ' '\nstart state: a\ntable: {a: {x: {R: a, L: a}}}\n", DefinitionSyntaxError, "conflicting"),
    ("blank: ' '\nstart state: a\ntable: {a: {x: {write: 1}}}\n", DefinitionSyntaxError, "missing movement"),
    ("blank: ' '\nstart state: a\ntable: {a: {x: {wirte: 1, R}}}\n", UnknownKeyError, "'wirte'"),
    ("blank: ' '\nstart state: a\ntable: {a: {x: {write: 12, R}}}\n", UnknownSymbolError, "length 1"),
    ("blank: ' '\nstart state: a\ntable: {a: {x: jump}}\n", DefinitionSyntaxError, "unrecognized string 'jump'"),
    ("blank: ' '\nstart state: a\ntable: {a: {x: }}\n", DefinitionSyntaxError, "missing or invalid instruction"),
    ("blank: ' '\nstart state: a\ntable: {a: {xy: R}}\n", UnknownSymbolError, "not one character"),
    ("blank: ' '\nstart state: a\ntable: {a: {[x, x]: R}}\n", DuplicateRuleError, "two instructions"),
    ("blank: ' '\nstart state: a\nsynonyms: {go: {R: b}, go2: go}\ntable: {a: {x: go}, b: }\n",
     DefinitionSyntaxError, "cannot be defined using another synonym"),
    ("blank: ' '\nstart state: a\ntable: {a: {x: R}, a: }\n", DefinitionSyntaxError, "appears twice"),
    ("", MissingKeyError, "empty"),
])
def test_errors(text, error, phrase):
    with pytest.raises(error, match=phrase):
        load(text)


def test_error_positions():
    with pytest.raises(DefinitionSyntaxError) as caught:
        load("blank: ' '\nstart state: a\ntable:\n  a:\n    x: {write: 1, L: a}\n    y: [R]\n")
    assert (caught.value.location.line, caught.value.location.column) == (6, 8)
    machine = load("blank: ' '\nstart state: a\ntable:\n  a:\n    x: R\n    [y, z]: L\n")
    assert machine.rule("a", "z").location.line == 6
