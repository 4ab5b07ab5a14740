"""Batched decoding: the decoder layers of many :class:`~turingformer.runtime.transformer.Transformer`\\ s
that share a shape, run in lockstep over numpy arrays (issue 23, item 4).

The models of a batch have the same residual space, layers, attention supports and hidden widths;
their weights may differ anywhere (the census: only the δ rows of layer 1's FFN differ). Like the
other runtimes this one is **generic**: it runs the weights it is given and knows nothing about
Turing machines. It decodes the **empty input** (every cross-attention then reads no encoder
position and adds exactly 0, as in :func:`turingformer.runtime.transformer.hardmax`), one position
for every model of the batch at each :meth:`step`; the caller retires models with :meth:`keep`.

**Exact mode** (:class:`ExactBatch`). At position i every activation vector is held as int64
integers over one common **scale** S_i = ``scale(i)`` given by the caller: the value is the
integer divided by S_i. That is exact only if every activation's denominator divides S_i — a
property of the weights (for the Pérez construction S_i = 6(i+1)², proved in docs/census.md), so
it is **checked** at run time, never assumed:

* an affine map ``x W + b`` is computed as ``Z = X·(L W) + S_i·(L b)`` with L the lcm of the
  map's denominators (all models), then ``Z / L`` is taken only when every entry divides exactly;
* σ is ``clip(Z, 0, S_i)`` (exact); pos(k) needs k^d | S_i (d the deepest negative exponent of the encoding, 2 for Pérez) (checked, else ``OptionError``);
* before every product a bound on the partial sums (row maximum of |X| times the largest column
  sum of |L W|, plus S_i·|L b|) is checked against 2⁶²: int64 never wraps;
* attention keys and values are stored reduced, as integer rows K'_j over their own denominator
  D_j (the row's gcd with S_j divided out). With a = |⟨Q_i, K'_j⟩| (Q_i the query's integers;
  the bound Σ_e |Q_e|·max|K'_e| < 2⁵³ checked) the magnitude |⟨q_i, k_j⟩| is a_j / (S_i D_j), so
  the winners are the j of least a_j / D_j. Both are integers below 2⁵³, so f_j = fl(a_j / D_j)
  is the correctly rounded quotient and rounding is monotone: every exact minimiser has
  f_j = min f. When that minimum is taken once, its key is the unique winner; otherwise the
  candidates {j : f_j = min f} are decided in Python integers (exact, ties included);
* a uniform average (every key wins, e.g. a zero query) comes from an exact running sum of the
  reduced values over their lcm denominator (bounded, checked); a single winner's value is
  rescaled to S_i with an exact-division check; several winners are averaged in Fractions.

A model for which any check fails leaves the batch at that position (:attr:`BatchStep.failed`):
the caller decodes it again with the single exact decoder
(:func:`turingformer.runtime.fast.decode_fast`). Nothing is ever silently wrapped or rounded.

**Float mode** (:class:`FloatBatch`): the INEXACT arithmetic of
:mod:`turingformer.runtime.floating`, bit for bit, for a batch: every weight rounded once to the
dtype, every product rounded, every affine map summed from the bias in increasing input index
(per output column; a zero weight adds an exact 0 to a finite sum, so only the non-zero weights
are visited), the dot products of the scores summed over the support in order, average-hard
attention with exact float ties, sums before the one division. A model whose activations stop
being finite (where ``inf·0`` would differ from skipping a zero weight) leaves the batch as
:attr:`BatchStep.failed`.
"""

from __future__ import annotations

from dataclasses import dataclass
from fractions import Fraction
from math import lcm
from typing import Callable, Collection, Sequence

import numpy as np

from turingformer.errors import OptionError, WeightsError
from turingformer.runtime.floating import positional, resolve_dtype, to_dtype, to_float
from turingformer.runtime.space import Linear
from turingformer.runtime.transformer import Transformer

__all__ = ["BatchStep", "BatchWeights", "ExactBatch", "FloatBatch", "shape_of"]

_LIMIT = 2 ** 62          # |partial sums| below this: int64 arithmetic is exact
_FLOAT_EXACT = 2 ** 53    # integers below this are float64 numbers exactly


