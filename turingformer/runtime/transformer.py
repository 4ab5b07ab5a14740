"""The generic exact transformer runtime: the model of Pérez, Barceló and Marinkovic (JMLR 2021, §3).

It knows attention, feed-forward nets, residuals and hardmax; it knows nothing about Turing
machines and runs any weights it is given (:mod:`turingformer.compiler.perez.construction` only produces them).

* **Attention** (one head): ``Att(q, K, V) = Σ_j s_j v_j`` with ``s = hardmax(φ(⟨q, k_j⟩))``,
  the score ``φ(x) = −|x|`` (``score="abs"``) or ``−min(|x|, 1)`` (``score="clipped"``).
  Hardmax is *average-hard*: the r tied maximisers each get weight 1/r. Over an empty key set
  (an empty input) attention returns the zero vector.
* **Encoder layer** (JMLR eqs. 4–5): ``a_j = Att(Q x_j, K X, V X) + x_j``, ``z_j = O(a_j) + a_j``.
* **Decoder layer** (JMLR eqs. 7–9), the causal prefix *including* position i:
  ``p_i = Att(Q y_i, K Y_i, V Y_i) + y_i``; ``a_i = Att(Q_c p_i, K_c Xᴸ, V_c Xᴸ) + p_i``;
  ``z_i = O(a_i) + a_i``. Each decoder layer has its own cross-attention maps applied to the
  encoder output Xᴸ (absent = the zero map).
* **Output**: ``y_{i+1} = F(zᴸ_i)`` with F a σ-net; decoder input i is ``y_i + pos(i+1)``,
  encoder input j is ``f(w_j) + pos(j)``, ``pos(k) = (1, k, 1/k, 1/k²)`` in four named slots.
* **σ-nets** (:class:`MLP`): affine maps with the piecewise-linear sigmoid σ between them.

Every vector lives in a named :class:`~turingformer.runtime.space.Space`. Decoding is autoregressive
with a key/value cache (:class:`DecoderCache`): step i computes only position i and attends over
the cached keys and values of positions 0..i. :func:`decode_naive` recomputes the whole prefix
at every step and is kept only as a test oracle.

Activations are reported under stable hook names (TransformerLens style), see :data:`HOOKS`.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from fractions import Fraction
from typing import Callable, Collection, Iterator, Mapping, Sequence

from turingformer.runtime.space import Linear, Space, Vector, sigma

SCORES = ("abs", "clipped")

#: Hook names, with ``{l}`` the layer number (encoder from 0, decoder 1..L as in the paper).
HOOKS = {
    "encoder.{l}.resid_pre": "encoder input f(w_j) + pos(j), one vector per input position",
    "encoder.{l}.attn.pattern": "encoder self-attention weights, one row per position",
    "encoder.{l}.resid_mid": "after self-attention and residual",
    "encoder.{l}.ffn.hidden": "σ-activations of the encoder FFN (absent when there is no FFN)",
    "encoder.{l}.out": "encoder layer output (resid_post)",
    "decoder.{l}.resid_pre": "decoder layer input at the current position",
    "decoder.{l}.attn.scores": "self-attention scores φ(<q_i, k_j>), j = 0..i",
    "decoder.{l}.attn.pattern": "self-attention weights, j = 0..i (average-hard)",
    "decoder.{l}.attn.winners": "the positions j that tie for the maximal score (weight 1/r each)",
    "decoder.{l}.attn.out": "self-attention output",
    "decoder.{l}.resid_mid": "p_i = attention output + residual",
    "decoder.{l}.cross.scores": "cross-attention scores over the encoder positions",
    "decoder.{l}.cross.pattern": "cross-attention weights over the encoder positions",
    "decoder.{l}.cross.winners": "the encoder positions that tie for the maximal score",
    "decoder.{l}.cross.out": "cross-attention output",
    "decoder.{l}.resid_cross": "a_i = cross-attention output + p_i",
    "decoder.{l}.ffn.hidden": "σ-activations of the FFN",
    "decoder.{l}.ffn.out": "FFN output O(a_i)",
    "decoder.{l}.resid_post": "z_i = O(a_i) + a_i",
    "output.hidden.{k}": "σ-activations of the output net F, layer k",
    "output.y": "the output y_{i+1} = F(z_i)",
}


def check_score(score: str) -> None:
    """Refuse an unknown attention score name (one of :data:`SCORES`)."""
    if score not in SCORES:
        raise ValueError(f"score must be one of {SCORES}, not {score!r}")


def phi(score: str, x):
    """The attention score of a dot product: −|x| or the clipped −min(|x|, 1)."""
    magnitude = -x if x < 0 else x
    if score == "clipped" and magnitude > 1:
        return x * 0 - 1
    return -magnitude


@dataclass(frozen=True)
class MLP:
    """A σ-net: ``layers[-1](σ(... σ(layers[0](x))))``; hidden spaces are named."""

    layers: tuple[Linear, ...]

    def __call__(self, x: Vector, record: Callable[[str, object], None] | None = None,
                 prefix: str = "") -> Vector:
        for k, layer in enumerate(self.layers):
            x = layer(x)
            if k < len(self.layers) - 1:
                x = tuple(sigma(v) for v in x)
                if record:
                    record(f"{prefix}.hidden" if len(self.layers) == 2 else f"{prefix}.hidden.{k}", x)
        return x

    @property
    def hidden_sizes(self) -> tuple[int, ...]:
        return tuple(len(layer.target) for layer in self.layers[:-1])


@dataclass(frozen=True)
class Attention:
    """One attention head: query, key and value maps (value into the residual space).

    ``support`` is where query and key can both be non-zero: the dot product only needs those
    coordinates, so the cache keeps keys restricted to them (rank 2–3 in the construction).
    """

    query: Linear
    key: Linear
    value: Linear
    support: tuple[int, ...] = field(init=False, compare=False, repr=False)
    value_support: tuple[int, ...] = field(init=False, compare=False, repr=False)

    def __post_init__(self) -> None:
        support = sorted(set(self.query.used_outputs()) & set(self.key.used_outputs()))
        object.__setattr__(self, "support", tuple(support))
        object.__setattr__(self, "value_support", self.value.used_outputs())

    def is_trivial(self) -> bool:
        """True when the value map is zero, so the attention always returns 0 (spec §8 F)."""
        return self.value.is_zero()

    def project_key(self, x: Vector) -> tuple:
        k = self.key(x)
        return tuple(k[s] for s in self.support)

    def project_query(self, x: Vector) -> tuple:
        q = self.query(x)
        return tuple(q[s] for s in self.support)

    def project_value(self, x: Vector) -> tuple:
        v = self.value(x)
        return tuple(v[s] for s in self.value_support)


@dataclass(frozen=True)
class EncoderLayer:
    attn: Attention
    ffn: MLP | None = None


@dataclass(frozen=True)
class DecoderLayer:
    attn: Attention
    cross: Attention | None = None
    ffn: MLP | None = None


@dataclass(frozen=True)
class PositionalEncoding:
    """``pos(k)``: 1, k, 1/k and 1/k² in the four named dimensions (JMLR Theorem 6)."""

    one: str
    k: str
    inverse: str
    inverse_square: str

    def __call__(self, space: Space, k: int) -> Vector:
        return space.vector({self.one: 1, self.k: k, self.inverse: Fraction(1, k),
                             self.inverse_square: Fraction(1, k * k)})


@dataclass(frozen=True)
class Transformer:
    """All the weights of an encoder–decoder hard-attention transformer, and nothing else.

    ``embedding[token]`` is the (sparse, named) embedding f(token); ``seed`` is y_0.
    """

    space: Space
    embedding: Mapping[str, Mapping[str, Fraction]]
    positional: PositionalEncoding
    encoder: tuple[EncoderLayer, ...]
    decoder: tuple[DecoderLayer, ...]
    output: MLP
    seed: Vector
    score: str = "abs"

    def __post_init__(self) -> None:
        check_score(self.score)

    def __repr__(self) -> str:
        return (f"Transformer(d={self.d}, encoder_layers={len(self.encoder)}, decoder_layers={len(self.decoder)}, "
                f"vocabulary={len(self.embedding)}, score={self.score!r})")

    @property
    def d(self) -> int:
        return len(self.space)

    def embed(self, tokens: Sequence[str]) -> list[Vector]:
        """Encoder inputs f(w_j) + pos(j), j = 1..n."""
        out = []
        for j, token in enumerate(tokens, start=1):
            if token not in self.embedding:
                raise KeyError(f"token {token!r} has no embedding (vocabulary: {sorted(self.embedding)})")
            pos = list(self.positional(self.space, j))
            for name, value in self.embedding[token].items():
                pos[self.space.index(name)] += value
            out.append(tuple(pos))
        return out

    def linears(self) -> Iterator[tuple[str, Linear]]:
        """Every affine map with its hook-style name (for inspection and counting)."""
        for l, layer in enumerate(self.encoder):
            yield from _attention_maps(f"encoder.{l}.attn", layer.attn)
            yield from _mlp_maps(f"encoder.{l}.ffn", layer.ffn)
        for l, layer in enumerate(self.decoder, start=1):
            yield from _attention_maps(f"decoder.{l}.attn", layer.attn)
            yield from _attention_maps(f"decoder.{l}.cross", layer.cross)
            yield from _mlp_maps(f"decoder.{l}.ffn", layer.ffn)
        yield from _mlp_maps("output", self.output)

    def nonzero_weights(self) -> int:
        return sum(len(m.weights) + len(m.bias) for _, m in self.linears())


def _attention_maps(prefix: str, attn: Attention | None):
    if attn is not None:
        yield f"{prefix}.query", attn.query
        yield f"{prefix}.key", attn.key
        yield f"{prefix}.value", attn.value


def _mlp_maps(prefix: str, mlp: MLP | None):
    if mlp is not None:
        for k, layer in enumerate(mlp.layers):
            yield f"{prefix}.{k}", layer


# ---------------------------------------------------------------------------------- hardmax
@dataclass(frozen=True)
class Hardmax:
    """The decision of one average-hard attention: the tied maximisers and the result."""

    winners: tuple[int, ...]
    output: tuple           # averaged value, restricted to the value support


def hardmax(score: str, query: tuple, keys: Sequence[tuple], values: Sequence[tuple]) -> Hardmax:
    """Average-hard attention of ``query`` over ``keys``: exact, ties averaged."""
    best = None
    winners: list[int] = []
    for j, key in enumerate(keys):
        s = phi(score, dot(query, key))
        if best is None or s > best:
            best, winners = s, [j]
        elif s == best:
            winners.append(j)
    return Hardmax(tuple(winners), average([values[j] for j in winners]))


def average(rows: Sequence[tuple]) -> tuple:
    """(Σ rows) / r, summing first and dividing once (spec §8 J); () for no rows."""
    if not rows:
        return ()
    total = list(rows[0])
    for row in rows[1:]:
        for k, v in enumerate(row):
            total[k] = total[k] + v
    r = len(rows)
    return tuple(v / r for v in total)


def dot(query: tuple, key: tuple):
    """⟨q, k⟩ over the attention's support (an exact 0 when the support is empty)."""
    return sum((a * b for a, b in zip(query, key)), Fraction(0))


