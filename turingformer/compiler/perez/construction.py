"""Stage 3b: compile a Turing machine into the exact weights of the Pérez–Barceló–Marinkovic
transformer: one encoder layer, three hard-attention decoder layers, an output σ-net F
(spec §3–§6; ICLR 2019 App. B, JMLR 2021 Theorem 6 and Lemmas 7–10).

The residual vector has d = 2|Q'| + 4|Σ'| + 11 named dimensions in 17 blocks (spec §3)::

    q1 s1 x1 | q2 s2 x2 x3 x4 x5 | s3 x6 s4 x7 | x8 x9 x10 x11

What each block holds at decoder position i (y_i enters as the input there):

==========  ===================================  ==================================
block       meaning                              written by
==========  ===================================  ==================================
q1, s1, x1  ⟦q⁽ⁱ⁾⟧, ⟦s⁽ⁱ⁾⟧, m⁽ⁱ⁻¹⁾               the input y_i (cleared by layer 1)
q2, s2      ⟦q⁽ⁱ⁺¹⁾⟧, ⟦v⁽ⁱ⁾⟧                      layer 1 FFN (δ, Lemma 8 / B.2)
x2, x3      m⁽ⁱ⁾, m⁽ⁱ⁻¹⁾                          layer 1 FFN
x4, x5      c⁽ⁱ⁺¹⁾/(i+1), c⁽ⁱ⁾/(i+1)              layer 2 attention (Lemma 9 / B.3)
s3, x6      α⁽ⁱ⁺¹⁾, β⁽ⁱ⁺¹⁾ = min(i+1, n)          layer 1 cross-attention (Lemma 7 / B.1)
s4, x7      ⟦v⁽ℓ⁽ⁱ⁺¹⁾⁾⟧, ℓ(i+1)                   layer 3 attention (Lemma 10 / B.4)
x8..x11     1, i+1, 1/(i+1), 1/(i+1)²            positional encoding pos(i+1)
==========  ===================================  ==================================

The output F maps z³_i to y_{i+1} = [⟦q⁽ⁱ⁺¹⁾⟧, ⟦s⁽ⁱ⁺¹⁾⟧, m⁽ⁱ⁾, 0…] (spec §6).

Cross-attention in decoder layers 2–3 (spec §8 A) is an option: ``cross_attention="per-layer"``
(recommended; each layer has its own encoder-side value map, zero in layers 2–3) or
``"shared"`` (the strict formalism: every layer re-reads α, β, so after layer 3 s3 = 3α and
x6 = 3β and F divides by 3). Both are exact.

Layer 3 and the two-way tape (spec §2b.3; the paper only claims a one-sided tape). Write
ε_k = 1/(k+1) and D_j = c⁽ⁱ⁺¹⁾ − c⁽ʲ⁾; the layer-3 dot product is
χ_j = ε_iε_j D_j + ε_i²ε_j²/3 and the score −|χ_j|.
(a) D_j = 0: |χ_j| = ε_i²ε_j²/3 decreases in j, so the latest write to the cell wins.
(b) D_j ≠ 0: |χ_j| ≥ ε_iε_j − ε_i²ε_j²/3 ≥ (2/3)ε_iε_j > ε_i²/3 ≥ every matching |χ|.
(c) a fresh cell right of every visited cell: D_j ≥ 1, D_i = 1, χ_i = ε_i² + ε_i⁴/3 and for
    j < i, χ_j ≥ ε_iε_j > χ_i, so j = i = ℓ(i+1) wins.
(c') a fresh cell *left* of every visited cell: D_j ≤ −1, D_i = −1, and for j < i
    |χ_j| − |χ_i| ≥ (ε_iε_j − ε_i²ε_j²/3) − (ε_i² − ε_i⁴/3)
                 = ε_i(ε_j − ε_i)·[1 − ε_i(ε_i + ε_j)/3] > 0
    since ε_j > ε_i and the bracket is at least 1/3: again j = i = ℓ(i+1) wins.
Visited cells always form an interval, so (a)–(c') are all the cases: layer 3 never ties
(asserted by :mod:`turingformer.analysis.verify` and the property tests).
"""

