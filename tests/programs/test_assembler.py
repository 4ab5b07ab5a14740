"""The assemblers: the macro expansions and memory layout of spec §9.1, the SUBLEQ-U operand
labels of §9.3, the FLEQ defaults of §9.4, ``.expect``, and the format detection."""

from __future__ import annotations

import pytest

from turingformer import errors as E
from turingformer.programs import FleqInstruction as F, SubleqInstruction as I
from turingformer.programs.formats import detect_program_format, is_program_file, load_program, loads_program


def subleq(body: str, **kw):
    return loads_program(body, "subleq", **kw)


def test_macros_expand_as_the_spec_says():
    program = subleq(".data\na: 1\nb: 2\n.code\nL: jmp L\nhalt\nclr a\nsub a b\nadd a b\nmov a b\njle a L\n"
                     "subleq a b\nsubleq b a 3\n")
    z, s = 2, 14
    assert program.code == (
        I(z, z, 0), I(z, z, s), I(0, 0, 3), I(0, 1, 4),
        I(0, z, 5), I(z, 1, 6), I(z, z, 7),
        I(1, 1, 8), I(0, z, 9), I(z, 1, 10), I(z, z, 11),
        I(z, 0, 0), I(0, 1, 13), I(1, 0, 3))
    assert program.memory == (1, 2, 0) and program.labels == {"a": 0, "b": 1, "__Z": 2}
    assert program.code_labels == {"L": 0}


def test_layout_data_then_literals_then_zero():
    program = subleq(".data\nx: 5\nlist: 3 1 4\n.code\nsub #7 x\nadd #-2 list+2\nsub #7 list-0\nhalt\n")
    assert program.memory == (5, 3, 1, 4, 7, -2, 0)
    assert program.labels == {"x": 0, "list": 1, "#7": 4, "#-2": 5, "__Z": 6}
    assert program.code[0] == I(4, 0, 1) and program.code[1] == I(5, 6, 2) and program.code[4] == I(4, 1, 5)
    assert program.code_lines == (5, 6, 6, 6, 7, 8)


def test_no_zero_cell_unless_needed_and_absolute_operands():
    program = subleq(".data\nx: 1 2\n.code\nsubleq 1 0 HALT\nsubleq x x+1 0\n")
    assert program.memory == (1, 2) and program.code == (I(1, 0, 2), I(0, 1, 0))


def test_expect_directive():
    program = subleq(".data\nr: 0\nl: 1 2 3\n.code\nhalt\n.expect r = 63, steps = 55\n.expect l = 4 5 -6\n")
    assert program.expect.steps == 55
    assert [(c.label, c.cell, c.value) for c in program.expect.cells] == [
        ("r", 0, 63), ("l", 1, 4), ("l+1", 2, 5), ("l+2", 3, -6)]
    assert program.expect.cells[0].location.line == 6 and program.expect.cells[0].location.column == 13


def test_bits_directive_and_override():
    assert subleq(".bits 16\n.data\nx: 30000\n.code\nhalt\n").bits == 16
    assert subleq(".data\nx: 30000\n.code\nhalt\n", bits=16).bits == 16
    with pytest.raises(E.ProgramSizeError, match="the file says .bits 16, but 8 bits"):
        subleq(".bits 16\n.data\nx: 1\n.code\nhalt\n", bits=8)


def test_fleq_defaults_f_to_c_and_p_to_next():
    program = loads_program(".data\na: 1\nb: 2\nc: 0\n.code\ntop: add a b c\nsub a b c a\nlt a b c a top\n"
                            "jmp top\nhalt\n", "fleq")
    z, s = 3, 5
    assert program.code == (F("add", 0, 1, 2, 2, 1), F("sub", 0, 1, 2, 0, 2), F("lt", 0, 1, 2, 0, 0),
                            F("sub", z, z, z, z, 0), F("sub", z, z, z, z, s))
    assert program.functions == ("sub", "add", "lt")


def test_usubleq_layout_and_operand_labels():
    program = loads_program("loop: subleq p:X Z\n subleq ONE p loop\n halt\nX: 7 -7\nONE: 1\nZ: 0\nptr: X\n", "usubleq")
    # cells 0-2, 3-5: the two subleqs; 6-8: halt = subleq __Z __Z -1; 9, 10: X; 11: ONE; 12: Z; 13: ptr; 14: __Z
    assert program.memory == (9, 12, 3, 11, 0, 0, 14, 14, -1, 7, -7, 1, 0, 9, 0)
    assert program.labels["p"] == 0 and program.labels["loop"] == 0 and program.labels["X"] == 9
    assert program.instruction_cells == (0, 3, 6) and program.pc == 0


def test_usubleq_start_directive():
    program = loads_program(".start go\nZ: 0 0 0\ngo: subleq Z Z -1\n", "usubleq")
    assert program.pc == 3


@pytest.mark.parametrize("name, fmt", [
    ("a.subleq", "subleq"), ("a.USUBLEQ", "usubleq"), ("x/a.fleq", "fleq"), ("p_cmds.csv", "official-csv"),
    ("p_init_mem.csv", "official-csv"), ("a.yaml", None), ("a.csv", None)])
def test_detection(name, fmt):
    assert detect_program_format(name) == fmt
    assert is_program_file(name) == (fmt is not None)


def test_unknown_format():
    with pytest.raises(E.FormatError, match="unknown program format 'subleqq'") as caught:
        loads_program("halt\n", "subleqq")
    assert "did you mean 'subleq'?" in caught.value.hint


def test_comments_commas_and_hex():
    program = subleq("; header\n.data\nx: 0x10, -0b11 ; two cells\n.code\nsubleq x, x+1, HALT ; done\n")
    assert program.memory == (16, -3) and program.code == (I(0, 1, 1),)


def test_load_program_reads_files(tmp_path):
    path = tmp_path / "t.subleq"
    path.write_bytes(b"\xef\xbb\xbf.data\r\nx: 1\r\n.code\r\nhalt\r\n")
    program = load_program(path)
    assert program.name == "t" and program.source == str(path) and program.memory == (1, 0)
    path.write_bytes(b".data\nx: \xff\n")
    with pytest.raises(E.AssemblySyntaxError, match="not UTF-8"):
        load_program(path)
