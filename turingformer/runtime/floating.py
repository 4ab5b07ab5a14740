"""An **inexact** numpy runtime for the same weights, in float64, float32 or float16 (issue 6).

Nothing here is exact. The exact runtime (:mod:`turingformer.runtime.transformer`, Fractions only) is the
reference; this module exists to measure how much precision the construction needs and what
breaks without it (spec §7 and §8 J). It is generic like the exact runtime: it runs any
:class:`~turingformer.runtime.transformer.Transformer` and knows nothing about Turing machines.

:func:`decode_float` has the contract of :func:`turingformer.runtime.transformer.decode` (same arguments
plus the float options, yields the same :class:`~turingformer.runtime.transformer.Step` objects with the
same hook names), so it plugs into :func:`turingformer.compiler.perez.decoding.run_model` as
``decoder=functools.partial(decode_float, dtype=..., ...)`` with a Reader ``tolerance``.

The arithmetic model (what "float32" means here), chosen so that a run is reproducible and every
rounding is accounted for:

* Every exact weight and bias is rounded once to the dtype (``1/3`` becomes fl(1/3)); the maps are
  stored as dense numpy arrays of the dtype, restricted to the input rows they read.
* The positional encoding pos(k) (the model's, e.g. 1, k, 1/k, 1/k²) is stored as the dtype
  numbers nearest to the exact values (correct rounding of the exact rational; in float16, k
  itself is rounded above 2048 and 1/k² becomes subnormal and then 0 as k grows).
* Every elementary operation is an IEEE operation of the dtype, rounded to nearest: products
  ``x_i·W_io`` element by element and sums accumulated **left to right in index order**
  (``numpy.add.accumulate``, never BLAS or pairwise summation, whose order and fused
  multiply-adds vary by machine). An affine map is ``b + x_0 W_0 + x_1 W_1 + …`` in that order
  (zero terms are skipped, which changes nothing: adding 0 is exact). numpy evaluates each float16
  operation in float32 and rounds the result to float16.
* σ is a clip to [0, 1] (exact in any dtype); the score is −|x| or −min(|x|, 1) (exact).
* **Average-hard attention** (``attention="hard"``) with a tie **tolerance**: the winners are the
  keys whose score is within ``tolerance`` of the best (``None`` = 0.0, exact float equality). Two
  averaging styles (spec §8 J):
  ``averaging="sum"``: (Σ_{winners} v_j) / r, summing first (sums of ±1 stay exact) and dividing
  once; ``averaging="weighted"``: Σ_{winners} fl(1/r)·v_j, the usual "weights times values".
* **Soft attention** (``attention="soft"``): softmax(beta·score) over all keys (the maximum is
  subtracted before exp), output Σ_j w_j v_j. This is *not* the paper's model; it measures how
  sharp a softmax must be to imitate hardmax. The reported "winners" are then the keys with the
  best score (within ``tolerance``), i.e. the choice hardmax would make on the float scores.

The layers are :mod:`turingformer.runtime.layer`'s, the ones the exact runtimes run: activations
are numpy arrays of the dtype under the same hook names (winners as index arrays, built, like
the O(i) patterns, only when captured). ``capture=None`` records every hook.
"""

from __future__ import annotations

from dataclasses import dataclass
from fractions import Fraction
from typing import Callable, Collection, Iterator, Sequence

import numpy as np

from turingformer.errors import OptionError
from turingformer.runtime.hooks import Recorder, decoder_hooks, encoder_hooks, output_hooks
from turingformer.runtime.layer import ALL, Attended, Parts, decoder_forward, encoder_layer
from turingformer.runtime.space import Linear
from turingformer.runtime.transformer import MLP, Attention, Step, Transformer, autoregress

DTYPES = {"float64": np.float64, "float32": np.float32, "float16": np.float16}
AVERAGING = ("sum", "weighted")
ATTENTION = ("hard", "soft")