def _reaches(bound: np.ndarray, limit: int) -> np.ndarray:
    """True where a bound computed in float64 (sums and products of non-negative integers, each
    operation rounded to nearest: a relative error far below 1/2 in all) may reach ``limit``; the
    comparison with limit/2 leaves the margin, so False proves the exact bound is below the limit."""
    return ~(bound < limit / 2)


def shape_of(model: Transformer, memo: dict | None = None) -> tuple:
    """What the models of one batch must share: the residual space, the score, the positional
    slots and, per layer, the attention supports, which attentions are trivial and the σ widths.
    ``memo`` (a dict kept between calls) computes each shared layer object's part once."""
    memo = {} if memo is None else memo

    def part(obj, make):
        key = id(obj)
        found = memo.get(key)
        if found is None or found[0] is not obj:
            found = memo[key] = (obj, make(obj))
        return found[1]

    def attn(a):
        return None if a is None else part(a, lambda a: (a.is_trivial(), a.support, a.value_support))

    def mlp(m):
        return None if m is None else part(m, lambda m: tuple((len(lin.source), len(lin.target)) for lin in m.layers))

    return (model.space.names, model.score, model.positional,
            tuple((attn(layer.attn), attn(layer.cross), mlp(layer.ffn)) for layer in model.decoder),
            mlp(model.output))


@dataclass(frozen=True, repr=False)
class BatchStep:
    """One position ``i`` of every model still in the batch.

    ``rows`` are the batch indices (positions in the list of models given) of those models, in
    order; ``y_in`` and ``y_out`` (one row each) and every captured ``activations`` array are
    integers over ``scale`` (exact mode) or dtype floats (``scale`` is None). ``failed``: the batch
    indices that left the batch at this position because a check failed (their rows are absent).
    """

    i: int
    rows: np.ndarray
    scale: int | None
    y_in: np.ndarray
    y_out: np.ndarray
    activations: dict
    failed: np.ndarray

    def __repr__(self) -> str:
        return f"BatchStep(i={self.i}, models={len(self.rows)}, failed={len(self.failed)}, scale={self.scale})"


# ---------------------------------------------------------------------------------- affine maps
class _Plan:
    """The affine maps of one slot (e.g. ``decoder.1.ffn.1``) of every model, restricted to the
    output columns ``cols``; entries grouped by *rank* (the r-th non-zero weight of its column, in
    increasing input index) so one numpy operation adds one term to many columns at once."""

    def __init__(self, linears: Sequence[Linear], cols: Sequence[int] | None = None):
        first = linears[0]
        self.shared = all(lin is first or lin == first for lin in linears)
        maps = [first] if self.shared else list(linears)
        out = {o: k for k, o in enumerate(cols)} if cols is not None else None
        self.size = len(out) if out is not None else len(first.target)
        entries: dict[tuple[int, int], int] = {}
        weights: list[dict[int, Fraction]] = []
        biases: list[dict[int, Fraction]] = []
        for lin in maps:
            w: dict[int, Fraction] = {}
            for i, o, v in lin.weights:
                if out is not None:
                    if o not in out:
                        continue
                    o = out[o]
                w[entries.setdefault((o, i), len(entries))] = v
            weights.append(w)
            biases.append({out[o] if out is not None else o: v for o, v in lin.bias if out is None or o in out})
        order = sorted(entries)                                      # by column, then input index
        self.entries = order
        ids = [entries[oi] for oi in order]
        # every number once: models x entries (and x columns for the bias) as codes into self.numbers
        # (by object first: the models of a batch share their weight objects, and hashing a
        # Fraction costs more than the rest of this loop; equal numbers may get several codes)
        zero = Fraction(0)
        self.numbers = [zero]
        by_id: dict[int, int] = {id(zero): 0}

        def number(v) -> int:
            c = by_id.get(id(v))
            if c is None:
                c = by_id[id(v)] = len(self.numbers)
                self.numbers.append(v)
            return c

        self.codes = np.array([[number(w[e]) if e in w else 0 for e in ids] for w in weights],
                              dtype=np.intp).reshape(len(weights), len(ids))
        self.bias_codes = np.array([[number(b[o]) if o in b else 0 for o in range(self.size)] for b in biases],
                                   dtype=np.intp).reshape(len(biases), self.size)
        ranks: list[list[int]] = []
        previous, r = None, 0
        for k, (o, _) in enumerate(order):
            r = r + 1 if o == previous else 0
            previous = o
            if r == len(ranks):
                ranks.append([])
            ranks[r].append(k)
        self.ranks = [(np.array([order[k][0] for k in ks], dtype=np.intp),
                       np.array([order[k][1] for k in ks], dtype=np.intp), np.array(ks, dtype=np.intp))
                      for ks in ranks]

    # -- exact ------------------------------------------------------------------------------
    def integers(self) -> "_IntPlan":
        return _IntPlan(self)

    def floats(self, dt: np.dtype) -> "_FloatPlan":
        return _FloatPlan(self, dt)


