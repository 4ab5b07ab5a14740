"""Hook names, generated once from a model's structure, and the one recorder every runtime uses.

As TransformerLens's ``HookedRootModule.setup`` names every hook point after its place in the
module tree, a hook name here is the path of a component: ``{stack}.{layer}.{component}``, e.g.
``decoder.3.attn.pattern`` or ``loop.1.ffn.hidden``. The components of one layer are listed once
(:data:`DECODER_LAYER`, :data:`ENCODER_LAYER`, :data:`OUTPUT`), and :func:`decoder_hooks`,
:func:`encoder_hooks` and :func:`output_hooks` derive every name a given model emits from its
weights (a trivial self-attention has no ``attn.scores``, a layer without cross-attention no
``cross.*``, an FFN with k σ layers ``ffn.hidden.0 … k−1``). The exact, fast and float runtimes
record under these objects' names and never build a name themselves.

**One indexing convention** (docs/hooks.md, "Names and numbers"): a name's layer number is the one
the construction's paper uses — decoder layers ``decoder.1 … decoder.L`` (JMLR eqs. 7–9, Lemmas
7–10), the encoder layer ``encoder.0``, the blocks of one loop ``loop.0 … loop.B−1`` (looped
spec §3). Python code never turns that number into a tuple index by hand:
:func:`component` resolves a name (``component(model, "decoder.3")`` is ``model.decoder[2]``).
Steps count from 0 by the input they read: decoder position i reads y_i, loop step k reads the
card X_k.
"""

from __future__ import annotations

from dataclasses import dataclass, fields, replace
from typing import Collection, Iterator, Sequence

from turingformer.errors import TuringformerError, did_you_mean

#: The hook points of one decoder layer, in the order they fire (JMLR eqs. 7–9).
DECODER_LAYER = {
    "resid_pre": "decoder layer input at the current position",
    "attn.scores": "self-attention scores φ(<q_i, k_j>), j = 0..i",
    "attn.pattern": "self-attention weights, j = 0..i (average-hard)",
    "attn.winners": "the positions j that tie for the maximal score (weight 1/r each)",
    "attn.out": "self-attention output",
    "resid_mid": "p_i = attention output + residual",
    "cross.scores": "cross-attention scores over the encoder positions",
    "cross.pattern": "cross-attention weights over the encoder positions",
    "cross.winners": "the encoder positions that tie for the maximal score",
    "cross.out": "cross-attention output",
    "resid_cross": "a_i = cross-attention output + p_i",
    "ffn.hidden": "σ-activations of the FFN (ffn.hidden.k when it has several σ layers)",
    "ffn.out": "FFN output O(a_i)",
    "resid_post": "z_i = O(a_i) + a_i",
}
#: The hook points of one encoder layer (the Pérez encoder, and every block of a looped model).
ENCODER_LAYER = {
    "resid_pre": "layer input, one vector per position",
    "attn.scores": "per query position, the scores φ(<q_j, k_i>) over all key positions (a head h of several: attn.h)",
    "attn.pattern": "per query position, the attention weights (average-hard)",
    "attn.winners": "per query position, the tuple of maximising key positions",
    "resid_mid": "after the heads and the residual",
    "ffn.hidden": "σ-activations of the FFN (absent when there is none)",
    "out": "layer output (resid_post)",
}
#: The hook points of the output net F.
OUTPUT = {
    "hidden.{k}": "σ-activations of the output net F, layer k",
    "y": "the output y_{i+1} = F(z_i)",
}

#: Every hook pattern of the encoder–decoder, ``{l}`` the layer number (encoder from 0, decoder 1..L).
HOOKS = {**{f"encoder.{{l}}.{k}": v for k, v in ENCODER_LAYER.items() if k not in ("attn.scores", "attn.winners")},
         **{f"decoder.{{l}}.{k}": v for k, v in DECODER_LAYER.items()},
         **{f"output.{k}": v for k, v in OUTPUT.items()}}


class HookError(TuringformerError, LookupError):
    """A hook name the model does not have, or that a run did not capture."""


class PositionError(TuringformerError, IndexError):
    """A step (decoder position, loop step, input position) outside a run."""


class LayerNameError(TuringformerError, LookupError):
    """A layer or component name that the model does not have."""


def unknown_hook(name: str, known: Sequence[str], what: str = "no hook named", extra: str = "") -> HookError:
    """The error for a mistyped or missing hook name, with a did-you-mean among ``known``."""
    close = did_you_mean(name, known)
    listing = ", ".join(known[:12]) + (f", … ({len(known)} in all)" if len(known) > 12 else "")
    return HookError(f"{what} {name!r}{extra}",
                     hint=(close + " " if close else "") + f"the hooks are: {listing}" if known else
                     "this run captured no hooks: run again with names=None to capture every hook")