INEXACT = "INEXACT"
#: The label every report of a float mode carries (CLI output, docs, notebooks).
INEXACT_NOTE = ("inexact float mode: the same weights rounded to {dtype}; results are measurements "
                "of rounding, not the construction (the exact runtime is the reference)")


def resolve_dtype(dtype) -> np.dtype:
    """``"float16"``/``"float32"``/``"float64"`` (or a numpy float type) as a numpy dtype."""
    if isinstance(dtype, str):
        if dtype not in DTYPES:
            raise OptionError(f"dtype must be one of {sorted(DTYPES)}, not {dtype!r}")
        return np.dtype(DTYPES[dtype])
    dt = np.dtype(dtype)
    if dt not in {np.dtype(t) for t in DTYPES.values()}:
        raise OptionError(f"dtype must be one of {sorted(DTYPES)}, not {dtype!r}")
    return dt


def to_dtype(value, dt: np.dtype):
    """The dtype number nearest to an exact rational (via float64; float16 double-rounds rarely)."""
    if isinstance(value, Fraction):
        return dt.type(float(value))
    return dt.type(value)


# ------------------------------------------------------------------------------------ maps
class FloatLinear:
    """An exact :class:`~turingformer.runtime.space.Linear` rounded once to a dtype, applied sequentially."""

    __slots__ = ("rows", "W", "b", "dt", "n_out")

    def __init__(self, linear: Linear, dt: np.dtype):
        self.dt = dt
        self.n_out = len(linear.target)
        self.rows = np.array(linear.used_inputs(), dtype=np.intp)
        index = {r: k for k, r in enumerate(self.rows.tolist())}
        self.W = np.zeros((len(self.rows), self.n_out), dtype=dt)
        for i, o, w in linear.weights:
            self.W[index[i], o] = to_dtype(w, dt)
        self.b = np.zeros(self.n_out, dtype=dt)
        for o, v in linear.bias:
            self.b[o] = to_dtype(v, dt)

    def __call__(self, x: np.ndarray) -> np.ndarray:
        xs = x[self.rows]
        nz = np.flatnonzero(xs)
        if len(nz) == 0:
            return self.b.copy()
        terms = np.empty((len(nz) + 1, self.n_out), dtype=self.dt)
        terms[0] = self.b
        terms[1:] = xs[nz, None] * self.W[nz]          # products, each rounded to the dtype
        return np.add.accumulate(terms, axis=0)[-1]      # b + Σ in index order, rounded each step


class FloatMLP:
    __slots__ = ("layers",)

    def __init__(self, mlp: MLP, dt: np.dtype):
        self.layers = tuple(FloatLinear(layer, dt) for layer in mlp.layers)

    def __call__(self, x, hidden=(), acts=None):
        last = len(self.layers) - 1
        for k, layer in enumerate(self.layers):
            x = layer(x)
            if k < last:
                x = np.clip(x, 0, 1)
                if hidden and hidden[k]:
                    acts[hidden[k]] = x
        return x


class FloatAttention:
    """One head: query/key restricted to the support, values to the value support."""

    __slots__ = ("query", "key", "value", "support", "value_support", "trivial")

    def __init__(self, attn: Attention, dt: np.dtype):
        self.trivial = attn.is_trivial()
        self.support = np.array(attn.support, dtype=np.intp)
        self.value_support = np.array(attn.value_support, dtype=np.intp)
        self.query = _Projection(attn.query, attn.support, dt)
        self.key = _Projection(attn.key, attn.support, dt)
        self.value = _Projection(attn.value, attn.value_support, dt)


class _Projection:
    """``Linear(x)[support]`` computed without the unused output columns (same roundings)."""

    __slots__ = ("linear",)

    def __init__(self, linear: Linear, support: Sequence[int], dt: np.dtype):
        keep = {o: k for k, o in enumerate(support)}
        sub = Linear(linear.source, linear.target,
                     tuple(w for w in linear.weights if w[1] in keep),
                     tuple(b for b in linear.bias if b[0] in keep))
        full = FloatLinear(sub, dt)
        cols = np.array(list(support), dtype=np.intp)
        full.W = full.W[:, cols]
        full.b = full.b[cols]
        full.n_out = len(cols)
        self.linear = full

    def __call__(self, x):
        return self.linear(x)


