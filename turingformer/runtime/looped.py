"""A looped encoder: a fixed stack of blocks applied to a matrix X again and again.

Looped-construction spec §3. X is a list of n column vectors ("tokens") in one named
:class:`~turingformer.runtime.space.Space`. A :class:`LoopBlock` is zero or more attention heads and
an optional σ-FFN; every column is a query, the heads read the same input and their outputs add:

    a_j = x_j + Σ_h Att_h(Q_h x_j, K_h X, V_h X),      z_j = a_j + O(a_j)

One **loop** is the blocks in order; its output is the next loop's input. The runtime adds no
positional encoding (positions are part of X), no layer norm, no softmax, no mask. The block body
is :func:`turingformer.runtime.transformer.encoder_layer`, the same code the Pérez encoder runs.

Like the rest of the runtime this module is **generic**: it runs any weights and knows no program.

Two exact paths, equal entry for entry (tests/runtime/test_looped.py), and one float path:

* :meth:`LoopedTransformer.step` — the Fraction runtime, with hooks (:data:`HOOKS`).
* :class:`IntegerLoop` — the exact integer fast path. It needs every residual entry to be an
  integer at the start of every block (it checks: a non-integer input or block output raises
  :class:`~turingformer.errors.LoopedRuntimeError`, nothing is rounded).

  *Per-unit caps.* Every FFN row o is scaled by its own s_o, the lcm of its denominators (the
  inputs' scales included): a hidden unit σ(t) becomes clip(s·t, 0, s) = s·σ(t) on integers,
  the next layer reads it with weights w/s, and a last layer's increment is (its integer row)/s_o,
  checked by exact division. (One scale for a whole layer, the lcm of all its denominators,
  would multiply a step unit's integers by the largest cap of the layer.) Attention maps are
  scaled by one L each: scores are compared as L_q L_k ⟨q, k⟩ (the same maximisers; ``clipped``
  clips at L_q L_k) and values divided by L_v.

  *Sparse, deduplicated products* (:class:`_Sparse`): rows with the same non-zeros are computed
  once; each unique row's non-zeros are gathered, multiplied and summed, O(non-zeros × columns).

  *Column folding* (``fold=True``, the default): dimensions equal in every column are found at
  each block; FFN rows that read only such dimensions run on one column and are broadcast, a
  head whose query reads only such dimensions searches once. Exact (the same integers in every
  column give the same results); ``fold=False`` is the plain path, and the tests compare them.

  *Attention in O(n) memory per head*: an address head (keys that differ across columns in one
  coordinate only) is solved by sorting the keys and a binary search per query, O(n log n);
  any other head scores at most SCORE_CHUNK (query, key) pairs at a time.

  *int64 only under a proven bound*: from per-dimension bounds E_d ≥ max |X[d, :]| at a
  block's input, :meth:`IntegerLoop.bound` bounds every integer the block forms (Σ|A|·E + |c| per
  query, key, value and pre-activation row, Σ q·k per score, the caps after σ, the residual after
  each increment); the block runs in int64 only when that bound is below 2⁶² (so no sum of two
  overflows 2⁶³), else in Python ints (numpy object arrays), unbounded. The bounds are cached as
  an envelope per block and X is compared with it at every block (a miss recomputes).
* :class:`FloatLoop` — the same weights rounded to float32 or float64, σ = clip to [0, 1]: no
  exactness claim, a measurement for benchmarks and precision studies.

Every attention in the looped constructions must have exactly **one winner** per query column
(spec §3.2.4); the paths raise :class:`~turingformer.errors.AttentionTieError` naming the block,
head, column and the tied columns when ``single_winner`` is set (the default of the exact path).
"""

from __future__ import annotations

from dataclasses import dataclass
from fractions import Fraction
from functools import cached_property
from math import gcd, lcm
from typing import Callable, Collection, Iterator, Mapping, Sequence

import numpy as np

from ..errors import AttentionTieError, LoopedRuntimeError, OptionError
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


# ---------------------------------------------------------------------------------- fast paths
INT64_LIMIT = 2 ** 62
#: Query columns scored together when no faster exact search applies (memory O(SCORE_CHUNK) per head).
SCORE_CHUNK = 1 << 18
#: Column-folding plans kept per runner (one per pattern of replicated dimensions and block).
PLAN_CACHE = 512