class _Weights:
    """A :class:`_Plan`'s weights as numbers of one kind: W (one row, or one per model) per entry,
    gathered per rank, and the bias."""

    def __init__(self, plan: _Plan, numbers: np.ndarray):
        self.W, self.b = numbers[plan.codes], numbers[plan.bias_codes]
        self.cols, self.size = plan.ranks, plan.size
        self._ranked()

    def _ranked(self) -> None:
        self.terms = [(cols, rows, self.W[:, ents]) for cols, rows, ents in self.cols]

    def keep(self, index: np.ndarray) -> None:
        if len(self.W) > 1:
            self._select(index)
            self._ranked()

    def _select(self, index: np.ndarray) -> None:
        self.W, self.b = self.W[index], self.b[index]


class _IntPlan(_Weights):
    """A :class:`_Plan` in integers: L·W and L·b as int64."""

    def __init__(self, plan: _Plan):
        self.L = lcm(1, *(v.denominator for v in plan.numbers))
        numbers = [int(v * self.L) for v in plan.numbers]
        if max(map(abs, numbers)) >= _LIMIT:
            raise OverflowError("a weight times the common denominator does not fit in int64")
        super().__init__(plan, np.array(numbers, dtype=np.int64))
        # the largest column sum of |L W| and the largest |L b|, per model (for the bounds), in float64:
        # exact, since every such sum of a few small integers is far below 2⁵³
        colsum = np.zeros((len(self.W), plan.size))
        np.add.at(colsum.T, np.array([o for o, _ in plan.entries], dtype=np.intp), np.abs(self.W.T).astype(float))
        self.colsum = colsum.max(axis=1, initial=0)
        self.bmax = np.abs(self.b).max(axis=1, initial=0).astype(np.float64)

    def _select(self, index: np.ndarray) -> None:
        super()._select(index)
        self.colsum, self.bmax = self.colsum[index], self.bmax[index]

    def __call__(self, X: np.ndarray, S: int, bad: np.ndarray) -> np.ndarray:
        """(X W + b) over scale S, exactly; rows whose bound or division check fails are set in
        ``bad`` (their result is meaningless)."""
        n = len(X)
        xmax = np.abs(X).max(axis=1, initial=0).astype(np.float64)
        bad |= _reaches(xmax * self.colsum + float(S) * self.bmax, _LIMIT)
        acc = np.empty((n, self.size), dtype=np.int64)
        with np.errstate(over="ignore"):
            acc[:] = self.b * S
            for cols, rows, W in self.terms:
                acc[:, cols] += X[:, rows] * W
        if self.L != 1:
            bad |= (acc % self.L != 0).any(axis=1)
            acc //= self.L
        return acc


class _FloatPlan(_Weights):
    """A :class:`_Plan` rounded once to a dtype (like :class:`~turingformer.runtime.floating.FloatLinear`)."""

    def __init__(self, plan: _Plan, dt: np.dtype):
        self.dt = dt
        super().__init__(plan, np.array([to_dtype(v, dt) for v in plan.numbers], dtype=dt))

    def __call__(self, X: np.ndarray) -> np.ndarray:
        """b + Σ x_i W_i, each product and each partial sum rounded to the dtype, per column in
        increasing input index (the order of :class:`~turingformer.runtime.floating.FloatLinear`)."""
        acc = np.empty((len(X), self.size), dtype=self.dt)
        acc[:] = self.b
        for cols, rows, W in self.terms:
            acc[:, cols] = acc[:, cols] + X[:, rows] * W
        return acc


