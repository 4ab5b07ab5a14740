"""Every user mistake has its own error type, names the line, says how to fix it, and reaches the
command line as one message with exit status 2 (tests/broken/ holds one file per kind)."""

from __future__ import annotations

from pathlib import Path

import pytest

from turingformer import errors as E
from turingformer.cli import main
from turingformer.tm.formats import load_machine, loads_machine

from paths import BROKEN, MACHINES

# file, exact error type, line (None: the error is about the whole file), a phrase of the message
CASES = [
    ("malformed_yaml.yaml", E.DefinitionSyntaxError, 10, "malformed YAML"),
    ("unknown_key.yaml", E.UnknownKeyError, 4, "unknown key 'sates'"),
    ("missing_key.yaml", E.MissingKeyError, None, "no 'rules'"),
    ("empty.yaml", E.MissingKeyError, None, "empty"),
    ("duplicate_rule.yaml", E.DuplicateRuleError, 11, "two rules for state 'right' reading '0'"),
    ("undeclared_state.yaml", E.UndeclaredStateError, 10, "undeclared state 'dine'"),
    ("undeclared_role_state.yaml", E.UndeclaredStateError, 6, "accept state 'yes' is not declared"),
    ("unreachable_state.yaml", E.UnreachableStateError, 6, "'lost' cannot be reached"),
    ("unknown_symbol.yaml", E.UnknownSymbolError, 10, "not in the tape alphabet"),
    ("multichar_symbol.yaml", E.UnknownSymbolError, 9, "must be one character, got '01'"),
    ("missing_blank.yaml", E.BlankSymbolError, None, "no blank symbol"),
    ("multichar_blank.yaml", E.BlankSymbolError, 2, "exactly one character, got '__'"),
    ("blank_in_input.yaml", E.BlankSymbolError, 3, "also in the input alphabet"),
    ("missing_start.yaml", E.StartStateError, None, "no start state"),
    ("undeclared_start.yaml", E.StartStateError, 5, "'rigth' is not a declared state"),
    ("halting_start.yaml", E.StartStateError, 5, "is a halting (halt) state"),
    ("rule_on_halting_state.yaml", E.MachineError, 11, "leaves the halting state 'done'"),
    ("two_roles.yaml", E.MachineError, 7, "both accept and reject"),
    ("bad_move.yaml", E.DefinitionSyntaxError, 10, "has the move 'N'"),
    ("bad_rule_shape.yaml", E.DefinitionSyntaxError, 9, "has 2 entries, not 3"),
    ("bad_verdict.yaml", E.DefinitionSyntaxError, 11, "unknown verdict 'accepted'"),
    ("bad_example_input.yaml", E.InputError, 12, "symbol '2' at position 2"),
    ("unsafe_tag.yaml", E.DefinitionSyntaxError, 7, "python/object/apply:os.system"),
    ("tmio_undeclared_state.yaml", E.UndeclaredStateError, 10, "undeclared state 'dne'"),
    ("tmio_stay_move.yaml", E.UnknownKeyError, 6, "unrecognized key 'N'"),
    ("tmio_duplicate_symbol.yaml", E.DuplicateRuleError, 7, "line 6 and line 7"),
    ("bad_morphett_line.txt", E.DefinitionSyntaxError, 3, "direction> should be 'l', 'r' or '*'"),
    ("bad_bbchallenge.txt", E.DefinitionSyntaxError, 1, "bad instruction '1XZ' for state B"),
    ("bad_bbchallenge_row.txt", E.DefinitionSyntaxError, 1, "the row of state B"),
    ("bad_automata_json.json", E.DefinitionSyntaxError, 4, "malformed JSON"),
    ("bad_automata_direction.json", E.DefinitionSyntaxError, 9, "the order is next state, write, direction"),
    ("bad_automata_key.json", E.UnknownKeyError, None, "unknown key 'final_state'"),
    ("mystery.xyz", E.FormatError, None, "cannot tell the format"),
]


def test_every_broken_file_is_covered():
    assert sorted(p.name for p in BROKEN.iterdir() if p.is_file()) == sorted(name for name, *_ in CASES)  # programs/: tests/programs


@pytest.mark.parametrize("name, kind, line, phrase", CASES, ids=[c[0] for c in CASES])
def test_broken_file(name, kind, line, phrase):
    path = BROKEN / name
    with pytest.raises(E.TuringformerError) as caught:
        load_machine(path)
    error = caught.value
    assert type(error) is kind
    assert phrase in error.message
    assert error.location is not None and error.location.file == str(path)
    assert error.location.line == line
    assert error.hint, "every error says how to fix it"
    # str(error) is what the user sees: file:line:column, the message and the fix
    expected_prefix = f"{path}:{line}:" if line is not None else f"{path}: "
    assert str(error).startswith(expected_prefix)
    assert "\n  fix: " in str(error)