def check_step(i, count: int, what: str = "decoder position") -> int:
    """``i`` as a step of a run of ``count`` steps (negative counts from the end), or PositionError."""
    if not isinstance(i, (int,)) and not hasattr(i, "__index__"):
        raise PositionError(f"{what} {i!r} is not an integer")
    i = int(i)
    j = i + count if i < 0 else i
    if not 0 <= j < count:
        raise PositionError(f"{what} {i} is out of range: this run has {count:,} {what}s (0..{count - 1})"
                            if count else f"{what} {i} is out of range: this run has none",
                            hint="count from 0; negative numbers count from the end")
    return j


def mlp_hidden(prefix: str, depth: int) -> tuple[str, ...]:
    """The hidden hooks of a σ-net of ``depth`` affine maps: ``{prefix}.hidden`` for one σ layer,
    ``{prefix}.hidden.{k}`` for several."""
    if depth == 2:
        return (f"{prefix}.hidden",)
    return tuple(f"{prefix}.hidden.{k}" for k in range(depth - 1))


def head_names(prefix: str, count: int) -> tuple[str, ...]:
    """Hook prefixes of a layer's heads: ``{prefix}.attn`` for one head, ``{prefix}.attn.{h}`` for several."""
    return (f"{prefix}.attn",) if count == 1 else tuple(f"{prefix}.attn.{h}" for h in range(count))


class _Names:
    """Shared behaviour of the hook-name records: every field is a name (or a tuple of names, or
    a nested record), ``None`` where the model has no such hook or the run does not record it."""

    def names(self) -> Iterator[str]:
        """Every name of the record, in firing order."""
        for f in fields(self):
            value = getattr(self, f.name)
            if isinstance(value, str) and f.name != "name":
                yield value
            elif isinstance(value, _Names):
                yield from value.names()
            elif isinstance(value, tuple):
                for v in value:
                    if isinstance(v, _Names):
                        yield from v.names()
                    elif v is not None:
                        yield v

    def select(self, wanted: Collection[str] | None):
        """The same record with every name not in ``wanted`` replaced by None (``None`` = keep all)."""
        if wanted is None:
            return self
        changes = {}
        for f in fields(self):
            value = getattr(self, f.name)
            if f.name == "name":
                continue
            if isinstance(value, str):
                changes[f.name] = value if value in wanted else None
            elif isinstance(value, _Names):
                changes[f.name] = value.select(wanted)
            elif isinstance(value, tuple):
                changes[f.name] = tuple(v.select(wanted) if isinstance(v, _Names) else
                                        (v if v in wanted else None) for v in value)
        return replace(self, **changes)


@dataclass(frozen=True)
class AttentionHooks(_Names):
    """The hooks of one attention head (``scores`` is None for a trivial head: it never scores)."""

    scores: str | None
    pattern: str | None
    winners: str | None
    out: str | None = None

    @classmethod
    def of(cls, prefix: str, scored: bool, out: bool = True) -> "AttentionHooks":
        return cls(f"{prefix}.scores" if scored else None, f"{prefix}.pattern", f"{prefix}.winners",
                   f"{prefix}.out" if out else None)


@dataclass(frozen=True)
class DecoderHooks(_Names):
    """The hooks of one decoder layer (:data:`DECODER_LAYER`)."""

    name: str
    resid_pre: str | None
    attn: AttentionHooks
    resid_mid: str | None
    cross: AttentionHooks | None
    resid_cross: str | None
    ffn_hidden: tuple[str | None, ...]
    ffn_out: str | None
    resid_post: str | None


@dataclass(frozen=True)
class EncoderHooks(_Names):
    """The hooks of one encoder layer or looped block (:data:`ENCODER_LAYER`)."""

    name: str
    resid_pre: str | None
    heads: tuple[AttentionHooks, ...]
    resid_mid: str | None
    ffn_hidden: tuple[str | None, ...]
    out: str | None


@dataclass(frozen=True)
class OutputHooks(_Names):
    """The hooks of the output net F (:data:`OUTPUT`)."""

    name: str
    hidden: tuple[str | None, ...]
    y: str | None


def decoder_layer_hooks(name: str, layer) -> DecoderHooks:
    """The hooks a decoder layer emits (``layer``: a :class:`~turingformer.runtime.transformer.DecoderLayer`)."""
    cross = layer.cross is not None and not layer.cross.is_trivial()
    return DecoderHooks(
        name, f"{name}.resid_pre", AttentionHooks.of(f"{name}.attn", not layer.attn.is_trivial()),
        f"{name}.resid_mid", AttentionHooks.of(f"{name}.cross", True) if cross else None, f"{name}.resid_cross",
        mlp_hidden(f"{name}.ffn", len(layer.ffn.layers)) if layer.ffn is not None else (),
        f"{name}.ffn.out" if layer.ffn is not None else None, f"{name}.resid_post")