def scores_of(score: str, query: tuple, keys: Sequence[tuple]) -> list:
    return [phi(score, dot(query, key)) for key in keys]


def pattern_of(n: int, winners: Sequence[int]) -> tuple:
    """The attention weights as a vector over n positions."""
    w = Fraction(1, len(winners)) if winners else Fraction(0)
    chosen = set(winners)
    return tuple(w if j in chosen else Fraction(0) for j in range(n))


def _add_at(x: Vector, support: Sequence[int], values: tuple) -> Vector:
    if not values:
        return x
    out = list(x)
    for s, v in zip(support, values):
        out[s] = out[s] + v
    return tuple(out)


def _add(x: Vector, y: Vector) -> Vector:
    return tuple(a + b for a, b in zip(x, y))


# ---------------------------------------------------------------------------------- recording
class Recorder:
    """Collects the activations of one forward step under hook names (or drops them)."""

    __slots__ = ("wanted", "values")

    def __init__(self, wanted: Collection[str] | None):
        self.wanted = wanted
        self.values: dict[str, object] = {}

    def __call__(self, name: str, value: object) -> None:
        if self.wanted is None or name in self.wanted:
            self.values[name] = value

    def wants(self, name: str) -> bool:
        return self.wanted is None or name in self.wanted


# ---------------------------------------------------------------------------------- encoder
@dataclass(frozen=True)
class Encoded:
    """The encoder output Xᴸ and, per decoder layer, its cross-attention keys and values."""

    states: tuple[Vector, ...]
    cross_keys: tuple[tuple[tuple, ...], ...]
    cross_values: tuple[tuple[tuple, ...], ...]
    activations: Mapping[str, object]


