"""A looped encoder: a fixed stack of blocks applied to a matrix X again and again.

Looped-construction spec §3. X is a list of n column vectors ("tokens") in one named
:class:`~turingformer.runtime.space.Space`. A :class:`LoopBlock` is zero or more attention heads and
an optional σ-FFN; every column is a query, the heads read the same input and their outputs add:

    a_j = x_j + Σ_h Att_h(Q_h x_j, K_h X, V_h X),      z_j = a_j + O(a_j)

One **loop** is the blocks in order; its output is the next loop's input. The runtime adds no
positional encoding (positions are part of X), no layer norm, no softmax, no mask. The block body
is :func:`turingformer.runtime.transformer.encoder_layer`, the same code the Pérez encoder runs.

Like the rest of the runtime this module is **generic**: it runs any weights and knows no program.

Two exact paths, equal entry for entry (tests/runtime/test_looped.py):

* :meth:`LoopedTransformer.step` — the Fraction runtime, with hooks (:data:`HOOKS`).
* :class:`IntegerLoop` — the exact integer fast path. It needs every residual entry to be an
  integer at the start of every block (it checks: a non-integer input or block output raises
  :class:`~turingformer.errors.LoopedRuntimeError`, nothing is rounded). Each affine map
  ``x W + b`` is stored as an integer matrix A = L·Wᵀ and vector c = L·b with L the lcm of its
  denominators; an activation is a pair (integer matrix N, denominator δ) meaning N/δ, so
  ``W x + b`` = (A N + c δ)/(L δ) and σ(N/δ) = clip(N, 0, δ)/δ exactly. Attention scores are
  compared as L_q L_k ⟨q, k⟩ (a positive multiple: the same maximisers, ``clipped`` clips at
  L_q L_k). A block output must be an integer again, checked by exact division.

  Entries are Python ints (numpy object arrays) unless **int64 is proven safe** for the block:
  with x = max |X| at the block's start and, for each map, ρ = its largest row sum of |A| and
  β = max |c|, every integer the block forms is bounded by
  ``|A N + c δ| ≤ ρ·max|N| + β·δ`` (affine maps), ``m·q·k`` (scores over a support of m
  coordinates, q and k the bounds of the two projections) and ``max|N| ≤ δ`` after σ;
  :meth:`IntegerLoop._largest` propagates them through the block and int64 is used only when all
  stay below 2⁶² (so no sum of two of them overflows 2⁶³). Otherwise Python ints, unbounded.
* ``IntegerLoop(model, dtype="float64")`` runs the same weights in float64 (plain matmul and
  argmax, no exactness claim; a measurement, for benchmarks and precision studies).

Every attention in the looped constructions must have exactly **one winner** per query column
(spec §3.2.4); both paths raise :class:`~turingformer.errors.AttentionTieError` naming the block,
head, column and the tied columns when ``single_winner`` is set (the default).
"""

from __future__ import annotations

from dataclasses import dataclass
from fractions import Fraction
from math import lcm
from typing import Callable, Collection, Iterator, Mapping, Sequence

import numpy as np

from ..errors import AttentionTieError, LoopedRuntimeError
from .hooks import ENCODER_LAYER, component
from .space import Linear, Space, Vector
from .transformer import MLP, Attention, Recorder, check_score, encoder_layer, head_names

#: Hook names of one loop, ``{l}`` = block index within the loop (the loop counter is the driver's);
#: ``attn`` is ``attn.{h}`` when a block has several heads. The components are the encoder
#: layer's (:data:`turingformer.runtime.hooks.ENCODER_LAYER`): a block *is* an encoder layer.
HOOKS = {f"loop.{{l}}.{k}": v for k, v in ENCODER_LAYER.items()}


@dataclass(frozen=True)
class LoopBlock:
    """One block of the loop: attention heads (outputs add; none = FFN-only) and an optional FFN."""

    heads: tuple[Attention, ...]
    ffn: MLP | None = None


@dataclass(frozen=True)
class Loop:
    """Loop ``t`` (from 1): it read ``X_in`` = X_{t−1} and produced ``X_out`` = X_t."""

    t: int
    X_in: tuple[Vector, ...]
    X_out: tuple[Vector, ...]
    activations: Mapping[str, object]


