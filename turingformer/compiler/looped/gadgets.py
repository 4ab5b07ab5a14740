"""Exact σ gadgets on integers (looped-construction spec §4), and the FFN builder they fill.

A residual entry in the looped constructions is always an integer in a known range, and every
feed-forward net is one σ layer (σ(t) = min(1, max(0, t)), :func:`~turingformer.runtime.space.sigma`)
between two affine maps. A *gadget* adds a few hidden units σ(argument) and their read-out
coefficients into named residual dimensions; the read-out is added to the residual by the block.

Arguments are :class:`Form` s, integer-valued linear forms of named residual dimensions. Every
constant K, C, R a gadget needs is derived here from the interval :class:`Ranges` of its argument
(spec §12.3: never hard-coded), as the least power of two P(·) above the bound, so all weights are
dyadic rationals.

Gadgets (spec §4 table; "[·]" is the Iverson bracket, g the gate Booleans, all ANDed):

* :func:`step`    G1/G2  [v ≥ 1 ∧ g]
* :func:`passing` G3/G4  v·[g]                  (bounded pass, gated pass)
* :func:`constant`       c·[g]
* :func:`relu`    G5     max(v, 0)·[g]
* :func:`select`  G6     x·[e ≥ 0]·[g]
* :func:`equal`   G7     [u = 0 ∧ g]
* :func:`wrap`    G8     wrap(v) − v           (the correction only; the caller passes v itself)
* :func:`clear`   G9     −slot                 (so the slot becomes 0)

Invariant of every gadget: for *every* integer assignment of the dimensions within their ranges
the units' read-out equals the bracket formula exactly (tests/compiler/looped/test_gadgets.py
checks it exhaustively on small ranges).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from fractions import Fraction
from typing import Mapping, Sequence

from ...runtime.space import Linear, Space
from ...runtime.transformer import MLP, Attention

Number = int | Fraction


def P(x: Number) -> int:
    """The least power of two ≥ max(1, x) (spec §4)."""
    p = 1
    while p < x:
        p *= 2
    return p


class LinearArithmetic:
    """``+``, ``-`` and negation of a linear form, written once for the looped constructions'
    rational :class:`Form` and FLEQ-M's integer one: a subclass gives ``of`` (a name, a number or a
    form as a form), ``_combine(other, sign)`` and ``__mul__`` by a number."""

    def __add__(self, other):
        return self._combine(other, 1)

    __radd__ = __add__

    def __sub__(self, other):
        return self._combine(other, -1)

    def __rsub__(self, other):
        return type(self).of(other)._combine(self, -1)

    def __neg__(self):
        return self * -1


@dataclass(frozen=True)
class Form(LinearArithmetic):
    """Σ coef·x[dim] + const over named residual dimensions (integer-valued on the punch card)."""

    terms: tuple[tuple[str, Fraction], ...] = ()
    const: Fraction = Fraction(0)

    @classmethod
    def of(cls, value: "Form | str | Number") -> "Form":
        if isinstance(value, Form):
            return value
        if isinstance(value, str):
            return cls(((value, Fraction(1)),))
        return cls((), Fraction(value))

    def _combine(self, other, sign: int) -> "Form":
        other = Form.of(other)
        acc: dict[str, Fraction] = dict(self.terms)
        for name, c in other.terms:
            acc[name] = acc.get(name, Fraction(0)) + sign * c
        return Form(tuple((n, c) for n, c in acc.items() if c), self.const + sign * other.const)

    def __mul__(self, k: Number) -> "Form":
        return Form(tuple((n, c * k) for n, c in self.terms if c * k), self.const * k)

    __rmul__ = __mul__

    def bounds(self, ranges: "Ranges") -> tuple[Fraction, Fraction]:
        """The interval of the form when every dimension ranges over ``ranges``."""
        lo = hi = self.const
        for name, c in self.terms:
            a, b = ranges[name]
            lo += min(c * a, c * b)
            hi += max(c * a, c * b)
        return lo, hi


def D(name: str) -> Form:
    """The form reading one dimension."""
    return Form.of(name)


Ranges = Mapping[str, tuple[int, int]]


@dataclass
class FFN:
    """Builder of one σ-net ``W₂ σ(W₁ x + b₁) + b₂`` from named hidden units.

    ``ranges[dim]`` bounds every residual dimension the units read, in every column, at the point
    where this FFN runs; the gadgets derive their constants from it.
    """

    space: Space
    ranges: Ranges
    name: str
    units: list[tuple[str, Form, int, dict[str, Fraction]]] = field(default_factory=list)
    out_bias: dict[str, Fraction] = field(default_factory=dict)
    labels: set[str] = field(default_factory=set)

    def unit(self, label: str, arg: Form, scale: int, readout: Mapping[str, Number]) -> None:
        """One hidden unit σ(arg/scale) whose value times ``readout[dim]`` is added to ``dim``."""
        label = f"{self.name}:{label}"
        if label in self.labels:
            raise ValueError(f"duplicate hidden unit {label!r}")
        self.labels.add(label)
        self.units.append((label, arg, scale, {k: Fraction(v) for k, v in readout.items()}))

    def bias(self, readout: Mapping[str, Number]) -> None:
        for dim, v in readout.items():
            self.out_bias[dim] = self.out_bias.get(dim, Fraction(0)) + Fraction(v)

    def build(self) -> MLP:
        hidden = Space(tuple(u[0] for u in self.units))
        first, second = {}, {}
        b1 = {}
        for label, arg, scale, readout in self.units:
            for dim, c in arg.terms:
                first[(dim, label)] = c / scale
            if arg.const:
                b1[label] = arg.const / scale
            for dim, c in readout.items():
                second[(label, dim)] = c
        return MLP((Linear.build(self.space, hidden, first, b1),
                    Linear.build(hidden, self.space, second, self.out_bias)))


def _scaled(readout: Mapping[str, Number], k: Number) -> dict[str, Fraction]:
    return {d: Fraction(c) * k for d, c in readout.items()}


def _gate_penalty(gates: Sequence[str]) -> Form:
    """Σ(1 − gᵢ): 0 when every gate is 1, ≥ 1 otherwise."""
    return sum((1 - D(g) for g in gates), Form())


def step(ffn: FFN, label: str, v: Form, readout: Mapping[str, Number], gates: Sequence[str] = ()) -> None:
    """G1/G2: σ(v − K·Σ(1−gᵢ)) = [v ≥ 1 ∧ g₁ ∧ …], K = P(max v)."""
    _, hi = v.bounds(ffn.ranges)
    K = P(hi) if gates else 0
    ffn.unit(label, v - K * _gate_penalty(gates), 1, readout)


def passing(ffn: FFN, label: str, v: Form, readout: Mapping[str, Number], gates: Sequence[str] = (),
            value_range: tuple[int, int] | None = None) -> None:
    """G3/G4: R·σ((v − lo − K·Σ(1−gᵢ))/R) + lo·[∧gᵢ] = v·[∧gᵢ], R = P(hi − lo).

    [lo, hi] is the range of v when every gate is 1: ``value_range`` if given (a tighter range
    the caller proves for that case), else the interval of the form. K = P(max v − lo) over the
    form's whole interval, so the unit is 0 whenever a gate is 0.
    """
    form_lo, form_hi = v.bounds(ffn.ranges)
    lo, hi = value_range if value_range is not None else (form_lo, form_hi)
    R = P(hi - lo)
    K = max(R, P(form_hi - lo))
    ffn.unit(label, v - lo - K * _gate_penalty(gates), R, _scaled(readout, R))
    if not lo:
        return
    if gates:
        constant(ffn, label + ".lo", lo, readout, gates)
    else:
        ffn.bias(_scaled(readout, lo))


def constant(ffn: FFN, label: str, c: Number, readout: Mapping[str, Number], gates: Sequence[str]) -> None:
    """c·[∧gᵢ] = c·G1(Σgᵢ − k + 1) (a gated constant, spec §7.3 ``const``)."""
    step(ffn, label, sum((D(g) for g in gates), Form()) - len(gates) + 1, _scaled(readout, c))


def relu(ffn: FFN, label: str, v: Form, readout: Mapping[str, Number], gates: Sequence[str] = ()) -> None:
    """G5: C·σ((v − C·Σ(1−gᵢ))/C) = max(v, 0)·[∧gᵢ], C = P(max v)."""
    _, hi = v.bounds(ffn.ranges)
    C = P(hi)
    ffn.unit(label, v - C * _gate_penalty(gates), C, _scaled(readout, C))


def select(ffn: FFN, label: str, x: Form, e: Form, readout: Mapping[str, Number],
           gates: Sequence[str] = ()) -> None:
    """G6: G5(x' + K·e) − K·G5(e) + lo·G1(e + 1) = x·[e ≥ 0], x' = x − lo, K = P(hi − lo)."""
    lo, hi = x.bounds(ffn.ranges)
    K = P(hi - lo)
    relu(ffn, label + ".xe", x - lo + K * e, readout, gates)
    relu(ffn, label + ".e", e, _scaled(readout, -K), gates)
    if lo:
        step(ffn, label + ".lo", e + 1, _scaled(readout, lo), gates)


def equal(ffn: FFN, label: str, u: Form, readout: Mapping[str, Number], gates: Sequence[str] = ()) -> None:
    """G7: G2(u + 1; g) + G2(1 − u; g) − G1(Σgᵢ − k + 1) = [u = 0 ∧ g]."""
    step(ffn, label + ".ge", u + 1, readout, gates)
    step(ffn, label + ".le", 1 - u, readout, gates)
    if gates:
        constant(ffn, label + ".and", -1, readout, gates)
    else:
        ffn.bias(_scaled(readout, -1))


def wrap(ffn: FFN, label: str, v: Form, bits: int, readout: Mapping[str, Number],
         gates: Sequence[str] = (), value_range: tuple[int, int] | None = None) -> None:
    """G8 (correction part): −W·Σ_{t∈T⁺} [v ≥ t] + W·Σ_{t∈T⁻} [v ≤ t] = wrap(v) − v, times [∧g].

    T⁺ = {B, B+W, … ≤ hi}, T⁻ = {−B−1, −B−1−W, … ≥ lo} for v ∈ [lo, hi] (B = 2^{N−1}, W = 2^N),
    [lo, hi] = ``value_range`` (the range when the gates are 1) or the form's interval.
    """
    B, W = 2 ** (bits - 1), 2 ** bits
    lo, hi = value_range if value_range is not None else v.bounds(ffn.ranges)
    t, k = B, 0
    while t <= hi:
        step(ffn, f"{label}.up{k}", v - t + 1, _scaled(readout, -W), gates)
        t, k = t + W, k + 1
    t, k = -B - 1, 0
    while t >= lo:
        step(ffn, f"{label}.down{k}", t - v + 1, _scaled(readout, W), gates)
        t, k = t - W, k + 1


def clear(ffn: FFN, dim: str) -> None:
    """G9: subtract the slot's own value (a bounded pass with read-out −1), so it becomes 0."""
    passing(ffn, f"clear:{dim}", D(dim), {dim: -1})


def address_head(space: Space, target: Form, copies: Mapping[str, str]) -> Attention:
    """The address head of spec §5.2: every column j attends to the column whose index is T(x_j).

    Q: ``const:one ← T``, ``pos:index ← const:one``; K: ``const:one ← const:one``,
    ``pos:index ← −pos:index``; so ⟨q_j, k_i⟩ = T(x_j) − i and the score −|T(x_j) − i| has its
    unique maximum 0 at i = T(x_j) when that column exists, the next best is −1. The value map
    copies ``copies[source] → target dim``.
    """
    one, pos = "const:one", "pos:index"
    query = {(dim, one): c for dim, c in target.terms}
    if target.const:
        query[(one, one)] = query.get((one, one), 0) + target.const
    query[(one, pos)] = 1
    return Attention(Linear.build(space, space, query),
                     Linear.build(space, space, {(one, one): 1, (pos, pos): -1}),
                     Linear.build(space, space, {(src, dst): 1 for src, dst in copies.items()}))
