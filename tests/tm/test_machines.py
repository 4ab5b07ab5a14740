"""The teaching machines in machines/*.yaml.

Two kinds of checks:

* every file loads with the project's loader and every example it gives comes out as written
  (verdict, tape, steps, final state), within the step budget a compiled transformer can replay;
* for most machines the expected results are computed here independently of the simulator,
  from a closed form (bin(n + 1), w[::-1], the published busy beaver numbers, ...), over many
  inputs, so the tests check what the machines compute and not only the numbers in the files.
"""

from __future__ import annotations

import itertools
from functools import lru_cache

import pytest

from turingformer.tm.examples import check_examples
from turingformer.tm.formats import load_machine
from turingformer.tm.machine import Move, TuringMachine
from turingformer.tm.simulator import run

from paths import MACHINES
PATHS = sorted(MACHINES.glob("*.yaml"))
IDS = [path.stem for path in PATHS]

REQUIRED = {
    "binary_increment", "binary_addition", "unary_addition", "palindrome", "zeros_ones", "copy",
    "divisible_by_3", "busy_beaver_2", "busy_beaver_3", "busy_beaver_4",
}
MAX_EXAMPLE_STEPS = 2_000   # every example must be short enough to replay on a transformer
SHORT_EXAMPLE_STEPS = 300   # and each machine needs at least one example below this


@lru_cache(maxsize=None)
def machine(stem: str) -> TuringMachine:
    return load_machine(MACHINES / f"{stem}.yaml")


def outcome(stem: str, word: str, max_steps: int = 10_000) -> dict:
    """The summary of a run (verdict, tape, steps, final_state, nonblank, head ...)."""
    return run(machine(stem), word, max_steps=max_steps).summary()


def words(alphabet: str, max_length: int):
    for length in range(max_length + 1):
        for letters in itertools.product(alphabet, repeat=length):
            yield "".join(letters)


# ---------------------------------------------------------------------------- the collection
def test_enough_machines_and_the_required_ones():
    assert len(PATHS) >= 12, IDS
    assert REQUIRED <= set(IDS), sorted(REQUIRED - set(IDS))


def test_the_collection_covers_stay_moves_big_alphabets_and_the_left_half_of_the_tape():
    machines = [machine(stem) for stem in IDS]
    assert any(m.has_stay_moves() for m in machines)
    assert any(len(set(m.tape_alphabet) - {m.blank}) >= 3 for m in machines)
    left = [stem for stem in IDS
            if any(min(run(machine(stem), e.input).heads) < 0 for e in machine(stem).examples)]
    assert len(left) >= 3, left


# ---------------------------------------------------------------------------- every file
@pytest.mark.parametrize("path", PATHS, ids=IDS)
def test_file_is_a_commented_teaching_machine(path):
    text = path.read_text(encoding="utf-8")
    assert text.startswith("#"), f"{path.name} should open with a header comment"
    m = load_machine(path)
    assert m.name and m.description
    assert m.halting_states, f"{path.name}: name its halting states"


@pytest.mark.parametrize("path", PATHS, ids=IDS)
def test_examples_come_out_as_written(path):
    m = load_machine(path)
    assert m.examples, f"{path.name} has no examples"
    checks = check_examples(m, max_steps=MAX_EXAMPLE_STEPS)      # the check every command runs
    assert all(check.met for check in checks), [str(c) for c in checks if not c.met]
    for example in m.examples:
        assert run(m, example.input, max_steps=MAX_EXAMPLE_STEPS).halted, f"{path.name}: {example.input!r} too long"
    assert min(run(m, e.input).steps for e in m.examples) < SHORT_EXAMPLE_STEPS, path.name


@pytest.mark.parametrize("path", PATHS, ids=IDS)
def test_deciders_show_both_verdicts(path):
    m = load_machine(path)
    verdicts = {e.verdict for e in m.examples}
    assert None not in verdicts, f"{path.name}: give every example a verdict"
    if m.accept_states:
        assert {"accept", "reject"} <= verdicts, path.name
        assert m.reject_states, f"{path.name}: a decider should name its reject state"
    else:
        assert verdicts == {"halted"}, path.name


# ---------------------------------------------------------------------------- closed forms
@pytest.mark.parametrize("n", range(64))
def test_binary_increment(n):
    assert outcome("binary_increment", bin(n)[2:])["tape"] == bin(n + 1)[2:]


def test_binary_increment_keeps_leading_zeros_and_reads_empty_as_zero():
    assert outcome("binary_increment", "0011")["tape"] == "0100"
    assert outcome("binary_increment", "")["tape"] == "1"


@pytest.mark.parametrize("n", range(1, 64))
def test_binary_decrement(n):
    got = outcome("binary_decrement", bin(n)[2:])
    assert (got["final_state"], got["tape"]) == ("done", bin(n - 1)[2:])
    padded = outcome("binary_decrement", bin(n)[2:].zfill(7))
    assert (padded["final_state"], padded["tape"]) == ("done", bin(n - 1)[2:])