from __future__ import annotations

from fractions import Fraction

from turingformer.compiler.perez.layout import (
    SCALARS, Labels, label, positional_encoding, residual_space, state_dim, symbol_dim,
)
from turingformer.compiler.perez.model import CROSS_ATTENTION, PerezModel
from turingformer.errors import ConstructionError
from turingformer.tm.machine import TuringMachine
from turingformer.compiler.perez.normalize import NormalizedMachine, normalize
from turingformer.runtime.space import Linear, Space
from turingformer.runtime.transformer import (
    MLP, SCORES, Attention, DecoderLayer, EncoderLayer, Transformer,
)

THIRD = Fraction(1, 3)
HALF = Fraction(1, 2)


def compile_machine(
    machine: TuringMachine, *, cross_attention: str = "per-layer", score: str = "abs",
) -> PerezModel:
    """Normalise ``machine`` (spec §2b) and build every weight of its transformer exactly."""
    if cross_attention not in CROSS_ATTENTION:
        raise ConstructionError(f"cross_attention {cross_attention!r} is not one of {', '.join(CROSS_ATTENTION)}",
                                hint="per-layer (the default) or shared")
    if score not in SCORES:
        raise ConstructionError(f"score {score!r} is not one of {', '.join(SCORES)}", hint="abs (the default) or clipped")
    return build_transformer(normalize(machine), cross_attention=cross_attention, score=score)


def build_transformer(nm: NormalizedMachine, *, cross_attention: str, score: str) -> PerezModel:
    labels = nm.labels
    states, symbols = labels.states, labels.symbols
    space = residual_space(states, symbols)
    positional = positional_encoding()      # pos(k) = (1, k, 1/k, 1/k²) in x8..x11 (Theorem 6)
    shared = cross_attention == "shared"

    # Encoder (Lemma 7 / B.1): trivial self-attention (V = 0), no FFN; the final maps give
    # k^e_j = (x8 = j, x9 = -1) and v^e_j = (s3 = ⟦w_j⟧, x6 = j), so <p_i, k^e_j> = j - (i+1).
    encoder = (EncoderLayer(_trivial_attention(space)),)
    cross_key = Linear.build(space, space, {(SCALARS[9], SCALARS[8]): 1, (SCALARS[8], SCALARS[9]): -1})
    cross_value = Linear.build(space, space, {**{(symbol_dim("s3", a), symbol_dim("s3", a)): 1 for a in symbols},
                                              (SCALARS[9], SCALARS[6]): 1})
    read_input = Attention(Linear.identity(space), cross_key, cross_value)
    later_cross = read_input if shared else None

    layer1 = DecoderLayer(_trivial_attention(space), read_input, _delta_ffn(space, nm))
    # Layer 2 (Lemma 9 / B.3): Q = 0, so all positions tie and hardmax averages; V: x4 <- x2, x5 <- x3.
    layer2 = DecoderLayer(
        Attention(Linear.zero(space, space), Linear.zero(space, space),
                  Linear.build(space, space, {(SCALARS[2], SCALARS[4]): 1, (SCALARS[3], SCALARS[5]): 1})),
        later_cross,
    )
    # Layer 3 (Lemma 10 / B.4): q = (c(i+1)/(i+1), 1/(i+1), 1/(3(i+1)^2)) in (x9, x10, x11),
    # k_j = (1/(j+1), -c(j)/(j+1), 1/(j+1)^2), v_j = (⟦v(j)⟧ in s4, j in x7).
    layer3 = DecoderLayer(
        Attention(
            Linear.build(space, space, {(SCALARS[4], SCALARS[9]): 1, (SCALARS[10], SCALARS[10]): 1,
                                        (SCALARS[11], SCALARS[11]): THIRD}),
            Linear.build(space, space, {(SCALARS[10], SCALARS[9]): 1, (SCALARS[5], SCALARS[10]): -1,
                                        (SCALARS[11], SCALARS[11]): 1}),
            Linear.build(space, space, {**{(symbol_dim("s2", a), symbol_dim("s4", a)): 1 for a in symbols},
                                        (SCALARS[9], SCALARS[7]): 1, (SCALARS[8], SCALARS[7]): -1}),
        ),
        later_cross,
    )
    seed = space.vector({state_dim("q1", labels.prelude[0]): 1, symbol_dim("s1", labels.blank): 1})
    transformer = Transformer(
        space=space,
        embedding={a: {symbol_dim("s3", a): Fraction(1)} for a in symbols},
        positional=positional,
        encoder=encoder,
        decoder=(layer1, layer2, layer3),
        output=_output_net(space, labels, reads=3 if shared else 1),
        seed=seed,
        score=score,
    )
    return PerezModel(transformer, labels, cross_attention)


