"""Issue 22 in the programs layer: one number parser for every dialect (ASCII digits 0-9, at most
4,300 of them, every echoed value shortened), the allowed word widths, loaders linear in the
file's size (a ``.usubleq`` file once took time exponential in its word width), and the label
rules of ``.usubleq``."""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys

import pytest

from paths import ROOT
from turingformer import errors as E
from turingformer.cli.common import non_negative, positive
from turingformer.programs import run
from turingformer.programs.formats import load_program, loads_program
from turingformer.programs.numbers import MAX_DIGITS, NumberSyntax, number_text, parse_int
from turingformer.programs.program import MAX_BITS

HUGE = "1" * (MAX_DIGITS + 1)
#: Seconds the loads may take before the guard fails the test (the old code took minutes or forever).
GUARD = 60


# ---------------------------------------------------------------------------- the number parser
@pytest.mark.parametrize("text, value", [
    ("7", 7), ("-3", -3), ("+5", 5), ("007", 7), ("0x1f", 31), ("-0b11", -3), ("0o17", 15),
    ("9" * MAX_DIGITS, 10 ** MAX_DIGITS - 1)])
def test_numbers_in_ascii_digits(text, value):
    assert parse_int(text) == value


@pytest.mark.parametrize("text, why", [
    ("٣", "'٣' (arabic-indic digit three) is not one of the ASCII digits 0-9"),
    ("７", "'７' (fullwidth digit seven) is not one of the ASCII digits 0-9"),
    ("2²", "(superscript two) is not one of the ASCII digits 0-9"),
    ("1_0", "digit separators '_' are not allowed"),
    ("0x_1f", "digit separators '_' are not allowed"),
    (" 7", "it has blanks around it"),
    ("", "it is empty"),
    ("7a", "'7a' is not a whole number"),
    (HUGE, "is too long: a number of 4,301 digits (at most 4,300)"),
    ("0x" + "f" * (MAX_DIGITS + 1), "a number of 4,301 digits"),
    ("0x" + "f" * 3600, "a number of more than 4,300 decimal digits"),
])
def test_numbers_refused_with_the_reason(text, why):
    with pytest.raises(NumberSyntax) as caught:
        parse_int(text)
    assert why in str(caught.value) and len(str(caught.value)) < 200 and caught.value.hint


def test_decimal_only_where_no_prefix_is_allowed():
    with pytest.raises(NumberSyntax, match="only decimal digits are allowed here"):
        parse_int("0x10", prefixed=False)


def test_number_text_shortens_huge_values():
    assert number_text(-128) == "-128" and number_text(2 ** 64) == str(2 ** 64)
    assert number_text(-(10 ** 5000)) == "-(a 16,610-bit number)"          # str() refuses this one


# ---------------------------------------------------------------------------- every dialect
DIALECTS = {
    "subleq": {
        "operand": ".data\nx: 1 2\n.code\nsubleq x x+{k}\n",
        "target": ".data\nx: 1\n.code\nL: subleq x x L+{k}\n",
        "expect": ".data\nx: 1\n.code\nhalt\n.expect x+{k} = 1\n",
        "steps": ".data\nx: 1\n.code\nhalt\n.expect steps = {k}\n",
        "data": ".data\nx: {k}\n.code\nhalt\n",
        "literal": ".data\nx: 1\n.code\nsub #{k} x\n",
    },
    "fleq": {
        "operand": ".data\nx: 1 2\n.code\nadd x x x+{k}\n",
        "target": ".data\nx: 1\n.code\nL: add x x x x L+{k}\n",
        "expect": ".data\nx: 1\n.code\nhalt\n.expect x+{k} = 1\n",
        "data": ".data\nx: {k}\n.code\nhalt\n",
    },
    "usubleq": {
        "operand": "subleq Z Z+{k} -1\nZ: 0\n",
        "target": "L: subleq Z Z L+{k}\nZ: 0\n",
        "start": ".start L+{k}\nL: subleq Z Z -1\nZ: 0\n",
        "expect": "subleq Z Z -1\nZ: 0\n.expect Z+{k} = 0\n",
        "pointer": "subleq Z Z -1\nZ: 0 Z+{k}\n",
        "data": "subleq Z Z -1\nZ: {k}\n",
    },
}
PLACES = [(dialect, place) for dialect, places in DIALECTS.items() for place in places]


@pytest.mark.parametrize("dialect, place", PLACES, ids=[f"{d}-{p}" for d, p in PLACES])
@pytest.mark.parametrize("number, phrase", [
    (HUGE, "a number of 4,301 digits (at most 4,300)"), ("٣", "is not one of the ASCII digits 0-9"),
    ("７", "(fullwidth digit seven)"), ("1_0", "digit separators '_' are not allowed")])
def test_every_number_of_every_dialect_goes_through_the_parser(dialect, place, number, phrase):
    with pytest.raises(E.AssemblySyntaxError) as caught:
        loads_program(DIALECTS[dialect][place].format(k=number), dialect, "p")
    message = str(caught.value)
    assert phrase in message and len(message) < 400 and caught.value.location.column


