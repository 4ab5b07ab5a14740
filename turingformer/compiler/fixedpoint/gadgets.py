"""Clip-form σ units and the gadgets of linear-algebra spec §2.1 (LC §4 in clip form).

Every hidden unit is ``ρ·clip(t, 0, s)``: t an integer-valued affine :class:`~..looped.gadgets.Form`
of the residual with integer coefficients, s > 0 its own **cap** (a power of two), ρ an integer
read-out per target dimension. As transformer weights: W₁ row = coef/s, b₁ = const/s,
σ = min(1, max(0, ·)), W₂ = ρ·s (all dyadic), so σ(t/s)·s = clip(t, 0, s) exactly. Units with the
same (t, s) are **merged** (their read-outs add).

Gates are 0/1 quantities (a dimension, or a form such as Σ of some one-hots); the **penalty** of
gates g and negated gates h is π = Σ(1 − g) + Σh: 0 when every g is 1 and every h is 0, ≥ 1
otherwise. A gated unit subtracts K·π from t with K at least the largest t it could have, so it
is 0 whenever a gate is off. Constants are derived from the **value ranges** of the arguments
(:attr:`Layer.ranges`, LC §12.3), or from a range the caller proves (``vrange``: e.g. a digit's
remainder form, whose interval bound is loose, spec §7.7). A caller may pass one penalty ``K``
for a group of units (a staircase of thresholds, the V units of one digit product) so that the
group's rows share their linear part and the runtime computes it once.

=============  =======================================  ================================
gadget         units (t, cap)                           value (gates on; 0 otherwise)
=============  =======================================  ================================
:func:`step`   (v − Kπ, 1)                              [v ≥ 1]
:func:`relu`   (v − Kπ, C), C = P(max v)                max(v, 0)
:func:`passing`  (v − lo − Kπ, R) + lo·[gates]          v, for v ∈ [lo, hi], R = P(hi − lo)
:func:`select` relu(x − lo + K e) − K relu(e) + lo·step(e + 1)   x·[e ≥ 0]
:func:`equal`  step(u + 1) + step(1 − u) − [gates]      [u = 0]
:func:`table`  f(lo)·[gates] + Σ Δf(t)·step(x − t + 1)  f(x) for x ∈ [lo, hi] (:func:`changes`)
:func:`saturate`  −B·[gates] + relu(v + B) − relu(v − B + 1)   sat(v) = min(max(v, −B), B − 1)
:func:`clear`  pass of the dimension, ρ = −1            the dimension becomes 0
=============  =======================================  ================================

Invariant: for every integer assignment of the dimensions within their ranges the read-outs of a
gadget's units equal its value column exactly (tests/compiler/fixedpoint/test_gadgets.py).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from fractions import Fraction
from typing import Callable, Mapping, Sequence

from ...runtime.space import Linear, Space
from ...runtime.transformer import MLP
from ..looped.gadgets import LinearArithmetic, P

Ranges = Mapping[str, tuple[int, int]]


class Form(LinearArithmetic):
    """Σ coef·x[dim] + const with **integer** coefficients (the clip form needs integers; the
    looped constructions' rational Form would cost a Fraction per operation at these sizes)."""

    __slots__ = ("terms", "const")

    def __init__(self, terms: Mapping[str, int] | None = None, const: int = 0):
        self.terms: dict[str, int] = dict(terms) if terms else {}
        self.const = const

    def shifted(self, delta: int) -> "Form":
        """The same form plus the constant ``delta`` (the terms are shared: forms are never mutated)."""
        out = Form.__new__(Form)
        out.terms, out.const = self.terms, self.const + int(delta)
        return out

    @classmethod
    def of(cls, value) -> "Form":
        if isinstance(value, Form):
            return value
        if isinstance(value, str):
            return cls({value: 1})
        if int(value) != value:
            raise ValueError(f"a clip-form constant must be an integer, got {value}")
        return cls(None, int(value))

    def _combine(self, other, sign: int) -> "Form":
        if not isinstance(other, (Form, str)):
            return self.shifted(sign * Form.of(other).const)
        other = Form.of(other)
        terms = dict(self.terms)
        for name, c in other.terms.items():
            total = terms.get(name, 0) + sign * c
            if total:
                terms[name] = total
            else:
                terms.pop(name, None)
        return Form(terms, self.const + sign * other.const)

    def __mul__(self, k: int) -> "Form":
        if int(k) != k:
            raise ValueError(f"a clip-form coefficient must be an integer, got {k}")
        k = int(k)
        return Form({n: c * k for n, c in self.terms.items()} if k else None, self.const * k)

    __rmul__ = __mul__

    def key(self) -> tuple:
        return tuple(sorted(self.terms.items())), self.const

    def bounds(self, ranges: Ranges) -> tuple[int, int]:
        """The interval of the form when every dimension ranges over ``ranges``."""
        lo = hi = self.const
        for name, c in self.terms.items():
            a, b = ranges[name]
            lo += min(c * a, c * b)
            hi += max(c * a, c * b)
        return lo, hi

    def __repr__(self) -> str:
        return " + ".join([*(f"{c}·{n}" for n, c in self.terms.items()), str(self.const)])


def D(name: str) -> Form:
    """The form reading one dimension."""
    return Form({name: 1})


def form(value) -> Form:
    """A dimension name, a number or a Form, as a Form."""
    return Form.of(value)


def penalty(gates: Sequence = (), negated: Sequence = ()) -> Form:
    """π = Σ(1 − g) + Σh (0 when every gate is on and every negated gate off, ≥ 1 otherwise)."""
    total = Form()
    for g in gates:
        total = total + 1 - form(g)
    for h in negated:
        total = total + form(h)
    return total


@dataclass
class Unit:
    """ρ·clip(t, 0, cap) into each dimension of ``readout`` (label: who made it first)."""

    label: str
    t: Form
    cap: int
    readout: dict[str, int]


@dataclass
class Layer:
    """One σ layer under construction (an FFN of the loop): clip-form units merged by (t, cap),
    and an output bias. ``ranges`` bounds every dimension its units read, in every column."""

    name: str
    ranges: Ranges
    units: dict[tuple, Unit] = field(default_factory=dict)
    bias: dict[str, int] = field(default_factory=dict)
    _penalties: dict[tuple, Form] = field(default_factory=dict, repr=False)

    def penalty(self, gates: Sequence = (), negated: Sequence = ()) -> Form:
        """:func:`penalty`, built once per gate list in this layer."""
        key = (tuple(g if isinstance(g, str) else g.key() for g in gates),
               tuple(h if isinstance(h, str) else h.key() for h in negated))
        found = self._penalties.get(key)
        if found is None:
            found = self._penalties[key] = penalty(gates, negated)
        return found

    def unit(self, label: str, t: Form, cap: int, readout: Mapping[str, int]) -> None:
        """Add ρ·clip(t, 0, cap); a unit with the same (t, cap) gets the read-outs added."""
        if cap < 1 or cap & (cap - 1):
            raise ValueError(f"{label}: the cap {cap} is not a power of two")
        key = (t.key(), cap)
        unit = self.units.get(key)
        if unit is None:
            unit = self.units[key] = Unit(f"{self.name}:{label}", t, cap, {})
        for dim, rho in readout.items():
            if rho != int(rho):
                raise ValueError(f"{label}: the read-out {rho} into {dim} is not an integer")
            unit.readout[dim] = unit.readout.get(dim, 0) + int(rho)

    def add_bias(self, readout: Mapping[str, int]) -> None:
        for dim, value in readout.items():
            self.bias[dim] = self.bias.get(dim, 0) + int(value)

    def bounds(self, v: Form) -> tuple[int, int]:
        return v.bounds(self.ranges)

    def __len__(self) -> int:
        return len(self.units)

    def build(self, space: Space) -> MLP:
        """The σ-net W₂ σ(W₁ x + b₁) + b₂ of the units (W₁ = coef/cap, b₁ = const/cap, W₂ = ρ·cap).

        Every (input, unit) and (unit, output) entry is unique (units are merged), so the exact
        sparse maps are built directly from their sorted entries."""
        units = list(self.units.values())
        hidden = Space(tuple(f"{u.label}#{i}" for i, u in enumerate(units)))
        index, numbers = space.index, {}

        def exact(p: int, q: int = 1) -> Fraction:            # the same few weights recur thousands of times
            key = (p, q)
            if key not in numbers:
                numbers[key] = Fraction(p, q)
            return numbers[key]

        first, b1, second = [], [], []
        for h, u in enumerate(units):
            for dim, c in u.t.terms.items():
                first.append((index(dim), h, exact(c, u.cap)))
            if u.t.const:
                b1.append((h, exact(u.t.const, u.cap)))
            for dim, rho in u.readout.items():
                if rho:
                    second.append((h, index(dim), exact(rho * u.cap)))
        bias = tuple(sorted((index(dim), Fraction(v)) for dim, v in self.bias.items() if v))
        return MLP((Linear(space, hidden, tuple(sorted(first)), tuple(b1)),
                    Linear(hidden, space, tuple(sorted(second)), bias)))


def _scaled(readout: Mapping[str, int], k: int) -> dict[str, int]:
    return {dim: rho * k for dim, rho in readout.items()}


def _gated(gates: Sequence, negated: Sequence) -> bool:
    return bool(gates) or bool(negated)


def step(layer: Layer, label: str, v: Form, readout: Mapping[str, int], gates: Sequence = (),
         negated: Sequence = (), *, K: int | None = None) -> None:
    """[v ≥ 1 ∧ gates] (v integer-valued): the unit (v − K·π, 1), K = P(max v) unless given."""
    K = (K if K is not None else P(layer.bounds(v)[1])) if _gated(gates, negated) else 0
    layer.unit(label, v - K * layer.penalty(gates, negated) if K else v, 1, readout)


def relu(layer: Layer, label: str, v: Form, readout: Mapping[str, int], gates: Sequence = (),
         negated: Sequence = (), *, vrange: tuple[int, int] | None = None, K: int | None = None) -> None:
    """max(v, 0)·[gates]: the unit (v − K·π, C), C = P(max v) (from ``vrange`` when given), K ≥ C."""
    hi = vrange[1] if vrange is not None else layer.bounds(v)[1]
    C = P(hi)
    K = max(K or 0, C) if _gated(gates, negated) else 0
    layer.unit(label, v - K * layer.penalty(gates, negated) if K else v, C, readout)


def constant(layer: Layer, label: str, c: int, readout: Mapping[str, int], gates: Sequence = (),
             negated: Sequence = ()) -> None:
    """c·[gates]: an output bias without gates, else the unit (Σg − Σh − n + 1, 1)."""
    if not c:
        return
    if not _gated(gates, negated):
        layer.add_bias(_scaled(readout, c))
        return
    t = Form() + 1 - len(gates)
    for g in gates:
        t = t + form(g)
    for h in negated:
        t = t - form(h)
    layer.unit(label + ".on", t, 1, _scaled(readout, c))


def passing(layer: Layer, label: str, v: Form, readout: Mapping[str, int], gates: Sequence = (),
            negated: Sequence = (), *, vrange: tuple[int, int] | None = None) -> None:
    """v·[gates] for v ∈ [lo, hi] (``vrange``, else the interval of the form): the unit
    (v − lo − K·π, R), R = P(hi − lo), K = P(max v − lo) ≥ R, plus lo·[gates]."""
    form_lo, form_hi = layer.bounds(v)
    lo, hi = vrange if vrange is not None else (form_lo, form_hi)
    R = P(hi - lo)
    K = max(R, P(form_hi - lo)) if _gated(gates, negated) else 0
    layer.unit(label, (v - lo) - K * layer.penalty(gates, negated) if K else v - lo, R, readout)
    constant(layer, label, lo, readout, gates, negated)


def select(layer: Layer, label: str, x: Form, e: Form, readout: Mapping[str, int], gates: Sequence = (),
           negated: Sequence = ()) -> None:
    """x·[e ≥ 0]·[gates] (LC G6): relu(x − lo + K·e) − K·relu(e) + lo·step(e + 1), K = P(hi − lo)."""
    lo, hi = layer.bounds(x)
    K = P(hi - lo)
    relu(layer, label + ".xe", x - lo + K * e, readout, gates, negated)
    relu(layer, label + ".e", e, _scaled(readout, -K), gates, negated)
    if lo:
        step(layer, label + ".lo", e + 1, _scaled(readout, lo), gates, negated)


def equal(layer: Layer, label: str, u: Form, readout: Mapping[str, int], gates: Sequence = (),
          negated: Sequence = ()) -> None:
    """[u = 0 ∧ gates] (LC G7): step(u + 1) + step(1 − u) − [gates]."""
    step(layer, label + ".ge", u + 1, readout, gates, negated)
    step(layer, label + ".le", 1 - u, readout, gates, negated)
    constant(layer, label, -1, readout, gates, negated)


def table(layer: Layer, label: str, x: Form, base: int, changes: Sequence[tuple[int, int]], domain: tuple[int, int],
          readout: Mapping[str, int], gates: Sequence = (), negated: Sequence = ()) -> None:
    """f(x) for x ∈ ``domain`` = [lo, hi] with f(lo) = ``base`` and ``changes`` = the pairs
    (t, f(t) − f(t−1)) where f changes (:func:`changes`): f(lo)·[gates] + Σ Δ·step(x − t + 1), one
    unit per change, sharing one penalty constant (so their rows share their linear part)."""
    lo, hi = domain
    K = P(hi - lo + 1)
    constant(layer, label, base, readout, gates, negated)
    for t, delta in changes:
        step(layer, f"{label}.{t}", x - t + 1, _scaled(readout, delta), gates, negated, K=K)


def changes(f: Callable[[int], int], pieces: Sequence[tuple[int, int]]) -> list[tuple[int, int]]:
    """(t, f(t) − f(t−1)) for every change of f over consecutive ``pieces`` [a, b] on each of
    which f is monotone: found by bisection (f(a) = f(b) on a monotone piece means constant), so
    O(changes · log range) evaluations of f instead of one per word."""
    out: list[tuple[int, int]] = []

    def search(a: int, fa: int, b: int, fb: int) -> None:
        if fa == fb:
            return
        if b == a + 1:
            out.append((b, fb - fa))
            return
        m = (a + b) // 2
        fm = f(m)
        search(a, fa, m, fm)
        search(m, fm, b, fb)

    previous = None
    for a, b in pieces:
        fa = f(a)
        if previous is not None and fa != previous[1]:
            out.append((a, fa - previous[1]))
        fb = f(b)
        search(a, fa, b, fb)
        previous = (b, fb)
    return out


def saturate(layer: Layer, label: str, v: Form, B: int, readout: Mapping[str, int], gates: Sequence = (),
             negated: Sequence = (), *, vrange: tuple[int, int] | None = None) -> None:
    """sat(v) = min(max(v, −B), B − 1) (spec §2.2): −B·[gates] + relu(v + B) − relu(v − B + 1)."""
    lo, hi = vrange if vrange is not None else layer.bounds(v)
    constant(layer, label, -B, readout, gates, negated)
    relu(layer, label + ".up", v + B, readout, gates, negated, vrange=(lo + B, hi + B))
    relu(layer, label + ".down", v - B + 1, _scaled(readout, -1), gates, negated, vrange=(lo - B + 1, hi - B + 1))


def clear(layer: Layer, dim: str) -> None:
    """The dimension becomes 0: a pass of its value with read-out −1 (LC G9)."""
    passing(layer, f"clear:{dim}", D(dim), {dim: -1})


__all__ = ["D", "Form", "P", "Layer", "Ranges", "Unit", "clear", "constant", "equal", "form", "passing",
           "penalty", "relu", "saturate", "select", "step", "table", "changes"]