@dataclass(frozen=True)
class LoopedTransformer:
    """The weights of a looped encoder, and nothing else."""

    space: Space
    blocks: tuple[LoopBlock, ...]
    score: str = "abs"

    def __post_init__(self) -> None:
        check_score(self.score)

    def step(self, X: Sequence[Vector], capture: Collection[str] | None = (), *,
             single_winner: bool = True) -> tuple[tuple[Vector, ...], dict[str, object]]:
        """One loop on the Fraction runtime: ``(X', activations)``; ``capture=None`` = every hook."""
        record = Recorder(capture)
        xs = list(X)
        for l, block in enumerate(self.blocks):
            xs, winners = encoder_layer(self.score, block.heads, block.ffn, xs, record, f"loop.{l}",
                                        decisions=True)
            if single_winner:
                _check_single(l, winners)
        return tuple(xs), record.values

    def run(self, X0: Sequence[Vector], *, max_loops: int,
            stop: Callable[[tuple[Vector, ...]], bool] = lambda X: False,
            capture: Collection[str] | None = (), single_winner: bool = True) -> Iterator[Loop]:
        """Loops 1, 2, … until ``stop(X_t)`` (that loop included) or ``max_loops`` loops."""
        return _drive(lambda X: self.step(X, capture, single_winner=single_winner), tuple(X0), max_loops, stop)

    def layer(self, name: str):
        """The block (or head, FFN) a hook-style name denotes: ``layer("loop.1")`` is ``blocks[1]``."""
        return component(self, name)

    def linears(self) -> Iterator[tuple[str, Linear]]:
        """Every affine map with its hook-style name."""
        for l, block in enumerate(self.blocks):
            for name, head in zip(head_names(f"loop.{l}", len(block.heads)), block.heads):
                yield f"{name}.query", head.query
                yield f"{name}.key", head.key
                yield f"{name}.value", head.value
            if block.ffn is not None:
                for k, layer in enumerate(block.ffn.layers):
                    yield f"loop.{l}.ffn.{k}", layer

    def nonzero_weights(self) -> int:
        return sum(len(m.weights) + len(m.bias) for _, m in self.linears())


def _drive(step, X, max_loops, stop) -> Iterator[Loop]:
    for t in range(1, max_loops + 1):
        X_next, acts = step(X)
        yield Loop(t, X, X_next, acts)
        if stop(X_next):
            return
        X = X_next


def _check_single(block: int, winners: Sequence[Sequence[tuple[int, ...]]]) -> None:
    for h, per_column in enumerate(winners):
        for j, w in enumerate(per_column):
            if len(w) != 1:
                raise _tie(block, h, len(winners), j, w)


def _tie(block: int, head: int, heads: int, column: int, tied: Sequence[int]) -> AttentionTieError:
    where = f"block {block}" + (f", head {head}" if heads > 1 else "")
    return AttentionTieError(
        f"{where}: query column {column} has {len(tied)} tied winners {list(tied)} "
        "(the construction needs exactly one)",
        hint="an address outside the punch card or a violated precondition; "
             "check the program against its construction's limits")


# ---------------------------------------------------------------------------------- integer path
INT64_LIMIT = 2 ** 62


@dataclass(frozen=True)
class _Affine:
    """``x W + b`` as (A, c, L): A = L·Wᵀ (target × source), c = L·b, both integer (or float).

    ``forms`` holds A and c once per entry type the path uses (Python-int object arrays, and int64
    copies when every entry fits; a float path has only its float arrays).
    """

    forms: dict
    L: int
    rho: int      # max row sum of |A|
    beta: int     # max |c|

    @classmethod
    def of(cls, m: Linear, rows: Sequence[int] | None = None, dtype=None) -> "_Affine":
        rows = list(range(len(m.target))) if rows is None else list(rows)
        pick = {o: r for r, o in enumerate(rows)}
        L = lcm(1, *(w.denominator for _, o, w in m.weights if o in pick),
                *(b.denominator for o, b in m.bias if o in pick))
        A = np.zeros((len(rows), len(m.source)), dtype=object)
        c = np.zeros(len(rows), dtype=object)
        for i, o, w in m.weights:
            if o in pick:
                A[pick[o], i] = int(w * L)
        for o, b in m.bias:
            if o in pick:
                c[pick[o]] = int(b * L)
        rho = max([sum(abs(int(v)) for v in row) for row in A] or [0])
        beta = max([abs(int(v)) for v in c] or [0])
        if dtype is not None:
            return cls({dtype: ((A / L).astype(dtype), (c / L).astype(dtype))}, 1, rho, beta)
        forms = {np.dtype(object): (A, c)}
        if max(rho, beta) < INT64_LIMIT:
            forms[np.dtype(np.int64)] = (A.astype(np.int64), c.astype(np.int64))
        return cls(forms, L, rho, beta)

    def bound(self, nmax: int, den: int) -> int:
        return self.rho * nmax + self.beta * den

    def apply(self, N: np.ndarray, den: int) -> np.ndarray:
        A, c = self.forms[N.dtype]
        return A @ N + (c * den)[:, None]


@dataclass(frozen=True)
class _Head:
    query: _Affine
    key: _Affine
    value: _Affine
    support: int
    value_support: tuple[int, ...]