# ---------------------------------------------------------------------------------- the batch
def _slots(models: Sequence[Transformer]):
    """Per decoder layer (attention, cross, ffn) the plans of every model, then the output net's."""
    first = models[0]
    memo: dict = {}
    shape = shape_of(first, memo)
    for k, model in enumerate(models):
        if model is not first and shape_of(model, memo) != shape:
            raise WeightsError(f"model {k} of the batch does not have the shape of model 0 "
                             "(space, score, layers, supports and widths must be equal)")
    layers = []
    for l, layer in enumerate(first.decoder):
        attn = layer.attn
        if attn.is_trivial():
            heads = None
        else:
            def plan(get, cols):
                return _Plan([get(m.decoder[l].attn) for m in models], cols)

            heads = (plan(lambda a: a.query, attn.support), plan(lambda a: a.key, attn.support),
                     plan(lambda a: a.value, attn.value_support), np.array(attn.value_support, dtype=np.intp))
        ffn = None if layer.ffn is None else [
            _Plan([m.decoder[l].ffn.layers[k] for m in models]) for k in range(len(layer.ffn.layers))]
        layers.append((heads, ffn))
    output = [_Plan([m.output.layers[k] for m in models]) for k in range(len(first.output.layers))]
    return layers, output


class BatchWeights:
    """The weights of a batch of same-shape models, read once (the shapes checked, every map's
    entries coded) and shared by the :class:`ExactBatch` and the float batches
    (:class:`FloatBatch`) of the same models. Either class also takes the list of models itself."""

    def __init__(self, models: Sequence[Transformer]):
        if not models:
            raise OptionError("a batch needs at least one model")
        self.models = tuple(models)
        self.layers, self.output = _slots(self.models)

    def __len__(self) -> int:
        return len(self.models)


def _hook_names(capture: Collection[str] | None, layers: int) -> frozenset:
    names = {"output.y"}
    for l in range(1, layers + 1):
        names |= {f"decoder.{l}.{h}" for h in ("resid_pre", "attn.out", "resid_mid", "cross.out",
                                              "resid_cross", "ffn.out", "resid_post")}
    return frozenset(names if capture is None else set(capture) & names)


class _Batch:
    """What both modes share: the models' places in the batch, retiring models, hooks.

    Retired models are compacted away lazily (once a fifth of the computed rows are retired), so a
    step copies no cache when only a few models stop; until then their rows are computed and
    hidden. Only the :attr:`rows` still in the batch are reported, checked and returned."""

    COMPACT = 0.8

    def __init__(self, models: "Sequence[Transformer] | BatchWeights", capture: Collection[str] | None):
        self.weights = models if isinstance(models, BatchWeights) else BatchWeights(models)
        models = self.weights.models
        self.template = models[0]
        self.d = self.template.d
        pe = self.template.positional
        space = self.template.space
        self.pos = [(space.index(name), e) for name, e in pe.powers]   # pos(k)[index] = k**e
        self.pos_depth = max([0] + [-e for _, e in pe.powers])           # S must divide by k**depth
        self._rows = np.arange(len(models))            # the computed rows' places in the batch
        self._alive = np.ones(len(models), dtype=bool)
        self.i = 0
        self.wanted = _hook_names(capture, len(self.template.decoder))

    @property
    def rows(self) -> np.ndarray:
        """The batch places of the models still in the batch, in order."""
        return self._rows[self._alive]

    def keep(self, mask) -> None:
        """Keep only the models whose flag is true (``mask`` aligned with :attr:`rows`)."""
        mask = np.asarray(mask, dtype=bool)
        alive = np.flatnonzero(self._alive)
        if mask.shape != alive.shape:
            raise OptionError(f"keep() needs one flag per model in the batch ({len(alive)}), not {mask.shape}")
        self._alive[alive[~mask]] = False
        self._tidy()

    def _tidy(self) -> None:
        if self._alive.sum() < self.COMPACT * len(self._alive):
            index = np.flatnonzero(self._alive)
            self._rows, self._alive = self._rows[index], self._alive[index]
            self._compact(index)

    def _compact(self, index: np.ndarray) -> None:
        self.Y = self.Y[index]
        for head, ffn in self.layers:
            if head is not None:
                head.keep(index)
            for plan in ffn or ():
                plan.keep(index)
        for plan in self.output:
            plan.keep(index)

    def _finish(self, i: int, scale, y_in, y_out, acts: dict, bad: np.ndarray) -> BatchStep:
        """Retire the models whose check failed and report the others."""
        failed = self._rows[bad & self._alive]
        self._alive &= ~bad
        self.Y = y_out
        self.i += 1
        if not self._alive.all():
            keep = np.flatnonzero(self._alive)
            y_in, y_out = y_in[keep], y_out[keep]
            acts = {name: value[keep] for name, value in acts.items()}
        step = BatchStep(i, self.rows, scale, y_in, y_out, acts, failed)
        self._tidy()
        return step

    def _build(self, numbers, head) -> None:
        """Every map of the batch in the mode's numbers (``numbers(plan)``), every non-trivial
        self-attention as ``head(query, key, value, value_support)``."""
        layers, output = self.weights.layers, self.weights.output
        self.layers = [(None if heads is None else head(*(numbers(p) for p in heads[:3]), heads[3]),
                        None if ffn is None else [numbers(p) for p in ffn]) for heads, ffn in layers]
        self.output = [numbers(p) for p in output]

    def _record(self, acts: dict, name: str, value) -> None:
        if name in self.wanted:
            acts[name] = value

    def _decoder(self, H, acts: dict, attend, mlp, check=lambda X: None):
        """The decoder layers on the residual rows H (JMLR eqs. 7–9): p = h + Att(h) (a trivial head
        adds nothing), a = p + Att_cross(p) = p (the empty input: no encoder position), z = a + O(a).
        ``attend(head, H)`` and ``mlp(ffn, X)`` are the mode's arithmetic; ``check(X)`` sees every
        input of a map (the float mode's finiteness)."""
        for l, (head, ffn) in enumerate(self.layers, start=1):
            name = f"decoder.{l}"
            self._record(acts, f"{name}.resid_pre", H)
            check(H)
            P = H
            if head is not None:
                P = H.copy()
                P[:, head.value_support] = P[:, head.value_support] + attend(head, H)
                if f"{name}.attn.out" in self.wanted:
                    acts[f"{name}.attn.out"] = P - H
            self._record(acts, f"{name}.resid_mid", P)
            if f"{name}.cross.out" in self.wanted:
                acts[f"{name}.cross.out"] = np.zeros_like(P)
            self._record(acts, f"{name}.resid_cross", P)
            Z = P
            if ffn is not None:
                check(P)
                O = mlp(ffn, P)
                self._record(acts, f"{name}.ffn.out", O)
                Z = P + O
            self._record(acts, f"{name}.resid_post", Z)
            H = Z
        return H