@pytest.mark.parametrize("name, kind, line, phrase", CASES, ids=[c[0] for c in CASES])
def test_cli_prints_one_message_and_exits_2(name, kind, line, phrase, capsys):
    assert main(["show", str(BROKEN / name)]) == 2
    captured = capsys.readouterr()
    assert captured.out == ""
    assert captured.err.startswith("turingformer: error: ")
    assert captured.err.count("turingformer: error:") == 1
    assert phrase in captured.err
    assert "Traceback" not in captured.err


def test_duplicate_rule_names_both_lines():
    with pytest.raises(E.DuplicateRuleError) as caught:
        load_machine(BROKEN / "duplicate_rule.yaml")
    assert f"{BROKEN / 'duplicate_rule.yaml'}:9:5" in caught.value.message   # the first rule
    assert caught.value.location.line == 11                                # the second rule


def test_did_you_mean_hints():
    with pytest.raises(E.UnknownKeyError) as caught:
        load_machine(BROKEN / "unknown_key.yaml")
    assert "did you mean 'states'?" in caught.value.hint
    with pytest.raises(E.StartStateError) as caught:
        load_machine(BROKEN / "undeclared_start.yaml")
    assert "did you mean 'right'?" in caught.value.hint
    with pytest.raises(E.UnknownKeyError) as caught:
        load_machine(BROKEN / "bad_automata_key.json")
    assert "did you mean 'final_states'?" in caught.value.hint


def test_malformed_yaml_has_a_column():
    with pytest.raises(E.DefinitionSyntaxError) as caught:
        load_machine(BROKEN / "malformed_yaml.yaml")
    assert caught.value.location.column == 7


def test_unsafe_yaml_tags_are_refused_and_never_constructed(tmp_path):
    marker = tmp_path / "constructed"
    text = (f"name: !!python/object/apply:pathlib.Path.touch [!!python/object/apply:pathlib.Path ['{marker}']]\n"
            "blank: '_'\ninput alphabet: ['0']\nstates: [a]\nstart: a\nrules: {}\n")
    with pytest.raises(E.DefinitionSyntaxError, match="not allowed"):
        loads_machine(text, "turingformer")
    assert not marker.exists()
    for tag in ("!!python/name:os.system", "!!binary aGVsbG8=", "!custom x", "!!set {a, b}"):
        with pytest.raises(E.DefinitionSyntaxError, match="tag"):
            loads_machine(f"name: {tag}\nblank: '_'\n", "turingformer")
    # turingmachine.io files are loaded the same way
    with pytest.raises(E.DefinitionSyntaxError, match="not allowed"):
        loads_machine("blank: !!python/object:object {}\nstart state: a\ntable: {a: }\n", "turingmachine.io")


def test_input_outside_the_alphabet(capsys):
    machine = load_machine(BROKEN.parent / "corpus" / "bbchallenge" / "bb2_champion.txt")
    with pytest.raises(E.InputError, match="symbol '2' at position 1"):
        machine.check_input("12")
    path = str(MACHINES / "binary_increment.yaml")
    if not Path(path).exists():  # pragma: no cover - the teaching machines ship with the repo
        pytest.skip("machines/binary_increment.yaml is missing")
    assert main(["simulate", path, "--input", "10a1"]) == 2
    err = capsys.readouterr().err
    assert err.startswith("turingformer: error: input '10a1': symbol 'a' at position 2")
    assert "Traceback" not in err


def test_missing_file_and_unknown_format(capsys, tmp_path):
    assert main(["show", str(tmp_path / "nope.yaml")]) == 2
    assert "nope.yaml" in capsys.readouterr().err
    assert main(["show", str(BROKEN / "missing_key.yaml"), "--format", "tmoi"]) == 2
    err = capsys.readouterr().err
    assert "unknown format 'tmoi'" in err and "did you mean" in err


def test_bad_arguments_exit_2(capsys):
    with pytest.raises(SystemExit) as caught:
        main(["simulate", str(BROKEN / "missing_key.yaml"), "--max-steps", "-3"])
    assert caught.value.code == 2
    assert "must be 0 or more" in capsys.readouterr().err


def test_errors_relocate_only_when_they_have_no_line():
    error = E.MachineError("x", location=E.Location("f.yaml", 3, 4))
    assert error.with_location(E.Location("g.yaml", 9, 1)) is error
    moved = E.StartStateError("y", hint="h").with_location(E.Location("g.yaml", 9, 1))
    assert type(moved) is E.StartStateError and str(moved) == "g.yaml:9:1: y\n  fix: h"
