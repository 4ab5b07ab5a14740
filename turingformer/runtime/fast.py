"""Fast exact decoding: :func:`decode_fast`, a drop-in replacement for :func:`transformer.decode`.

Same contract, same outputs, bit for bit: every :class:`~turingformer.runtime.transformer.Step` it yields
(``y_in``, ``y_out`` and every captured activation) compares equal to the one the plain cached
decoder yields, and every number in it is a :class:`fractions.Fraction` (winner lists are tuples
of ints, as in the plain path). Like the plain runtime it is **generic**: it runs any
:class:`~turingformer.runtime.transformer.Transformer` and knows nothing about Turing machines or about
which layer does what. Its layers are :mod:`turingformer.runtime.layer`'s, the plain runtime's own.

It has two paths with the same results. The **compiled kernel**
(:mod:`turingformer.runtime.compiled`, ``_kernel.c``) decodes whole chunks of positions in checked
int64 rationals with exact 128-bit attention scores and the index of 6. in typed arrays, and hands
the decoding to the **Python path** below at the first position whose numbers it cannot prove
(and runs nowhere when it is not built, or ``compiled=False``). :func:`decode_chunks` streams either
as integer arrays, for long runs that only read their outputs. The Python path is fast for seven
reasons, each exact for the reason given.

1. **Exact arithmetic in FLINT, Fractions only at the edges.** Internally an activation is a
   *sparse* vector ``{index: fmpq}`` (python-flint rationals, about 8x faster than ``Fraction``)
   that stores only non-zero entries; a missing index means exactly 0. ``fmpq`` and ``Fraction``
   are both exact rationals in lowest terms, so the conversions at the edges (the yielded ``y``
   vectors and the captured hooks, built only when asked for) are lossless, and a sum or
   product computed in one equals the same sum or product computed in the other.

2. **Sparse exact maps.** Each :class:`~turingformer.runtime.space.Linear` is re-indexed by input
   (``rows[i] = [(o, w), ...]``), so ``x W + b`` touches only the non-zero inputs: the result is
   ``b + Σ_{i: x_i ≠ 0} x_i W_i``, the sum the plain map computes (it skips zero inputs too).
   Attention query/key maps are restricted to ``Attention.support`` (the coordinates where
   both can be non-zero; every other coordinate adds an exact 0 to ⟨q, k⟩), value maps to the
   value support, exactly as the plain cache stores them.

3. **σ layers in scaled integers** (:class:`_SigmaMap`). With L the lcm of the layer's weight
   and bias denominators and D that of the non-zero inputs it reads,
   DL·(x W + b) is an integer vector; σ is 0 where that integer is ≤ 0, 1 where it is ≥ DL and
   integer/DL between. Untouched units have the constant σ(b). Python ints (unbounded) do the
   sparse case; when the inputs fan out to many units and a bound on every partial sum is below
   2⁶², numpy int64 does the whole vector at once, still exactly.

4. **Uniform averages from an exact running sum.** When the query is exactly zero on the support
   (including an empty support), every dot product is exactly 0, every score is φ(0) and all
   positions tie, so average-hard attention returns (Σ_{j≤i} v_j)/(i+1). The cache keeps the
   exact sum Σ v_j, brought up to date lazily (each value is added once), so the answer costs
   O(|value support|), not O(i). The same rationals summed in any order give the same rational,
   so this equals the plain ``average`` (sum first, divide once). The same sum answers any
   decision whose exact winners turn out to be every cached key.

5. **A certified floating-point filter for the argmax** over a fixed key set (the encoder's
   keys of a cross-attention; :class:`_ScanCache`, :meth:`_Attention.decide`). Every key
   is also stored as float64 rows k̂_j and |k̂_j| (arrays grown by doubling, with preallocated work
   buffers). For an exact query q with float image q̂, two matrix-vector products give, for all
   n cached keys at once, ŝ_j = fl(⟨q̂, k̂_j⟩) and P̂_j = fl(⟨|q̂|, |k̂_j|⟩). Invariant:
   ``| |ŝ_j| − |⟨q, k_j⟩| | ≤ B_j ≤ E_j := fl(C·P̂_j)``, C = 4(m + 4)u, m = |support|, u = 2⁻⁵³:

   * conversion: each rational is rounded correctly (Python's ``int / int`` is correctly
     rounded), so q̂_e = q_e(1 + δ), k̂_e = k_e(1 + δ'), |δ|, |δ'| ≤ u. Every non-zero rational
     converted is checked to lie in [2⁻⁴⁰⁰, 2⁴⁰⁰] in magnitude, otherwise the key is marked
     *unsafe* and is always a candidate (an unsafe query is decided exactly over every key); so
     no product over- or underflows, no partial sum of such products underflows, and a non-zero
     value never becomes 0. Hence |⟨q̂, k̂⟩ − ⟨q, k⟩| ≤ (2u + u²)/(1 − u)²·P with P = Σ|q̂_e k̂_e|;
   * summation: each entry of a product is a length-m dot product evaluated in *some* order,
     with or without FMA (BLAS); for every order |fl(Σ x_e y_e) − Σ x_e y_e| ≤ γ_m Σ|x_e y_e|,
     γ_m = mu/(1 − mu) (Higham, *Accuracy and Stability of Numerical Algorithms*, §3.1), and
     P̂ ≥ (1 − γ_m)P because P is a sum of non-negative terms. So
     B_j ≤ (γ_m + 2.01u)/(1 − γ_m)·P̂_j < (m + 3)·1.01u·P̂_j, about a quarter of E_j;
   * the slack E_j − B_j ≥ 0.7·E_j exceeds the roundings of fl(|ŝ_j| ± E_j) (each at most
     u(|ŝ_j| + E_j), and |ŝ_j| ≤ (1 + γ_m)P̂_j), so the computed lo_j = fl(|ŝ_j| − E_j) and
     hi_j = fl(|ŝ_j| + E_j), clipped at 1 for the clipped score (min is exact), bracket the exact
     magnitude μ_j = min(|⟨q, k_j⟩|, 1) (or |⟨q, k_j⟩|): lo_j ≤ μ_j ≤ hi_j. If P̂_j = 0 every
     product is exactly 0, so ⟨q, k_j⟩ = 0 = ŝ_j and lo_j = hi_j = 0.

   **5'. The tighter filter: exact evaluation in scaled integers**, used instead whenever it
   fits. Each key is stored as N_j / D_j (D_j the lcm of its denominators, N_j integers) when
   every |N_je| < 2⁶² (and D_j < 2¹⁰⁰⁰); the query likewise as N_q / D_q. If D_q < 2⁵³ and
   Σ_e |N_qe|·max_j |N_je| < 2⁶³, every partial sum of the int64 product A_j = ⟨N_q, N_j⟩ is
   below 2⁶³ in magnitude, so A_j is exact, and ⟨q, k_j⟩ = A_j / (D_q D_j). With
   x_j = |A_j| / D_j (so μ_j = x_j / D_q, and the clip μ = 1 is x = D_q, an exact float),
   f_j = fl(fl(|A_j|) / fl(D_j)) = x_j(1 + θ), |θ| ≤ 3.01u (three correctly rounded
   operations), and lo_j = fl(f_j(1 − 16u)), hi_j = fl(f_j(1 + 16u)) (the factors are exact
   floats; each product adds one rounding) bracket x_j. The error is now *relative to the score itself*, not
   to Σ|q_e k_e|: cancellation, which made the float filter give up on near-ties, costs
   nothing, and only keys within a relative 10⁻¹⁵ of the best go to exact arithmetic. The
   candidate rule below is the same, in units of x.

   φ(x) = −|x| or −min(|x|, 1) is decreasing in the magnitude μ, so the winners are the keys of
   least μ. Let t = min_j hi_j (over safe keys). Some key has μ ≤ t, so every winner has
   μ ≤ t and thus lo ≤ t: the **candidate set** {j : lo_j ≤ t} ∪ unsafe contains every winner.
   If it has one element, that is the unique winner, with no exact score computed. Otherwise
   the candidates are decided **exactly** in fmpq, ties included: wherever the bound cannot
   separate two keys (equal scores, or scores closer than float resolution), the exact value
   decides. Under the clipped score a candidate with lo_j = 1 has μ_j = 1 exactly and is not
   recomputed. Caches of at most :data:`SMALL` keys are decided exactly outright.

6. **An exact index over the self-attention keys** (:class:`_IndexCache`), built from the key
   vectors alone, so that a decision does not scan the cache. Split the support coordinates into
   a projection P (the first two; none when m = 1) and the rest R. Group the keys by the exact
   direction of P k: the zero group (P k = 0), the vertical group (P k = (0, y), λ = y) and, for
   each exact rational slope t, the keys with P k = λ(1, t), λ = k_0; the finite groups are kept
   sorted by t. Each group keeps its members by decreasing |λ|, max |R k_e| and (when R has one
   coordinate) the members of least |R k|. For a query q and a key of a finite group g,
   ⟨q, k⟩ = λ·a_g + ⟨R q, R k⟩ with a_g = q_0 + q_1 t_g, hence for **any** weights

       |⟨q, k⟩| ≥ |λ|·|a_g| − Σ_e |R q_e|·max |R k_e|                                   (∗)

   With q_1 ≠ 0, |a_g| = |q_1|·|t_g − t*| for t* = −q_0/q_1, so with Λ = min |λ| over all
   finite groups the bound |q_1|·|t − t*|·Λ − Σ_e |R q_e|·max_all |R k_e| only grows as t moves
   away from t* on either side. The decision visits the groups outwards from t* (a binary
   search) and stops on a side as soon as that bound *strictly* exceeds the best exact
   |⟨q, k⟩| found: every key beyond has a larger magnitude, so it neither wins nor ties.
   Inside a visited group, members are scored exactly in increasing |λ| until (∗) with that
   group's own maxima strictly exceeds the best; a group with a_g = 0 and a one-coordinate rest
   has |⟨q, k⟩| = |R q|·|R k|, least exactly at its stored members of least |R k| (every member
   when R q = 0). With q_1 = 0 every finite group is visited (still bounded by (∗)); the zero and
   vertical groups are always visited. Every value compared is an exact fmpq, so the result is
   the set of all keys of least |⟨q, k⟩|, ties included, which is the plain argmax of
   −|⟨q, k⟩|; under the clipped score, a least magnitude ≥ 1 means every key scores −1 (all
   tie). Nothing here depends on what the weights mean: on the Pérez layer 3 (keys
   (ε_j, −c_j ε_j, ε_j²), one group per tape cell) it visits the current cell's group and its
   two neighbours, O(log W) comparisons for W visited cells, and scores O(1) keys.

7. **BLAS on one thread.** numpy's BLAS switches to several threads for large products, which
   costs more than it gains at these sizes on a shared machine (×33 CPU past ~150,000 rows);
   :func:`decode_fast` runs under ``threadpoolctl.threadpool_limits(1, "blas")``.

Per step the work is O(1) exact operations for a single-winner or uniform attention plus an
O(n_enc·m) float filter over the encoder keys, and nothing allocates an array as long as the
cache. **Memory per position** is compact on both paths: the key and the value (when the attention
is not uniform-only) as int64 rows with a per-row, or shared, denominator
(:class:`~turingformer.runtime.rows.Rows`; a row beyond 2⁶² is kept exactly as fmpq, decided per
row) and the key's place in the index (a typed member array). Captured hooks that are O(i) by
nature (``*.attn.scores``, ``*.attn.pattern``, ``*.attn.winners`` of a uniform attention) are
built, exactly, only when asked for. Encoding reuses :func:`turingformer.runtime.transformer.encode`
(it runs once per input), so its hooks are the plain path's own.
"""

