"""The turingformer YAML format (docs/format.md): exact scalars, source positions, dump/load round
trip, and format detection."""

from __future__ import annotations


import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from turingformer.errors import FormatError, UnknownKeyError
from turingformer.tm.formats import (
    FORMATS,
    detect_format,
    dump_machine,
    load_machine,
    loads_machine,
    normalize_format,
)
from turingformer.tm.machine import Example, Move, Rule, TuringMachine
from turingformer.tm.simulator import run

from paths import MACHINES
from paths import LOCAL_CORPUS as CORPUS

INCREMENT = """\
# a comment
name: binary increment
description: >
  Walks right, then carries.
blank: '_'
input alphabet: ['0', '1']
states: [right, carry, done]
start: right
halt: [done]
rules:
  right:
    '0': ['0', R, right]
    '1': ['1', R, right]
    '_': ['_', L, carry]
  carry:
    '1': ['0', L, carry]
    '0': ['1', S, done]
    '_': ['1', S, done]
examples:
  - {input: '1011', verdict: halted, tape: '1100', steps: 8}
  - {input: '', final state: done}
"""


def test_load_the_documented_example():
    machine = loads_machine(INCREMENT, "turingformer", "inc.yaml")
    assert machine.name == "binary increment"
    assert machine.description == "Walks right, then carries.\n"
    assert machine.states == ("right", "carry", "done")
    assert machine.halt_states == {"done"} and not machine.accept_states
    assert machine.tape_alphabet == ("_", "0", "1")
    assert machine.rule("carry", "0") == Rule("carry", "0", "1", Move.S, "done")
    assert machine.examples == (Example("1011", "halted", "1100", 8), Example("", final_state="done"))
    assert machine.source_format == "turingformer" and not machine.allow_unreachable
    trace = run(machine, "1011")
    assert (trace.steps, trace.final.tape.span(trace.final.head)) == (8, (0, "1100"))


def test_rules_and_examples_keep_their_source_position():
    machine = loads_machine(INCREMENT, "turingformer", "inc.yaml")
    location = machine.rule("right", "_").location
    assert (location.file, location.line, location.column) == ("inc.yaml", 14, 5)
    assert machine.rule("carry", "1").location.line == 16
    assert machine.examples[1].location.line == 21


def test_scalars_are_read_as_written():
    text = """\
name: 0111
blank: 'n'
input alphabet: [0, 1, y]
tape alphabet: [n, 0, 1, y]
states: [no, yes, 0111, 1_000, ~x]
start: no
halt: [0111]
accept: [yes]
reject: [1_000]
allow unreachable: true
rules:
  no:
    0: [1, R, yes]
    y: [n, L, 0111]
examples:
  - {input: 010, tape: 0111, final state: 0111}
"""
    machine = loads_machine(text, "turingformer")
    assert machine.name == "0111"
    assert machine.states == ("no", "yes", "0111", "1_000", "~x")
    assert machine.input_alphabet == ("0", "1", "y")
    assert machine.accept_states == {"yes"} and machine.reject_states == {"1_000"}
    assert machine.rule("no", "0") == Rule("no", "0", "1", Move.R, "yes")
    assert machine.examples[0] == Example("010", tape="0111", final_state="0111")
    assert loads_machine(dump_machine(machine), "turingformer") == machine


def test_unknown_key_suggests_the_right_one():
    with pytest.raises(UnknownKeyError, match="unknown key 'input alphabets'") as caught:
        loads_machine(INCREMENT.replace("input alphabet:", "input alphabets:"), "turingformer")
    assert "did you mean 'input alphabet'?" in caught.value.hint
    with pytest.raises(UnknownKeyError, match="'verdcit'") as caught:
        loads_machine(INCREMENT.replace("verdict:", "verdcit:"), "turingformer")
    assert caught.value.location.line == 20 and "did you mean 'verdict'?" in caught.value.hint


def test_allow_unreachable():
    text = INCREMENT.replace("states: [right, carry, done]", "states: [right, carry, done, spare]")
    with pytest.raises(Exception, match="'spare' cannot be reached"):
        loads_machine(text, "turingformer")
    machine = loads_machine(text.replace("halt: [done]", "halt: [done]\nallow unreachable: true"), "turingformer")
    assert machine.allow_unreachable and machine.unreachable_states() == ("spare",)
    assert "allow unreachable: true" in dump_machine(machine)
    assert "allow unreachable" not in dump_machine(loads_machine(INCREMENT, "turingformer"))
    assert loads_machine(dump_machine(machine), "turingformer") == machine


def test_dump_is_readable_and_exact():
    machine = loads_machine(INCREMENT, "turingformer")
    text = dump_machine(machine)
    assert "    '_': ['_', L, carry]\n" in text
    assert "states: [right, carry, done]\n" in text
    assert "  - {input: '1011', verdict: halted, tape: '1100', steps: 8}\n" in text
    assert "tape alphabet" not in text           # the default one is not repeated
    again = loads_machine(text, "turingformer")
    assert again == machine and again.examples == machine.examples and again.description == machine.description


def _awkward_machine() -> TuringMachine:
    symbols = [" ", "'", '"', "#", ":", "[", "*", "\\", "é", "\t", "-", "0"]
    states = ["q 0", "it's", "#x", "no", "0111", "a: b", "-", "\u00a0", "line\nbreak"]
    rules = [Rule(states[i], symbols[i], symbols[(i + 1) % len(symbols)], Move("LRS"[i % 3]), states[i + 1])
             for i in range(len(states) - 1)]
    return TuringMachine(
        states=states, start=states[0], blank=" ", rules=rules, input_alphabet=symbols[1:6],
        tape_alphabet=[*symbols, "~"], halt=[states[-1]], name="it's: #1",
        description="line one\n  indented\n\ttab", examples=[Example("'#[", "running", steps=3)])