def head_names(prefix: str, count: int) -> tuple[str, ...]:
    """Hook prefixes of a layer's heads: ``{prefix}.attn`` for one head, ``{prefix}.attn.{h}`` for several."""
    return (f"{prefix}.attn",) if count == 1 else tuple(f"{prefix}.attn.{h}" for h in range(count))


def encoder_layer(
    score: str, heads: Sequence[Attention], ffn: MLP | None, xs: Sequence[Vector],
    record: Recorder, prefix: str, *, decisions: bool = False,
) -> tuple[list[Vector], tuple[tuple[tuple[int, ...], ...], ...]]:
    """One encoder layer over all positions (JMLR eqs. 4–5; looped spec §3.1), every position a query.

    ``a_j = x_j + Σ_h Att_h(Q_h x_j, K_h X, V_h X)`` (the heads read the same X and their outputs
    add), ``z_j = a_j + O(a_j)``. Returns the outputs and, per head, every position's winners.
    Records ``{prefix}.resid_pre``, ``.attn[.h].pattern``, ``.resid_mid``, ``.ffn.hidden``,
    ``.out``, and with ``decisions`` also ``.attn[.h].scores`` and ``.attn[.h].winners``.
    """
    record(f"{prefix}.resid_pre", tuple(xs))
    n = len(xs)
    mids = list(xs)
    all_winners = []
    for name, attn in zip(head_names(prefix, len(heads)), heads):
        if attn.is_trivial():
            winners = [tuple(range(n))] * n
            scores = None
        else:
            keys = [attn.project_key(x) for x in xs]
            values = [attn.project_value(x) for x in xs]
            want_scores = decisions and record.wants(f"{name}.scores")
            winners, scores = [], [] if want_scores else None
            for j, x in enumerate(xs):
                query = attn.project_query(x)
                h = hardmax(score, query, keys, values)
                mids[j] = _add_at(mids[j], attn.value_support, h.output)
                winners.append(h.winners)
                if want_scores:
                    scores.append(tuple(scores_of(score, query, keys)))
        if record.wants(f"{name}.pattern"):
            record(f"{name}.pattern", tuple(pattern_of(n, w) for w in winners))
        if decisions:
            if scores is not None:
                record(f"{name}.scores", tuple(scores))
            record(f"{name}.winners", tuple(winners))
        all_winners.append(tuple(winners))
    record(f"{prefix}.resid_mid", tuple(mids))
    if ffn is None:
        outs = mids
    else:
        outs, hidden = [], []
        for mid in mids:
            sub = Recorder(None)
            outs.append(_add(mid, ffn(mid, sub, "ffn")))
            hidden.append(sub.values.get("ffn.hidden"))
        record(f"{prefix}.ffn.hidden", tuple(hidden))
    record(f"{prefix}.out", tuple(outs))
    return outs, tuple(all_winners)


