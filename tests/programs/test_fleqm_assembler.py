"""The ``.fleqm`` assembler (linear-algebra spec §4.1): literals converted by the rounding of §1.1,
vectors and matrices padded into k×k cells, the literal cells and ``__Z``, macros with ``$`` local
labels, the built-in macros, ``.expect`` in its four forms, and one located error with a fix for
every mistake."""

from __future__ import annotations

from fractions import Fraction

import pytest

from turingformer import errors as E
from turingformer.programs import FleqInstruction as I, run
from turingformer.programs.formats import detect_program_format, load_program, loads_program


def asm(body: str, **kw):
    return loads_program(body, "fleqm", filename="t.fleqm", **kw)


def test_literals_follow_the_rounding_of_the_spec():
    p = asm(".bits 16\n.frac 8\n.data\n"
            "x: 1.5 -0.25 1/3 1e-3 40u -3u 1/512 -1/512 3/512 -3/512 127.99\n.code\nhalt\n")
    assert [c[0][0] for c in p.memory[:11]] == [384, -64, 85, 0, 40, -3, 1, 0, 2, -1, 32765]
    # 1/3·256 = 85.33 → 85; ½ ulp rounds up, −½ ulp rounds up to 0; 1.5 ulp → 2, −1.5 ulp → −1


def test_vectors_are_columns_matrices_are_rows_and_both_are_padded():
    p = asm(".k 3\n.data\nv: [1, 2]\nm: [[1, 2], [3, 4]]\nr: [[1, 1, 1]]\nw: raw [[5, -6]]\n.code\nhalt\n")
    v, m, r, w = p.memory[:4]
    assert v == ((256, 0, 0), (512, 0, 0), (0, 0, 0))
    assert m == ((256, 512, 0), (768, 1024, 0), (0, 0, 0))
    assert r == ((256, 256, 256), (0, 0, 0), (0, 0, 0)) and w == ((5, -6, 0), (0, 0, 0), (0, 0, 0))
    assert p.k == 3 and p.bits == 16 and p.frac == 8          # the defaults: Q16.8


def test_layout_data_cells_then_literal_cells_then_zero():
    p = asm(".data\na: 1\n.cells t u\nb: 2\n.code\nadd #0.5 a t\nsub #1/2 b u\nmov #2u a\njmp 0\n")
    assert p.labels == {"a": 0, "t": 1, "u": 2, "b": 3, "#0.5": 4, "#2u": 5, "__Z": 6}
    assert [c[0][0] for c in p.memory] == [256, 0, 0, 512, 128, 2, 0]
    assert p.code[:3] == (I("add", 4, 0, 1, 1, 1), I("sub", 4, 3, 2, 2, 2), I("mov", 5, 5, 0, 0, 3))
    assert p.code[3] == I("sub", 6, 6, 6, 6, 0)


def test_unary_and_binary_defaults_and_the_built_in_macros():
    p = asm(".data\nx: 1\ny: 2\n.code\ntop: neg x y\nneg x y x\nneg x y x top\nmax x y y y HALT\n"
            "jle x top\nhalt\nshl3 x x\n")
    assert p.code == (I("neg", 0, 0, 1, 1, 1), I("neg", 0, 0, 1, 0, 2), I("neg", 0, 0, 1, 0, 0),
                      I("max", 0, 1, 1, 1, 7), I("mov", 0, 0, 0, 0, 0), I("sub", 2, 2, 2, 2, 7),
                      I("shl3", 0, 0, 0, 0, 7))


def test_macros_substitute_words_and_number_their_local_labels():
    text = """.data
a: 3
b: 0
.cells t
.macro DOWN x
lp$: sub #1 x x x out$
    jmp lp$
out$:
.endm
.macro TWICE x y
    DOWN x
    DOWN y
.endm
.code
start: TWICE a b
    halt
"""
    p = asm(text)
    assert p.code_labels["start"] == 0
    assert {name for name in p.code_labels} >= {"lp2", "out2", "lp3", "out3"}
    assert p.code[0] == I("sub", 3, 0, 0, 0, 2) and p.code[1].p == 0 and p.code[2].p == 4
    assert run(p).final.memory[0] == ((0,),)