def encoder_layer_hooks(name: str, heads: Sequence, ffn) -> EncoderHooks:
    """The hooks of an encoder layer or looped block with these heads and this FFN (or None)."""
    return EncoderHooks(
        name, f"{name}.resid_pre",
        tuple(AttentionHooks.of(h, True, out=False) for h in head_names(name, len(heads))),
        f"{name}.resid_mid", mlp_hidden(f"{name}.ffn", len(ffn.layers)) if ffn is not None else (),
        f"{name}.out")


def decoder_hooks(model) -> tuple[DecoderHooks, ...]:
    """Every decoder layer's hooks, ``decoder.1 … decoder.L``."""
    return tuple(decoder_layer_hooks(f"decoder.{l}", layer) for l, layer in enumerate(model.decoder, start=1))


def encoder_hooks(model) -> tuple[EncoderHooks, ...]:
    """Every encoder layer's hooks, ``encoder.0 …``."""
    return tuple(encoder_layer_hooks(f"encoder.{l}", (layer.attn,), layer.ffn) for l, layer in enumerate(model.encoder))


def output_hooks(model) -> OutputHooks:
    return OutputHooks("output", mlp_hidden("output", len(model.output.layers)), "output.y")


def hook_points(model) -> tuple[str, ...]:
    """Every hook name an encoder–decoder emits, in firing order (the analogue of
    TransformerLens's ``model.hook_dict``). The encoder records no scores or winners."""
    names: list[str] = []
    for hooks in encoder_hooks(model):
        names += [n for n in hooks.names() if not n.endswith((".scores", ".winners"))]
    for hooks in decoder_hooks(model):
        names += list(hooks.names())
    names += list(output_hooks(model).names())
    return tuple(names)


def looped_hook_points(model) -> tuple[str, ...]:
    """Every hook name one loop of a looped model emits, in firing order (``loop.0 …``)."""
    names: list[str] = []
    for l, block in enumerate(model.blocks):
        names += list(encoder_layer_hooks(f"loop.{l}", block.heads, block.ffn).names())
    return tuple(names)


# ---------------------------------------------------------------------------------- components
def component(model, name: str):
    """The part of ``model`` a hook-style name denotes: ``decoder.3`` (= ``model.decoder[2]``),
    ``encoder.0``, ``loop.1`` (a looped block), ``output``, or a part of one: ``decoder.3.attn``,
    ``decoder.1.cross``, ``decoder.1.ffn``, ``loop.1.attn`` (a block's only head) or
    ``loop.1.attn.0``. Raises :class:`LayerNameError` (with a did-you-mean) for a name the model
    does not have."""
    stacks = {"encoder": (0, getattr(model, "encoder", ())), "decoder": (1, getattr(model, "decoder", ())),
              "loop": (0, getattr(model, "blocks", ()))}
    known = [f"{s}.{first + k}" for s, (first, layers) in stacks.items() for k in range(len(layers))]
    if hasattr(model, "output"):
        known.append("output")
    parts = name.split(".")
    if parts[0] == "output" and hasattr(model, "output"):
        part, rest = model.output, parts[1:]
    elif parts[0] in stacks and len(parts) > 1 and parts[1].isdigit() \
            and 0 <= int(parts[1]) - stacks[parts[0]][0] < len(stacks[parts[0]][1]):
        first, layers = stacks[parts[0]]
        part, rest = layers[int(parts[1]) - first], parts[2:]
    else:
        raise _no_component(name, known)
    for piece in rest:
        heads = getattr(part, "heads", None)
        if piece == "attn" and heads is not None:
            part = heads[0] if len(heads) == 1 else heads
        elif piece.isdigit() and isinstance(part, tuple) and int(piece) < len(part):
            part = part[int(piece)]
        elif piece in ("attn", "cross", "ffn") and getattr(part, piece, None) is not None:
            part = getattr(part, piece)
        else:
            raise _no_component(name, known)
    return part


def _no_component(name: str, known: Sequence[str]) -> LayerNameError:
    close = did_you_mean(name, known)
    return LayerNameError(f"the model has no component {name!r}",
                          hint=(close + " " if close else "") + "its layers are: " + ", ".join(known))


# ---------------------------------------------------------------------------------- recording
class Recorder:
    """Collects the activations of one forward step under hook names (or drops them).

    ``wanted`` is the set of names to keep, ``None`` for every name.
    """

    __slots__ = ("wanted", "values")

    def __init__(self, wanted: Collection[str] | None):
        self.wanted = wanted
        self.values: dict[str, object] = {}

    def __call__(self, name: str, value: object) -> None:
        if self.wanted is None or name in self.wanted:
            self.values[name] = value

    def wants(self, name: str | None) -> bool:
        return name is not None and (self.wanted is None or name in self.wanted)