from __future__ import annotations

import math
from array import array
from bisect import bisect_left
from collections import Counter
from dataclasses import dataclass
from fractions import Fraction
from typing import Callable, Collection, Iterator, Sequence

import numpy as np
from flint import fmpq
from threadpoolctl import threadpool_limits

from turingformer.runtime import compiled as compiled_kernel
from turingformer.runtime.hooks import decoder_hooks, output_hooks
from turingformer.runtime.layer import ALL as _ALL
from turingformer.runtime.layer import Attended, Parts, decoder_forward
from turingformer.runtime.rows import Rows, common_denominator
from turingformer.runtime.space import Linear
from turingformer.runtime.transformer import (
    MLP, Attention, FractionOps, Step, Transformer, autoregress, encode, pattern_of, scores_of,
)

__all__ = ["Chunk", "decode_chunks", "decode_fast", "SMALL"]

#: Caches with at most this many keys are decided exactly, without the float filter.
SMALL = 8
#: σ layers whose non-zero inputs reach at least this many units use numpy int64.
FANOUT = 64
#: σ layers with at most this many units accumulate in a list rather than a dict.
DENSE_UNITS = 256
#: The most outputs a σ-net memoises (see :class:`_MLP`).
MEMO = 1024

_U = 2.0 ** -53
_INT_LIMIT = 2 ** 62
_INT64 = 2 ** 63                # |partial sums| below this: int64 arithmetic is exact
_EXACT_FLOAT = 2 ** 53          # integers below this convert to float64 exactly
_FLOAT_LIMIT = 2 ** 1000        # integers below this convert to float64 without overflow
_UP, _DOWN = 1.0 + 16 * _U, 1.0 - 16 * _U   # both exact float64 numbers
_LOW, _HIGH = 2.0 ** -400, 2.0 ** 400
_ZERO_Q = fmpq(0)
_ONE_Q = fmpq(1)
_ZERO_F = Fraction(0)
_SMALL_F = {k: Fraction(k) for k in range(-64, 65)}


class _Unsafe(Exception):
    """A rational outside the range where the float filter's error bound is proved."""


# ---------------------------------------------------------------------------------- conversions
def _q(x) -> fmpq:
    """Fraction / int -> fmpq (exact)."""
    if isinstance(x, Fraction):
        return fmpq(x.numerator, x.denominator)
    return fmpq(x)


def _frac(v: fmpq) -> Fraction:
    """fmpq -> Fraction (exact; small integers come from a table)."""
    if v.q == 1:
        p = int(v.p)
        f = _SMALL_F.get(p)
        return f if f is not None else Fraction(p)
    return Fraction(int(v.p), int(v.q))


def _float(v: fmpq) -> float:
    """The correctly rounded float of v (Python's int / int is correctly rounded).

    Raises :class:`_Unsafe` for a non-zero v outside [2⁻⁴⁰⁰, 2⁴⁰⁰] in magnitude.
    """
    p = int(v.p)
    if not p:
        return 0.0
    try:
        x = p / int(v.q)
    except OverflowError:
        raise _Unsafe from None
    if not (_LOW <= abs(x) <= _HIGH):
        raise _Unsafe
    return x


def _sparse(vector: Sequence) -> dict[int, fmpq]:
    return {k: _q(v) for k, v in enumerate(vector) if v}