def test_csv_numbers_go_through_the_parser(tmp_path):
    (tmp_path / "p_cmds.csv").write_text("a,b,c\n2,3,5\n1,0,1_0\n")
    (tmp_path / "p_init_mem.csv").write_text("mem\n0\n-1\n" + HUGE + "\n")
    with pytest.raises(E.AssemblySyntaxError, match="the word '1+'...'1+' .* a number of 4,301 digits"):
        load_program(tmp_path / "p_cmds.csv")
    (tmp_path / "p_init_mem.csv").write_text("mem\n0\n-1\n3\n")
    with pytest.raises(E.AssemblySyntaxError, match="the column '1_0' is not a whole number: digit separators"):
        load_program(tmp_path / "p_cmds.csv")


def test_huge_values_and_names_are_shortened_in_messages():
    cases = [(".data\nx: " + "9" * 4000 + "\n.code\nhalt\n", "subleq"),        # a word that does not fit
             (".data\nx: 1\n.code\nsubleq x " + "9" * 4000 + "\n", "subleq"),    # a cell outside the memory
             (".data\nx: 1\n.code\nsubleq x " + "y" * 100_000 + "\n", "subleq"),  # an unknown label
             ("subleq Z Z -1\nZ: 0 Z+" + "9" * 4000 + "\n", "usubleq")]          # a pointer that is no word
    for text, dialect in cases:
        with pytest.raises(E.ProgramError) as caught:
            loads_program(text, dialect)
        assert len(str(caught.value)) < 400


# ---------------------------------------------------------------------------- word widths
@pytest.mark.parametrize("bits, phrase", [
    (0, r"the looped computer needs N >= 2 \(words of 2 to 4,096 bits\)"),
    (MAX_BITS + 1, "a word has at most 4,096 bits"), (99999999999999, "a word has at most 4,096 bits")])
def test_widths_outside_the_range_are_refused(bits, phrase, tmp_path):
    # '#1' makes the assembler form a word at this width: 0 bits was "negative shift count"
    for dialect, text in (("subleq", "sub #1 __Z\n"), ("fleq", "add #1 __Z __Z\n"), ("usubleq", "subleq #1 Z -1\nZ: 0\n")):
        with pytest.raises(E.ProgramSizeError, match=phrase):
            loads_program(text, dialect, bits=bits)
        with pytest.raises(E.ProgramSizeError, match=phrase):
            loads_program(f".bits {bits}\n" + text, dialect)
    (tmp_path / "p_cmds.csv").write_text("a,b,c\n0,1,2\n")
    (tmp_path / "p_init_mem.csv").write_text("mem\n0\n-1\n")
    with pytest.raises(E.ProgramSizeError, match="--bits .*" + phrase):
        load_program(tmp_path / "p_cmds.csv", bits=bits)


def test_the_widest_word_loads_and_runs():
    program = loads_program(f".bits {MAX_BITS}\n.data\nx: {2 ** (MAX_BITS - 1) - 1}\n.code\nadd #1 x\nhalt\n", "subleq")
    assert run(program).final.memory[0] == -(2 ** (MAX_BITS - 1))


# ---------------------------------------------------------------------------- linear loading
def _cells_loaded_in_a_child(*texts: str) -> list[int]:
    """M of each ``.usubleq`` text, loaded in a fresh interpreter that is killed after GUARD
    seconds: the old code's ``range`` scan is a C loop that no signal handler interrupts."""
    code = ("import json, sys\nfrom turingformer.programs.formats import loads_program\n"
            "print(json.dumps([loads_program(t, 'usubleq').cells for t in json.load(sys.stdin)]))")
    result = subprocess.run([sys.executable, "-c", code], input=json.dumps(texts), capture_output=True, text=True,
                            timeout=GUARD, env={**os.environ, "PYTHONPATH": str(ROOT)}, check=True)
    return json.loads(result.stdout)


def test_wide_and_long_usubleq_files_load_at_once():
    """``range`` membership of the old ``int`` subclass scanned the word range for every operand
    cell: .bits 24 took 5.8 s, 32 hung (62 would take centuries), and 5,000 instructions at 20 bits
    scanned up to 2^19 words for each of 15,000 cells."""
    small = "loop: subleq p:X Z\nsubleq ONE p loop\nsubleq Z Z -1\nX: 5\nONE: 1\nZ: 0\n"
    long = ".bits 20\n" + "".join(f"L{i}: subleq p{i}:X Z L{i}\n" for i in range(5000)) + "subleq Z Z -1\nX: 1\nZ: 0\n"
    assert _cells_loaded_in_a_child(*(f".bits {bits}\n" + small for bits in (32, 62, MAX_BITS)), long) == [
        12, 12, 12, 15_005]
    assert loads_program(long, "usubleq").labels["p4999"] == 14_997


# ---------------------------------------------------------------------------- labels of .usubleq
def test_hex_and_signed_numbers_still_work_everywhere():
    program = loads_program(".start L\nZ: 0x0 -0b1\nL: subleq Z Z+1 0x9\nsubleq Z Z -1\n", "usubleq")
    assert program.memory[:5] == (0, -1, 0, 1, 9) and program.pc == 2


# ---------------------------------------------------------------------------- the CLI's number options
@pytest.mark.parametrize("option", [non_negative, positive])
@pytest.mark.parametrize("text, phrase", [
    ("٨", "is not one of the ASCII digits 0-9"), ("1_0", "digit separators"), (HUGE, "a number of 4,301 digits"),
    ("-1", "must be 0 or more, got -1"), ("0x10", "only decimal digits")])
def test_cli_number_options(option, text, phrase):
    with pytest.raises(argparse.ArgumentTypeError, match=phrase):
        option(text)
    assert non_negative("0") == 0 and positive("12") == 12