class _Sparse:
    """``out = A @ X + c`` for a sparse integer (or float) matrix A, in numpy alone.

    Rows with equal non-zeros (same columns, same values) are computed once: ``row_map[o]`` is
    the unique row of output o, so a group of units that differ only in their constant (a
    staircase of thresholds, V units of one digit product) costs one product. Each unique row's
    non-zeros are gathered from X, multiplied and summed (``np.add.reduceat``), so the work is
    O(non-zeros × columns) and never a dense rows × inputs product. Values are kept as Python
    ints (object arrays, exact at any size) and, when every one fits, as int64 (or as floats).
    """

    def __init__(self, rows: np.ndarray, cols: np.ndarray, vals: Sequence, const: Sequence, n_out: int):
        self.n_out = n_out
        vals = np.asarray(vals, dtype=object) if len(vals) else np.zeros(0, dtype=object)
        order = np.lexsort((cols, rows)) if len(rows) else np.zeros(0, dtype=np.intp)
        rows, cols, vals = np.asarray(rows)[order], np.asarray(cols)[order], vals[order]
        bounds = np.searchsorted(rows, np.arange(n_out + 1)) if len(rows) else np.zeros(n_out + 1, dtype=np.intp)
        unique: dict[tuple, int] = {}
        indptr, indices, values, row_map = [0], [], [], np.zeros(n_out, dtype=np.intp)
        for o in range(n_out):
            a, b = bounds[o], bounds[o + 1]
            key = (cols[a:b].tobytes(), tuple(vals[a:b]))
            if key not in unique:
                unique[key] = len(unique)
                if a == b:                              # a constant-only row: one zero entry keeps reduceat exact
                    indices.append(0)
                    values.append(0)
                else:
                    indices.extend(cols[a:b].tolist())
                    values.extend(vals[a:b].tolist())
                indptr.append(len(indices))
            row_map[o] = unique[key]
        self.indptr = np.array(indptr[:-1], dtype=np.intp)
        self.indices = np.array(indices, dtype=np.intp)
        self.row_map = row_map
        self.identity_map = bool(len(unique) == n_out and (row_map == np.arange(n_out)).all())
        self._values = {np.dtype(object): np.array(values, dtype=object)}
        self._const = {np.dtype(object): np.array(list(const), dtype=object).reshape(n_out)}
        self.abs_values = np.abs(self._values[np.dtype(object)])
        self.abs_const = np.abs(self._const[np.dtype(object)])
        self.largest = max([0, *(abs(v) for v in values), *(abs(c) for c in const)])
        self.unique_rows = len(unique)
        self.constant_only = not len(rows)
        self.ones = all(v == 1 for v in values)
        self.no_const = all(c == 0 for c in const)
        one_each = len(self.indices) == self.unique_rows and self.identity_map
        #: a copy of some inputs (every row one entry of weight 1, no constant): apply is a gather
        self.selection = self.indices if (one_each and self.ones and self.no_const and not self.constant_only) else None

    def values(self, dt: np.dtype) -> tuple[np.ndarray, np.ndarray]:
        if dt not in self._values:
            self._values[dt] = self._values[np.dtype(object)].astype(dt)
            self._const[dt] = self._const[np.dtype(object)].astype(dt)
        return self._values[dt], self._const[dt]

    def apply(self, X: np.ndarray) -> np.ndarray:
        """A @ X + c for X of shape (inputs × columns), or (inputs,) for one column, in X's dtype."""
        if self.selection is not None:
            return X[self.selection]
        values, const = self.values(X.dtype)
        if X.ndim == 1:
            if self.constant_only:
                return const.copy()
            products = X[self.indices] if self.ones else X[self.indices] * values
            U = np.add.reduceat(products, self.indptr)
        else:
            if self.constant_only:
                return np.broadcast_to(const[:, None], (self.n_out, X.shape[1])).copy()
            products = X[self.indices] if self.ones else X[self.indices] * values[:, None]
            U = np.add.reduceat(products, self.indptr, axis=0)
            const = const[:, None]
        if not self.identity_map:
            U = U[self.row_map]
        return U if self.no_const else U + const

    def bound(self, inb: np.ndarray) -> np.ndarray:
        """Per output, Σ|A|·inb + |c| (Python ints) for input bounds ``inb`` (object array)."""
        if self.constant_only:
            return self.abs_const.copy()
        U = np.add.reduceat(self.abs_values * inb[self.indices], self.indptr)
        return U[self.row_map] + self.abs_const


def _coo(entries: Sequence[tuple[int, int, object]]) -> tuple[np.ndarray, np.ndarray, list]:
    rows = np.array([e[0] for e in entries], dtype=np.intp)
    cols = np.array([e[1] for e in entries], dtype=np.intp)
    return rows, cols, [e[2] for e in entries]


