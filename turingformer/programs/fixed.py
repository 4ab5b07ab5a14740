"""The fixed-point words and cells of FLEQ-M (linear-algebra spec ``../shared/looped-linear-algebra.md``
§1.1–1.2), exactly: every function here works on Python integers and exact rationals.

* A **word** of format (N, F) is a raw integer q ∈ [−B, B−1], B = 2^(N−1), meaning q / 2^F;
  ONE = 2^F. Q16.8 is (16, 8), Q24.16 is (24, 16).
* ``sat(v) = min(max(v, −B), B − 1)``: every function saturates, nothing wraps.
* ``rnd_s(v) = ⌊(v + 2^(s−1)) / 2^s⌋``: round half **up** (towards +∞ on ties, also for negative v).
* A literal r (an exact rational: ``1.5``, ``1/3``, ``1e-3``) becomes ``⌊r·2^F + ½⌋``
  (:meth:`Fixed.literal`); ``5u`` is the raw word 5.
* A **cell** is a k×k matrix of words, a tuple of k rows (tuples of k ints). A scalar is entry
  (0, 0) with zeros elsewhere, a vector is column 0, a smaller matrix sits top-left, zero-padded
  (:func:`pad`). The branch flag of a cell is its raw entry (0, 0).

``sigmoid_word`` is ⌊2^F·σ(q/2^F) + ½⌋, from its 2^F change points evaluated with 60 significant
digits (spec §7.6 asks for ≥ 50; a guard refuses a point within 10^−40 of an integer).

This module imports nothing of turingformer: it is the arithmetic the programs layer, the
construction's tables and the displays share.
"""

from __future__ import annotations

from dataclasses import dataclass
from bisect import bisect_right
from decimal import ROUND_CEILING, Decimal, localcontext
from fractions import Fraction
from functools import lru_cache
from typing import Sequence

Matrix = tuple[tuple[int, ...], ...]

#: Significant digits of the sigmoid evaluation (spec §7.6 asks for at least 50).
SIGMOID_DIGITS = 60


@dataclass(frozen=True)
class Fixed:
    """The word format (N, F): ``bits`` N ≥ 4 and ``frac`` F with 1 ≤ F ≤ N − 2 (so 1.0 is a word)."""

    bits: int
    frac: int

    @property
    def B(self) -> int:
        """2^(N−1): words are [−B, B − 1]."""
        return 1 << (self.bits - 1)

    @property
    def one(self) -> int:
        """ONE = 2^F, the raw word of 1.0."""
        return 1 << self.frac

    @property
    def name(self) -> str:
        """``Q16.8`` for (16, 8)."""
        return f"Q{self.bits}.{self.frac}"

    def sat(self, v: int) -> int:
        return min(max(v, -self.B), self.B - 1)

    def rnd(self, v: int, s: int | None = None) -> int:
        """rnd_s(v) = ⌊(v + 2^(s−1)) / 2^s⌋ (s = F unless given), round half up."""
        s = self.frac if s is None else s
        return (v + (1 << (s - 1))) >> s

    def rounded(self, r: Fraction) -> int:
        """⌊r·2^F + ½⌋, unsaturated (the caller decides whether it fits)."""
        r = Fraction(r) * self.one + Fraction(1, 2)
        return r.numerator // r.denominator

    def fits(self, q: int) -> bool:
        return -self.B <= q < self.B

    def literal(self, r: Fraction) -> int:
        """The word of the rational r by spec §1.1: sat(⌊r·2^F + ½⌋)."""
        return self.sat(self.rounded(r))

    def value(self, q: int) -> Fraction:
        """The exact value q / 2^F of a raw word."""
        return Fraction(q, self.one)

    def decimal(self, q: int) -> str:
        """q / 2^F as an exact decimal string (a dyadic rational has a finite expansion)."""
        return decimal_text(q, self.frac)


def decimal_text(q: int, frac: int) -> str:
    """The exact decimal expansion of q / 2^frac: ``2.5``, ``-0.0078125``, ``3``."""
    sign = "-" if q < 0 else ""
    scaled = abs(q) * 5 ** frac             # q / 2^F = q·5^F / 10^F
    whole, part = divmod(scaled, 10 ** frac)
    digits = f"{part:0{frac}d}".rstrip("0") if frac else ""
    return f"{sign}{whole}" + (f".{digits}" if digits else "")


def rational_text(r: Fraction) -> str:
    """An exact rational as a decimal when it terminates (``2.9``, ``0.00001``), else ``p/q``."""
    r = Fraction(r)
    d, twos, fives = r.denominator, 0, 0
    while d % 2 == 0:
        d, twos = d // 2, twos + 1
    while d % 5 == 0:
        d, fives = d // 5, fives + 1
    if d != 1:
        return f"{r.numerator}/{r.denominator}"
    places = max(twos, fives)
    scaled = abs(r.numerator) * 10 ** places // r.denominator
    whole, part = divmod(scaled, 10 ** places)
    digits = f"{part:0{places}d}".rstrip("0") if places else ""
    return ("-" if r < 0 else "") + str(whole) + (f".{digits}" if digits else "")


