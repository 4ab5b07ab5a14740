"""The clip-form gadgets of linear-algebra spec §2.1, exhaustively: for every integer assignment of
their inputs in small ranges (and every gate value) the read-outs Σ ρ·clip(t, 0, cap) equal the
gadget's value exactly; units with the same (t, cap) merge; the weights built from a layer are
W₁ = coef/cap, W₂ = ρ·cap."""

from __future__ import annotations

import itertools
from fractions import Fraction

import pytest

from turingformer.compiler.fixedpoint import gadgets as G
from turingformer.compiler.fixedpoint.gadgets import D, Layer, changes
from turingformer.runtime.space import Space

RANGES = {"a": (-9, 9), "b": (-5, 7), "g": (0, 1), "h": (0, 1)}


def grid(names):
    values = [range(RANGES[n][0], RANGES[n][1] + 1) for n in names]
    return [dict(zip(names, combo)) for combo in itertools.product(*values)]


def evaluate(layer: Layer, point: dict, out: str = "o") -> int:
    total = layer.bias.get(out, 0)
    for unit in layer.units.values():
        t = unit.t.const + sum(c * point[n] for n, c in unit.t.terms.items())
        total += unit.readout.get(out, 0) * min(max(t, 0), unit.cap)
    return total


GATED = [((), ()), (("g",), ()), ((), ("h",)), (("g",), ("h",))]


def gates_on(point, gates, negated):
    return all(point[g] == 1 for g in gates) and all(point[h] == 0 for h in negated)


@pytest.mark.parametrize("gates, negated", GATED)
def test_step_relu_pass_constant(gates, negated):
    for name, build, value in [
        ("step", lambda L: G.step(L, "s", D("a") - D("b"), {"o": 3}, gates, negated), lambda p: 3 * (p["a"] - p["b"] >= 1)),
        ("relu", lambda L: G.relu(L, "r", D("a") + 2 * D("b"), {"o": -2}, gates, negated),
         lambda p: -2 * max(p["a"] + 2 * p["b"], 0)),
        ("pass", lambda L: G.passing(L, "p", D("a") - D("b") + 4, {"o": 5}, gates, negated),
         lambda p: 5 * (p["a"] - p["b"] + 4)),
        ("const", lambda L: G.constant(L, "c", -7, {"o": 1}, gates, negated), lambda p: -7),
    ]:
        layer = Layer("t", RANGES)
        build(layer)
        for p in grid(["a", "b", "g", "h"]):
            want = value(p) if gates_on(p, gates, negated) else 0
            assert evaluate(layer, p) == want, (name, p)


@pytest.mark.parametrize("gates, negated", GATED)
def test_select_equal_saturate(gates, negated):
    cases = [
        (lambda L: G.select(L, "x", D("a"), D("b") - 2, {"o": 1}, gates, negated), lambda p: p["a"] * (p["b"] >= 2)),
        (lambda L: G.equal(L, "e", D("a") - D("b"), {"o": 4}, gates, negated), lambda p: 4 * (p["a"] == p["b"])),
        (lambda L: G.saturate(L, "s", D("a") + D("b"), 8, {"o": 1}, gates, negated),
         lambda p: min(max(p["a"] + p["b"], -8), 7)),
    ]
    for build, value in cases:
        layer = Layer("t", RANGES)
        build(layer)
        for p in grid(["a", "b", "g", "h"]):
            assert evaluate(layer, p) == (value(p) if gates_on(p, gates, negated) else 0), p


def test_table_and_its_change_points():
    f = lambda q: (q * q) // 7 - (3 if q > 2 else 0)                  # not monotone: given in monotone pieces
    base, steps = f(-9), changes(f, [(-9, 0), (1, 2), (3, 9)])
    assert steps == [(t, f(t) - f(t - 1)) for t in range(-8, 10) if f(t) != f(t - 1)]
    layer = Layer("t", RANGES)
    G.table(layer, "f", D("a"), base, steps, (-9, 9), {"o": 1}, gates=("g",))
    for p in grid(["a", "g"]):
        assert evaluate(layer, {**p, "b": 0, "h": 0}) == (f(p["a"]) if p["g"] else 0)
    # the steps share one penalty constant: their linear parts (t minus its constant) coincide
    linear = {tuple(sorted(u.t.terms.items())) for u in layer.units.values() if u.cap == 1 and "a" in u.t.terms}
    assert len(linear) == 1


def test_clear_and_proved_ranges():
    layer = Layer("t", RANGES)
    G.clear(layer, "a")
    assert all(evaluate(layer, p, "a") == -p["a"] for p in grid(["a"]))
    # a relu whose argument is proved to lie in [−3, 2] (the form's interval is wider) gets cap P(2)
    layer = Layer("t", RANGES)
    G.relu(layer, "r", D("a") - D("b"), {"o": 1}, ("g",), vrange=(-3, 2))
    (unit,) = layer.units.values()
    assert unit.cap == 2


def test_units_merge_and_weights_are_coef_over_cap_and_rho_times_cap():
    layer = Layer("t", RANGES)
    G.relu(layer, "one", D("a") - 3, {"o": 1})
    G.relu(layer, "two", D("a") - 3, {"o": 2, "p": -1})
    assert len(layer) == 1 and next(iter(layer.units.values())).readout == {"o": 3, "p": -1}
    mlp = layer.build(Space(("a", "b", "o", "p")))
    first, second = mlp.layers
    assert first.named_weights()[0][2] == Fraction(1, 8) and first.named_bias()[0][1] == Fraction(-3, 8)   # cap P(6)
    assert sorted((d, w) for _, d, w in second.named_weights()) == [("o", 24), ("p", -8)]
    with pytest.raises(ValueError, match="not a power of two"):
        layer.unit("bad", D("a"), 3, {"o": 1})
    with pytest.raises(ValueError, match="must be an integer"):
        D("a") * Fraction(1, 2)