def _trivial_attention(space: Space) -> Attention:
    """Self-attention with V = 0: it always returns 0 (spec §8 F)."""
    zero = Linear.zero(space, space)
    return Attention(zero, zero, zero)


def _delta_ffn(space: Space, nm: NormalizedMachine) -> MLP:
    """O_1 (Lemma 8 / B.2): one σ layer over the pair one-hot ⟦(q, s)⟧ and copies, then linear.

    Hidden units, in the paper's order π(q, s) = (π₁(s) − 1)|Q| + π₂(q):
    ``pair:(q,s)`` = σ(q1[q] + s1[s] − 1), one for every pair (so f_1 = ⟦(q, s)⟧);
    ``copy:q1:…``/``copy:s1:…`` = σ of the input one-hots; ``copy:m~`` = σ((m+1)/2).
    The output map is M_δ·A on the pair units (⟦(q,s)⟧ ↦ [⟦p⟧ in q2, ⟦v⟧ in s2, m in x2]; zero
    rows for pairs without a rule), minus the copies on q1/s1/x1 (clearing the input), and
    2m̃ − 1 into x3. Afterwards: q1 = s1 = x1 = 0, q2 = ⟦q⁽ⁱ⁺¹⁾⟧, s2 = ⟦v⁽ⁱ⁾⟧, x2 = m⁽ⁱ⁾,
    x3 = m⁽ⁱ⁻¹⁾.
    """
    labels = nm.labels
    states, symbols = labels.states, labels.symbols
    pairs = [(q, a) for a in symbols for q in states]
    hidden = Space(tuple([f"pair:({q},{label(a)})" for q, a in pairs]
                         + [f"copy:{state_dim('q1', q)}" for q in states]
                         + [f"copy:{symbol_dim('s1', a)}" for a in symbols] + ["copy:m~"]))
    w1: dict[tuple[str, str], Fraction] = {}
    b1: dict[str, Fraction] = {}
    for q, a in pairs:
        unit = f"pair:({q},{label(a)})"
        w1[state_dim("q1", q), unit] = Fraction(1)
        w1[symbol_dim("s1", a), unit] = Fraction(1)
        b1[unit] = Fraction(-1)
    for q in states:
        w1[state_dim("q1", q), f"copy:{state_dim('q1', q)}"] = Fraction(1)
    for a in symbols:
        w1[symbol_dim("s1", a), f"copy:{symbol_dim('s1', a)}"] = Fraction(1)
    w1[SCALARS[1], "copy:m~"] = HALF
    b1["copy:m~"] = HALF

    w2: dict[tuple[str, str], Fraction] = {}
    for q, a in pairs:
        rule = nm.machine.rule(q, a)
        if rule is None:
            continue  # a zero row of M_δ: no rule, so q2 = s2 = x2 = 0 (halting)
        unit = f"pair:({q},{label(a)})"
        w2[unit, state_dim("q2", rule.next_state)] = Fraction(1)
        w2[unit, symbol_dim("s2", rule.write)] = Fraction(1)
        w2[unit, SCALARS[2]] = Fraction(rule.move.delta)
    for q in states:
        w2[f"copy:{state_dim('q1', q)}", state_dim("q1", q)] = Fraction(-1)
    for a in symbols:
        w2[f"copy:{symbol_dim('s1', a)}", symbol_dim("s1", a)] = Fraction(-1)
    w2["copy:m~", SCALARS[1]] = Fraction(-2)
    w2["copy:m~", SCALARS[3]] = Fraction(2)
    return MLP((
        Linear.build(space, hidden, w1, b1),
        Linear.build(hidden, space, w2, {SCALARS[1]: 1, SCALARS[3]: -1}),
    ))


