"""The Pérez model: the transformer, the labels that read its outputs, and its model-file body.

:class:`PerezModel` is a :class:`~turingformer.compiler.protocol.Model` (kind ``perez``): ``run``
decodes an input word autoregressively from the weights alone (:mod:`.decoding`), ``summary``
gives the sizes of spec §2b.7, and ``to_json`` / ``from_json`` write and validate the body of
its model file (docs/model-format.md)::

    "score": "abs", "cross_attention": "per-layer",
    "spaces": {"residual": [names...], "decoder.1.ffn.hidden": [names...], ...},
    "positional": {"one": name, "k": name, "inverse": name, "inverse_square": name},
    "embedding": {token: {name: "p/q"}}, "seed": {name: "p/q"},
    "encoder": [{"attn": ATTN, "ffn": [LINEAR, ...] | null}],
    "decoder": [{"attn": ATTN, "cross": ATTN | null, "ffn": [LINEAR, ...] | null}],
    "output": [LINEAR, ...], "labels": {...}

Reading checks, besides every type and name, that the residual dimensions are the layout of
the labels' states and symbols (spec §3) and that the layers have the construction's shape.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable, ClassVar, Iterator

from turingformer.compiler.perez.layout import (
    POSITIONAL_ROLES, Labels, positional_encoding, positional_roles, residual_space, state_dim,
)
from turingformer.compiler.protocol import ENVELOPE_KEYS, Halting, Model, Progress, Run, Summary
from turingformer.runtime.serialize import JsonReader, WeightReader, WeightWriter, number, sparse_vector
from turingformer.runtime.transformer import SCORES, DecoderLayer, EncoderLayer, Step, Transformer

CROSS_ATTENTION = ("per-layer", "shared")

_KEYS = ("score", "cross_attention", "spaces", "positional", "embedding", "seed", "encoder", "decoder",
         "output", "labels")
_LABEL_KEYS = ("machine_name", "states", "symbols", "blank", "marked_blank", "start", "prelude", "stay", "accept",
               "reject", "halt", "input_alphabet")
_POSITIONAL = tuple(role for role, _ in POSITIONAL_ROLES)
#: Decoder layers of the construction and whether each has a cross-attention / an FFN (None = either).
_DECODER_SHAPE = ((True, True), (None, False), (None, False))


def decoder_function(name: str | Callable[..., Iterator[Step]]) -> Callable[..., Iterator[Step]]:
    """The exact decoder called ``name``: ``fast`` (certified, the default) or ``plain`` (Fractions);
    a decoder function is returned as it is."""
    if callable(name):
        return name
    if name == "plain":
        from turingformer.runtime.transformer import decode
        return decode
    from turingformer.runtime.fast import decode_fast
    return decode_fast


@dataclass(frozen=True)
class CompileSummary(Summary):
    """Sizes reported by ``turingformer compile`` (spec §2b.7)."""

    states: int
    symbols: int
    user_states: int
    user_symbols: int
    stay_states: int
    d: int
    d_without_normalisation: int
    hidden: dict[str, tuple[int, ...]]
    nonzero_weights: int
    cross_attention: str
    score: str

    def lines(self) -> list[str]:
        overhead = self.d - self.d_without_normalisation
        out = [
            f"|Q'| = {self.states} states ({self.user_states} of the machine, 3 prelude, "
            f"{self.stay_states} for stay moves)",
            f"|Σ'| = {self.symbols} symbols ({self.user_symbols} of the machine, 1 marked blank)",
            f"d = 2|Q'| + 4|Σ'| + 11 = {self.d}  (the machine as given would need "
            f"{self.d_without_normalisation}; normalisation adds {overhead})",
        ]
        out += [f"hidden widths of {name}: {', '.join(map(str, widths))}" for name, widths in self.hidden.items()]
        out += [f"non-zero weights: {self.nonzero_weights}",
                f"layers: 1 encoder, 3 decoder; cross-attention: {self.cross_attention}; score: {self.score}"]
        return out


@dataclass(frozen=True, repr=False)
class PerezModel(Model):
    """The transformer and the labels that read its outputs; nothing else of the machine."""

    kind: ClassVar[str] = "perez"

    transformer: Transformer
    labels: Labels
    cross_attention: str = "per-layer"

    @property
    def construction(self) -> str:
        return "perez"

    @property
    def name(self) -> str:
        return self.labels.machine_name

    @property
    def network(self) -> Transformer:
        return self.transformer

    def _repr_sizes(self) -> str:
        t = self.transformer
        return (f"d={t.d}, states={len(self.labels.states)}, symbols={len(self.labels.symbols)}, "
                f"nonzero_weights={t.nonzero_weights():,}")

    def check_input(self, input: str | None) -> None:
        self.labels.encoder_input(input or "")

    def run(self, input: str | None = None, *, max_steps: int | None = None, progress: Progress | None = None,
            decoder: str = "fast", runner: Callable[..., Iterator[Step]] | None = None) -> Run:
        """Decode ``input`` (default: the empty word) and read the machine's trace back (spec §2b.6);
        ``runner`` (a decoder function of another runtime, e.g. an export) replaces ``decoder``, its
        outputs read with its ``tolerance`` (default 0)."""
        from turingformer.compiler.perez.decoding import run_model
        from turingformer.tm.trace import DEFAULT_MAX_STEPS
        word = input or ""
        result = run_model(self, word, max_steps=DEFAULT_MAX_STEPS if max_steps is None else max_steps,
                           decoder=decoder_function(decoder) if runner is None else runner,
                           tolerance=getattr(runner, "tolerance", 0.0), keep_steps=False, progress=progress)
        return Run(result.trace, word, result.positions, "decoder position")

    def halting(self) -> Halting:
        """The machine halted when y's state block ``q1`` is all zero (spec §6)."""
        return Halting(tuple(state_dim("q1", q) for q in self.labels.states), 0)

    def summary(self) -> CompileSummary:
        t = self.transformer
        nq, ns = len(self.labels.states), len(self.labels.symbols)
        user_q = nq - 3 - len(self.labels.stay)
        hidden = {f"decoder.{l}.ffn": layer.ffn.hidden_sizes
                  for l, layer in enumerate(t.decoder, start=1) if layer.ffn is not None}
        hidden["output"] = t.output.hidden_sizes
        return CompileSummary(
            states=nq, symbols=ns, user_states=user_q, user_symbols=ns - 1,
            stay_states=len(self.labels.stay), d=t.d, d_without_normalisation=2 * user_q + 4 * (ns - 1) + 11,
            hidden=hidden, nonzero_weights=t.nonzero_weights(), cross_attention=self.cross_attention,
            score=t.score,
        )

    # ------------------------------------------------------------------ the model file
    def to_json(self) -> dict:
        t, labels = self.transformer, self.labels
        w = WeightWriter(t.space)
        layers = {
            "encoder": [{"attn": w.attention(l.attn, f"encoder.{k}.attn"), "ffn": w.mlp(l.ffn, f"encoder.{k}.ffn")}
                        for k, l in enumerate(t.encoder)],
            "decoder": [{"attn": w.attention(l.attn, f"decoder.{k}.attn"), "cross": w.attention(l.cross, f"decoder.{k}.cross"),
                         "ffn": w.mlp(l.ffn, f"decoder.{k}.ffn")} for k, l in enumerate(t.decoder, 1)],
            "output": w.mlp(t.output, "output"),
        }
        return {
            "score": t.score, "cross_attention": self.cross_attention, "spaces": w.spaces(),
            "positional": positional_roles(t.positional),
            "embedding": {tok: {n: number(v) for n, v in e.items()} for tok, e in t.embedding.items()},
            "seed": sparse_vector(t.space, t.seed),
            **layers,
            "labels": {
                "machine_name": labels.machine_name, "states": list(labels.states), "symbols": list(labels.symbols),
                "blank": labels.blank, "marked_blank": labels.marked_blank, "start": labels.start,
                "prelude": list(labels.prelude), "stay": dict(labels.stay), "accept": sorted(labels.accept),
                "reject": sorted(labels.reject), "halt": sorted(labels.halt),
                "input_alphabet": list(labels.input_alphabet),
            },
        }

    @classmethod
    def from_json(cls, data: dict, r: JsonReader) -> "PerezModel":
        r.obj(data, "the document", (*ENVELOPE_KEYS, *_KEYS))
        score = r.string(data["score"], "score", SCORES)
        cross_attention = r.string(data["cross_attention"], "cross_attention", CROSS_ATTENTION)
        maps = WeightReader(r, data["spaces"])
        residual = maps.residual
        labels = _read_labels(r, data["labels"])
        layout = residual_space(labels.states, labels.symbols)
        if layout.names != residual.names:
            wrong = next((a for a, b in zip(residual.names, layout.names) if a != b), None)
            raise r.fail("spaces.residual", "the residual dimensions are not the layout of the labels' states and "
                                            "symbols (spec §3)" + (f": {wrong[:60]!r} is out of place" if wrong else
                                                                   f": {len(residual)} dimensions, not {len(layout)}"))
        encoder = r.list(data["encoder"], "encoder")
        if len(encoder) != 1:
            raise r.fail("encoder", f"{len(encoder)} layers; the construction has 1")
        enc = r.obj(encoder[0], "encoder[0]", ("attn", "ffn"))
        encoder_layer = EncoderLayer(maps.attention(enc["attn"], "encoder[0].attn"),
                                     maps.optional(enc["ffn"], "encoder[0].ffn", maps.mlp, None))
        decoder = r.list(data["decoder"], "decoder")
        if len(decoder) != len(_DECODER_SHAPE):
            raise r.fail("decoder", f"{len(decoder)} layers; the construction has {len(_DECODER_SHAPE)}")
        decoder_layers = []
        for k, (layer, (has_cross, has_ffn)) in enumerate(zip(decoder, _DECODER_SHAPE)):
            where = f"decoder[{k}]"
            d = r.obj(layer, where, ("attn", "cross", "ffn"))
            decoder_layers.append(DecoderLayer(maps.attention(d["attn"], f"{where}.attn"),
                                               maps.optional(d["cross"], f"{where}.cross", maps.attention, has_cross),
                                               maps.optional(d["ffn"], f"{where}.ffn", maps.mlp, has_ffn)))
        positional = r.obj(data["positional"], "positional", _POSITIONAL)
        embedding = {r.name(tok, "embedding key", labels.symbols): r.sparse(e, f"embedding[{tok[:40]!r}]", residual)
                     for tok, e in r.obj(data["embedding"], "embedding").items()}
        for token in (*labels.input_alphabet, labels.marked_blank):
            if token not in embedding:
                raise r.fail("embedding", f"the input symbol {token!r} has no embedding")
        transformer = Transformer(
            space=residual, embedding=embedding,
            positional=positional_encoding(**{k: r.name(positional[k], f"positional.{k}", residual)
                                              for k in _POSITIONAL}),
            encoder=(encoder_layer,), decoder=tuple(decoder_layers), output=maps.mlp(data["output"], "output"),
            seed=residual.vector(r.sparse(data["seed"], "seed", residual)), score=score,
        )
        return cls(transformer, labels, cross_attention)