def test_awkward_symbols_and_names_round_trip():
    machine = _awkward_machine()
    again = loads_machine(dump_machine(machine), "turingformer")
    assert again == machine
    assert (again.states, again.tape_alphabet, again.name, again.description, again.examples) == (
        machine.states, machine.tape_alphabet, machine.name, machine.description, machine.examples)


@st.composite
def machines(draw):
    alphabet = st.characters(blacklist_categories=("Cs",))
    symbols = draw(st.lists(alphabet, min_size=2, max_size=5, unique=True))
    names = draw(st.lists(st.text(alphabet, min_size=1, max_size=6), min_size=2, max_size=5, unique=True))
    blank, inputs = symbols[0], symbols[1:]
    halting = names[-1]
    rules = []
    for state in names[:-1]:
        for symbol in symbols:
            if draw(st.booleans()):
                rules.append(Rule(state, symbol, draw(st.sampled_from(symbols)), draw(st.sampled_from(list(Move))),
                                  draw(st.sampled_from(names))))
    role = draw(st.sampled_from(["accept", "reject", "halt"]))
    return TuringMachine(states=names, start=names[0], blank=blank, rules=rules, input_alphabet=inputs,
                         **{role: [halting]}, name=draw(st.text(alphabet, max_size=8)),
                         description=draw(st.text(alphabet, max_size=30)), allow_unreachable=True)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(machines())
def test_round_trip_property(machine):
    again = loads_machine(dump_machine(machine), "turingformer")
    assert again == machine
    assert again.states == machine.states and again.tape_alphabet == machine.tape_alphabet
    assert again.name == machine.name and again.description == machine.description


def test_teaching_machines_round_trip():
    paths = sorted(MACHINES.glob("*.yaml"))
    if not paths:  # pragma: no cover - machines/ ships with the repository
        pytest.skip("no machines/*.yaml")
    for path in paths:
        machine = load_machine(path)
        again = loads_machine(dump_machine(machine), "turingformer", str(path))
        assert again == machine, path
        assert again.examples == machine.examples and again.description == machine.description, path


# ---------------------------------------------------------------------------- detection
@pytest.mark.parametrize("name, expected", [
    ("bbchallenge/bb4_champion.txt", "bbchallenge"),
    ("turingmachine_io/busy_beaver_4.yaml", "turingmachine.io"),
    ("morphett/4statebeaver.txt", "morphett"),
    ("automata_lib/dtm_0n1n.json", "automata-lib"),
])
def test_detect_by_extension_and_content(name, expected, tmp_path):
    path = CORPUS / name
    text = path.read_text(encoding="utf-8")
    assert detect_format(path, text) == expected
    assert load_machine(path).source_format == expected
    # without an extension the content alone decides
    bare = tmp_path / "machine"
    bare.write_text(text, encoding="utf-8")
    assert detect_format(bare, text) == expected
    assert detect_format(None, text) == expected


def test_detect_turingformer_yaml_and_override(tmp_path):
    assert detect_format("m.yaml", INCREMENT) == "turingformer"
    assert detect_format("m.yml", "start state: a\ntable:\n  a:\n") == "turingmachine.io"
    assert detect_format(None, INCREMENT) == "turingformer"
    path = tmp_path / "inc.txt"              # a misleading extension: --format wins
    path.write_text(INCREMENT, encoding="utf-8")
    assert load_machine(path, format="turingformer") == loads_machine(INCREMENT, "turingformer")
    with pytest.raises(FormatError, match="cannot tell the format"):
        detect_format("notes.md", "Hello\n")


def test_format_names_and_aliases():
    assert FORMATS == ("turingformer", "turingmachine.io", "morphett", "bbchallenge", "automata-lib")
    for name in FORMATS:
        assert normalize_format(name.upper()) == name
    assert normalize_format("turingmachine.io-yaml") == "turingmachine.io"
    assert normalize_format("automata-lib-dtm-json") == "automata-lib"
    assert normalize_format("bbchallenge-standard") == "bbchallenge"
    with pytest.raises(FormatError, match="unknown format 'morfett'") as caught:
        normalize_format("morfett")
    assert "did you mean 'morphett'?" in caught.value.hint


def test_load_machine_reads_crlf_bom_and_reports_non_utf8(tmp_path):
    path = tmp_path / "inc.yaml"
    path.write_bytes(b"\xef\xbb\xbf" + INCREMENT.replace("\n", "\r\n").encode())
    assert load_machine(path) == loads_machine(INCREMENT, "turingformer")
    path.write_bytes(INCREMENT.encode() + b"# \xff\n")
    with pytest.raises(Exception, match="not UTF-8") as caught:
        load_machine(path)
    assert caught.value.location.line == 22


def test_a_state_name_longer_than_a_yaml_implicit_key_round_trips():
    """YAML allows 1024 characters in an implicit key; the dumper writes longer ones as '? key'
    (found by the fuzz campaign: a Morphett state of 5,000 characters)."""
    long = "q" + "1" * 5000
    machine = TuringMachine(states=[long, "done"], start=long, blank="_", rules=[Rule(long, "_", "1", "R", "done")],
                            input_alphabet=["1"], halt=["done"])
    text = dump_machine(machine)
    assert f"? {long}\n" in text
    assert loads_machine(text, "turingformer") == machine
