"""The encoder and decoder layers, written once: the order of the sub-layers and what each hook
records. The exact (Fraction), fast exact (fmpq, certified) and float runtimes supply the
arithmetic; this module supplies the structure.

* **Decoder layer** (JMLR eqs. 7–9): ``p = Att(Q h, K Y, V Y) + h`` over the causal prefix
  including the current position, ``a = Att(Q_c p, K_c Xᴸ, V_c Xᴸ) + p``, ``z = O(a) + a``.
* **Encoder layer** (JMLR eqs. 4–5; looped spec §3.1, one or several heads whose outputs add):
  ``a_j = x_j + Σ_h Att_h(Q_h x_j, K_h X, V_h X)``, ``z_j = a_j + O(a_j)``.

A runtime passes an *arithmetic* ``ops`` with ``add(x, delta)`` (delta ``None`` is exactly
zero), ``view(x)`` (a vector as a hook holds it), ``view_delta(delta)``, ``winners(att)`` and
``pattern(att)``; and per layer objects whose ``attend(x)`` returns an :class:`Attended` and whose
σ-nets are called as ``net(x, hidden_names, acts)``. Hook names come from
:mod:`turingformer.runtime.hooks` records, with the names a run does not record set to None, so a
hook costs nothing unless it is captured.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable, Sequence


class _All:
    """The winner set "every key" (a uniform average), kept symbolic: it costs O(1), not O(i)."""

    __slots__ = ()

    def __repr__(self) -> str:
        return "ALL"


ALL = _All()


class Attended:
    """One attention decision: the output ``delta`` (None when exactly zero), the ``winners``
    (``ALL`` or the sorted tied maximisers), the number ``n`` of keys, and on demand the
    ``scores`` (a callable building them, None for a head that never scores) and, for soft
    attention, the ``weights``."""

    __slots__ = ("delta", "winners", "n", "scores", "weights")

    def __init__(self, delta, winners, n: int, scores: Callable[[], object] | None = None, weights=None):
        self.delta, self.winners, self.n, self.scores, self.weights = delta, winners, n, scores, weights

    def winner_list(self) -> tuple[int, ...]:
        return tuple(range(self.n)) if self.winners is ALL else tuple(self.winners)


@dataclass(frozen=True)
class Parts:
    """One decoder layer as a runtime runs it: the self-attention (None when trivial), the
    cross-attention (None when absent) and the σ-net (None when absent), each in that runtime's
    arithmetic."""

    attn: object | None
    cross: object | None
    ffn: object | None


def record_attention(ops, hooks, att: Attended, acts: dict) -> None:
    """Record one attention decision under ``hooks`` (an :class:`~turingformer.runtime.hooks.AttentionHooks`)."""
    if hooks.scores and att.scores is not None:
        acts[hooks.scores] = att.scores()
    if hooks.winners:
        acts[hooks.winners] = ops.winners(att)
    if hooks.pattern:
        acts[hooks.pattern] = ops.pattern(att)
    if hooks.out:
        acts[hooks.out] = ops.view_delta(att.delta)


def decoder_layer(ops, layer, h, n: int, hooks, acts: dict):
    """One decoder layer at one position (JMLR eqs. 7–9); ``n`` = the number of positions so far,
    the current one included. ``layer.attn`` is None for a trivial self-attention (its value map
    is zero: every position ties and the output is 0), ``layer.cross`` None without a
    cross-attention, ``layer.ffn`` None without an FFN. Returns z."""
    if hooks.resid_pre:
        acts[hooks.resid_pre] = ops.view(h)
    if layer.attn is None:
        p, att = h, Attended(None, ALL, n)
    else:
        att = layer.attn.attend(h)
        p = ops.add(h, att.delta)
    record_attention(ops, hooks.attn, att, acts)
    if hooks.resid_mid:
        acts[hooks.resid_mid] = ops.view(p)
    a = p
    if layer.cross is not None:
        att = layer.cross.attend(p)
        a = ops.add(p, att.delta)
        record_attention(ops, hooks.cross, att, acts)
    if hooks.resid_cross:
        acts[hooks.resid_cross] = ops.view(a)
    z = a
    if layer.ffn is not None:
        o = layer.ffn(a, hooks.ffn_hidden, acts)
        if hooks.ffn_out:
            acts[hooks.ffn_out] = ops.view(o)
        z = ops.add(a, o)
    if hooks.resid_post:
        acts[hooks.resid_post] = ops.view(z)
    return z


def decoder_forward(ops, layers: Sequence, output, h, n: int, hooks: Sequence, output_hooks, acts: dict):
    """Every decoder layer, then the output net: ``h`` = y_i + pos(i+1) in, y_{i+1} out."""
    for layer, names in zip(layers, hooks):
        h = decoder_layer(ops, layer, h, n, names, acts)
    y = output(h, output_hooks.hidden, acts)
    if output_hooks.y:
        acts[output_hooks.y] = ops.view(y)
    return y


def encoder_layer(ops, heads: Sequence, ffn, xs: Sequence, hooks, acts: dict) -> tuple[list, tuple]:
    """One encoder layer over every position, each one a query (JMLR eqs. 4–5; looped spec §3.1).

    ``heads`` are objects whose ``attend_all(xs)`` gives one :class:`Attended` per position (the
    heads read the same X and their outputs add); ``ffn`` is a σ-net or None. Returns the outputs
    and, per head, every position's winners (tuples of key positions).
    """
    if hooks.resid_pre:
        acts[hooks.resid_pre] = ops.view_all(xs)
    mids = list(xs)
    all_winners = []
    for head, names in zip(heads, hooks.heads):
        atts = head.attend_all(xs)
        mids = [ops.add(m, att.delta) for m, att in zip(mids, atts)]
        if names.scores and atts and atts[0].scores is not None:
            acts[names.scores] = tuple(att.scores() for att in atts)
        if names.pattern:
            acts[names.pattern] = ops.stack([ops.pattern(att) for att in atts])
        if names.winners:
            acts[names.winners] = tuple(att.winner_list() for att in atts)
        all_winners.append(tuple(att.winner_list() for att in atts))
    if hooks.resid_mid:
        acts[hooks.resid_mid] = ops.view_all(mids)
    if ffn is None:
        outs = mids
    else:
        outs, hidden = [], [[] for _ in hooks.ffn_hidden]
        wanted = [name for name in hooks.ffn_hidden]
        for mid in mids:
            sub: dict = {}
            outs.append(ops.add(mid, ffn(mid, wanted, sub)))
            for k, name in enumerate(wanted):
                if name:
                    hidden[k].append(sub[name])
        for k, name in enumerate(wanted):
            if name:
                acts[name] = ops.stack(hidden[k])
    if hooks.out:
        acts[hooks.out] = ops.view_all(outs)
    return outs, tuple(all_winners)