def encode(model: Transformer, tokens: Sequence[str], capture: Collection[str] | None = ()) -> Encoded:
    """Run the encoder on ``tokens`` (the input word, one symbol per position)."""
    record = Recorder(capture)
    xs = model.embed(tokens)
    for l, layer in enumerate(model.encoder):
        xs, _ = encoder_layer(model.score, (layer.attn,), layer.ffn, xs, record, f"encoder.{l}")
    cross_keys, cross_values = [], []
    for layer in model.decoder:
        if layer.cross is None or layer.cross.is_trivial():
            cross_keys.append(()), cross_values.append(())
        else:
            cross_keys.append(tuple(layer.cross.project_key(x) for x in xs))
            cross_values.append(tuple(layer.cross.project_value(x) for x in xs))
    return Encoded(tuple(xs), tuple(cross_keys), tuple(cross_values), record.values)


# ---------------------------------------------------------------------------------- decoder
@dataclass
class DecoderCache:
    """Per decoder layer, the keys and values of every position decoded so far."""

    keys: list[list[tuple]]
    values: list[list[tuple]]

    @classmethod
    def empty(cls, model: Transformer) -> "DecoderCache":
        return cls([[] for _ in model.decoder], [[] for _ in model.decoder])

    @property
    def length(self) -> int:
        return len(self.keys[0]) if self.keys else 0