def _seeds(models: Sequence[Transformer], convert) -> list:
    """Every model's seed converted by ``convert`` (once when all seeds are equal)."""
    first = models[0].seed
    if all(m.seed is first or m.seed == first for m in models):
        return [convert(first)] * len(models)
    return [convert(m.seed) for m in models]


class ExactBatch(_Batch):
    """Exact lockstep decoding in int64 over the scale ``scale(i)`` (module docstring)."""

    def __init__(self, models: "Sequence[Transformer] | BatchWeights", *, scale: Callable[[int], int],
                 capture: Collection[str] | None = ()):
        super().__init__(models, capture)
        models = self.weights.models
        self.scale = scale
        clip = self.template.score == "clipped"
        self._build(_Plan.integers, lambda q, k, v, vs: _ExactHead(q, k, v, vs, len(models), clip))
        distinct = {id(m.seed): m.seed for m in models}.values()
        self.y_scale = lcm(1, *(Fraction(v).denominator for seed in distinct for v in seed))
        seeds = _seeds(models, lambda seed: [int(Fraction(v) * self.y_scale) for v in seed])
        if max(abs(v) for seed in seeds for v in seed) >= _LIMIT:
            raise OverflowError("a seed does not fit in int64")
        self.Y = np.array(seeds, dtype=np.int64).reshape(len(models), self.d)

    def step(self) -> BatchStep:
        """Decode position i of every model in the batch (module docstring)."""
        # retired rows still computed until the next compaction may hold anything: no warnings
        with np.errstate(all="ignore"):
            return self._step()

    def _step(self) -> BatchStep:
        i, k = self.i, self.i + 1
        S = int(self.scale(i))
        if S < 1 or S % k ** self.pos_depth:
            raise OptionError(f"scale({i}) = {S} is not a positive multiple of (i+1)^{self.pos_depth}: "
                             "pos(i+1) would not be an integer over it")
        n = len(self._rows)
        bad = np.zeros(n, dtype=bool)
        acts: dict = {}
        Y = self.Y
        if S >= _FLOAT_EXACT:
            bad[:] = True
        bad |= _reaches(np.abs(Y).max(axis=1, initial=0) * float(S), _LIMIT)
        with np.errstate(over="ignore"):
            num = Y * S
        bad |= (num % self.y_scale != 0).any(axis=1)
        y_in = num // self.y_scale
        H = y_in.copy()
        for c, e in self.pos:
            H[:, c] += S * k ** e if e >= 0 else S // k ** -e
        H = self._decoder(H, acts, lambda head, X: head(X, S, k, bad), lambda ffn, X: _exact_mlp(ffn, X, S, bad))
        y_out = _exact_mlp(self.output, H, S, bad)
        self._record(acts, "output.y", y_out)
        self.y_scale = S
        return self._finish(i, S, y_in, y_out, acts, bad)