def test_expect_forms_and_how_they_fail():
    text = """.data
x: 1.5
m: [[1, 2], [3, 4]]
.code
halt
.expect steps = 1, x = 1.5
.expect raw m = [[256, 512], [768, 1024]]
.expect x ~ 1.49 tol 0.02, m ~ [[1, 2], [3, 4]] tol 0
"""
    p = asm(text.replace(".data", ".k 2\n.data"))
    trace = run(p)
    assert p.expect.steps == 1 and len(p.expect.cells) == 4
    assert p.expect.failures(trace.steps, trace.halted, trace.final.memory) == ()
    assert p.expect.cells[2].tolerance == Fraction(1, 50)
    wrong = asm(text.replace(".data", ".k 2\n.data").replace("x ~ 1.49 tol 0.02", "x ~ 1.4 tol 0.02")
                .replace("steps = 1, x = 1.5", "x = 1.25"))
    failures = wrong.expect.failures(trace.steps, trace.halted, trace.final.memory)
    assert failures == ("x = 1.25 (raw 320) expected, got 1.5",
                        "x ~ 1.4 tol 0.02 expected, got 1.5 (off by 0.1)")


def test_the_format_is_detected_from_the_suffix():
    assert detect_program_format("x/inv3.fleqm") == "fleqm" and detect_program_format("a.fleq") == "fleq"
    assert loads_program(".data\nx: 1\n.code\nhalt\n", "fleq-m").kind.value == "fleq-m"