class _Growing:
    """A row-appendable 2-d array (the key or value cache of one layer)."""

    __slots__ = ("data", "n")

    def __init__(self, width: int, dt: np.dtype, capacity: int = 256):
        self.data = np.zeros((capacity, width), dtype=dt)
        self.n = 0

    def append(self, row: np.ndarray) -> None:
        if self.n == len(self.data):
            bigger = np.zeros((2 * len(self.data), self.data.shape[1]), dtype=self.data.dtype)
            bigger[: self.n] = self.data[: self.n]
            self.data = bigger
        self.data[self.n] = row
        self.n += 1

    @property
    def rows(self) -> np.ndarray:
        return self.data[: self.n]


@dataclass
class FloatModel:
    """A :class:`Transformer`'s weights rounded once to ``dtype`` (build with :func:`to_float`)."""

    model: Transformer
    dt: np.dtype
    encoder: tuple
    decoder: tuple
    output: FloatMLP
    seed: np.ndarray

    @property
    def dtype(self) -> str:
        return self.dt.name


_CACHE: dict[tuple[int, str], FloatModel] = {}


def to_float(model: Transformer, dtype="float64") -> FloatModel:
    """Convert the exact maps to dense numpy arrays of ``dtype`` (cached per model and dtype)."""
    dt = resolve_dtype(dtype)
    key = (id(model), dt.name)
    cached = _CACHE.get(key)
    if cached is not None and cached.model is model:
        return cached
    encoder = tuple((FloatAttention(layer.attn, dt), FloatMLP(layer.ffn, dt) if layer.ffn else None)
                    for layer in model.encoder)
    decoder = tuple((FloatAttention(layer.attn, dt),
                     FloatAttention(layer.cross, dt) if layer.cross is not None else None,
                     FloatMLP(layer.ffn, dt) if layer.ffn else None)
                    for layer in model.decoder)
    fm = FloatModel(model, dt, encoder, decoder, FloatMLP(model.output, dt),
                    np.array([to_dtype(v, dt) for v in model.seed], dtype=dt))
    _CACHE[key] = fm
    return fm


def positional(fm: FloatModel, k: int) -> np.ndarray:
    """pos(k) as the dtype numbers nearest to the exact values k**e of the model's encoding."""
    space, dt = fm.model.space, fm.dt
    out = np.zeros(len(space), dtype=dt)
    for name, value in fm.model.positional.entries(k).items():
        out[space.index(name)] = to_dtype(value, dt)
    return out


# ------------------------------------------------------------------------------------ attention
@dataclass(frozen=True)
class Options:
    """How one float run computes attention (see the module docstring)."""

    tolerance: float = 0.0
    averaging: str = "sum"
    attention: str = "hard"
    beta: float | None = None
    score: str = "abs"


def scores(dt: np.dtype, score: str, query: np.ndarray, keys: np.ndarray,
           work: "_Work | None" = None) -> np.ndarray:
    """φ(⟨q, k_j⟩) for every row of ``keys``; the dot product is summed left to right.

    With ``work``, the result is a view of its buffers (valid until the next call): nothing of
    the cache's length is allocated. Each product and each partial sum is rounded to ``dt``
    exactly as in ``dots + keys[:, c] * q[c]``.
    """
    n = len(keys)
    if work is None:
        work = _Work(dt, n)
    dots, tmp = work.take(n)
    if keys.shape[1] == 0:
        dots[:] = 0
    else:
        np.multiply(keys[:, 0], query[0], out=dots)
        for c in range(1, keys.shape[1]):
            np.multiply(keys[:, c], query[c], out=tmp)
            np.add(dots, tmp, out=dots)
    np.abs(dots, out=dots)
    if score == "clipped":
        np.minimum(dots, dt.type(1), out=dots)
    return np.negative(dots, out=dots)