def _full(x: dict[int, fmpq], n: int) -> tuple:
    out = [_ZERO_F] * n
    for k, v in x.items():
        out[k] = _frac(v)
    return tuple(out)


# ---------------------------------------------------------------------------------- sparse maps
class _Map:
    """``x -> x W + b`` on sparse fmpq vectors, optionally with outputs re-indexed by ``out``."""

    __slots__ = ("rows", "bias", "size")

    def __init__(self, linear: Linear, out: dict[int, int] | None = None):
        rows: dict[int, list[tuple[int, fmpq]]] = {}
        for i, o, w in linear.weights:
            if out is not None:
                if o not in out:
                    continue
                o = out[o]
            rows.setdefault(i, []).append((o, _q(w)))
        self.rows = rows
        self.bias = [((out[o] if out is not None else o), _q(b)) for o, b in linear.bias
                     if out is None or o in out]
        self.size = len(out) if out is not None else len(linear.target)

    def _read(self, x: dict[int, fmpq]) -> list:
        """The (x_i, W_i) pairs with x_i ≠ 0, looked up from the smaller of x and the map's rows."""
        rows = self.rows
        if len(rows) < len(x):
            get = x.get
            return [(xi, row) for i, row in rows.items() if (xi := get(i)) is not None]
        get = rows.get
        return [(xi, row) for i, xi in x.items() if (row := get(i)) is not None]

    def contributions(self, x: dict[int, fmpq]) -> dict[int, fmpq]:
        """Σ_{i: x_i ≠ 0} x_i W_i (no bias), as a sparse dict (entries may be 0)."""
        acc: dict[int, fmpq] = {}
        get = acc.get
        for xi, row in self._read(x):
            for o, w in row:
                prev = get(o)
                acc[o] = xi * w if prev is None else prev + xi * w
        return acc

    def __call__(self, x: dict[int, fmpq]) -> dict[int, fmpq]:
        acc = self.contributions(x)
        for o, b in self.bias:
            prev = acc.get(o)
            acc[o] = b if prev is None else prev + b
        return {o: v for o, v in acc.items() if v}

    def dense(self, x: dict[int, fmpq]) -> list[fmpq]:
        """The output as a dense list (used for the small re-indexed query/key maps)."""
        out = [_ZERO_Q] * self.size
        for o, b in self.bias:
            out[o] += b
        for xi, row in self._read(x):
            for o, w in row:
                out[o] += xi * w
        return out