def _exact_mlp(plans: Sequence[_IntPlan], X: np.ndarray, S: int, bad: np.ndarray) -> np.ndarray:
    last = len(plans) - 1
    for k, plan in enumerate(plans):
        X = plan(X, S, bad)
        if k < last:
            np.clip(X, 0, S, out=X)
    return X


class _Cache:
    """Rows appended per position for every model of the batch: (models, positions, width)."""

    def __init__(self, models: int, width: int, dtype, capacity: int = 128):
        self.data = np.zeros((models, capacity, width), dtype=dtype)
        self.n = 0

    def append(self, rows: np.ndarray) -> None:
        if self.n == self.data.shape[1]:
            bigger = np.zeros((self.data.shape[0], 2 * self.n, self.data.shape[2]), dtype=self.data.dtype)
            bigger[:, : self.n] = self.data[:, : self.n]
            self.data = bigger
        self.data[:, self.n] = rows
        self.n += 1

    @property
    def rows(self) -> np.ndarray:
        return self.data[:, : self.n]

    def keep(self, index: np.ndarray) -> None:
        self.data = self.data[index]


class _ExactHead:
    """One non-trivial self-attention head of an :class:`ExactBatch` (module docstring)."""

    def __init__(self, query: _IntPlan, key: _IntPlan, value: _IntPlan, value_support: np.ndarray,
                 models: int, clip: bool):
        self.query, self.key, self.value = query, key, value
        self.value_support = value_support
        self.m, self.mv = key.size, value.size
        self.clip = clip
        self.keys = _Cache(models, self.m + 1, np.int64)        # K'_j and, last, D_j
        self.values = _Cache(models, self.mv + 1, np.int64)     # V'_j and, last, their denominator
        self.kmax = np.zeros((models, self.m), dtype=np.int64)  # max_j |K'_je|
        self.sum = np.zeros((models, self.mv), dtype=np.int64)  # Σ_j V'_j·(D/D_j) ...
        self.sum_den = np.ones(models, dtype=np.int64)          # ... over D = lcm_j D_j

    def keep(self, index: np.ndarray) -> None:
        for plan in (self.query, self.key, self.value):
            plan.keep(index)
        self.keys.keep(index)
        self.values.keep(index)
        self.kmax, self.sum, self.sum_den = self.kmax[index], self.sum[index], self.sum_den[index]

    @staticmethod
    def _reduced(X: np.ndarray, S: int) -> np.ndarray:
        """Rows [X/g | S/g] with g the gcd of the row and S (so X/S = (X/g)/(S/g), in lowest terms)."""
        g = np.gcd.reduce(np.concatenate([X, np.full((len(X), 1), S, dtype=np.int64)], axis=1), axis=1)
        out = np.empty((len(X), X.shape[1] + 1), dtype=np.int64)
        out[:, :-1] = X // g[:, None]
        out[:, -1] = S // g
        return out

    def __call__(self, H: np.ndarray, S: int, n: int, bad: np.ndarray) -> np.ndarray:
        """The attention output at scale S for the query position, keys 0..n-1 (this one included)."""
        V = self._reduced(self.value(H, S, bad), S)
        self.values.append(V)
        self._add_to_sum(V, bad)
        if self.m:
            K = self._reduced(self.key(H, S, bad), S)
            self.keys.append(K)
            np.maximum(self.kmax, np.abs(K[:, :-1]), out=self.kmax)
            Q = self.query(H, S, bad)
        rows = len(H)
        out = np.zeros((rows, self.mv), dtype=np.int64)
        if not self.m:                               # empty support: every ⟨q, k⟩ is 0, all tie
            return self._uniform(np.arange(rows), S, n, bad, out)
        bad |= _reaches((np.abs(Q).astype(np.float64) * self.kmax).sum(axis=1), _FLOAT_EXACT)
        keys = self.keys.rows
        with np.errstate(over="ignore"):
            A = keys[:, :, 0] * Q[:, :1]
            for e in range(1, self.m):
                A += keys[:, :, e] * Q[:, e:e + 1]
        np.abs(A, out=A)
        D = keys[:, :, -1]
        if self.clip:                                 # min(|⟨q,k⟩|, 1): a ≤ S·D_j
            bad |= _reaches(D.max(axis=1) * float(S), _FLOAT_EXACT)
            np.minimum(A, D * S, out=A)
        f = A / D
        fmin = f.min(axis=1)
        candidates = f == fmin[:, None]
        count = candidates.sum(axis=1)
        zero = ~A.any(axis=1)                         # every magnitude exactly 0: all tie
        uniform = np.flatnonzero(zero)
        single = np.flatnonzero((count == 1) & ~zero)
        if len(single):
            j = f[single].argmin(axis=1)
            out[single] = self._rescaled(self.values.rows[single, j], S, bad, single)
        for r in np.flatnonzero((count > 1) & ~zero):
            out[r] = self._exact_choice(r, np.flatnonzero(candidates[r]), A[r], D[r], S, n, bad)
        return self._uniform(uniform, S, n, bad, out)

    def _add_to_sum(self, V: np.ndarray, bad: np.ndarray) -> None:
        den = np.lcm(self.sum_den, V[:, -1])
        bad |= den >= 2 ** 31
        up, vup = den // self.sum_den, den // V[:, -1]
        bound = (np.abs(self.sum).max(axis=1, initial=0) * up.astype(np.float64)
                 + np.abs(V[:, :-1]).max(axis=1, initial=0) * vup.astype(np.float64))
        bad |= _reaches(bound, _LIMIT)
        with np.errstate(over="ignore"):
            self.sum = self.sum * up[:, None] + V[:, :-1] * vup[:, None]
        self.sum_den = den

    def _rescaled(self, V: np.ndarray, S: int, bad: np.ndarray, where: np.ndarray) -> np.ndarray:
        """Reduced value rows [V' | D] as integers over S (exact division checked)."""
        bad[where] |= _reaches(np.abs(V[:, :-1]).max(axis=1, initial=0) * float(S), _LIMIT)
        with np.errstate(over="ignore"):
            num = V[:, :-1] * S
        bad[where] |= (num % V[:, -1:] != 0).any(axis=1)
        return num // V[:, -1:]

    def _uniform(self, where: np.ndarray, S: int, n: int, bad: np.ndarray, out: np.ndarray) -> np.ndarray:
        """Every key wins: (Σ_j v_j)/n from the running sum, over S (exact division checked)."""
        if len(where):
            den = self.sum_den[where] * n
            bad[where] |= _reaches(np.abs(self.sum[where]).max(axis=1, initial=0) * float(S), _LIMIT)
            with np.errstate(over="ignore"):
                num = self.sum[where] * S
            bad[where] |= (num % den[:, None] != 0).any(axis=1)
            out[where] = num // den[:, None]
        return out

    def _exact_choice(self, r: int, candidates: np.ndarray, A: np.ndarray, D: np.ndarray, S: int, n: int,
                      bad: np.ndarray) -> np.ndarray:
        """Several keys share the least rounded magnitude: decide them in Python integers."""
        exact = {int(j): Fraction(int(A[j]), int(D[j])) for j in candidates}
        best = min(exact.values())
        winners = [j for j, x in exact.items() if x == best]
        if len(winners) == n:
            return self._uniform(np.array([r]), S, n, bad, np.zeros((1, self.mv), dtype=np.int64))[0]
        rows = self.values.rows[r, winners]
        total = [sum((Fraction(int(v[c]), int(v[-1])) for v in rows), Fraction(0)) for c in range(self.mv)]
        scaled = [t * S / len(winners) for t in total]
        if any(x.denominator != 1 or abs(x) >= _LIMIT for x in scaled):
            bad[r] = True
            return np.zeros(self.mv, dtype=np.int64)
        return np.array([int(x) for x in scaled], dtype=np.int64)