class IntegerLoop:
    """The exact integer fast path for a :class:`LoopedTransformer` (see the module docstring).

    ``step(X)`` takes and returns X as a d × n numpy array (columns are tokens) and also returns,
    per block, the winner column of every query column for every head.
    """

    def __init__(self, model: LoopedTransformer, *, dtype: str | None = None, single_winner: bool = True):
        self.model, self.float = model, dtype is not None
        self.dtype = np.dtype(dtype) if dtype is not None else None
        self.single_winner = single_winner
        self.blocks = []
        for block in model.blocks:
            heads = tuple(_Head(_Affine.of(h.query, h.support, self.dtype), _Affine.of(h.key, h.support, self.dtype),
                                _Affine.of(h.value, h.value_support, self.dtype), len(h.support), h.value_support)
                          for h in block.heads if not h.is_trivial())
            if len(heads) != len(block.heads):
                raise LoopedRuntimeError("the integer path needs every head to have a non-zero value map")
            ffn = tuple(_Affine.of(layer, None, self.dtype) for layer in block.ffn.layers) if block.ffn else ()
            self.blocks.append((heads, ffn))

    # -- conversions at the edges
    def to_array(self, X: Sequence[Vector]) -> np.ndarray:
        """X (columns of Fractions) as a d × n array of Python ints (float: of that dtype)."""
        if self.float:
            return np.array([[float(v) for v in x] for x in X], dtype=self.dtype).T.copy()
        cols = []
        for j, x in enumerate(X):
            bad = [self.model.space.names[i] for i, v in enumerate(x) if Fraction(v).denominator != 1]
            if bad:
                raise LoopedRuntimeError(f"column {j} has a non-integer entry in {bad[0]}",
                                         hint="the integer path runs only integer punch cards; "
                                              "use the Fraction runtime")
            cols.append([int(v) for v in x])
        return np.array(cols, dtype=object).T.copy()

    @staticmethod
    def to_columns(X: np.ndarray) -> tuple[Vector, ...]:
        return tuple(tuple(Fraction(int(v)) for v in col) for col in X.T)

    # -- the loop
    def step(self, X: np.ndarray) -> tuple[np.ndarray, list[tuple[np.ndarray, ...]]]:
        winners_per_block = []
        for l, (heads, ffn) in enumerate(self.blocks):
            if not self.float:
                small = self._largest(heads, ffn, _max_abs(X)) < INT64_LIMIT
                X = X.astype(np.int64 if small else object, copy=False)
            X, winners = self._block(l, heads, ffn, X)
            winners_per_block.append(winners)
        return X, winners_per_block

    def run(self, X0: np.ndarray, *, max_loops: int,
            stop: Callable[[np.ndarray], bool] = lambda X: False) -> Iterator[tuple[int, np.ndarray, list]]:
        """``(t, X_t, winners)`` for t = 1, 2, … until ``stop(X_t)`` or ``max_loops``."""
        X = X0
        for t in range(1, max_loops + 1):
            X, winners = self.step(X)
            yield t, X, winners
            if stop(X):
                return

    def largest_integer(self, xmax: int) -> int:
        """A bound on every integer a loop forms when every block starts with |entries| ≤ ``xmax``."""
        return max(self._largest(heads, ffn, xmax) for heads, ffn in self.blocks)

    @staticmethod
    def _largest(heads, ffn, xmax: int) -> int:
        """A bound on every integer this block forms from entries |x| ≤ ``xmax`` (module docstring)."""
        bounds = []
        mid = xmax
        for h in heads:
            q, k, v = h.query.bound(xmax, 1), h.key.bound(xmax, 1), h.value.bound(xmax, 1)
            bounds += [q, k, h.support * q * k, v]
            mid += v
        nmax, den = mid, 1
        bounds.append(mid)
        for layer in ffn:
            pre = layer.bound(nmax, den)
            bounds.append(pre)
            den *= layer.L
            nmax = den if layer is not ffn[-1] else pre
            bounds.append(den)
        bounds.append(mid + nmax)
        return max(bounds)

    def _block(self, l: int, heads, ffn, X: np.ndarray):
        delta = np.zeros_like(X)
        winners = []
        for h, head in enumerate(heads):
            q, k = head.query.apply(X, 1), head.key.apply(X, 1)
            S = q.T @ k
            S = -np.abs(S) if self.float else -abs(S)
            if self.model.score == "clipped":
                S = np.maximum(S, -head.query.L * head.key.L)
            best = S.max(axis=1)
            win = np.argmax(S, axis=1)
            if self.single_winner:
                ties = (S == best[:, None]).sum(axis=1)
                if (ties != 1).any():
                    j = int(np.nonzero(ties != 1)[0][0])
                    raise _tie(l, h, len(heads), j, [int(i) for i in np.nonzero(S[j] == best[j])[0]])
            winners.append(win)
            v = head.value.apply(X[:, win], 1)
            delta[list(head.value_support), :] += _exact_div(v, head.value.L, self.float, l, "attention")
        X = X + delta
        if ffn:
            N, den = X, 1
            for k, layer in enumerate(ffn):
                N, den = layer.apply(N, den), den * layer.L
                if k < len(ffn) - 1:
                    if self.float:
                        N, den = np.clip(N, 0, 1), 1
                    else:
                        N = np.minimum(np.maximum(N, 0), den)
            X = X + _exact_div(N, den, self.float, l, "FFN")
        return X, tuple(winners)


def _max_abs(X: np.ndarray) -> int:
    return int(abs(X).max()) if X.size else 0


def _exact_div(N: np.ndarray, den: int, is_float: bool, block: int, what: str) -> np.ndarray:
    if is_float or den == 1:
        return N
    if (N % den != 0).any():
        raise LoopedRuntimeError(f"block {block}: the {what} output is not an integer",
                                 hint="the integer path runs only integer-valued constructions; "
                                      "use the Fraction runtime")
    return N // den