# ---------------------------------------------------------------------------- one located error per mistake
ERRORS = [
    # (source, error, line, column, phrase)
    (".data\nx: 200\n.code\nhalt\n", E.WordRangeError, 2, 4, "the literal 200 does not fit a Q16.8 word"),
    (".data\nx: 40000u\n.code\nhalt\n", E.WordRangeError, 2, 4, "the literal 40000u does not fit"),
    (".k 2\n.data\nm: [[1, 2, 3]]\n.code\nhalt\n", E.CellShapeError, 3, 4, "a 1×3 matrix does not fit a 2×2 cell"),
    (".k 2\n.data\nv: [1, 2, 3]\n.code\nhalt\n", E.CellShapeError, 3, 4, "a vector of 3 entries does not fit"),
    (".k 2\n.data\nm: [[1, 2], [3]]\n.code\nhalt\n", E.CellShapeError, 3, 4, "rows of this matrix have [1, 2] entries"),
    (".k 2\n.data\nm: [[1, 2]\n.code\nhalt\n", E.AssemblySyntaxError, 3, 9, "the line ends where ']' was expected"),
    (".data\nx: 1.5.2\n.code\nhalt\n", E.AssemblySyntaxError, 2, 4, "'1.5.2' is not a number"),
    (".data\nx: 1/0\n.code\nhalt\n", E.AssemblySyntaxError, 2, 4, "divides by zero"),
    (".data\nx: 1e999\n.code\nhalt\n", E.AssemblySyntaxError, 2, 4, "the exponent of '1e999' is beyond"),
    (".data\nx: 1\n.code\nmmul x x x\n", E.AssemblySyntaxError, 4, 1, "unknown instruction 'mmul'"),
    (".data\nx: 1\n.code\nshl0 x x\n", E.AssemblySyntaxError, 4, 1, "unknown instruction 'shl0'"),
    (".bits 24\n.frac 16\n.data\nx: 1\n.code\nrecip x x\n", E.ProgramSizeError, 6, 1, "exists only for N <= 16"),
    (".data\nx: 1\n.code\nmov x+3 x\n", E.AddressError, 4, 5, "operand 'x+3' is cell 3"),
    (".data\nx: 1\n.code\nadd x x\n", E.OperandCountError, 4, 1, "add takes 3 to 5 operands, got 2"),
    (".k 2\n.data\nm: [[1, 2], [3, 4]]\nx: 1\n.code\nrecip m x\n", E.CellShapeError, 6, 7,
     "recip reads only entry (0, 0) of its operand, but 'm' is a matrix 2×2"),
    (".k 2\n.data\nv: [1, 2]\nx: 1\n.code\nsmul v x x\n", E.CellShapeError, 6, 6, "the scalar factor, but 'v' is a vector"),
    (".data\nx: 1\n.code\nadd #[1] x x\n", E.CellShapeError, 4, 5, "the literal operand '#[1]' is not a scalar"),
    (".bits 16\n.frac 15\n.data\nx: 1\n.code\nhalt\n", E.ProgramSizeError, 2, 7, "F must be in [1, 14]"),
    (".bits 16\n.bits 8\n", E.AssemblySyntaxError, 2, 1, ".bits is given twice"),
    (".bits 3\n", E.ProgramSizeError, 1, 7, "FLEQ-M words have 4 to 64 bits"),
    (".k 0\n", E.ProgramSizeError, 1, 4, "cells are k×k with 1 <= k <= 16"),
    (".kk 2\n", E.AssemblySyntaxError, 1, 1, "unknown directive '.kk'"),
    (".endm\n", E.AssemblySyntaxError, 1, 1, ".endm without .macro"),
    (".macro M x\nmov x x\n", E.AssemblySyntaxError, 1, 1, "macro M has no .endm"),
    (".macro M x\nM x\n.endm\n.data\nx: 1\n.code\nM x\n", E.AssemblySyntaxError, 2, 1, "macro M invokes itself"),
    (".macro M x\nmov x y\n.endm\n.data\nx: 1\n.code\nM x x\n", E.OperandCountError, 7, 1, "macro M takes 1 operands, got 2"),
    (".macro M x\nmov x yy\n.endm\n.data\nx: 1\n.code\nM x\n", E.UnknownLabelError, 2, 7,
     "unknown label 'yy' (in macro M, used at line 7)"),
    (".macro mm x\n.endm\n", E.DuplicateLabelError, 1, 8, "macro 'mm' is the name of an instruction"),
    (".data\nx: 1\n.code\nl$: halt\n", E.AssemblySyntaxError, 4, 1, "'$' belongs in a macro body"),
    (".data\nx: 1\n.code\nhalt\n.expect x ~ 1\n", E.AssemblySyntaxError, 5, 13, "the line ends where 'tol' was expected"),
    (".data\nx: 1\n.code\nhalt\n.expect x ~ 1 tol -1\n", E.AssemblySyntaxError, 5, 19, "a negative tolerance"),
    (".data\nx: 1\n.code\nhalt\n.expect y = 1\n", E.UnknownLabelError, 5, 9, "unknown label 'y'"),
    (".data\nx: 1\n.code\nhalt\n.expect x = 300\n", E.WordRangeError, 5, 13, "the literal 300 does not fit"),
]


@pytest.mark.parametrize("text, error, line, column, phrase", ERRORS, ids=[e[4][:40] for e in ERRORS])
def test_every_mistake_is_one_located_error_with_a_fix(text, error, line, column, phrase):
    with pytest.raises(E.ProgramError) as caught:
        asm(text)
    found = caught.value
    assert type(found) is error, found
    assert phrase in found.message, found.message
    assert found.hint, "every error says how to fix it"
    assert (found.location.file, found.location.line, found.location.column) == ("t.fleqm", line, column)


def test_a_file_error_names_the_file(tmp_path):
    path = tmp_path / "bad.fleqm"
    path.write_text(".data\nx: 1\n.code\nfoo x\n")
    with pytest.raises(E.AssemblySyntaxError, match=r"bad\.fleqm:4:1: unknown instruction 'foo'"):
        load_program(path)