@dataclass(frozen=True)
class _Layer:
    """One affine map of an FFN in runner form: ``out[o] = Σ_i A[o, i]·in[i] + c[o]`` over the rows
    ``outputs`` of the target space (only rows that can be non-zero). Exact path: an input i
    holds its value times ``in_scale[i]``; row o is scaled by its own ``scale[o]`` (the lcm of its
    denominators), so a hidden unit σ(t) is clip(T, 0, scale) = scale·σ(t) (per-unit caps) and a
    last layer's increment is T / scale. Float path: every scale is 1."""

    entries: tuple[tuple[int, int, object], ...]          # (row, input, value) in runner form
    const: tuple                                           # per row
    outputs: tuple[int, ...]                               # target indices of the rows
    scale: tuple                                           # per row (exact: Python ints; float: 1.0)
    last: bool

    @classmethod
    def of(cls, m: Linear, in_scale: Sequence[int] | None, last: bool, exact: bool) -> "_Layer":
        outputs = tuple(m.used_outputs()) if last else tuple(range(len(m.target)))
        row = {o: r for r, o in enumerate(outputs)}
        per_row: dict[int, list[tuple[int, Fraction]]] = {r: [] for r in range(len(outputs))}
        for i, o, w in m.weights:
            per_row[row[o]].append((i, w))
        bias = dict(m.bias)
        entries, const, scales = [], [], []
        for r, o in enumerate(outputs):
            b = Fraction(bias.get(o, 0))
            if exact:
                terms = []                              # w / in_scale[i] as (numerator, denominator)
                for i, w in per_row[r]:
                    num, den = w.as_integer_ratio()
                    scale_in = in_scale[i]
                    if scale_in != 1:
                        den *= scale_in
                        g = gcd(num, den)
                        num, den = num // g, den // g
                    terms.append((i, num, den))
                bnum, bden = b.as_integer_ratio()
                s = lcm(bden, *(den for _, _, den in terms))
                entries += [(r, i, num * (s // den)) for i, num, den in terms]
                const.append(bnum * (s // bden))
                scales.append(s)
            else:
                entries += [(r, i, float(w)) for i, w in per_row[r]]
                const.append(float(b))
                scales.append(1.0)
        return cls(tuple(entries), tuple(const), outputs, tuple(scales), last)

    @property
    def rows(self) -> int:
        return len(self.outputs)

    @cached_property
    def matrix(self) -> _Sparse:
        """The whole layer as one sparse map (for bounds)."""
        return _Sparse(*_coo(self.entries), self.const, self.rows)


class _Plan:
    """A layer split for column folding: rows that read only replicated inputs (``folded``, run on
    one column and broadcast) and the others (``spread``: ``ss`` over the inputs that differ
    between columns, on every column, plus ``sf`` over the replicated inputs, on one column, when
    they read any). Without folding every row is spread and every input too."""

    def __init__(self, layer: _Layer, in_rep: np.ndarray, d: int):
        rows, cols, vals = _coo(layer.entries)
        reads_spread = np.zeros(layer.rows, dtype=bool)
        if len(rows):
            np.logical_or.at(reads_spread, rows, ~in_rep[cols])
        self.folded = np.flatnonzero(~reads_spread)
        self.spread = np.flatnonzero(reads_spread)
        self.rep_inputs, self.spread_inputs = np.flatnonzero(in_rep), np.flatnonzero(~in_rep)
        position = np.full(len(in_rep), -1, dtype=np.intp)
        position[self.rep_inputs] = np.arange(len(self.rep_inputs))
        position[self.spread_inputs] = np.arange(len(self.spread_inputs))
        const, zero = np.array(layer.const, dtype=object), np.zeros(len(layer.const), dtype=object)
        self.ff = self._part(rows, cols, vals, const, self.folded, in_rep, True, position)
        mixed = self._part(rows, cols, vals, zero, self.spread, in_rep, True, position)
        if mixed.constant_only:                        # the spread rows read no replicated input
            self.sf = None
            self.ss = self._part(rows, cols, vals, const, self.spread, in_rep, False, position)
        else:
            self.sf = self._part(rows, cols, vals, const, self.spread, in_rep, True, position)
            self.ss = self._part(rows, cols, vals, zero, self.spread, in_rep, False, position)
        outputs = np.array(layer.outputs, dtype=np.intp)
        self.out_f, self.out_s = outputs[self.folded], outputs[self.spread]
        scale = np.array(layer.scale, dtype=object)
        self.scales = {np.dtype(object): (scale[self.folded], scale[self.spread][:, None])}
        if layer.scale and isinstance(layer.scale[0], int) and max(layer.scale) < INT64_LIMIT:
            self.scales[np.dtype(np.int64)] = tuple(a.astype(np.int64) for a in self.scales[np.dtype(object)])
        self.integral = all(v == 1 for v in layer.scale)
        self.d = d

    def rep_after(self, rep: np.ndarray) -> np.ndarray:
        """The replicated mask after a last layer: spread rows' outputs differ between columns."""
        if not len(self.out_s):
            return rep
        rep = rep.copy()
        rep[self.out_s] = False
        return rep

    @staticmethod
    def _part(rows, cols, vals, const, chosen, in_rep, rep, position) -> _Sparse:
        index = np.full(len(const), -1, dtype=np.intp)
        index[chosen] = np.arange(len(chosen))
        keep = (index[rows] >= 0) & (in_rep[cols] == rep) if len(rows) else np.zeros(0, dtype=bool)
        values = [v for v, k in zip(vals, keep) if k]
        return _Sparse(index[rows[keep]], position[cols[keep]], values, const[chosen], len(chosen))


class _Keys:
    """A head's keys k (support × n) and, when at most one key coordinate differs between
    columns (an address head), that coordinate sorted: (order, sorted values, the constant
    coordinates, the varying one or None)."""

    def __init__(self, seen: bytes, k: np.ndarray):
        self.seen, self.k = seen, k
        varying = [c for c in range(k.shape[0]) if (k[c] != k[c, 0]).any()]
        self.sorted = None
        if len(varying) <= 1:
            const = [c for c in range(k.shape[0]) if c not in varying]
            var = varying[0] if varying else None
            kappa = k[var] if var is not None else np.zeros(k.shape[1], dtype=k.dtype)
            order = np.argsort(kappa, kind="stable")
            self.sorted = (order, kappa[order], const, var)


@dataclass(frozen=True)
class _HeadMaps:
    """An attention head in runner form: query/key over the support, value over its outputs,
    each an integer map with its scale L (⟨q, k⟩ is scaled by L_q·L_k; values are divided by L_v)."""

    query: _Sparse
    key: _Sparse
    value: _Sparse
    Lq: object
    Lk: object
    Lv: object
    value_rows: np.ndarray
    query_inputs: np.ndarray
    key_inputs: np.ndarray

    @classmethod
    def of(cls, head: Attention, exact: bool) -> "_HeadMaps":
        maps = [_map(m, rows, exact) for m, rows in ((head.query, head.support), (head.key, head.support),
                                                     (head.value, head.value_support))]
        return cls(*(m for m, _ in maps), *(L for _, L in maps), np.array(head.value_support, dtype=np.intp),
                   np.array(head.query.used_inputs(), dtype=np.intp), np.array(head.key.used_inputs(), dtype=np.intp))


def _map(m: Linear, rows: Sequence[int], exact: bool) -> tuple[_Sparse, object]:
    pick = {o: r for r, o in enumerate(rows)}
    weights = [(pick[o], i, w) for i, o, w in m.weights if o in pick]
    bias = dict(m.bias)
    if exact:
        L = lcm(1, *(w.denominator for _, _, w in weights), *(Fraction(bias.get(o, 0)).denominator for o in rows))
        entries = [(r, i, int(w * L)) for r, i, w in weights]
        const = [int(Fraction(bias.get(o, 0)) * L) for o in rows]
    else:
        L = 1.0
        entries = [(r, i, float(w)) for r, i, w in weights]
        const = [float(bias.get(o, 0)) for o in rows]
    return _Sparse(*_coo(entries), const, len(rows)), L


class _Runner:
    """What :class:`IntegerLoop` and :class:`FloatLoop` share: the runner form of every block,
    column folding, the attention search, the block driver."""

    exact: bool

    def __init__(self, model: LoopedTransformer, *, single_winner: bool, fold: bool):
        self.model, self.single_winner, self.fold = model, single_winner, fold
        self.blocks: list[tuple[tuple[_HeadMaps, ...], tuple[_Layer, ...]]] = []
        for block in model.blocks:
            if any(h.is_trivial() for h in block.heads):
                raise LoopedRuntimeError("the fast paths need every head to have a non-zero value map")
            heads = tuple(_HeadMaps.of(h, self.exact) for h in block.heads)
            layers: list[_Layer] = []
            if block.ffn is not None:
                scale = [1] * len(model.space)
                for k, linear in enumerate(block.ffn.layers):
                    last = k == len(block.ffn.layers) - 1
                    layers.append(_Layer.of(linear, scale, last, self.exact))
                    scale = list(layers[-1].scale)
            self.blocks.append((heads, tuple(layers)))
        self._plans: dict[tuple, list[_Plan]] = {}
        self._key_cache: dict[tuple[int, int], _Keys] = {}

    # -- conversions at the edges
    @staticmethod
    def to_columns(X: np.ndarray) -> tuple[Vector, ...]:
        return tuple(tuple(Fraction(int(v)) for v in col) for col in X.T)

    # -- the loop
    def step(self, X: np.ndarray) -> tuple[np.ndarray, list[tuple[np.ndarray, ...]]]:
        """One loop: ``(X', winners)``, winners[block][head] = the winner column of every column."""
        X, proven = self._start_loop(X)
        X = X.copy()                                   # the loop updates its own copy in place
        rep = self._replicated(X)
        winners = []
        for l in range(len(self.blocks)):
            if not proven:
                X = self._prepare(l, X).copy()
            X, w, rep = self._block(l, X, rep, inplace=True)
            winners.append(w)
        return X, winners

    def run(self, X0: np.ndarray, *, max_loops: int,
            stop: Callable[[np.ndarray], bool] = lambda X: False) -> Iterator[tuple[int, np.ndarray, list]]:
        """``(t, X_t, winners)`` for t = 1, 2, … until ``stop(X_t)`` or ``max_loops``."""
        X = X0
        for t in range(1, max_loops + 1):
            X, winners = self.step(X)
            yield t, X, winners
            if stop(X):
                return

    def block(self, l: int, X: np.ndarray) -> tuple[np.ndarray, tuple[np.ndarray, ...]]:
        """Block ``l`` of the loop on X alone: its heads (outputs added), then its FFN."""
        X = self._prepare(l, X)
        X, winners, _ = self._block(l, X, self._replicated(X))
        return X, winners

    def ffn(self, l: int, X: np.ndarray) -> np.ndarray:
        """X + FFN_l(X): block ``l``'s feed-forward net alone (position-wise, on any columns)."""
        X = self._prepare(l, X)
        return self._ffn(l, X, self._replicated(X))[0]

    def _start_loop(self, X: np.ndarray) -> tuple[np.ndarray, bool]:
        """X in the dtype the whole loop may use, and whether that holds for every block (else
        each block is prepared on its own, :meth:`_prepare`)."""
        return X, True

    def _prepare(self, l: int, X: np.ndarray) -> np.ndarray:
        return X

    def _block(self, l: int, X: np.ndarray, rep: np.ndarray, inplace: bool = False):
        """Block ``l`` given the mask ``rep`` of dimensions equal in every column (a sound
        under-approximation: only marked dimensions are folded). Returns the mask after the block:
        a dimension stays marked unless something column-dependent was added to it."""
        X, winners, rep = self._heads(l, self.blocks[l][0], X, rep, inplace)
        X, rep = self._ffn(l, X, rep, inplace)
        return X, winners, rep

    # -- attention
    def _heads(self, l: int, heads, X: np.ndarray, rep: np.ndarray, inplace: bool = False):
        """Every head of block ``l`` reads X; their outputs add. A head whose query reads only
        replicated dimensions searches once (one query column) and broadcasts its winner."""
        if not heads:
            return X, (), rep
        n = X.shape[1]
        deltas, winners = [], []
        for h, head in enumerate(heads):
            single = self.fold and bool(rep[head.query_inputs].all())
            keys = self._keys(l, h, head, X)
            if single:
                win = self._search_one(l, h, len(heads), head.query.apply(X[:, 0]), keys, head)
                winners.append(np.full(n, win, dtype=np.intp))
                v = head.value.apply(X[:, win])[:, None]
            else:
                win = self._search(l, h, len(heads), head.query.apply(X), keys, head)
                winners.append(win)
                v = head.value.apply(X[:, win])
            deltas.append((head, self._divide(v, head.Lv, l, "attention"), single))
        if not inplace:
            X = X.copy()
        if not all(single for _, _, single in deltas):
            rep = rep.copy()
        for head, v, single in deltas:
            X[head.value_rows] += v
            if not single:
                rep[head.value_rows] = False
        return X, tuple(winners), rep

    def _keys(self, l: int, h: int, head: _HeadMaps, X: np.ndarray) -> "_Keys":
        """The head's keys k (support × n) and their sorted form, recomputed only when the
        dimensions the key map reads changed since the last call."""
        seen = X[head.key_inputs].tobytes()
        cached = self._key_cache.get((l, h))
        if cached is not None and cached.seen == seen:
            return cached
        keys = _Keys(seen, head.key.apply(X))
        self._key_cache[(l, h)] = keys
        return keys

    def _search_one(self, l: int, h: int, heads: int, q: np.ndarray, keys: "_Keys", head: _HeadMaps) -> int:
        """The winner column of one query q (support,) against every key (exact; a tie raises
        unless ``single_winner`` is off)."""
        clip = head.Lq * head.Lk if self.model.score == "clipped" else None
        n = keys.k.shape[1]
        if keys.sorted is not None and self.exact:
            order, ks, const, var = keys.sorted
            a = sum(int(q[c]) * int(keys.k[c, 0]) for c in const)
            b = int(q[var]) if var is not None else 0
            if b != 0:
                above = int(np.searchsorted(ks, (-a) // b, side="right"))
                best = None
                for i in (above - 1, above):
                    if 0 <= i < n:
                        score = abs(a + b * int(ks[i]))
                        if best is None or score < best[0]:
                            best = (score, i, 1)
                        elif score == best[0]:
                            best = (score, best[1], best[2] + 1)
                score, i, ways = best
                first, last = np.searchsorted(ks, ks[i], side="left"), np.searchsorted(ks, ks[i], side="right")
                if (ways == 1 and last - first == 1 and (clip is None or score < clip)) or n == 1:
                    return int(order[first])
            elif n == 1:
                return 0
        S = -np.abs(q @ keys.k)
        if clip is not None:
            S = np.maximum(S, -clip)
        best = S.max()
        tied = np.flatnonzero(S == best)
        if len(tied) > 1 and self.single_winner:
            raise _tie(l, h, heads, 0, [int(i) for i in tied])
        return int(tied[0])

    def _search(self, l: int, h: int, heads: int, q: np.ndarray, keys: "_Keys", head: _HeadMaps) -> np.ndarray:
        """The winner column of every query column: the maximiser of φ(⟨q_j, k_i⟩) (one per column
        unless ``single_winner`` is off, then the first). Memory O(n) per query chunk: an address
        head with many queries (all key coordinates but one equal across columns) is solved by
        sorting, any other by scoring at most SCORE_CHUNK entries at a time."""
        clip = head.Lq * head.Lk if self.model.score == "clipped" else None
        k = keys.k
        if keys.sorted is not None and k.shape[1] > 1 and self.exact:
            return self._search_sorted(l, h, heads, q, keys, clip)
        out = np.empty(q.shape[1], dtype=np.intp)
        chunk = max(1, SCORE_CHUNK // max(1, k.shape[1]))
        for start in range(0, q.shape[1], chunk):
            S = -np.abs(q[:, start:start + chunk].T @ k)
            if clip is not None:
                S = np.maximum(S, -clip)
            best = S.max(axis=1)
            out[start:start + chunk] = np.argmax(S, axis=1)
            if self.single_winner:
                ties = (S == best[:, None]).sum(axis=1)
                if (ties != 1).any():
                    j = int(np.flatnonzero(ties != 1)[0])
                    raise _tie(l, h, heads, start + j, [int(i) for i in np.flatnonzero(S[j] == best[j])])
        return out

    def _search_sorted(self, l, h, heads, q, keys: "_Keys", clip) -> np.ndarray:
        """⟨q_j, k_i⟩ = A_j + B_j·κ_i when only the key coordinate κ varies across columns: the
        best i has the κ nearest −A_j/B_j, found by binary search among the sorted κ (exact,
        O(n log n) time, O(n) memory). A tie: two nearest κ at the same distance, a κ shared by
        several columns, B_j = 0 (every score equal), or a clipped score at its floor."""
        k = keys.k
        n = k.shape[1]
        order, ks, const, var = keys.sorted
        A = (q[const] * k[const, :1]).sum(axis=0) if const else np.zeros(q.shape[1], dtype=q.dtype)
        B = q[var] if var is not None else np.zeros_like(A)
        kappa = k[var] if var is not None else np.zeros(n, dtype=k.dtype)
        flat = B == 0
        floor = (-A) // np.where(flat, 1, B)
        above = np.searchsorted(ks, floor, side="right")
        lo, hi = np.clip(above - 1, 0, n - 1), np.clip(above, 0, n - 1)
        score_lo, score_hi = abs(A + B * ks[lo]), abs(A + B * ks[hi])
        pick = np.where((above == 0) | ((above < n) & (score_hi < score_lo)), hi, lo)
        best = np.minimum(np.where(above > 0, score_lo, score_hi), np.where(above < n, score_hi, score_lo))
        value = ks[pick]
        first = np.searchsorted(ks, value, side="left")
        count = np.searchsorted(ks, value, side="right") - first
        tied = flat | (count > 1) | ((above > 0) & (above < n) & (score_lo == score_hi) & (ks[lo] != ks[hi]))
        if clip is not None:
            tied |= best >= clip
        tied &= n > 1
        out = order[first]
        if tied.any():
            for j in np.flatnonzero(tied):
                scores = -abs(A[j] + B[j] * kappa)
                if clip is not None:
                    scores = np.maximum(scores, -clip)
                winners = np.flatnonzero(scores == scores.max())
                if self.single_winner:
                    raise _tie(l, h, heads, int(j), [int(i) for i in winners])
                out[j] = winners[0]
        return out

    # -- the FFN
    def _replicated(self, X: np.ndarray) -> np.ndarray:
        return (X == X[:, :1]).all(axis=1) if self.fold else np.zeros(X.shape[0], dtype=bool)

    def _plan(self, l: int, rep: np.ndarray) -> list[_Plan]:
        key = (l, rep.tobytes())
        plans = self._plans.get(key)
        if plans is None:
            if len(self._plans) >= PLAN_CACHE:
                self._plans.clear()
            plans, in_rep = [], rep
            for layer in self.blocks[l][1]:
                plan = _Plan(layer, in_rep, len(rep))
                plans.append(plan)
                in_rep = np.zeros(layer.rows, dtype=bool)
                in_rep[plan.folded] = True
            self._plans[key] = plans
        return plans

    def _ffn(self, l: int, X: np.ndarray, rep: np.ndarray, inplace: bool = False) -> tuple[np.ndarray, np.ndarray]:
        """X + FFN_l(X): the folded rows on one column (1-D arrays), the spread rows on every column."""
        layers = self.blocks[l][1]
        if not layers:
            return X, rep
        plans = self._plan(l, rep)
        first = plans[0]
        f_in, s_in = X[first.rep_inputs, 0], X[first.spread_inputs]
        for layer, plan in zip(layers, plans):
            f_out = plan.ff.apply(f_in) if len(plan.folded) else None
            s_out = None
            if len(plan.spread):
                s_out = plan.ss.apply(s_in)
                if plan.sf is not None:
                    s_out = s_out + plan.sf.apply(f_in)[:, None]
            if layer.last:
                if not inplace:
                    X = X.copy()
                if f_out is not None:
                    X[plan.out_f] += self._divide_rows(f_out, plan, 0, l)[:, None]
                if s_out is not None:
                    X[plan.out_s] += self._divide_rows(s_out, plan, 1, l)
                return X, plan.rep_after(rep)
            f_in = self._activate(f_out, plan, 0) if f_out is not None else None
            s_in = self._activate(s_out, plan, 1) if s_out is not None else None
        raise AssertionError("an FFN ends with its last layer")

    def _activate(self, T: np.ndarray, plan: _Plan, part: int) -> np.ndarray:
        """σ of a hidden layer's rows (``part`` 0: folded, 1: spread)."""
        raise NotImplementedError

    def _divide(self, V: np.ndarray, L, l: int, what: str) -> np.ndarray:
        raise NotImplementedError

    def _divide_rows(self, V: np.ndarray, plan: _Plan, part: int, l: int) -> np.ndarray:
        """A last layer's rows divided by their scales (exactly: refused unless integral)."""
        raise NotImplementedError


class IntegerLoop(_Runner):
    """The exact integer fast path for a :class:`LoopedTransformer` (module docstring).

    ``step(X)`` takes and returns X as a d × n numpy array (columns are tokens) and also returns,
    per block, the winner column of every query column for every head. Every block runs in int64
    when a bound on every integer it forms, computed from per-dimension bounds of its input
    (:meth:`bound`), stays below 2^62; otherwise in Python ints. ``fold`` (default on) runs the
    units that read only dimensions equal in every column once; ``fold=False`` is the plain path
    (the tests compare the two). ``bounds`` may name per-dimension bounds that hold at every
    block's input (a construction's value ranges): they seed the proof, X is still checked
    against them at every block.
    """

    exact = True

    def __init__(self, model: LoopedTransformer, *, single_winner: bool = True, fold: bool = True,
                 bounds: Mapping[str, int] | None = None):
        super().__init__(model, single_winner=single_winner, fold=fold)
        self._envelopes: list[np.ndarray | None] = [None] * len(self.blocks)
        self._loop_envelope: np.ndarray | None = None
        if bounds:
            seed = np.zeros(len(model.space), dtype=object)
            for name, value in bounds.items():
                seed[model.space.index(name)] = abs(int(value))
            if self._whole_loop(seed):
                self._loop_envelope = seed

    def to_array(self, X: Sequence[Vector]) -> np.ndarray:
        """X (columns of Fractions) as a d × n array of Python ints; refuses a non-integer entry."""
        cols = []
        for j, x in enumerate(X):
            bad = [self.model.space.names[i] for i, v in enumerate(x) if Fraction(v).denominator != 1]
            if bad:
                raise LoopedRuntimeError(f"column {j} has a non-integer entry in {bad[0]}",
                                         hint="the integer path runs only integer punch cards; "
                                              "use the Fraction runtime")
            cols.append([int(v) for v in x])
        return np.array(cols, dtype=object).T.copy()

    # -- the proof that int64 suffices
    def largest_integer(self, xmax: int) -> int:
        """A bound on every integer a loop forms when every block starts with |entries| ≤ ``xmax``."""
        envelope = np.full(len(self.model.space), abs(int(xmax)), dtype=object)
        return max(self.bound(l, envelope) for l in range(len(self.blocks)))

    def bound(self, l: int, envelope: np.ndarray) -> int:
        """A bound on every integer block ``l`` forms when its input satisfies |X[d, :]| ≤
        envelope[d] for every dimension d (Python ints): every integer weight, query, key and value
        entries, scores, the residual after the heads, every pre-activation, activation and increment."""
        return self._bound(l, envelope)[0]

    def _whole_loop(self, envelope: np.ndarray) -> bool:
        """True when a loop whose input satisfies ``envelope`` forms only integers below 2^62:
        each block's output bound (its input bound plus its increments) is the next one's input."""
        for l in range(len(self.blocks)):
            largest, envelope = self._bound(l, envelope)
            if largest >= INT64_LIMIT:
                return False
        return True

    def _bound(self, l: int, envelope: np.ndarray) -> tuple[int, np.ndarray]:
        """(:meth:`bound`, a bound on the block's output per dimension)."""
        heads, layers = self.blocks[l]
        found = [int(envelope.max()) if len(envelope) else 0]
        mid = envelope.copy()
        for head in heads:
            qb, kb = head.query.bound(envelope), head.key.bound(envelope)
            vb = head.value.bound(envelope)
            found += [max(qb, default=0), max(kb, default=0), int((qb * kb).sum()), max(vb, default=0),
                      head.query.largest, head.key.largest, head.value.largest]   # the weights themselves
            mid[head.value_rows] += vb
        found.append(int(mid.max()) if len(mid) else 0)
        inb = mid
        for layer in layers:
            pre = layer.matrix.bound(inb)
            found += [int(pre.max()) if len(pre) else 0, layer.matrix.largest]
            if layer.last:
                out = mid.copy()
                out[np.array(layer.outputs, dtype=np.intp)] += pre
                found.append(int(out.max()) if len(out) else 0)
                return max(found), out
            inb = np.array(layer.scale, dtype=object)
            found.append(int(inb.max()) if len(inb) else 0)
        return max(found), mid

    def _start_loop(self, X: np.ndarray) -> tuple[np.ndarray, bool]:
        """int64 for the whole loop when X lies in the loop's proven envelope (grown, and the
        proof redone, when it does not); else each block proves its own dtype."""
        m = np.abs(X).max(axis=1) if X.size else np.zeros(X.shape[0], dtype=object)
        envelope = self._loop_envelope
        if envelope is None or not (m <= envelope).all():
            grown = np.array([1 << (int(v) * 16).bit_length() for v in m], dtype=object)
            if envelope is not None:
                grown = np.maximum(grown, envelope)
            if not self._whole_loop(grown):
                return X, False
            self._loop_envelope = envelope = grown
        return (X if X.dtype == np.int64 else X.astype(np.int64)), True

    def _prepare(self, l: int, X: np.ndarray) -> np.ndarray:
        m = np.abs(X).max(axis=1) if X.size else np.zeros(X.shape[0], dtype=object)
        envelope = self._envelopes[l]
        if envelope is not None and (m <= envelope).all():
            return X if X.dtype == np.int64 else X.astype(np.int64)
        m = m.astype(object)
        grown = np.array([1 << (int(v) * 16).bit_length() for v in m], dtype=object)   # room to grow
        if envelope is not None:
            grown = np.maximum(grown, envelope)
        if self.bound(l, grown) < INT64_LIMIT:
            self._envelopes[l] = grown
            return X.astype(np.int64)
        if self.bound(l, m) < INT64_LIMIT:
            return X.astype(np.int64)
        return X.astype(object)

    def _activate(self, T: np.ndarray, plan: _Plan, part: int) -> np.ndarray:
        return np.minimum(np.maximum(T, 0), plan.scales[T.dtype][part])

    def _divide(self, V: np.ndarray, L, l: int, what: str) -> np.ndarray:
        if L == 1:
            return V
        return _exact_quotient(V, L, l, what)

    def _divide_rows(self, V: np.ndarray, plan: _Plan, part: int, l: int) -> np.ndarray:
        return V if plan.integral else _exact_quotient(V, plan.scales[V.dtype][part], l, "FFN")


def _exact_quotient(V: np.ndarray, divisor, l: int, what: str) -> np.ndarray:
    if (V % divisor != 0).any():
        raise LoopedRuntimeError(f"block {l}: the {what} output is not an integer",
                                 hint="the integer path runs only integer-valued constructions; "
                                      "use the Fraction runtime")
    return V // divisor


class FloatLoop(_Runner):
    """The same weights in floating point (``float32`` or ``float64``): every weight rounded once
    to the dtype, each affine map a dense product ``A @ X + c`` in the dtype, σ = clip to [0, 1],
    φ = −|⟨q, k⟩|, the first maximiser wins (a tie raises only with ``single_winner``).
    **Inexact**: a measurement of where a float run leaves the exact card, never a substitute for
    :class:`IntegerLoop`."""

    exact = False

    def __init__(self, model: LoopedTransformer, dtype: str = "float64", *, single_winner: bool = False):
        self.dtype = np.dtype(dtype)
        if self.dtype.kind != "f":
            raise OptionError(f"dtype must be a float type, not {dtype!r}")
        super().__init__(model, single_winner=single_winner, fold=False)
        self.dense = []
        for _, layers in self.blocks:
            dense, inputs = [], len(model.space)
            for layer in layers:
                A = np.zeros((layer.rows, inputs), dtype=np.float64)
                for r, i, w in layer.entries:
                    A[r, i] = w
                c = np.array(layer.const, dtype=np.float64)[:, None]
                dense.append((A.astype(self.dtype), c.astype(self.dtype), np.array(layer.outputs, dtype=np.intp),
                              layer.last))
                inputs = layer.rows
            self.dense.append(dense)

    def to_array(self, X: Sequence[Vector]) -> np.ndarray:
        return np.array([[float(v) for v in x] for x in X], dtype=self.dtype).T.copy()

    def _start_loop(self, X: np.ndarray) -> tuple[np.ndarray, bool]:
        return (X if X.dtype == self.dtype else X.astype(self.dtype)), True

    def _prepare(self, l: int, X: np.ndarray) -> np.ndarray:
        return X if X.dtype == self.dtype else X.astype(self.dtype)

    def _ffn(self, l: int, X: np.ndarray, rep: np.ndarray, inplace: bool = False) -> tuple[np.ndarray, np.ndarray]:
        N = X
        for A, c, outputs, last in self.dense[l]:
            N = A @ N + c
            if last:
                X = X.copy()
                X[outputs] += N
                return X, rep
            N = np.clip(N, 0, 1)
        return X, rep

    def _divide(self, V: np.ndarray, L, l: int, what: str) -> np.ndarray:
        return V