def decoder_step(
    model: Transformer, encoded: Encoded, cache: DecoderCache, y: Vector,
    capture: Collection[str] | None = (),
) -> tuple[Vector, dict[str, object]]:
    """Decode one position: ``y_i`` in, ``y_{i+1}`` out; appends position i to ``cache``.

    Returns the output and the captured activations (``capture=None`` captures every hook).
    """
    i = cache.length
    record = Recorder(capture)
    h = _add(y, model.positional(model.space, i + 1))
    for l, layer in enumerate(model.decoder, start=1):
        name = f"decoder.{l}"
        record(f"{name}.resid_pre", h)
        attn = layer.attn
        cache.keys[l - 1].append(attn.project_key(h))
        cache.values[l - 1].append(attn.project_value(h))
        if attn.is_trivial():
            p = h
            winners = tuple(range(i + 1))
        else:
            query = attn.project_query(h)
            result = hardmax(model.score, query, cache.keys[l - 1], cache.values[l - 1])
            p = _add_at(h, attn.value_support, result.output)
            winners = result.winners
            if record.wants(f"{name}.attn.scores"):
                record(f"{name}.attn.scores", tuple(scores_of(model.score, query, cache.keys[l - 1])))
        record(f"{name}.attn.winners", winners)
        if record.wants(f"{name}.attn.pattern"):
            record(f"{name}.attn.pattern", pattern_of(i + 1, winners))
        record(f"{name}.attn.out", _diff(p, h))
        record(f"{name}.resid_mid", p)
        a = p
        if layer.cross is not None and not layer.cross.is_trivial():
            keys = encoded.cross_keys[l - 1]
            query = layer.cross.project_query(p)
            result = hardmax(model.score, query, keys, encoded.cross_values[l - 1])
            a = _add_at(p, layer.cross.value_support, result.output)
            if record.wants(f"{name}.cross.scores"):
                record(f"{name}.cross.scores", tuple(scores_of(model.score, query, keys)))
            record(f"{name}.cross.winners", result.winners)
            if record.wants(f"{name}.cross.pattern"):
                record(f"{name}.cross.pattern", pattern_of(len(keys), result.winners))
            record(f"{name}.cross.out", _diff(a, p))
        record(f"{name}.resid_cross", a)
        z = a
        if layer.ffn is not None:
            o = layer.ffn(a, record, f"{name}.ffn")
            record(f"{name}.ffn.out", o)
            z = _add(a, o)
        record(f"{name}.resid_post", z)
        h = z
    y_next = model.output(h, record, "output")
    record("output.y", y_next)
    return y_next, record.values


