"""The FLEQ-M reference interpreter (linear-algebra spec §1.5) against hand-computed cases: ties
(round half up, also for negatives), saturation at ±B, the edges of nrm / recip / floor, sub's
order, the step's read-before-write and flag-after-write, and the sigm table against two
independent evaluations (mpmath at 80 digits; a rigorous rational enclosure)."""

from __future__ import annotations

import random
from fractions import Fraction
from math import factorial, floor

import mpmath
import numpy as np
import pytest

from turingformer.errors import ProgramSizeError, UnknownFunctionError, WordRangeError
from turingformer.programs import FleqInstruction as I, FleqM, run, step
from turingformer.programs.fixed import Fixed, decimal_text, pad, rational_text, scalar, sigmoid_word
from turingformer.programs.interpreter import fleqm_function

Q16 = Fixed(16, 8)          # B = 32768, ONE = 256


def f(op: str, x, y=None, *, bits=16, frac=8, k=1):
    """f_op on scalars (k = 1) or matrices."""
    X = x if isinstance(x, tuple) else scalar(x, k)
    Y = (y if isinstance(y, tuple) else scalar(y, k)) if y is not None else X
    out = fleqm_function(op, bits, frac, k)(X, Y)
    return out[0][0] if k == 1 else out


def test_rounding_is_half_up_also_for_negative_values():
    assert [Q16.rnd(v) for v in (128, 127, -128, -129, 384, -384)] == [1, 0, 0, -1, 2, -1]
    assert f("had", 128, 1) == 1 and f("had", -128, 1) == 0      # ±½ ulp: rnd(−x) ≠ −rnd(x) on ties
    assert f("smul", 384, 1) == 2 and f("smul", -384, 1) == -1    # 1.5 ulp, −1.5 ulp


def test_saturation_never_wraps():
    B = Q16.B
    assert f("add", B - 1, 1) == B - 1 and f("add", -B, -1) == -B
    assert f("sub", 1, -B) == -B and f("sub", -1, B - 1) == B - 1
    assert f("neg", -B) == B - 1 and f("abs", -B) == B - 1 and f("neg", B - 1) == -B + 1
    assert f("shl3", 4096) == B - 1 and f("shl3", -4096) == -B and f("shl3", -4095) == -32760
    assert f("mm", -B, -B) == B - 1 and f("had", -B, B - 1) == -B
    assert f("amax", -B) == B - 1


def test_sub_keeps_fleq_order_y_minus_x():
    assert f("sub", 256, 1024) == 768 and f("lt", 1, 2) == 256 and f("lt", 2, 1) == 0 and f("eq", 5, 5) == 256


def test_recip_edges_and_every_q16_word_against_exact_rounding():
    B = Q16.B
    assert f("recip", 0) == B - 1 and f("recip", 1) == B - 1 and f("recip", 2) == B - 1   # 256 and 128 saturate
    assert f("recip", 256) == 256 and f("recip", -256) == -256 and f("recip", 512) == 128
    assert f("recip", 3) == 21845 and f("recip", -3) == -21845 and f("recip", 640) == 102     # 102.4
    assert f("recip", -B) == -2
    for q in [*range(-1024, 1024), *random.Random(1).sample(range(-B, B), 1000)]:
        if q:
            assert f("recip", q) == Q16.sat(floor(Fraction(2 ** 16, q) + Fraction(1, 2))), q


def test_nrm_normalises_into_half_one_unless_clamped():
    B = Q16.B
    assert f("nrm", 0) == 2 ** 14 and f("nrm", 1) == 2 ** 14 and f("nrm", -B) == 1 and f("nrm", 256) == 128
    for q in range(-B, B, 7):
        s = f("nrm", q)
        assert s & (s - 1) == 0 and 1 <= s <= 2 ** 14
        if q and 1 < s < 2 ** 14:
            assert Fraction(1, 2) <= Fraction(abs(q) * s, 2 ** 16) < 1, q


def test_floor_is_the_integer_part_towards_minus_infinity():
    assert [f("floor", q) for q in (640, 256, 255, 0, -1, -256, -257)] == [512, 256, 0, 0, -256, -256, -512]