def top_left(cell: Sequence[Sequence], shape: tuple[int, int]) -> list[list]:
    """The rows × columns block of a cell that a literal of that ``shape`` wrote."""
    return [list(row[:shape[1]]) for row in cell[:shape[0]]]


def rows_text(rows: Sequence[Sequence], show=str) -> str:
    """``x`` for a 1×1 block, ``[[a, b], [c, d]]`` otherwise."""
    if len(rows) == 1 and len(rows[0]) == 1:
        return show(rows[0][0])
    return "[" + ", ".join("[" + ", ".join(show(v) for v in row) + "]" for row in rows) + "]"


def zeros(k: int) -> Matrix:
    return tuple((0,) * k for _ in range(k))


def scalar(q: int, k: int) -> Matrix:
    """The cell holding q at (0, 0) and zeros elsewhere."""
    return ((q,) + (0,) * (k - 1),) + tuple((0,) * k for _ in range(k - 1))


def pad(rows: Sequence[Sequence[int]], k: int) -> Matrix:
    """``rows`` (at most k × k) top-left in a k × k zero matrix."""
    return tuple(tuple(rows[i][j] if i < len(rows) and j < len(rows[i]) else 0 for j in range(k))
                 for i in range(k))


def matrix_json(cell: Matrix, frac: int) -> dict:
    """A cell for JSON: ``{"value": [[decimal strings]], "raw": [[ints]]}``."""
    return {"value": [[decimal_text(q, frac) for q in row] for row in cell], "raw": [list(row) for row in cell]}


def matrix_text(cell: Matrix, frac: int, *, raw: bool = False) -> str:
    """A cell on one line: ``2.5`` for k = 1, else ``[[1.5, 0.25], [0, 2]]`` (raw words when ``raw``)."""
    return rows_text(cell, str if raw else (lambda q: decimal_text(q, frac)))


def matrix_lines(cell: Matrix, frac: int) -> list[str]:
    """A cell as aligned rows, decimal values on the left and raw words on the right."""
    values = [[decimal_text(q, frac) for q in row] for row in cell]
    raws = [[str(q) for q in row] for row in cell]
    vw = max(len(v) for row in values for v in row)
    rw = max(len(v) for row in raws for v in row)
    return ["[" + "  ".join(v.rjust(vw) for v in vrow) + "]   raw [" + "  ".join(r.rjust(rw) for r in rrow) + "]"
            for vrow, rrow in zip(values, raws)]


def sigmoid_word(q: int, frac: int) -> int:
    """⌊2^F·σ(q/2^F) + ½⌋ with σ(u) = 1/(1 + e^(−u)) (spec §1.4), exactly.

    σ is increasing, so the value is the number of thresholds t_v ≤ q, where t_v (v = 1 … 2^F)
    is the least integer with 2^F·σ(t_v/2^F) + ½ ≥ v, i.e. t_v = ⌈2^F·logit((v − ½)/2^F)⌉
    (:func:`sigmoid_thresholds`).
    """
    return bisect_right(sigmoid_thresholds(frac), q)


@lru_cache(maxsize=None)
def sigmoid_thresholds(frac: int) -> tuple[int, ...]:
    """t_v = ⌈2^F·ln(p / (1 − p))⌉, p = (v − ½)/2^F, for v = 1 … 2^F, with :data:`SIGMOID_DIGITS`
    significant digits (spec §7.6 asks for ≥ 50).

    2^F·logit(p) is never an integer (p/(1 − p) is a rational ≠ 1, whose logarithm is irrational
    by Lindemann), so the ceiling is decided far above the evaluation error; a guard refuses a
    value within 10^−40 of an integer (it never triggers for F ≤ 16; tested against two
    independent evaluations of σ itself). σ(0) = ½ gives the only tie, q = 0 ↦ 2^(F−1).
    """
    one, out = 1 << frac, []
    with localcontext() as ctx:
        ctx.prec = SIGMOID_DIGITS
        for v in range(1, one + 1):
            p = (Decimal(2 * v - 1) / 2) / one
            x = one * (p / (1 - p)).ln()
            ceiling = x.to_integral_value(rounding=ROUND_CEILING)
            if min(ceiling - x, x - ceiling + 1) < Decimal(10) ** -40:
                raise ArithmeticError(f"the sigm threshold of {v}/2^{frac} is within 1e-40 of an integer")
            out.append(int(ceiling))
    return tuple(out)