class _Work:
    """Two reusable float buffers and a mask, grown by doubling (see :func:`scores`)."""

    __slots__ = ("dots", "tmp", "mask")

    def __init__(self, dt: np.dtype, capacity: int = 256):
        capacity = max(capacity, 1)
        self.dots, self.tmp = np.empty(capacity, dtype=dt), np.empty(capacity, dtype=dt)
        self.mask = np.empty(capacity, dtype=bool)

    def take(self, n: int) -> tuple[np.ndarray, np.ndarray]:
        if n > len(self.dots):
            self.__init__(self.dots.dtype, 2 * n)
        return self.dots[:n], self.tmp[:n]


def attend(dt: np.dtype, opts: Options, s: np.ndarray, values: np.ndarray,
           prefix_sum: np.ndarray | None = None,
           work: _Work | None = None) -> tuple[np.ndarray, np.ndarray, np.ndarray | None]:
    """(winners, output, soft weights or None) of one attention over scores ``s``.

    ``prefix_sum`` (sequential sum of every value row, same order) is used when every key wins
    under ``averaging="sum"``: it is bit-for-bit the sum the general path would compute.
    ``work`` (hard attention) holds the comparison mask, so only the winners are allocated.
    """
    n = len(s)
    width = values.shape[1]
    if n == 0:
        return np.zeros(0, dtype=np.intp), np.zeros(width, dtype=dt), None
    best = s.max()
    mask = work.mask[:n] if work is not None and len(work.mask) >= n else None
    if opts.tolerance:
        winners = np.flatnonzero(np.greater_equal(s, best - dt.type(opts.tolerance), out=mask))
    else:
        winners = np.flatnonzero(np.equal(s, best, out=mask))
    if opts.attention == "soft":
        e = np.exp(dt.type(opts.beta) * (s - best))
        w = e / np.add.accumulate(e)[-1]
        terms = w[:, None] * values
        return winners, np.add.accumulate(terms, axis=0)[-1], w
    r = len(winners)
    if opts.averaging == "sum":
        if prefix_sum is not None and r == n:
            total = prefix_sum
        elif r == 1:
            total = values[winners[0]]
        else:
            total = np.add.accumulate(values[winners], axis=0)[-1]
        return winners, total / dt.type(r), None
    weight = dt.type(1) / dt.type(r)
    if r == 1:
        return winners, weight * values[winners[0]], None
    return winners, np.add.accumulate(weight * values[winners], axis=0)[-1], None


def _pattern(n: int, winners: np.ndarray, weights: np.ndarray | None, dt: np.dtype) -> np.ndarray:
    if weights is not None:
        return weights
    out = np.zeros(n, dtype=dt)
    if len(winners):
        out[winners] = dt.type(1) / dt.type(len(winners))
    return out


# ------------------------------------------------------------------------------------ runtime
class _Floats:
    """The arithmetic of :mod:`turingformer.runtime.layer` in a float dtype: vectors and hooks are
    numpy arrays (a delta is a full vector, zero off the value support: adding those zeros is exact)."""

    def __init__(self, dt: np.dtype, d: int):
        self.dt, self.d = dt, d

    @staticmethod
    def add(x: np.ndarray, delta: np.ndarray | None) -> np.ndarray:
        return x if delta is None else x + delta

    @staticmethod
    def view(x: np.ndarray) -> np.ndarray:
        return x

    def view_delta(self, delta: np.ndarray | None) -> np.ndarray:
        return np.zeros(self.d, dtype=self.dt) if delta is None else delta

    @staticmethod
    def winners(att: Attended) -> np.ndarray:
        return np.arange(att.n) if att.winners is ALL else att.winners

    def pattern(self, att: Attended) -> np.ndarray:
        return _pattern(att.n, self.winners(att), att.weights, self.dt)

    def stack(self, rows: list) -> np.ndarray:
        return np.array(rows, dtype=self.dt)

    def view_all(self, xs: list) -> np.ndarray:
        return np.array(xs, dtype=self.dt).reshape(len(xs), self.d)

    def scatter(self, support: np.ndarray, values: np.ndarray) -> np.ndarray:
        out = np.zeros(self.d, dtype=self.dt)
        out[support] = values
        return out


