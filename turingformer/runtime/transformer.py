"""The generic exact transformer runtime: the model of Pérez, Barceló and Marinkovic (JMLR 2021, §3).

It knows attention, feed-forward nets, residuals and hardmax; it knows nothing about Turing
machines and runs any weights it is given (:mod:`turingformer.compiler.perez.construction` only produces them).

* **Attention** (one head): ``Att(q, K, V) = Σ_j s_j v_j`` with ``s = hardmax(φ(⟨q, k_j⟩))``,
  the score ``φ(x) = −|x|`` (``score="abs"``) or ``−min(|x|, 1)`` (``score="clipped"``).
  Hardmax is *average-hard*: the r tied maximisers each get weight 1/r. Over an empty key set
  (an empty input) attention returns the zero vector.
* **Encoder layer** (JMLR eqs. 4–5) and **decoder layer** (JMLR eqs. 7–9): written once, in
  :mod:`turingformer.runtime.layer`; this module supplies their exact Fraction arithmetic. Each
  decoder layer has its own cross-attention maps applied to the encoder output Xᴸ (absent = the
  zero map).
* **Output**: ``y_{i+1} = F(zᴸ_i)`` with F a σ-net; decoder input i is ``y_i + pos(i+1)``,
  encoder input j is ``f(w_j) + pos(j)``. The positional encoding is **data of the model**
  (:class:`PositionalEncoding`: named dimensions holding powers k^e), chosen by the construction.
* **σ-nets** (:class:`MLP`): affine maps with the piecewise-linear sigmoid σ between them.

Every vector lives in a named :class:`~turingformer.runtime.space.Space`. Decoding is autoregressive
with a key/value cache: step i computes only position i and attends over the cached keys and
values of positions 0..i. :func:`decode_naive` recomputes the whole prefix at every step and is
kept only as a test oracle.

Activations are reported under hook names generated from the model's structure
(:mod:`turingformer.runtime.hooks`; the patterns are :data:`HOOKS`).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from fractions import Fraction
from typing import Callable, Collection, Iterator, Mapping, Sequence

from turingformer.errors import OptionError, WeightsError
from turingformer.runtime import layer as shared
from turingformer.runtime.hooks import (  # noqa: F401  (HOOKS, Recorder, head_names: re-exported)
    HOOKS, Recorder, component, decoder_hooks, encoder_hooks, encoder_layer_hooks, head_names, output_hooks,
)
from turingformer.runtime.layer import ALL, Attended, Parts
from turingformer.runtime.space import Linear, Space, Vector, sigma

SCORES = ("abs", "clipped")


def check_score(score: str) -> None:
    """Refuse an unknown attention score name (one of :data:`SCORES`)."""
    if score not in SCORES:
        raise OptionError(f"score must be one of {SCORES}, not {score!r}", hint=f"choose one of {', '.join(SCORES)}")


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

    def __call__(self, x: Vector, hidden: Sequence[str | None] = (), acts: dict | None = None) -> Vector:
        """The output; σ layer k is recorded in ``acts`` under ``hidden[k]`` when that name is set."""
        last = len(self.layers) - 1
        for k, layer in enumerate(self.layers):
            x = layer(x)
            if k < last:
                x = tuple(sigma(v) for v in x)
                if hidden and hidden[k]:
                    acts[hidden[k]] = x
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
    """``pos(k)``: the named dimension ``name`` holds k**e for each ``(name, e)`` of ``powers``
    (e an integer; a negative e is 1/k^|e|), every other dimension 0.

    The construction chooses it (the Pérez one, JMLR Theorem 6, is 1, k, 1/k, 1/k²:
    :func:`turingformer.compiler.perez.layout.positional_encoding`); the runtime only evaluates it.
    """

    powers: tuple[tuple[str, int], ...]

    def __post_init__(self) -> None:
        names = [name for name, _ in self.powers]
        if len(set(names)) != len(names):
            raise WeightsError(f"a positional dimension is named twice: {names}", hint="name each positional dimension once")
        for name, e in self.powers:
            if not isinstance(e, int) or isinstance(e, bool):
                raise WeightsError(f"the exponent of {name!r} must be an integer, not {e!r}",
                                   hint="pos(k) holds integer powers of k (1, k, 1/k, 1/k² for Pérez)")

    def entries(self, k: int) -> dict[str, Fraction]:
        """``{name: k**e}``, exactly (k ≥ 1)."""
        return {name: Fraction(k) ** e for name, e in self.powers}

    def __call__(self, space: Space, k: int) -> Vector:
        return space.vector(self.entries(k))


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

    def layer(self, name: str):
        """The component a hook-style name denotes: ``layer("decoder.3")`` is ``decoder[2]`` (decoder
        layers are numbered from 1, as in the paper), ``layer("encoder.0")``, ``layer("output")``,
        ``layer("decoder.1.cross")``, ``layer("decoder.3.attn")``."""
        return component(self, name)

    def embedding_of(self, token: str) -> Mapping[str, Fraction]:
        """f(token), or :class:`WeightsError` for a token outside the vocabulary."""
        if token not in self.embedding:
            raise WeightsError(f"token {token!r} has no embedding", hint=f"the vocabulary is {sorted(self.embedding)}")
        return self.embedding[token]

    def embed(self, tokens: Sequence[str]) -> list[Vector]:
        """Encoder inputs f(w_j) + pos(j), j = 1..n."""
        out = []
        for j, token in enumerate(tokens, start=1):
            pos = list(self.positional(self.space, j))
            for name, value in self.embedding_of(token).items():
                pos[self.space.index(name)] += value
            out.append(tuple(pos))
        return out

    def linears(self) -> Iterator[tuple[str, Linear]]:
        """Every affine map with its hook-style name (for inspection and counting)."""
        for hooks, layer in zip(encoder_hooks(self), self.encoder):
            yield from _attention_maps(f"{hooks.name}.attn", layer.attn)
            yield from _mlp_maps(f"{hooks.name}.ffn", layer.ffn)
        for hooks, layer in zip(decoder_hooks(self), self.decoder):
            yield from _attention_maps(f"{hooks.name}.attn", layer.attn)
            yield from _attention_maps(f"{hooks.name}.cross", layer.cross)
            yield from _mlp_maps(f"{hooks.name}.ffn", layer.ffn)
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


def pattern_of(n: int, winners) -> tuple:
    """The attention weights as a vector over n positions (``winners`` a sequence or ``ALL``)."""
    if winners is ALL:
        winners = range(n)
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


# ---------------------------------------------------------------------------------- the arithmetic
class FractionOps:
    """The Fraction arithmetic of :mod:`turingformer.runtime.layer`: vectors are full tuples."""

    def __init__(self, d: int):
        self.zero = (Fraction(0),) * d

    @staticmethod
    def add(x: Vector, delta: Vector | None) -> Vector:
        return x if delta is None else _add(x, delta)

    @staticmethod
    def view(x: Vector) -> Vector:
        return x

    def view_delta(self, delta: Vector | None) -> Vector:
        return self.zero if delta is None else delta

    @staticmethod
    def winners(att: Attended) -> tuple[int, ...]:
        return att.winner_list()

    @staticmethod
    def pattern(att: Attended) -> tuple:
        return pattern_of(att.n, att.winners)

    @staticmethod
    def stack(rows: list) -> tuple:
        return tuple(rows)

    view_all = stack


def _scatter(zero: Vector, support: Sequence[int], values: tuple) -> Vector | None:
    """The full vector with ``values`` at ``support`` (None for an empty result: exactly zero)."""
    return _add_at(zero, support, values) if values else None


class _Head:
    """One attention head over a fixed set of positions (the encoder's, or the encoder output
    for a cross-attention)."""

    def __init__(self, attn: Attention, score: str, zero: Vector, keys=None, values=None):
        self.attn, self.score, self.zero = attn, score, zero
        self.keys, self.values = keys, values

    def _decide(self, query, keys, values) -> Attended:
        result = hardmax(self.score, query, keys, values)
        return Attended(_scatter(self.zero, self.attn.value_support, result.output), result.winners, len(keys),
                        lambda: tuple(scores_of(self.score, query, keys)))

    def attend(self, x: Vector) -> Attended:
        """Cross-attention: the query of ``x`` over the fixed keys."""
        return self._decide(self.attn.project_query(x), self.keys, self.values)

    def attend_all(self, xs: Sequence[Vector]) -> list[Attended]:
        """Encoder self-attention: every position a query over every position."""
        if self.attn.is_trivial():
            return [Attended(None, ALL, len(xs)) for _ in xs]
        keys = [self.attn.project_key(x) for x in xs]
        values = [self.attn.project_value(x) for x in xs]
        return [self._decide(self.attn.project_query(x), keys, values) for x in xs]


class _CausalHead(_Head):
    """A decoder self-attention and its key/value cache of positions 0..i (the current one included)."""

    def __init__(self, attn: Attention, score: str, zero: Vector):
        super().__init__(attn, score, zero, [], [])

    def attend(self, h: Vector) -> Attended:
        self.keys.append(self.attn.project_key(h))
        self.values.append(self.attn.project_value(h))
        return self._decide(self.attn.project_query(h), self.keys, self.values)


# ---------------------------------------------------------------------------------- encoder
@dataclass(frozen=True)
class Encoded:
    """The encoder output Xᴸ and, per decoder layer, its cross-attention keys and values."""

    states: tuple[Vector, ...]
    cross_keys: tuple[tuple[tuple, ...], ...]
    cross_values: tuple[tuple[tuple, ...], ...]
    activations: Mapping[str, object]


def encoder_layer(
    score: str, heads: Sequence[Attention], ffn: MLP | None, xs: Sequence[Vector],
    record: Recorder, prefix: str, *, decisions: bool = False,
) -> tuple[list[Vector], tuple[tuple[tuple[int, ...], ...], ...]]:
    """One encoder layer over all positions on Fractions (:func:`turingformer.runtime.layer.encoder_layer`).

    Returns the outputs and, per head, every position's winners. Records the hooks of
    :func:`~turingformer.runtime.hooks.encoder_layer_hooks` under ``prefix``; the scores and
    winners only with ``decisions``.
    """
    hooks = encoder_layer_hooks(prefix, heads, ffn)
    if not decisions:
        hooks = hooks.select([n for n in hooks.names() if not n.endswith((".scores", ".winners"))])
    zero = (Fraction(0),) * (len(xs[0]) if xs else 0)
    return shared.encoder_layer(FractionOps(len(zero)), [_Head(h, score, zero) for h in heads], ffn, xs,
                                hooks.select(record.wanted), record.values)


def encode(model: Transformer, tokens: Sequence[str], capture: Collection[str] | None = ()) -> Encoded:
    """Run the encoder on ``tokens`` (the input word, one symbol per position)."""
    record = Recorder(capture)
    xs = model.embed(tokens)
    for hooks, layer in zip(encoder_hooks(model), model.encoder):
        xs, _ = encoder_layer(model.score, (layer.attn,), layer.ffn, xs, record, hooks.name)
    cross_keys, cross_values = [], []
    for layer in model.decoder:
        if layer.cross is None or layer.cross.is_trivial():
            cross_keys.append(()), cross_values.append(())
        else:
            cross_keys.append(tuple(layer.cross.project_key(x) for x in xs))
            cross_values.append(tuple(layer.cross.project_value(x) for x in xs))
    return Encoded(tuple(xs), tuple(cross_keys), tuple(cross_values), record.values)


# ---------------------------------------------------------------------------------- decoder
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
    ops = FractionOps(model.d)
    layers = [Parts(None if layer.attn.is_trivial() else _CausalHead(layer.attn, model.score, ops.zero),
                     None if layer.cross is None or layer.cross.is_trivial() else
                     _Head(layer.cross, model.score, ops.zero, encoded.cross_keys[l], encoded.cross_values[l]),
                     layer.ffn)
              for l, layer in enumerate(model.decoder)]
    wanted = None if capture is None else frozenset(capture)
    hooks = [h.select(wanted) for h in decoder_hooks(model)]
    out_hooks = output_hooks(model).select(wanted)

    def step(i: int, y: Vector) -> tuple[Vector, dict]:
        acts: dict = {}
        h = _add(y, model.positional(model.space, i + 1))
        return shared.decoder_forward(ops, layers, model.output, h, i + 1, hooks, out_hooks, acts), acts

    return autoregress(step, model.seed, max_steps=max_steps, stop=stop, encoder_activations=encoded.activations)


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
