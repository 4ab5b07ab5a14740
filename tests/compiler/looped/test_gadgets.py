"""Gadgets G1–G9 (looped spec §4): exhaustive exactness on small integer ranges, and a hypothesis
property that the derived constants K, C, R keep them exact on random ranges."""

from __future__ import annotations

import itertools
from fractions import Fraction

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from turingformer.compiler.looped.gadgets import (
    FFN, D, P, address_head, clear, constant, equal, passing, relu, select, step, wrap,
)
from turingformer.programs import wrap as wrap_word
from turingformer.runtime.space import Space
from turingformer.runtime.transformer import hardmax

SPACE = Space(("x", "y", "g1", "g2", "out"))
GATES = (("g1",), ("g1", "g2"), ())


def evaluate(ffn: FFN, x: int, y: int, g1: int, g2: int) -> Fraction:
    vec = SPACE.vector({"x": x, "y": y, "g1": g1, "g2": g2})
    return ffn.build()(vec)[SPACE.index("out")]


def grid(rx, ry):
    return itertools.product(range(rx[0], rx[1] + 1), range(ry[0], ry[1] + 1), (0, 1), (0, 1))


def builder(rx, ry) -> FFN:
    return FFN(SPACE, {"x": rx, "y": ry, "g1": (0, 1), "g2": (0, 1), "out": (0, 0)}, "t")


def on(gates, g1, g2) -> bool:
    return all({"g1": g1, "g2": g2}[g] for g in gates)


def test_P_is_the_least_power_of_two_at_least_max_1_x():
    assert [P(x) for x in (-3, 0, 1, 2, 3, 4, 5, 255, 256, 257)] == [1, 1, 1, 2, 4, 4, 8, 256, 256, 512]


@pytest.mark.parametrize("gates", GATES)
def test_step_pass_relu_constant_exhaustive(gates):
    rx, ry = (-9, 9), (-5, 6)
    cases = {
        "step": (lambda f: step(f, "u", D("x") - D("y"), {"out": 1}, gates), lambda x, y: int(x - y >= 1)),
        "pass": (lambda f: passing(f, "u", D("x") + 2 * D("y") - 3, {"out": 1}, gates), lambda x, y: x + 2 * y - 3),
        "relu": (lambda f: relu(f, "u", D("x") - D("y"), {"out": 3}, gates), lambda x, y: 3 * max(x - y, 0)),
        "select": (lambda f: select(f, "u", D("x"), D("y"), {"out": 1}, gates), lambda x, y: x * (y >= 0)),
        "equal": (lambda f: equal(f, "u", D("x") - D("y"), {"out": 1}, gates), lambda x, y: int(x == y)),
    }
    if gates:
        cases["constant"] = (lambda f: constant(f, "u", -7, {"out": 1}, gates), lambda x, y: -7)
    for name, (add, formula) in cases.items():
        f = builder(rx, ry)
        add(f)
        for x, y, g1, g2 in grid(rx, ry):
            want = formula(x, y) if on(gates, g1, g2) else 0
            assert evaluate(f, x, y, g1, g2) == want, (name, gates, x, y, g1, g2)


@pytest.mark.parametrize("bits", [2, 3, 4])
@pytest.mark.parametrize("gates", GATES)
def test_wrap_correction_plus_v_is_wrap_exhaustive(bits, gates):
    W = 2 ** bits
    f = builder((-2 * W, 2 * W), (0, 0))
    wrap(f, "w", D("x"), bits, {"out": 1}, gates)
    for x, _, g1, g2 in grid((-2 * W, 2 * W), (0, 0)):
        want = wrap_word(x, bits) - x if on(gates, g1, g2) else 0
        assert evaluate(f, x, 0, g1, g2) == want


def test_clear_subtracts_the_slot():
    f = FFN(SPACE, {"x": (-6, 9)}, "t")
    clear(f, "x")
    for x in range(-6, 10):
        assert f.build()(SPACE.vector({"x": x}))[SPACE.index("x")] == -x


def test_gated_pass_with_a_proven_tighter_range_stays_zero_when_off():
    # value_range: the range when the gates are on; off, the form may range much wider
    f = builder((-50, 50), (0, 1))
    passing(f, "u", D("x"), {"out": 1}, ("y",), value_range=(-3, 4))
    for x in range(-50, 51):
        assert evaluate(f, x, 0, 0, 0) == 0
    for x in range(-3, 5):
        assert evaluate(f, x, 1, 0, 0) == x


@settings(max_examples=60, deadline=None)
@given(lo=st.integers(-300, 300), width=st.integers(0, 600), ylo=st.integers(-40, 40), ywidth=st.integers(0, 80),
       data=st.data())
def test_constants_derived_from_ranges_keep_gadgets_exact(lo, width, ylo, ywidth, data):
    rx, ry = (lo, lo + width), (ylo, ylo + ywidth)
    f = builder(rx, ry)
    select(f, "s", D("x"), D("y"), {"out": 1}, ("g1", "g2"))
    equal(f, "e", D("x") - D("y"), {"out": 5}, ("g1",))
    relu(f, "r", D("x") + D("y"), {"out": -1}, ("g2",))
    for _ in range(12):
        x = data.draw(st.integers(*rx))
        y = data.draw(st.integers(*ry))
        g1, g2 = data.draw(st.integers(0, 1)), data.draw(st.integers(0, 1))
        want = x * (y >= 0) * g1 * g2 + 5 * (x == y) * g1 - max(x + y, 0) * g2
        assert evaluate(f, x, y, g1, g2) == want


def test_address_head_has_a_unique_zero_score_winner_and_gap_one():
    space = Space(("const:one", "pos:index", "t", "v", "out"))
    head = address_head(space, D("t") + 2, {"v": "out"})
    cols = [space.vector({"const:one": 1, "pos:index": i, "v": 10 * i}) for i in range(8)]
    keys = [head.project_key(c) for c in cols]
    values = [head.project_value(c) for c in cols]
    for t in range(-2, 6):
        q = head.project_query(space.vector({"const:one": 1, "t": t}))
        h = hardmax("abs", q, keys, values)
        assert h.winners == (t + 2,) and h.output == (10 * (t + 2),)