@pytest.mark.parametrize("zeros", ["", "0", "00", "0000"])
def test_binary_decrement_of_zero_underflows_and_leaves_the_tape(zeros):
    got = outcome("binary_decrement", zeros)
    assert got["final_state"] == "underflow"
    assert got["tape"].strip("_") == zeros


@pytest.mark.parametrize("a", range(16))
def test_binary_addition(a):
    for b in range(16):
        got = outcome("binary_addition", f"{a:b}+{b:b}")
        assert got["tape"] == bin(a + b)[2:], (a, b)
        assert got["steps"] <= MAX_EXAMPLE_STEPS


def test_binary_addition_with_empty_operands_and_leading_zeros():
    assert outcome("binary_addition", "+")["tape"] == "0"
    assert outcome("binary_addition", "+11")["tape"] == "11"
    assert outcome("binary_addition", "10+")["tape"] == "10"
    assert int(outcome("binary_addition", "0011+0101")["tape"], 2) == 8


def test_unary_addition():
    for a, b in itertools.product(range(9), repeat=2):
        got = outcome("unary_addition", "1" * a + "+" + "1" * b)
        assert got["tape"].strip("_") == "1" * (a + b), (a, b)
        assert got["nonblank"] == a + b


def test_palindrome():
    for word in words("ab", 6):
        expected = "accept" if word == word[::-1] else "reject"
        assert outcome("palindrome", word)["verdict"] == expected, word


def test_zeros_ones():
    for word in words("01", 8):
        n = len(word) // 2
        expected = "accept" if word == "0" * n + "1" * n else "reject"
        assert outcome("zeros_ones", word)["verdict"] == expected, word


def test_zeros_ones_twos():
    for word in words("012", 6):
        n = len(word) // 3
        expected = "accept" if word == "0" * n + "1" * n + "2" * n else "reject"
        assert outcome("zeros_ones_twos", word)["verdict"] == expected, word
    for n in range(7, 11):
        assert outcome("zeros_ones_twos", "0" * n + "1" * n + "2" * n)["verdict"] == "accept"
        assert outcome("zeros_ones_twos", "0" * n + "1" * n + "2" * (n - 1))["verdict"] == "reject"


def test_divisible_by_3():
    for n in range(200):
        got = outcome("divisible_by_3", bin(n)[2:])
        assert got["verdict"] == ("accept" if n % 3 == 0 else "reject"), n
        assert got["steps"] == len(bin(n)) - 1   # one step per digit and one for the blank


def test_copy():
    for word in words("01", 5):
        assert outcome("copy", word)["tape"] == f"{word}#{word}", word


def test_reverse():
    for word in words("ab", 5):
        assert outcome("reverse", word)["tape"].strip("_") == word[::-1], word


def test_unary_doubling_writes_left_of_the_start_cell():
    for n in range(11):
        got = outcome("unary_doubling", "1" * n)
        assert got["tape"].strip("_") == "1" * (2 * n), n
        if n:
            assert got["tape_offset"] == -2 * n


def test_stay_eraser_spends_one_step_per_unit_of_each_digit():
    for word in words("123", 4):
        got = outcome("stay_eraser", word)
        assert got["nonblank"] == 0
        assert got["steps"] == sum(map(int, word)) + 1, word


# ---------------------------------------------------------------------------- busy beavers
def standard_notation(m: TuringMachine) -> str:
    """The bbchallenge text notation (1RB1LB_1LA1RZ ...), halting transitions written as ...Z."""
    working = [q for q in m.states if q not in m.halting_states]
    letter = {q: "ABCDEFGHIJKLMNOPQRSTUVWXY"[i] for i, q in enumerate(working)}
    letter.update({q: "Z" for q in m.halting_states})
    groups = []
    for q in working:
        cells = []
        for symbol in (m.blank, "1"):
            rule = m.rule(q, symbol)
            write = "0" if rule.write == m.blank else rule.write
            cells.append(f"{write}{rule.move.value}{letter[rule.next_state]}")
        groups.append("".join(cells))
    return "_".join(groups)


# Published values: S(2) = 6, Σ(2) = 4 (Rado 1962); S(3) = 21 with 5 ones for the shift
# champion (Lin & Rado 1965); S(4) = 107, Σ(4) = 13 (Brady 1983).
CHAMPIONS = [
    ("busy_beaver_2", "1RB1LB_1LA1RZ", 6, 4),
    ("busy_beaver_3", "1RB1RZ_1LB0RC_1LC1LA", 21, 5),
    ("busy_beaver_4", "1RB1LB_1LA0LC_1RZ1LD_1RD0RA", 107, 13),
]


@pytest.mark.parametrize("stem, notation, steps, ones", CHAMPIONS, ids=[c[0] for c in CHAMPIONS])
def test_busy_beaver_champions(stem, notation, steps, ones):
    m = machine(stem)
    assert m.blank == "0" and set(m.input_alphabet) == {"1"}
    assert not m.has_stay_moves() and all(r.move in (Move.L, Move.R) for r in m.rules)
    assert standard_notation(m) == notation
    got = outcome(stem, "")
    assert (got["steps"], got["nonblank"], got["verdict"]) == (steps, ones, "halted")
    assert got["tape"].count("1") == ones