class _FloatHead:
    """Attention over a fixed set of rows (an encoder self-attention, or a cross-attention over
    the encoder's keys ``K`` and values ``V``)."""

    def __init__(self, ops: _Floats, attn: FloatAttention, opts: Options, work: "_Work", K=None, V=None):
        self.ops, self.attn, self.opts, self.work, self.K, self.V = ops, attn, opts, work, K, V

    def _decide(self, query: np.ndarray, K: np.ndarray, V: np.ndarray, prefix_sum=None, work=None) -> Attended:
        dt = self.ops.dt
        s = scores(dt, self.opts.score, query, K, work)
        winners, out, weights = attend(dt, self.opts, s, V, prefix_sum, work)
        return Attended(self.ops.scatter(self.attn.value_support, out), winners, len(K), s.copy, weights)

    def attend(self, p: np.ndarray) -> Attended:
        """Cross-attention: the query of ``p`` over the encoder's keys."""
        return self._decide(self.attn.query(p), self.K, self.V, work=self.work)

    def attend_all(self, xs: Sequence[np.ndarray]) -> list[Attended]:
        """Encoder self-attention: every position a query over every position."""
        if self.attn.trivial:
            return [Attended(None, ALL, len(xs)) for _ in xs]
        dt = self.ops.dt
        K = np.array([self.attn.key(x) for x in xs], dtype=dt).reshape(len(xs), len(self.attn.support))
        V = np.array([self.attn.value(x) for x in xs], dtype=dt).reshape(len(xs), len(self.attn.value_support))
        return [self._decide(self.attn.query(x), K, V) for x in xs]


class _FloatCausal(_FloatHead):
    """A decoder self-attention with its key/value cache and the running sum of its values."""

    def __init__(self, ops: _Floats, attn: FloatAttention, opts: Options, work: "_Work"):
        super().__init__(ops, attn, opts, work)
        self.keys = _Growing(len(attn.support), ops.dt)
        self.values = _Growing(len(attn.value_support), ops.dt)
        self.sum = None

    def attend(self, h: np.ndarray) -> Attended:
        value = self.attn.value(h)
        self.keys.append(self.attn.key(h))
        self.values.append(value)
        self.sum = value.copy() if self.sum is None else self.sum + value
        return self._decide(self.attn.query(h), self.keys.rows, self.values.rows, self.sum, self.work)


@dataclass
class FloatEncoded:
    cross_keys: tuple
    cross_values: tuple
    activations: dict


def encode_float(fm: FloatModel, tokens: Sequence[str], opts: Options,
                 capture: Collection[str] | None = ()) -> FloatEncoded:
    """The encoder in the dtype (:func:`turingformer.runtime.layer.encoder_layer`), then every
    decoder layer's cross keys and values."""
    model, dt = fm.model, fm.dt
    ops = _Floats(dt, model.d)
    record = Recorder(capture)
    xs = []
    for j, token in enumerate(tokens, start=1):
        x = positional(fm, j)
        for name, value in model.embedding_of(token).items():
            k = model.space.index(name)
            x[k] = x[k] + to_dtype(value, dt)
        xs.append(x)
    for hooks, (attn, ffn) in zip(encoder_hooks(model), fm.encoder):
        hooks = hooks.select([n for n in hooks.names() if not n.endswith((".scores", ".winners"))])
        xs, _ = encoder_layer(ops, [_FloatHead(ops, attn, opts, None)], ffn, xs, hooks.select(record.wanted),
                              record.values)
    X = ops.view_all(xs)
    keys, values = [], []
    for attn, cross, _ in fm.decoder:
        if cross is None or cross.trivial:
            keys.append(None), values.append(None)
        else:
            keys.append(np.array([cross.key(x) for x in X], dtype=dt).reshape(len(X), len(cross.support)))
            values.append(np.array([cross.value(x) for x in X], dtype=dt).reshape(len(X), len(cross.value_support)))
    return FloatEncoded(tuple(keys), tuple(values), record.values)