class _SigmaMap:
    """σ(x W + b) on sparse vectors, computed exactly in scaled integers.

    With L the lcm of the denominators of W and b, and D the lcm of the denominators of the
    non-zero inputs the layer reads, ``DL·(x W + b) = Σ_i (D x_i)(L W_i) + D(L b)`` is a vector
    of integers, and σ(v) is 0 where that integer is ≤ 0, 1 where it is ≥ DL and
    fmpq(integer, DL) in between. A unit that no non-zero input reaches has pre-activation b,
    so its σ(b) is a constant (only the positive ones are kept). The integers are Python ints
    (exact, unbounded), accumulated over the touched units only; when the fan-out of the
    non-zero inputs is large (≥ :data:`FANOUT` units) and a bound on every partial sum,
    ``D·max|Lb| + Σ_i |D x_i|·max|L W_i|``, is below 2⁶², numpy int64 computes the whole
    pre-activation vector at once, still exactly (each row of W adds to distinct units, so
    ``pre[idx] += X·w`` is one exact integer addition per unit). Layers of at most
    :data:`DENSE_UNITS` units accumulate the same integers in a list over every unit (the
    untouched ones hold D·Lb, i.e. σ(b) again).
    """

    def __init__(self, linear: Linear):
        self.size = len(linear.target)
        L = 1
        for _, _, w in linear.weights:
            L = math.lcm(L, w.denominator)
        for _, b in linear.bias:
            L = math.lcm(L, b.denominator)
        self.L = L
        self.bias = {o: int(b * L) for o, b in linear.bias}
        self.constant = {o: (_ONE_Q if b >= L else fmpq(b, L)) for o, b in self.bias.items() if b > 0}
        self.max_bias = max((abs(b) for b in self.bias.values()), default=0)
        self.dense_bias = [self.bias.get(o, 0) for o in range(self.size)]
        rows: dict[int, list[tuple[int, int]]] = {}
        for i, o, w in linear.weights:
            rows.setdefault(i, []).append((o, int(w * L)))
        self.rows = rows
        self.int_bias = np.zeros(self.size, dtype=np.int64)
        self.numpy_ok = self.max_bias < _INT_LIMIT
        if self.numpy_ok:
            for o, b in self.bias.items():
                self.int_bias[o] = b
        self.np_rows = {}
        for i, row in rows.items():
            top = max(abs(w) for _, w in row)
            if top >= _INT_LIMIT:       # a weight int64 cannot hold: Python ints only
                self.numpy_ok = False
                break
            self.np_rows[i] = (np.array([o for o, _ in row], dtype=np.int64),
                               np.array([w for _, w in row], dtype=np.int64), top, len(row))

    def __call__(self, x: dict[int, fmpq]) -> dict[int, fmpq]:
        rows = self.rows
        read = [(i, v) for i, v in x.items() if i in rows]
        D = 1
        for _, v in read:
            q = v.q
            if q != 1:
                D = math.lcm(D, int(q))
        if D == 1:
            scaled = [(i, int(v.p)) for i, v in read]
        else:
            scaled = [(i, int(v.p) * (D // int(v.q))) for i, v in read]
        DL = D * self.L
        if self.numpy_ok:
            np_rows = self.np_rows
            fanout = 0
            bound = D * self.max_bias
            for i, X in scaled:
                row = np_rows[i]
                fanout += row[3]
                bound += abs(X) * row[2]
            if fanout >= FANOUT and bound < _INT_LIMIT:
                pre = self.int_bias * D if D != 1 else self.int_bias.copy()
                for i, X in scaled:
                    idx, w, _, _ = np_rows[i]
                    pre[idx] += w * X
                alive = np.flatnonzero(pre > 0)
                return {u: (_ONE_Q if p >= DL else fmpq(p, DL))
                        for u, p in zip(alive.tolist(), pre[alive].tolist())}
        if self.size <= DENSE_UNITS:       # a list of all units: no dictionary traffic
            acc = list(self.dense_bias) if D == 1 else [D * b for b in self.dense_bias]
            for i, X in scaled:
                for o, w in rows[i]:
                    acc[o] += w * X
            return {o: (_ONE_Q if v >= DL else fmpq(v, DL)) for o, v in enumerate(acc) if v > 0}
        acc: dict[int, int] = {}
        get = acc.get
        for i, X in scaled:
            for o, w in rows[i]:
                acc[o] = get(o, 0) + w * X
        out = dict(self.constant)
        bias = self.bias
        for o, v in acc.items():
            b = bias.get(o)
            if b is not None:
                v += D * b
            if v <= 0:
                out.pop(o, None)
            else:
                out[o] = _ONE_Q if v >= DL else fmpq(v, DL)
        return out


class _MLP:
    """A σ-net on sparse vectors, recording its hidden layers exactly as :class:`MLP` does.

    A σ-net is a pure function of the entries its first layer reads, and — one level deeper —
    of its first σ layer's output. While no hidden activation is recorded its outputs are
    **memoised** twice (each rational as index, numerator, denominator in lowest terms: equal
    keys are equal rationals; hashing fmpz is fast, hashing an fmpq is not):

    * on the entries the first layer reads (no arithmetic at all on a hit);
    * on the first σ layer's output, when the net has one: σ clips, so inputs that differ (a
      positional coordinate i+1, say) often give the same σ output — the Pérez output net's
      first layer reads x9 = i+1 but its σ units are 0 or 1 — and the later layers are skipped.

    Each memo holds at most :data:`MEMO` entries and is dropped for good once fewer than half of
    its first ``MEMO`` calls hit. Outputs are shared: callers only read them.
    """

    def __init__(self, mlp: MLP):
        n = len(mlp.layers)
        self.layers = [(_SigmaMap(layer) if k < n - 1 else _Map(layer)) for k, layer in enumerate(mlp.layers)]
        self.hidden_sizes = [len(layer.target) for layer in mlp.layers[:-1]]
        self.reads = frozenset(mlp.layers[0].used_inputs())
        self.memo = _Memo()
        self.memo_hidden = _Memo() if n > 1 else None

    def __call__(self, x, hidden=(), acts=None):
        if any(hidden):
            return self._run(x, 0, hidden, acts)
        memo = self.memo
        if memo.on:
            reads = self.reads
            key = tuple([(i, v.p, v.q) for i, v in x.items() if i in reads])
            out = memo.get(key)
            if out is None:
                out = memo.put(key, self._from_first(x))
            return out
        return self._from_first(x)

    def _from_first(self, x):
        memo = self.memo_hidden
        if memo is None or not memo.on:
            return self._run(x, 0, (), None)
        h = self.layers[0](x)
        key = tuple([(u, v.p, v.q) for u, v in h.items()])
        out = memo.get(key)
        if out is None:
            out = memo.put(key, self._run(h, 1, (), None))
        return out

    def _run(self, x, start: int, hidden, acts):
        last = len(self.layers) - 1
        for k in range(start, len(self.layers)):
            x = self.layers[k](x)
            if k < last and hidden and hidden[k]:
                acts[hidden[k]] = _full(x, self.hidden_sizes[k])
        return x


class _Memo:
    """A bounded memo that turns itself off when it does not pay (see :class:`_MLP`)."""

    __slots__ = ("table", "calls", "hits", "on")

    def __init__(self):
        self.table: dict = {}
        self.calls = self.hits = 0
        self.on = True

    def get(self, key):
        self.calls += 1
        out = self.table.get(key)
        if out is not None:
            self.hits += 1
        return out

    def put(self, key, out):
        if len(self.table) < MEMO:
            self.table[key] = out
        elif 2 * self.hits < self.calls:
            self.on, self.table = False, {}
        return out


# ---------------------------------------------------------------------------------- attention
class _Cache:
    """The values of one attention's cache and a lazy exact running sum of them.

    Values are rows over the attention's value support (``coords``), kept in :class:`Rows`
    (compact, exact). With an empty support (``m == 0``) every decision is uniform, so the values
    are not kept: each is added to the running sum as it arrives (O(1) memory per position).
    """

    def __init__(self, m: int, coords: Sequence[int]):
        self.m = m
        self.n = 0
        self.coords = tuple(coords)
        self.values = Rows(len(self.coords)) if m > 0 else None
        self.total: dict[int, fmpq] = {}
        self.total_n = 0

    def _append_value(self, value: Sequence[fmpq]) -> None:
        if self.values is not None:
            self.values.append(value)
        else:
            _accumulate(self.total, self.coords, value)
            self.total_n += 1
        self.n += 1

    def value(self, j: int) -> dict[int, fmpq]:
        """Value j as a sparse residual vector."""
        return {c: v for c, v in zip(self.coords, self.values[j]) if v}

    def sum_all(self) -> dict[int, fmpq]:
        """Σ_j v_j over the whole cache (exact), bringing the running sum up to date."""
        total = self.total
        for j in range(self.total_n, self.n):
            _accumulate(total, self.coords, self.values[j])
        self.total_n = self.n
        return total


def _accumulate(total: dict[int, fmpq], coords: Sequence[int], value: Sequence[fmpq]) -> None:
    for k, v in zip(coords, value):
        if v:
            prev = total.get(k)
            total[k] = v if prev is None else prev + v


class _ScanCache(_Cache):
    """A cache decided by a scan of every key under the certified float filter (5.).

    The float image of the keys lives in ``floats`` (k̂, row per key) and ``absolute`` (|k̂|),
    with work buffers of the same capacity, so a decision allocates nothing of size O(i).
    """

    def __init__(self, m: int, coords: Sequence[int] = (), capacity: int = 64):
        super().__init__(m, coords)
        self.keys: list[tuple] = []
        self.unsafe: list[int] = []
        self.integral = True            # every key so far is N_j / D_j in int64 (5'.)
        self.colmax = [0] * m           # max |N_je| per coordinate
        self._allocate(capacity)

    def _allocate(self, capacity: int) -> None:
        old = self.n
        floats, absolute = np.zeros((capacity, self.m)), np.zeros((capacity, self.m))
        numerators, denominators = np.zeros((capacity, self.m), dtype=np.int64), np.ones(capacity)
        if old:
            floats[:old], absolute[:old] = self.floats[:old], self.absolute[:old]
            numerators[:old], denominators[:old] = self.numerators[:old], self.denominators[:old]
        self.floats, self.absolute = floats, absolute
        self.numerators, self.denominators = numerators, denominators
        self.A = np.empty(capacity, dtype=np.int64)
        self.s = np.empty(capacity)
        self.P = np.empty(capacity)
        self.hi = np.empty(capacity)
        self.mask = np.empty(capacity, dtype=bool)

    def append(self, key: Sequence[fmpq], value: Sequence[fmpq]) -> None:
        n = self.n
        if n == len(self.floats):
            self._allocate(2 * n)
        self.keys.append(tuple(key))
        try:
            row = [_float(k) for k in key]
        except _Unsafe:
            self.unsafe.append(n)
        else:
            self.floats[n] = row
            self.absolute[n] = [abs(r) for r in row]
        if self.integral:
            D, N = common_denominator(key)
            if all(abs(v) < _INT_LIMIT for v in N) and D < _FLOAT_LIMIT:
                self.numerators[n], self.denominators[n] = N, float(D)
                self.colmax = [max(c, abs(v)) for c, v in zip(self.colmax, N)]
            else:
                self.integral = False
        self._append_value(value)

    def integer_bounds(self, q: Sequence[fmpq], clip: bool):
        """(lo, hi, one) bracketing every key's magnitude exactly evaluated in integers (5'.),
        or None when the keys or the query do not fit the proved int64 range."""
        if not self.integral:
            return None
        Dq, Nq = common_denominator(q)
        if Dq >= _EXACT_FLOAT or sum(abs(v) * c for v, c in zip(Nq, self.colmax)) >= _INT64:
            return None
        n = self.n
        A, lo, hi = self.A[:n], self.s[:n], self.hi[:n]
        np.matmul(self.numerators[:n], np.array(Nq, dtype=np.int64), out=A)   # ⟨N_q, N_j⟩, exact
        np.abs(A, out=A)
        np.divide(A, self.denominators[:n], out=lo)                         # f_j
        np.multiply(lo, _UP, out=hi)
        np.multiply(lo, _DOWN, out=lo)
        one = float(Dq)                                                     # |⟨q, k_j⟩| = 1 ⇔ x_j = D_q
        if clip:
            np.minimum(hi, one, out=hi)
            np.minimum(lo, one, out=lo)
        return lo, hi, one


class _Group:
    """The keys of one exact direction of the projection P k (see :class:`_IndexCache`).

    ``members`` holds key ids in order of decreasing |λ| (so the smallest |λ| is last), in a
    typed array; ``rmax[e]`` = max |R k_e| over the members; with a one-dimensional rest,
    ``rmin`` = min |R k| and ``rmin_keys`` the members that reach it.
    """

    __slots__ = ("members", "rmax", "rmin", "rmin_keys")

    def __init__(self, rest: int):
        self.members = array("i")
        self.rmax = [_ZERO_Q] * rest
        self.rmin = None
        self.rmin_keys = array("i")


class _IndexCache(_Cache):
    """A self-attention cache decided by an exact index over the key vectors alone (6.).

    The keys live in :class:`Rows` (compact, exact), the groups' members in typed arrays.
    """

    def __init__(self, m: int, coords: Sequence[int] = ()):
        super().__init__(m, coords)
        self.keys = Rows(m)
        self.p = 2 if m >= 2 else 0            # the projection P: the first two support coordinates
        self.rest = m - self.p                 # R: the others
        self.zero: _Group | None = None        # P k = 0
        self.vertical: _Group | None = None    # P k = (0, y), y ≠ 0: λ = y
        self.slopes: list[fmpq] = []           # finite directions (1, t), sorted by t
        self.groups: list[_Group] = []         # their groups, in the same order
        self.by_slope: dict[tuple, _Group] = {}   # (numerator, denominator) of t -> group
        self.lam_min = None                    # min |λ| over the finite groups
        self.rmax = [_ZERO_Q] * self.rest      # max |R k_e| over the finite groups

    def _lam(self, j: int) -> fmpq:
        """|λ_j|: |k_0| in a finite group, |k_1| in the vertical one (0 in the zero group)."""
        if not self.p:
            return _ZERO_Q
        k = self.keys[j]
        x = k[0]
        return abs(x) if x else abs(k[1])

    def append(self, key: Sequence[fmpq], value: Sequence[fmpq]) -> None:
        self._append_value(value)
        if not self.m:          # every decision is uniform: nothing to index
            return
        self.insert(self.keys.append(key), tuple(key))

    def insert(self, j: int, key: tuple) -> None:
        """Index the stored key ``j`` (= ``key``)."""
        rest = key[self.p:]
        if self.p == 0 or not (key[0] or key[1]):
            if self.zero is None:
                self.zero = _Group(self.rest)
            group, lam = self.zero, _ZERO_Q
        elif not key[0]:
            if self.vertical is None:
                self.vertical = _Group(self.rest)
            group, lam = self.vertical, abs(key[1])
        else:
            x = key[0]
            t = key[1] / x
            group = self.by_slope.get((t.p, t.q))
            if group is None:
                group = self.by_slope[(t.p, t.q)] = _Group(self.rest)
                k = bisect_left(self.slopes, t)
                self.slopes.insert(k, t)
                self.groups.insert(k, group)
            lam = abs(x)
            if self.lam_min is None or lam < self.lam_min:
                self.lam_min = lam
            rmax = self.rmax
            for e, r in enumerate(rest):
                r = abs(r)
                if r > rmax[e]:
                    rmax[e] = r
        members = group.members
        if not members or lam <= self._lam(members[-1]):
            members.append(j)
        else:   # a larger |λ| than the smallest so far: insert in order (ties after their equals)
            lo, hi = 0, len(members)
            while lo < hi:
                mid = (lo + hi) // 2
                if self._lam(members[mid]) >= lam:
                    lo = mid + 1
                else:
                    hi = mid
            members.insert(lo, j)
        rmax = group.rmax
        for e, r in enumerate(rest):
            r = abs(r)
            if r > rmax[e]:
                rmax[e] = r
        if self.rest == 1:
            r = abs(rest[0])
            if group.rmin is None or r < group.rmin:
                group.rmin, group.rmin_keys = r, array("i", [j])
            elif r == group.rmin:
                group.rmin_keys.append(j)

    def decide(self, q: Sequence[fmpq], stats) -> list[int]:
        """Every key of least |⟨q, k⟩|, exactly (the module docstring, 6.); ``q`` is not zero."""
        p = self.p
        keys = self.keys
        rq = [abs(v) for v in q[p:]]
        rest_zero = not any(rq)
        nz = [(e, v) for e, v in enumerate(q) if v]
        state = [None, []]          # best |⟨q, k⟩| so far, its keys
        scored = 0

        def consider(j: int, mag: fmpq) -> None:
            best = state[0]
            if best is None or mag < best:
                state[0], state[1] = mag, [j]
            elif mag == best:
                state[1].append(j)

        def slack(rmax) -> fmpq:
            total = _ZERO_Q
            for r, m in zip(rq, rmax):
                if r:
                    total += r * m
            return total

        def visit(group: _Group, a: fmpq) -> None:
            nonlocal scored
            best = state[0]
            room = slack(group.rmax)
            abs_a = abs(a)
            members = group.members
            if best is not None and abs_a * self._lam(members[-1]) - room > best:
                return
            if not a:
                if rest_zero:                       # every member scores exactly 0
                    for j in members:
                        consider(j, _ZERO_Q)
                elif self.rest == 1:                # |⟨q, k_j⟩| = |b|·|r_j|: least at rmin
                    mag = rq[0] * group.rmin
                    for j in group.rmin_keys:
                        consider(j, mag)
                else:
                    for j in members:
                        consider(j, _exact_magnitude(nz, keys[j]))
                        scored += 1
                return
            for j in reversed(members):             # increasing |λ|: the bound only grows
                best = state[0]
                if best is not None and abs_a * self._lam(j) - room > best:
                    break
                consider(j, _exact_magnitude(nz, keys[j]))
                scored += 1

        if self.zero is not None:
            visit(self.zero, _ZERO_Q)
        if self.vertical is not None:
            visit(self.vertical, q[1])
        slopes, groups = self.slopes, self.groups
        if slopes:
            q0, q1 = q[0], q[1]
            if not q1:
                for group in groups:
                    visit(group, q0)
            else:
                tstar = -q0 / q1
                scale = abs(q1) * self.lam_min
                room = slack(self.rmax)
                k = bisect_left(slopes, tstar)
                right, left = k, k - 1
                while right < len(slopes) or left >= 0:
                    best = state[0]
                    if right < len(slopes):
                        t = slopes[right]
                        if best is not None and scale * (t - tstar) - room > best:
                            right = len(slopes)
                        else:
                            visit(groups[right], q0 + q1 * t)
                            right += 1
                    best = state[0]
                    if left >= 0:
                        t = slopes[left]
                        if best is not None and scale * (tstar - t) - room > best:
                            left = -1
                        else:
                            visit(groups[left], q0 + q1 * t)
                            left -= 1
        if stats is not None:
            stats["index: exact"] += 1
            stats["index: keys scored exactly"] += scored
        best, winners = state
        return winners, best


def _exact_magnitude(nz, key) -> fmpq:
    """|⟨q, k⟩| exactly, over the non-zero query coordinates ``nz``."""
    s = _ZERO_Q
    for e, qe in nz:
        s += qe * key[e]
    return -s if s.p < 0 else s


def _magnitude(x: fmpq, clip: bool) -> fmpq:
    """−φ(x) = |x| or min(|x|, 1), exactly."""
    if x.p < 0:
        x = -x
    if clip and x.p > x.q:
        return _ONE_Q
    return x


class _Attention:
    """One attention head on sparse vectors, with the cache decisions of the module docstring."""

    def __init__(self, attn: Attention, score: str):
        support = {s: k for k, s in enumerate(attn.support)}
        self.m = len(support)
        self.query = _Map(attn.query, support)
        self.key = _Map(attn.key, support)
        self.value = _Map(attn.value, {s: k for k, s in enumerate(attn.value_support)})
        self.coords = attn.value_support
        self.clip = score == "clipped"
        self.score = score
        self.stats = None
        m = max(self.m, 1)
        self.C = 4.0 * (m + 4) * _U

    def decide(self, cache: _IndexCache | _ScanCache, q: list[fmpq]):
        """The tied maximisers (sorted), or ``_ALL``; see the module docstring."""
        n = cache.n
        stats = self.stats
        if n == 0:
            return ()
        if not any(q):
            if stats is not None:
                stats["uniform (zero query)"] += 1
            return _ALL
        if isinstance(cache, _IndexCache):
            winners, best = cache.decide(q, stats)
            if (self.clip and best >= _ONE_Q) or len(winners) == n:
                return _ALL
            winners.sort()
            return tuple(winners)
        if n <= SMALL:
            if stats is not None:
                stats["exact (small cache)"] += 1
            return self._exact(cache, q, range(n), ())
        bounds = cache.integer_bounds(q, self.clip)
        if bounds is not None:
            kind, (lo, hi, one) = "integer filter", bounds
        else:
            try:
                qf = [_float(v) for v in q]
            except _Unsafe:
                if stats is not None:
                    stats["exact (unsafe query)"] += 1
                return self._exact(cache, q, range(n), ())
            kind, (lo, hi, one) = "float filter", self._float_bounds(cache, qf)
        t = hi.min()
        cand = np.flatnonzero(np.less_equal(lo, t, out=cache.mask[:n]))
        if len(cand) == 1:
            if stats is not None:
                stats[f"{kind}: one candidate"] += 1
            return (int(cand[0]),)
        known = ()
        if self.clip:
            clipped = lo[cand] >= one
            if clipped.any():
                known = cand[clipped].tolist()
                cand = cand[~clipped]
        if stats is not None:
            stats[f"{kind}: exact among candidates"] += 1
            stats["candidates decided exactly"] += len(cand)
        return self._exact(cache, q, cand.tolist(), known)

    def _float_bounds(self, cache: _ScanCache, qf: list[float]):
        """(lo, hi, 1.0) bracketing every key's magnitude from float64 products (5.)."""
        n = cache.n
        s, P, hi = cache.s[:n], cache.P[:n], cache.hi[:n]
        np.matmul(cache.floats[:n], np.array(qf), out=s)               # ŝ_j
        np.matmul(cache.absolute[:n], np.abs(np.array(qf)), out=P)     # P̂_j
        np.abs(s, out=s)
        np.multiply(P, self.C, out=P)                                  # E_j
        np.add(s, P, out=hi)                                           # hi_j
        lo = np.subtract(s, P, out=s)                                  # lo_j
        if self.clip:
            np.minimum(hi, 1.0, out=hi)
            np.minimum(lo, 1.0, out=lo)
        if cache.unsafe:
            hi[cache.unsafe] = np.inf
            lo[cache.unsafe] = -np.inf
        return lo, hi, 1.0

    def _exact(self, cache: _ScanCache, q: list[fmpq], candidates, known):
        """Exact decision among ``candidates``; ``known`` keys score exactly −1 (clipped)."""
        clip = self.clip
        keys = cache.keys
        nz = [(e, qe) for e, qe in enumerate(q) if qe]
        best = None
        winners: list[int] = []
        for j in candidates:
            k = keys[j]
            s = _ZERO_Q
            for e, qe in nz:
                s += qe * k[e]
            mag = _magnitude(s, clip)
            if best is None or mag < best:
                best, winners = mag, [j]
            elif mag == best:
                winners.append(j)
        if known and (best is None or best == _ONE_Q):
            winners = sorted(winners + list(known))
        if len(winners) == cache.n:
            return _ALL
        return tuple(winners)

    def output(self, cache: _Cache, winners) -> dict[int, fmpq] | None:
        """The average of the winners' values (exact: sum, then divide once); None for 0."""
        if winners is _ALL:
            total, r = cache.sum_all(), cache.n
        elif len(winners) == 1:
            return cache.value(winners[0]) or None
        elif not winners:
            return None
        else:
            total, r = {}, len(winners)
            for j in winners:
                _accumulate(total, cache.coords, cache.values[j])
        return {k: v / r for k, v in total.items() if v} or None

    def scores(self, cache: _Cache, q: list[fmpq], n: int) -> tuple:
        """Every score φ(⟨q, k_j⟩), j < n, computed by the plain runtime's own code on Fractions."""
        query = tuple(_frac(v) for v in q)
        keys = cache.keys
        return tuple(scores_of(self.score, query, [tuple(_frac(b) for b in keys[j]) for j in range(n)]))




def _add(x: dict[int, fmpq], y: dict[int, fmpq] | None) -> dict[int, fmpq]:
    if not y:
        return x
    out = dict(x)
    for k, v in y.items():
        prev = out.get(k)
        if prev is None:
            out[k] = v
        else:
            s = prev + v
            if s:
                out[k] = s
            else:
                del out[k]
    return out


# ---------------------------------------------------------------------------------- the layer's arithmetic
class _Sparse(FractionOps):
    """The arithmetic of :mod:`turingformer.runtime.layer` on sparse fmpq vectors; hooks hold
    the Fraction tuples of the plain runtime (built only when recorded)."""

    def __init__(self, d: int):
        super().__init__(d)
        self.d = d

    @staticmethod
    def add(x, delta):
        return _add(x, delta)

    def view(self, x) -> tuple:
        return _full(x, self.d)

    def view_delta(self, delta) -> tuple:
        return self.zero if delta is None else _full(delta, self.d)


class _SelfHead:
    """A decoder self-attention: its key index (or, with an empty support, its running sum)."""

    def __init__(self, attn: Attention, score: str):
        self.attn = _Attention(attn, score)
        self.cache = _IndexCache(self.attn.m, attn.value_support)

    def attend(self, h) -> Attended:
        attn, cache = self.attn, self.cache
        cache.append(attn.key.dense(h), attn.value.dense(h))
        q = attn.query.dense(h)
        winners = attn.decide(cache, q)
        n = cache.n
        return Attended(attn.output(cache, winners), winners, n, lambda: attn.scores(cache, q, n))


class _CrossHead:
    """A cross-attention over the encoder output's keys, decided by the certified scan (5., 5')."""

    def __init__(self, attn: Attention, score: str, keys, values):
        self.attn = _Attention(attn, score)
        self.cache = _ScanCache(self.attn.m, attn.value_support, max(1, len(keys)))
        for key, value in zip(keys, values):
            self.cache.append([_q(v) for v in key], [_q(v) for v in value])

    def attend(self, p) -> Attended:
        attn, cache = self.attn, self.cache
        q = attn.query.dense(p)
        winners = attn.decide(cache, q)
        return Attended(attn.output(cache, winners), winners, cache.n,
                        lambda: attn.scores(cache, q, cache.n))


class Decoder:
    """The state of one fast exact decoding in Python: per layer the key index and running sums,
    the cross-attention scans, the σ-nets with their memos, the position ``i`` and ``y`` = y_i.

    :meth:`step` decodes one position through :func:`turingformer.runtime.layer.decoder_forward`.
    """

    def __init__(self, model: Transformer, encoded, stats: Counter | None = None):
        self.model = model
        self.ops = _Sparse(model.d)
        self.layers = []
        for l, layer in enumerate(model.decoder):
            attn = None if layer.attn.is_trivial() else _SelfHead(layer.attn, model.score)
            cross = None
            if layer.cross is not None and not layer.cross.is_trivial():
                cross = _CrossHead(layer.cross, model.score, encoded.cross_keys[l], encoded.cross_values[l])
            self.layers.append(Parts(attn, cross, _MLP(layer.ffn) if layer.ffn is not None else None))
            for head in (attn, cross):
                if head is not None:
                    head.attn.stats = stats
        self.output = _MLP(model.output)
        space = model.space
        self.positional = tuple((space.index(name), e) for name, e in model.positional.powers)
        self.i = 0
        self.y = _sparse(model.seed)

    def step(self, hooks, out_hooks) -> tuple[dict[int, fmpq], dict]:
        """Decode position i: y_i in, y_{i+1} out (also kept as the next input), and the hooks."""
        acts: dict = {}
        k = self.i + 1
        pos = {c: (fmpq(k) ** e if e >= 0 else fmpq(1, k ** -e)) for c, e in self.positional}
        h = _add(self.y, pos)
        y = decoder_forward(self.ops, self.layers, self.output, h, k, hooks, out_hooks, acts)
        self.y, self.i = y, k
        return y, acts


    @classmethod
    def resume(cls, model: Transformer, encoded, state, stats: Counter | None = None) -> "Decoder":
        """The Python decoder that continues a compiled decoding from its ``state``
        (:meth:`turingformer.runtime.compiled.Kernel.state`): the same keys, values and sums, the
        key index rebuilt from the keys, position and y."""
        decoder = cls(model, encoded, stats)
        for runtime, saved in zip(decoder.layers, state.layers):
            if saved is None:
                continue
            cache = runtime.attn.cache
            cache.n = saved.n
            cache.total, cache.total_n = dict(saved.total), saved.sum_n
            if saved.keys is not None:
                cache.keys, cache.values = saved.keys, saved.values
                for j in range(saved.n):
                    cache.insert(j, cache.keys[j])
        decoder.i, decoder.y = state.i, dict(state.y)
        return decoder


# ---------------------------------------------------------------------------------- decoding
#: Positions per call into the compiled kernel: the first call is short (a short run pays for
#: little it does not use), each next one twice as long, up to CHUNK.
FIRST_CHUNK, CHUNK = 16, 4096


def decode_fast(
    model: Transformer, tokens: Sequence[str], *, max_steps: int,
    stop: Callable[[tuple], bool] = lambda y: False, capture: Collection[str] | None = (),
    stats: Counter | None = None, compiled: bool = True,
) -> Iterator[Step]:
    """Autoregressive exact decoding, equal step for step to :func:`transformer.decode`.

    Yields one :class:`Step` per position until ``stop(y_out)`` is true (that step included) or
    ``max_steps`` steps were taken; ``capture`` names the hooks to record (``None``: all).
    ``stats``, if given (a :class:`collections.Counter`), counts how the attention decisions were
    made (zero query, small cache, one float candidate, exact among candidates, ...).
    The compiled kernel (:mod:`turingformer.runtime.compiled`) decodes when it is built and the
    weights fit it (``compiled=False``: never); the Python path otherwise, and from the first
    position the kernel cannot prove on. See the module docstring for how it is fast and why it
    is exact.
    """
    wanted = None if capture is None else frozenset(capture)
    encoded = encode(model, tokens, capture)
    kernel, extract = _kernel_for(model, encoded, wanted, (), compiled)
    if kernel is None:
        return _one_blas_thread(_python_steps(Decoder(model, encoded, stats), model.seed, 0, max_steps, stop,
                                              wanted, encoded.activations))
    return _compiled_steps(kernel, extract, encoded, max_steps, stop, stats, wanted)


def _kernel_for(model: Transformer, encoded, wanted, stop_zero, allowed: bool):
    """(a compiled kernel, its hook extractors) or (None, None) when the Python path must run."""
    if not allowed or not compiled_kernel.available():
        return None, None
    extract, slots = compiled_kernel.capture_plan(model, wanted)
    if extract is None:
        return None, None
    try:
        program = compiled_kernel.Program(model, encoded, stop_zero)
    except compiled_kernel.NotCompilable:
        return None, None
    return compiled_kernel.Kernel(program, slots), extract


def _python_steps(decoder: Decoder, y_in, i: int, max_steps: int, stop, wanted, encoder_acts) -> Iterator[Step]:
    model = decoder.model
    hooks = [h.select(wanted) for h in decoder_hooks(model)]
    out_hooks = output_hooks(model).select(wanted)
    d = model.d
    for i in range(i, max_steps):
        y, acts = decoder.step(hooks, out_hooks)
        if i == 0 and encoder_acts:
            acts = {**encoder_acts, **acts}
        y_out = _full(y, d)
        yield Step(i, y_in, y_out, acts)
        if stop(y_out):
            return
        y_in = y_out


def _compiled_steps(kernel, extract, encoded, max_steps: int, stop, stats, wanted) -> Iterator[Step]:
    model = kernel.program.model
    rows = _RowReader(model, kernel, encoded, extract)
    y_in, i, size = model.seed, 0, FIRST_CHUNK
    try:
        while i < max_steps:
            n, status = kernel.run(min(size, max_steps - i))
            for r in range(n):
                y_out = rows.y(r)
                acts = rows.hooks(r, i)
                if i == 0 and encoded.activations:
                    acts = {**encoded.activations, **acts}
                yield Step(i, y_in, y_out, acts)
                if stop(y_out):
                    return
                y_in, i = y_out, i + 1
            if status == compiled_kernel.UNPROVABLE:
                decoder = Decoder.resume(model, encoded, kernel.state(), stats)
                _count(stats, kernel, handed=True)
                kernel = None
                yield from _one_blas_thread(_python_steps(decoder, y_in, i, max_steps, stop, wanted, {}))
                return
            size = min(2 * size, CHUNK)
    finally:
        if kernel is not None:
            _count(stats, kernel)


def _count(stats: Counter | None, kernel, handed: bool = False) -> None:
    """Add a kernel's decision counts to ``stats`` (and one hand-over to the exact Python path)."""
    if stats is not None:
        for name, value in kernel.stats().items():
            if name in compiled_kernel.MAXIMA:
                stats[name] = max(stats[name], value)
            elif value:
                stats[name] += value
        if handed:
            stats["handed to the exact Python path"] += 1


class _RowReader:
    """The rows one kernel call wrote, as the Fractions the plain decoder yields (y vectors, which
    repeat, are converted once)."""

    def __init__(self, model: Transformer, kernel, encoded, extract):
        self.model, self.kernel, self.encoded, self.extract = model, kernel, encoded, extract
        self.d = model.d
        self.memo: dict[bytes, tuple] = {}

    def y(self, r: int) -> tuple:
        kernel = self.kernel
        key = kernel.yn[r].tobytes() + kernel.yd[r].tobytes()
        out = self.memo.get(key)
        if out is None:
            if len(self.memo) >= MEMO:
                self.memo.clear()
            out = self.memo[key] = _fractions(kernel.yn[r], kernel.yd[r])
        return out

    def hooks(self, r: int, i: int) -> dict:
        kernel, acts = self.kernel, {}
        for name, cap in self.extract.items():
            kind = cap.kind
            if kind == "y":
                acts[name] = self.y(r)
            elif kind == "vector":
                acts[name] = _fractions(kernel.num[cap.slot][r], kernel.den[cap.slot][r])
            elif kind == "hidden":
                D = int(kernel.den[cap.slot][r])
                acts[name] = tuple(_ZERO_F if not v else Fraction(v, D) for v in kernel.num[cap.slot][r].tolist())
            elif kind == "scores":
                acts[name] = self._scores(cap, r, i)
            else:
                winners, n = self._winners(cap, r, i)
                if kind == "winners":
                    acts[name] = tuple(range(n)) if winners is _ALL else winners
                else:
                    acts[name] = pattern_of(n, winners)
        return acts

    def _winners(self, cap, r: int, i: int):
        """(the winners at row r, or ``_ALL``; the number of keys) of one attention."""
        n = i + 1 if cap.head == compiled_kernel.ATTN_WINNERS else len(self.encoded.cross_keys[cap.layer])
        start, count = self.kernel.num[cap.slot][r].tolist()
        return (_ALL if count < 0 else tuple(self.kernel.win[start:start + count].tolist())), n

    def _scores(self, cap, r: int, i: int) -> tuple:
        """φ(⟨q, k_j⟩) from the captured query and the keys (the self-attention's j ≤ i, or the encoder's)."""
        kernel = self.kernel
        D = int(kernel.den[cap.slot][r])
        query = tuple(Fraction(v, D) for v in kernel.num[cap.slot][r].tolist())
        if cap.head == compiled_kernel.ATTN_WINNERS:
            kn, kd = kernel.keys(cap.layer)
            keys = [()] * (i + 1) if kn is None else \
                [_fractions(kn[j], np.full(kn.shape[1], kd[j])) for j in range(i + 1)]
        else:
            keys = self.encoded.cross_keys[cap.layer]
        return tuple(scores_of(self.model.score, query, keys))


def _fractions(nums: np.ndarray, dens: np.ndarray) -> tuple:
    """A row of per-coordinate rationals (numerators, denominators) as Fractions: the non-zero
    entries converted (small integers from a table), the zeros shared."""
    out = [_ZERO_F] * len(nums)
    nz = np.flatnonzero(nums)
    for k, n, q in zip(nz.tolist(), nums[nz].tolist(), dens[nz].tolist()):
        out[k] = (_SMALL_F.get(n) or Fraction(n)) if q == 1 else Fraction(n, q)
    return tuple(out)


# ---------------------------------------------------------------------------------- chunks
@dataclass(frozen=True, repr=False)
class Chunk:
    """Positions ``start … start + len − 1`` of a decoding, as exact integer arrays: the outputs
    y_{i+1} (numerators ``num`` and denominators ``den``, [rows, d], per coordinate in lowest
    terms; int64, or object arrays of Python ints for rows beyond int64) and each captured
    vector hook in the same form. The arrays may be the decoder's own buffers, valid until the
    next chunk is asked for: copy what you keep."""

    start: int
    num: np.ndarray
    den: np.ndarray
    hooks: dict

    def __len__(self) -> int:
        return len(self.num)

    def __repr__(self) -> str:
        return f"Chunk(start={self.start:,}, rows={len(self):,}, hooks={sorted(self.hooks)})"


def decode_chunks(
    model: Transformer, tokens: Sequence[str], *, max_steps: int, stop_zero: Sequence[int] = (),
    capture: Collection[str] = (), stats: Counter | None = None, compiled: bool = True,
) -> Iterator[Chunk]:
    """The decoding of :func:`decode_fast`, streamed as :class:`Chunk` arrays instead of one
    :class:`Step` of Fractions per position (what a long run that only reads its outputs needs).

    Stops after the first output that is zero on every coordinate of ``stop_zero`` (that
    position included), or after ``max_steps`` positions. ``capture`` names vector hooks only
    (``decoder.l.resid_post``, …: d entries per position).
    """
    wanted = frozenset(capture)
    encoded = encode(model, tokens)
    kernel, extract = _kernel_for(model, encoded, wanted, tuple(stop_zero), compiled)
    if kernel is not None and all(cap.kind == "vector" for cap in extract.values()):
        yield from _compiled_chunks(kernel, extract, encoded, max_steps, stop_zero, stats, wanted)
    else:
        with threadpool_limits(limits=1, user_api="blas"):
            yield from _python_chunks(Decoder(model, encoded, stats), 0, max_steps, stop_zero, wanted)


def _compiled_chunks(kernel, extract, encoded, max_steps: int, stop_zero, stats, wanted) -> Iterator[Chunk]:
    model = kernel.program.model
    i, size = 0, FIRST_CHUNK
    try:
        while i < max_steps:
            n, status = kernel.run(min(size, max_steps - i))
            if n:
                yield Chunk(i, kernel.yn[:n], kernel.yd[:n],
                            {name: (kernel.num[cap.slot][:n], kernel.den[cap.slot][:n]) for name, cap in extract.items()})
            i += n
            if status == compiled_kernel.STOPPED:
                return
            if status == compiled_kernel.UNPROVABLE:
                decoder = Decoder.resume(model, encoded, kernel.state(), stats)
                _count(stats, kernel, handed=True)
                kernel = None
                with threadpool_limits(limits=1, user_api="blas"):
                    yield from _python_chunks(decoder, i, max_steps, stop_zero, wanted)
                return
            size = min(2 * size, CHUNK)
    finally:
        if kernel is not None:
            _count(stats, kernel)


def _python_chunks(decoder: Decoder, i: int, max_steps: int, stop_zero, wanted) -> Iterator[Chunk]:
    model = decoder.model
    hooks = [h.select(wanted) for h in decoder_hooks(model)]
    out_hooks = output_hooks(model).select(wanted)
    names = sorted(wanted)
    size = FIRST_CHUNK
    while i < max_steps:
        start, ys, captured = i, [], {name: [] for name in names}
        stopped = False
        while i < max_steps and len(ys) < size:
            y, acts = decoder.step(hooks, out_hooks)
            ys.append(y)
            for name in names:
                captured[name].append(acts[name])
            i += 1
            if stop_zero and not any(c in y for c in stop_zero):
                stopped = True
                break
        yield Chunk(start, *_sparse_rows(ys, model.d),
                    {name: _tuple_rows(rows) for name, rows in captured.items()})
        if stopped:
            return
        size = min(2 * size, CHUNK)


def _sparse_rows(rows: list[dict[int, fmpq]], d: int) -> tuple[np.ndarray, np.ndarray]:
    """Sparse fmpq rows as (numerators, denominators) arrays: int64 when every entry fits."""
    nums = [[0] * d for _ in rows]
    dens = [[1] * d for _ in rows]
    for r, row in enumerate(rows):
        for c, v in row.items():
            nums[r][c], dens[r][c] = int(v.p), int(v.q)
    return _arrays(nums, dens)


def _tuple_rows(rows: list[tuple]) -> tuple[np.ndarray, np.ndarray]:
    """Rows of Fractions as (numerators, denominators) arrays."""
    return _arrays([[v.numerator for v in row] for row in rows], [[v.denominator for v in row] for row in rows])


def _arrays(nums, dens) -> tuple[np.ndarray, np.ndarray]:
    try:
        return np.array(nums, dtype=np.int64), np.array(dens, dtype=np.int64)
    except OverflowError:
        return np.array(nums, dtype=object), np.array(dens, dtype=object)


def _one_blas_thread(steps: Iterator[Step]) -> Iterator[Step]:
    """``steps``, with BLAS limited to one thread while they are produced (docstring, 7.)."""
    with threadpool_limits(limits=1, user_api="blas"):
        yield from steps