def test_elementwise_functions_and_their_zero_padding():
    X, Y = pad([[256, -512], [3, 0]], 2), pad([[-256, -256], [5, 7]], 2)
    assert f("max", X, Y, k=2) == ((256, -256), (5, 7)) and f("min", X, Y, k=2) == ((-256, -512), (3, 0))
    assert f("relu", X, k=2) == ((256, 0), (3, 0)) and f("pos", X, k=2) == ((256, 0), (256, 0))
    assert f("tr", X, k=2) == ((256, 3), (-512, 0))
    assert f("sigm", X, k=2)[1][1] == 128                    # sigm(0) = ½: the padding becomes ½
    assert f("lt", X, Y, k=2) == scalar(0, 2) and f("amax", X, k=2) == scalar(512, 2)


def test_products_round_once():
    # mm: the exact dot product, rounded once; per-term rounding would give 0 + 0 = 0
    X, Y = pad([[128, 128]], 2), pad([[1], [1]], 2)           # ½·(1/256) + ½·(1/256) = 1/256
    assert f("mm", X, Y, k=2)[0][0] == 1 and f("had", 128, 1) == 1 and f("had", 127, 1) == 0
    A, B = pad([[256, 512], [768, 1024]], 2), pad([[1280, 1536], [1792, 2048]], 2)   # [[1,2],[3,4]]·[[5,6],[7,8]]
    assert f("mm", A, B, k=2) == ((19 * 256, 22 * 256), (43 * 256, 50 * 256))
    assert f("smul", pad([[512, 99]], 2), A, k=2) == ((512, 1024), (1536, 2048))       # only X(0,0) counts
    assert f("had", A, B, k=2) == ((5 * 256, 12 * 256), (21 * 256, 32 * 256))


def program(code, memory, **kw):
    return FleqM(bits=16, frac=8, k=1, memory=[scalar(v, 1) for v in memory],
                 code=[I(*c) for c in code], **kw)


def test_operands_are_read_before_the_write_and_the_flag_after_it():
    # mem[0] = mem[0] + mem[0]; the flag of cell 0 (the result) decides: 2·(−1) ≤ 0 jumps to 0... then −4, −8
    p = program([("add", 0, 0, 0, 0, 1), ("sub", 1, 1, 1, 1, 1)], [-256, 5])
    pc, mem = step(p, 0, p.memory)
    assert pc == 1 and mem[0] == ((-512,),)
    # f ≠ c: the flag reads another cell (5 > 0: fall through)
    p = program([("mov", 0, 0, 0, 1, 0)], [7, 5])
    assert step(p, 0, p.memory)[0] == 1


def test_halting_is_a_fixpoint_and_jumping_to_s_halts():
    p = program([("sub", 0, 0, 0, 0, 2), ("mov", 1, 1, 1, 1, 0)], [1, 2])
    t = run(p)
    assert t.halted and t.steps == 1 and t.final.memory == (((0,),), ((2,),))
    assert step(p, 2, t.final.memory) == (2, t.final.memory)


def test_the_program_refuses_what_the_machine_cannot_hold():
    with pytest.raises(ProgramSizeError, match="F must be in"):
        FleqM(bits=16, frac=15, memory=[((0,),)], code=[I("mov", 0, 0, 0, 0, 1)])
    with pytest.raises(WordRangeError, match=r"entry \(0, 0\) holds 40000"):
        FleqM(bits=16, frac=8, memory=[((40000,),)], code=[I("mov", 0, 0, 0, 0, 1)])
    with pytest.raises(ProgramSizeError, match="not a 2×2 matrix"):
        FleqM(bits=16, frac=8, k=2, memory=[((0,),)], code=[I("mov", 0, 0, 0, 0, 1)])
    with pytest.raises(UnknownFunctionError, match="exists only for N <= 16"):
        FleqM(bits=24, frac=16, memory=[((0,),)], code=[I("recip", 0, 0, 0, 0, 1)])
    with pytest.raises(UnknownFunctionError, match="unknown FLEQ-M function 'shl0'"):
        FleqM(bits=16, frac=8, memory=[((0,),)], code=[I("shl0", 0, 0, 0, 0, 1)])
    p = FleqM(bits=16, frac=8, memory=[((0,),)], code=[I("smul", 0, 0, 0, 0, 1), I("shl2", 0, 0, 0, 0, 2),
                                                        I("mov", 0, 0, 0, 0, 3), I("shl1", 0, 0, 0, 0, 3)])
    assert p.functions == ("mov", "shl1", "shl2", "smul")