class FloatDecoder:
    """The decoder state of one float run: per-layer key/value caches and running value sums."""

    def __init__(self, fm: FloatModel, encoded: FloatEncoded, opts: Options):
        self.fm, self.encoded, self.opts = fm, encoded, opts
        self.ops = _Floats(fm.dt, fm.model.d)
        work = _Work(fm.dt)
        self.layers = [
            Parts(None if attn.trivial else _FloatCausal(self.ops, attn, opts, work),
                        None if cross is None or cross.trivial else
                        _FloatHead(self.ops, cross, opts, work, encoded.cross_keys[l], encoded.cross_values[l]),
                        ffn)
            for l, (attn, cross, ffn) in enumerate(fm.decoder)]
        self.i = 0
        self._hooks = None

    def step(self, y: np.ndarray, capture: Collection[str] | None = ()) -> tuple[np.ndarray, dict]:
        if self._hooks is None or self._hooks[0] is not capture:
            wanted = None if capture is None else frozenset(capture)
            model = self.fm.model
            self._hooks = (capture, [hooks.select(wanted) for hooks in decoder_hooks(model)],
                           output_hooks(model).select(wanted))
        _, hooks, out_hooks = self._hooks
        acts: dict = {}
        h = y + positional(self.fm, self.i + 1)
        y_next = decoder_forward(self.ops, self.layers, self.fm.output, h, self.i + 1, hooks, out_hooks, acts)
        self.i += 1
        return y_next, acts


def decode_float(
    model: Transformer, tokens: Sequence[str], *, max_steps: int,
    stop: Callable[[Sequence], bool] = lambda y: False, capture: Collection[str] | None = (),
    dtype="float64", tolerance: float | None = None, averaging: str = "sum",
    attention: str = "hard", beta: float | None = None,
) -> Iterator[Step]:
    """**Inexact.** Decode like :func:`turingformer.runtime.transformer.decode`, in float ``dtype``.

    ``tolerance``: hardmax tie tolerance (``None`` = 0.0, exact float equality); ``averaging``:
    ``"sum"`` = (Σ tied v_j)/r or ``"weighted"`` = Σ fl(1/r)·v_j (spec §8 J); ``attention``:
    ``"hard"`` (average-hard, the paper's) or ``"soft"`` = softmax(beta·score) with ``beta``
    required. Outputs and activations are numpy arrays of the dtype.
    """
    if averaging not in AVERAGING:
        raise OptionError(f"averaging must be one of {AVERAGING}, not {averaging!r}")
    if attention not in ATTENTION:
        raise OptionError(f"attention must be one of {ATTENTION}, not {attention!r}")
    if attention == "soft" and (beta is None or not beta > 0):
        raise OptionError("soft attention needs a positive beta")
    fm = to_float(model, dtype)
    opts = Options(0.0 if tolerance is None else float(tolerance), averaging, attention,
                   None if beta is None else float(beta), model.score)
    quiet = dict(over="ignore", under="ignore", invalid="ignore", divide="ignore")
    with np.errstate(**quiet):
        encoded = encode_float(fm, tokens, opts, capture)
    decoder = FloatDecoder(fm, encoded, opts)

    def step(i: int, y):
        with np.errstate(**quiet):
            return decoder.step(y, capture)

    return autoregress(step, fm.seed, max_steps=max_steps, stop=stop, encoder_activations=encoded.activations)