def _diff(x: Vector, y: Vector) -> Vector:
    return tuple(a - b for a, b in zip(x, y))


@dataclass(frozen=True)
class Step:
    """One decoder step: position ``i`` read ``y_in`` (= y_i) and produced ``y_out`` (= y_{i+1})."""

    i: int
    y_in: Vector
    y_out: Vector
    activations: Mapping[str, object]

    def __repr__(self) -> str:
        return f"Step(i={self.i}, d={len(self.y_in)}, hooks={len(self.activations)})"


def autoregress(
    step: Callable[[int, Vector], tuple[Vector, dict]], seed: Vector, *, max_steps: int,
    stop: Callable[[Vector], bool], encoder_activations: Mapping[str, object],
) -> Iterator[Step]:
    """The decoding loop every runtime shares: y_0 = ``seed``, (y_{i+1}, activations) = step(i, y_i).

    Yields one :class:`Step` per position until ``stop(y_{i+1})`` is true (that step included)
    or ``max_steps`` steps were taken; the encoder's activations join those of step 0.
    """
    y = seed
    for i in range(max_steps):
        y_next, acts = step(i, y)
        if i == 0 and encoder_activations:
            acts = {**encoder_activations, **acts}
        yield Step(i, y, y_next, acts)
        if stop(y_next):
            return
        y = y_next


def decode(
    model: Transformer, tokens: Sequence[str], *, max_steps: int,
    stop: Callable[[Vector], bool] = lambda y: False, capture: Collection[str] | None = (),
) -> Iterator[Step]:
    """Autoregressive decoding with a key/value cache, from the seed y_0.

    Yields one :class:`Step` per position until ``stop(y_out)`` is true (that step included) or
    ``max_steps`` steps were taken. Uses nothing but the weights and ``tokens``.
    """
    encoded = encode(model, tokens, capture)
    cache = DecoderCache.empty(model)
    return autoregress(lambda i, y: decoder_step(model, encoded, cache, y, capture), model.seed,
                       max_steps=max_steps, stop=stop, encoder_activations=encoded.activations)


def decode_naive(model: Transformer, tokens: Sequence[str], steps: int) -> list[Vector]:
    """Test oracle: outputs y_1..y_steps, recomputing every layer at every position, every step.

    It shares nothing with the cached path but the maps and :func:`hardmax`: each layer is run
    over the whole prefix with a causal mask, from scratch, as the equations of the paper read.
    """
    encoded = encode(model, tokens)
    ys = [model.seed]
    for _ in range(steps):
        hs = [_add(y, model.positional(model.space, i + 1)) for i, y in enumerate(ys)]
        for l, layer in enumerate(model.decoder):
            keys = [layer.attn.project_key(h) for h in hs]
            values = [layer.attn.project_value(h) for h in hs]
            ps = []
            for i, h in enumerate(hs):
                if layer.attn.is_trivial():
                    ps.append(h)
                else:
                    res = hardmax(model.score, layer.attn.project_query(h), keys[: i + 1], values[: i + 1])
                    ps.append(_add_at(h, layer.attn.value_support, res.output))
            if layer.cross is not None and not layer.cross.is_trivial():
                ps = [_add_at(p, layer.cross.value_support,
                              hardmax(model.score, layer.cross.project_query(p), encoded.cross_keys[l],
                                      encoded.cross_values[l]).output) for p in ps]
            hs = [_add(p, layer.ffn(p)) if layer.ffn is not None else p for p in ps]
        ys.append(model.output(hs[-1]))
    return ys[1:]