# ---------------------------------------------------------------------------------- floats
class FloatBatch(_Batch):
    """**Inexact.** :func:`turingformer.runtime.floating.decode_float` (hard attention, sum averaging,
    exact float ties) for a batch, bit for bit (module docstring)."""

    def __init__(self, models: "Sequence[Transformer] | BatchWeights", *, dtype="float64",
                 capture: Collection[str] | None = ()):
        super().__init__(models, capture)
        models = self.weights.models
        self.dt = resolve_dtype(dtype)
        self.fm = to_float(self.template, self.dt)            # for pos(k): the same for every model
        clip = self.template.score == "clipped"
        self._build(lambda plan: plan.floats(self.dt),
                    lambda q, k, v, vs: _FloatHead(q, k, v, vs, len(models), self.dt, clip))
        seeds = _seeds(models, lambda seed: [to_dtype(v, self.dt) for v in seed])
        self.Y = np.array(seeds, dtype=self.dt).reshape(len(models), self.d)

    def step(self) -> BatchStep:
        i = self.i
        acts: dict = {}
        finite = np.ones(len(self._rows), dtype=bool)
        with np.errstate(over="ignore", under="ignore", invalid="ignore", divide="ignore"):
            y_in = self.Y
            H = y_in + positional(self.fm, i + 1)

            def check(X):
                finite[:] &= np.isfinite(X).all(axis=1)

            H = self._decoder(H, acts, lambda head, X: head(X), lambda ffn, X: _float_mlp(ffn, X, finite), check)
            finite &= np.isfinite(H).all(axis=1)
            y_out = _float_mlp(self.output, H, finite)
            self._record(acts, "output.y", y_out)
        return self._finish(i, None, y_in, y_out, acts, ~finite)