def _output_net(space: Space, labels: Labels, *, reads: int) -> MLP:
    """F (spec §6): two σ layers and a linear read-out.

    Layer 1: b1 = σ(x9 − x6/r) (= 1 iff i+1 > n), b2 = σ(x7 − x9 + 2) (= 1 iff ℓ(i+1) = i,
    a first visit), and σ-copies of q2, s3/r, s4, x2, −x2 (r = 3 under shared cross-attention).
    Layer 2, per symbol a: u1 = σ(α_a − b1) (rule 1, still reading the input),
    u2 = σ([a = #] − 2 + b1 + b2) (rule 2, a fresh cell holds the blank),
    u3 = σ(v_a − 1 + b1 − b2) (rule 3, the last write to the cell); q and m pass through σ.
    Read-out: y = [q in q1, u1 + u2 + u3 in s1, m⁺ − m⁻ in x1].
    """
    states, symbols = labels.states, labels.symbols
    r = Fraction(1, reads)
    h1 = Space(tuple(["b1", "b2"] + [f"q:{q}" for q in states] + [f"alpha:{label(a)}" for a in symbols]
                     + [f"last:{label(a)}" for a in symbols] + ["m+", "m-"]))
    w1 = {(SCALARS[9], "b1"): 1, (SCALARS[6], "b1"): -r, (SCALARS[7], "b2"): 1, (SCALARS[9], "b2"): -1,
          (SCALARS[2], "m+"): 1, (SCALARS[2], "m-"): -1}
    for q in states:
        w1[state_dim("q2", q), f"q:{q}"] = 1
    for a in symbols:
        w1[symbol_dim("s3", a), f"alpha:{label(a)}"] = r
        w1[symbol_dim("s4", a), f"last:{label(a)}"] = 1
    layer1 = Linear.build(space, h1, w1, {"b2": 2})

    h2 = Space(tuple([f"q:{q}" for q in states] + [f"{u}:{label(a)}" for u in ("u1", "u2", "u3") for a in symbols]
                     + ["m+", "m-"]))
    w2: dict[tuple[str, str], object] = {("m+", "m+"): 1, ("m-", "m-"): 1}
    b2: dict[str, object] = {}
    for q in states:
        w2[f"q:{q}", f"q:{q}"] = 1
    for a in symbols:
        la = label(a)
        w2[f"alpha:{la}", f"u1:{la}"] = 1
        w2["b1", f"u1:{la}"] = -1
        w2["b1", f"u2:{la}"] = 1
        w2["b2", f"u2:{la}"] = 1
        b2[f"u2:{la}"] = (1 if a == labels.blank else 0) - 2
        w2[f"last:{la}", f"u3:{la}"] = 1
        w2["b1", f"u3:{la}"] = 1
        w2["b2", f"u3:{la}"] = -1
        b2[f"u3:{la}"] = -1
    layer2 = Linear.build(h1, h2, w2, b2)

    w3: dict[tuple[str, str], object] = {("m+", SCALARS[1]): 1, ("m-", SCALARS[1]): -1}
    for q in states:
        w3[f"q:{q}", state_dim("q1", q)] = 1
    for a in symbols:
        for u in ("u1", "u2", "u3"):
            w3[f"{u}:{label(a)}", symbol_dim("s1", a)] = 1
    layer3 = Linear.build(h2, space, w3)
    return MLP((layer1, layer2, layer3))