def _read_labels(r: JsonReader, value) -> Labels:
    lab = r.obj(value, "labels", _LABEL_KEYS)
    states = r.strings(lab["states"], "labels.states", unique=True)
    symbols = r.strings(lab["symbols"], "labels.symbols", unique=True)
    for where, symbol in enumerate(symbols):
        if len(symbol) != 1:
            raise r.fail(f"labels.symbols[{where}]", f"{symbol[:40]!r} is not one character")
    prelude = r.strings(lab["prelude"], "labels.prelude", states, unique=True)
    if len(prelude) != 3:
        raise r.fail("labels.prelude", f"{len(prelude)} states; the construction's prelude has 3")
    stay = {r.name(k, "labels.stay key", states): r.name(v, f"labels.stay[{k[:40]!r}]", states)
            for k, v in r.obj(lab["stay"], "labels.stay").items()}
    roles = {role: frozenset(r.strings(lab[role], f"labels.{role}", states, unique=True))
             for role in ("accept", "reject", "halt")}
    for role, members in roles.items():
        for other in ("accept", "reject", "halt"):
            if other != role and members & roles[other]:
                both = sorted(members & roles[other])[0]
                raise r.fail(f"labels.{role}", f"the state {both[:40]!r} is also a {other} state")
    blank = r.name(lab["blank"], "labels.blank", symbols)
    marked = r.name(lab["marked_blank"], "labels.marked_blank", symbols)
    if marked == blank:
        raise r.fail("labels.marked_blank", "the marked blank must differ from the blank")
    alphabet = r.strings(lab["input_alphabet"], "labels.input_alphabet", symbols, unique=True)
    if blank in alphabet or marked in alphabet:
        raise r.fail("labels.input_alphabet", "the input alphabet holds the blank or the marked blank")
    return Labels(
        states=states, symbols=symbols, blank=blank, marked_blank=marked,
        start=r.name(lab["start"], "labels.start", states), prelude=prelude, stay=stay,
        accept=roles["accept"], reject=roles["reject"], halt=roles["halt"], input_alphabet=alphabet,
        machine_name=r.string(lab["machine_name"], "labels.machine_name"),
    )