def _float_mlp(plans: Sequence[_FloatPlan], X: np.ndarray, finite: np.ndarray) -> np.ndarray:
    last = len(plans) - 1
    for k, plan in enumerate(plans):
        X = plan(X)
        if k < last:
            X = np.clip(X, 0, 1)
            finite &= np.isfinite(X).all(axis=1)
    return X


class _FloatHead:
    """One non-trivial self-attention head of a :class:`FloatBatch`."""

    def __init__(self, query: _FloatPlan, key: _FloatPlan, value: _FloatPlan, value_support: np.ndarray,
                 models: int, dt: np.dtype, clip: bool):
        self.query, self.key, self.value = query, key, value
        self.value_support = value_support
        self.m = key.size
        self.dt, self.clip = dt, clip
        self.keys = _Cache(models, self.m, dt)
        self.values = _Cache(models, value.size, dt)
        self.sum = None

    def keep(self, index: np.ndarray) -> None:
        for plan in (self.query, self.key, self.value):
            plan.keep(index)
        self.keys.keep(index)
        self.values.keep(index)
        if self.sum is not None:
            self.sum = self.sum[index]

    def __call__(self, H: np.ndarray) -> np.ndarray:
        dt = self.dt
        V = self.value(H)
        self.values.append(V)
        self.sum = V.copy() if self.sum is None else self.sum + V
        n = self.values.n
        if not self.m:                                 # every dot product is 0: all tie
            return self.sum / dt.type(n)
        self.keys.append(self.key(H))
        Q = self.query(H)
        keys = self.keys.rows
        dots = keys[:, :, 0] * Q[:, :1]
        for c in range(1, self.m):
            dots = dots + keys[:, :, c] * Q[:, c:c + 1]
        dots = np.abs(dots)
        if self.clip:
            dots = np.minimum(dots, dt.type(1))
        s = -dots
        best = s.max(axis=1)
        winners = s == best[:, None]
        count = winners.sum(axis=1)
        out = np.full((len(H), V.shape[1]), np.nan, dtype=dt)      # no winner (NaN scores): not finite
        everyone = count == n
        out[everyone] = self.sum[everyone] / dt.type(n)
        single = np.flatnonzero(count == 1)
        if len(single):
            out[single] = self.values.rows[single, s[single].argmax(axis=1)] / dt.type(1)
        for r in np.flatnonzero((count > 1) & ~everyone):
            chosen = self.values.rows[r, np.flatnonzero(winners[r])]
            out[r] = np.add.accumulate(chosen, axis=0)[-1] / dt.type(len(chosen))
        return out