def test_decimal_and_rational_texts_are_exact():
    assert [decimal_text(q, 8) for q in (384, -2, 0, 256)] == ["1.5", "-0.0078125", "0", "1"]
    assert [rational_text(r) for r in (Fraction(29, 10), Fraction(9, 13), Fraction(-1, 8))] == ["2.9", "9/13", "-0.125"]


# ---------------------------------------------------------------------------- sigm's table
GRID = 2 ** 160


def outward(lo: Fraction, hi: Fraction) -> tuple[Fraction, Fraction]:
    """[lo, hi] widened to the grid 2^-160 (keeps the rationals small, stays rigorous)."""
    return Fraction(floor(lo * GRID), GRID), Fraction(-floor(-hi * GRID), GRID)


def exp_enclosure(u: Fraction, terms: int = 36) -> tuple[Fraction, Fraction]:
    """A rigorous rational interval around e^u for |u| ≤ 1 (Taylor with a Lagrange remainder bound)."""
    total, term = Fraction(0), Fraction(1)
    for n in range(terms):
        total += term
        term = term * u / (n + 1)
    remainder = Fraction(3) * abs(u) ** terms / factorial(terms)      # e^|u| ≤ 3 for |u| ≤ 1
    return outward(total - remainder, total + remainder)


def sigm_rigorous(q: int, frac: int) -> int:
    """⌊2^F σ(q/2^F) + ½⌋ from an enclosure of e^(−q/2^F) (halve into |u| ≤ 1, then square back)."""
    u, squarings = Fraction(-q, 2 ** frac), 0
    while abs(u) > 1:
        u, squarings = u / 2, squarings + 1
    lo, hi = exp_enclosure(u)
    for _ in range(squarings):
        lo, hi = outward(lo * lo, hi * hi)
    values = [Fraction(2 ** frac) / (1 + e) + Fraction(1, 2) for e in (hi, lo)]   # decreasing in e
    floors = {floor(v) for v in values}
    assert len(floors) == 1, f"the enclosure of sigm({q}) straddles an integer"
    return floors.pop()


def test_sigm_q16_8_equals_float64_where_it_is_certain_and_mpmath_elsewhere():
    q = np.arange(-32768, 32768)
    v = 256.0 / (1.0 + np.exp(-q / 256.0)) + 0.5                  # error < 1e-12 here
    margin = np.abs(v - np.round(v))
    certain = margin > 1e-9
    table = np.array([sigmoid_word(int(x), 8) for x in q])
    assert (table[certain] == np.floor(v[certain])).all()
    doubtful = q[~certain]
    assert len(doubtful) < 10                                        # q = 0 (the tie) and a few more
    for x in doubtful.tolist():
        with mpmath.workdps(60):
            want = int(mpmath.floor(256 / (1 + mpmath.exp(-mpmath.mpf(x) / 256)) + mpmath.mpf(1) / 2))
        assert sigmoid_word(x, 8) == want, x
    assert (np.diff(table) >= 0).all() and (np.diff(table) <= 1).all() and table[0] == 0 and table[-1] == 256


def test_sigm_equals_a_rigorous_rational_enclosure():
    r = random.Random(7)
    q = np.arange(-32768, 32768)
    v = 256.0 / (1.0 + np.exp(-q / 256.0)) + 0.5
    nearest = q[np.argsort(np.abs(v - np.round(v)))][1:13].tolist()   # the words nearest a boundary (not 0)
    for x in [*nearest, *r.sample(range(-32768, 32768), 12), 1, -1, 32767, -32768]:
        assert sigmoid_word(x, 8) == sigm_rigorous(x, 8), x
    for frac in (2, 4, 6):
        assert all(sigmoid_word(x, frac) == sigm_rigorous(x, frac) for x in range(-128, 128, 5))
