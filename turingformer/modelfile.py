"""Model files: a compiled transformer saved as JSON, exactly, with every dimension's name, the
machine it was compiled from, and an integrity digest.

Format ``turingformer-model`` version 2 (documented in ``docs/model-format.md``)::

    {"format": "turingformer-model", "version": 2, "kind": "perez",
     "digest": "sha256:<64 hex digits>",
     "source": {"machine": "<turingformer YAML>", "examples": ["011", ...]} | null,
     "score": "abs", "cross_attention": "per-layer",
     "spaces": {"residual": [names...], "decoder.1.ffn.hidden": [names...], ...},
     "positional": {"one": name, "k": name, "inverse": name, "inverse_square": name},
     "embedding": {token: {name: "p/q"}}, "seed": {name: "p/q"},
     "encoder": [{"attn": ATTN, "ffn": [LINEAR, ...] | null}],
     "decoder": [{"attn": ATTN, "cross": ATTN | null, "ffn": [LINEAR, ...] | null}],
     "output": [LINEAR, ...],
     "labels": {...}}

A looped model (``"kind": "looped"``, looped spec §3) stores its blocks, its punch card X₀ (the
program is in the input) and the labels decoding reads; its ``source`` is null::

    {"format": "turingformer-model", "version": 2, "kind": "looped", "digest": ..., "source": null,
     "score": "abs",
     "spaces": {"residual": [names...], "loop.0.ffn.hidden": [names...], ...},
     "blocks": [{"heads": [ATTN, ...], "ffn": [LINEAR, ...] | null}],
     "card": [{name: "p/q"}, ...],          # one sparse column per token
     "labels": {"construction", "machine", "bits", "cells", "instructions", "functions", "name",
                "entry_bound", "cell_labels"}}

    ATTN   = {"query": LINEAR, "key": LINEAR, "value": LINEAR}
    LINEAR = {"source": space, "target": space, "weights": [[from, to, "p/q"], ...], "bias": [[to, "p/q"], ...]}

Numbers are strings ``"p/q"`` (or ``"p"``) so nothing is rounded; dimensions are named, never
indexed; nothing is pickled. A loaded model is a :class:`~turingformer.compiler.perez.layout.CompiledModel`
(or, for a looped model, a :class:`~turingformer.compiler.looped.layout.LoopedModel`): weights,
names and the labels that read outputs. Decoding never reads ``source``: it is the
provenance that ``turingformer verify MODEL`` re-simulates, and ``run`` takes its default input
from ``source.examples``.

**Integrity.** ``digest`` is the SHA-256 of the canonical form of everything else: the document
re-serialised from the *loaded* weights and labels (so ``"2/4"`` and ``"1/2"`` are one weight),
plus ``source``, as JSON with sorted keys and no spaces. :attr:`ModelFile.modified` is True when
the recorded digest is not the computed one: the file was edited after compiling. Editing is
allowed (it is an experiment), never silent.

**Validation.** Loading checks the whole structure before building anything: the keys, every
type, every space name, the layer count and the shape of each map, and that the labels name
exactly the residual layout. Damage is a :class:`~turingformer.errors.ModelFileError` naming the
JSON path (``decoder[1].cross.query.weights[3]``), never a guess and never a traceback.

**Kinds.** ``kind`` selects the construction; each kind is one :class:`Kind` in :data:`KINDS`
with its own writer and its own validating reader: ``perez``, ``looped`` and ``looped-machine`` (a
Turing machine compiled for the looped computer: the ``looped`` keys plus ``tape_layout``, the
:class:`~turingformer.compiler.bridge.layout.TapeLayout`; docs/two-transformers.md).
"""

from __future__ import annotations

import hashlib
import json
import re
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path
from typing import Any, Callable

from turingformer.compiler.looped.construction import CONSTRUCTIONS
from turingformer.compiler.bridge.layout import TapeLayout
from turingformer.compiler.bridge.model import LoopedMachineModel
from turingformer.compiler.looped.layout import CardLabels, LoopedModel
from turingformer.compiler.perez.layout import (
    CompiledModel, Labels, positional_encoding, positional_roles, residual_space,
)
from turingformer.errors import Location, ModelFileError
from turingformer.files import write_atomic
from turingformer.runtime.looped import LoopBlock, LoopedTransformer
from turingformer.runtime.space import Linear, Space
from turingformer.runtime.transformer import (
    MLP, SCORES, Attention, DecoderLayer, EncoderLayer, Transformer,
)

FORMAT = "turingformer-model"
VERSION = 2
DIGEST_PREFIX = "sha256:"
RECOMPILE = "recompile the machine: turingformer compile MACHINE -o MODEL"
#: Python refuses to read longer digit strings as int (``sys.get_int_max_str_digits``).
MAX_DIGITS = 4300
_RATIONAL = re.compile(r"-?([0-9]+)(?:/([0-9]+))?\Z")
_DIGEST = re.compile(r"sha256:[0-9a-f]{64}\Z")


# ---------------------------------------------------------------------------- provenance
@dataclass(frozen=True)
class Source:
    """The machine a model was compiled from, as canonical turingformer YAML, and its example
    inputs (the default input of ``run``). Never read by decoding."""

    machine: str
    examples: tuple[str, ...] = ()

    @classmethod
    def of(cls, machine) -> "Source":
        """The source record of a :class:`~turingformer.tm.machine.TuringMachine`."""
        from turingformer.tm.formats import dump_machine
        return cls(dump_machine(machine), tuple(e.input for e in machine.examples))

    def to_json(self) -> dict:
        return {"machine": self.machine, "examples": list(self.examples)}


@dataclass(frozen=True)
class ModelFile:
    """A model file as read: the model, its provenance, and its digest recorded and computed."""

    model: Any
    kind: str
    source: Source | None
    recorded_digest: str
    digest: str

    @property
    def modified(self) -> bool:
        """True when the file was edited after it was written (the digests differ)."""
        return self.recorded_digest != self.digest

    def default_input(self) -> str:
        """The input a command runs on when none is given: the first recorded example, else ''."""
        return self.source.examples[0] if self.source and self.source.examples else ""


# ---------------------------------------------------------------------------- validation
class _Reader:
    """Type-checked access to a JSON document; every failure names its JSON path."""

    def __init__(self, source: str):
        self.source = source

    def fail(self, where: str, problem: str) -> ModelFileError:
        return ModelFileError(f"the model file is damaged: {where}: {problem}", location=Location(self.source),
                              hint=RECOMPILE)

    def obj(self, value, where: str, keys: tuple[str, ...] | None = None) -> dict:
        if not isinstance(value, dict):
            raise self.fail(where, f"expected an object, got {_kind(value)}")
        if keys is not None:
            missing = [k for k in keys if k not in value]
            extra = [k for k in value if k not in keys]
            if missing:
                raise self.fail(where, f"missing {', '.join(map(repr, missing))}")
            if extra:
                raise self.fail(where, f"unknown key {extra[0][:40]!r} (the keys are {', '.join(keys)})")
        return value

    def list(self, value, where: str) -> list:
        if not isinstance(value, list):
            raise self.fail(where, f"expected a list, got {_kind(value)}")
        return value

    def string(self, value, where: str, choices=None) -> str:
        if not isinstance(value, str):
            raise self.fail(where, f"expected a string, got {_kind(value)}")
        if choices is not None and value not in choices:
            raise self.fail(where, f"{value[:40]!r} is not one of {', '.join(map(repr, choices))}")
        return value

    def strings(self, value, where: str, within=None, unique: bool = False) -> tuple[str, ...]:
        items = tuple(self.name(v, f"{where}[{k}]", within) for k, v in enumerate(self.list(value, where)))
        if unique and len(set(items)) != len(items):
            twice = next(v for k, v in enumerate(items) if v in items[:k])
            raise self.fail(where, f"{twice[:40]!r} appears twice")
        return items

    def name(self, value, where: str, within=None) -> str:
        """A string that must be one of ``within`` (a Space or a collection) when given."""
        text = self.string(value, where)
        if within is not None and text not in within:
            raise self.fail(where, f"unknown name {text[:60]!r}")
        return text

    def rational(self, value, where: str) -> Fraction:
        text = self.string(value, where)
        match = _RATIONAL.match(text)
        if not match or not text.isascii():
            raise self.fail(where, f"{text[:40]!r} is not an exact rational 'p/q' or 'p'")
        numerator, denominator = match.groups()
        if len(numerator) > MAX_DIGITS or (denominator and len(denominator) > MAX_DIGITS):
            raise self.fail(where, f"a number of more than {MAX_DIGITS:,} digits")
        if denominator is not None and int(denominator) == 0:
            raise self.fail(where, f"{text[:40]!r} divides by zero")
        return Fraction(text)

    def integer(self, value, where: str, low: int = 0) -> int:
        if type(value) is not int:
            raise self.fail(where, f"expected a whole number, got {_kind(value)}")
        if value < low:
            raise self.fail(where, f"{value} is below {low}")
        return value

    def sparse(self, value, where: str, space: Space) -> dict[str, Fraction]:
        """``{name: "p/q"}`` over the names of ``space``."""
        return {self.name(n, f"{where} key", space): self.rational(v, f"{where}[{n[:40]!r}]")
                for n, v in self.obj(value, where).items()}


def _kind(value) -> str:
    return {dict: "an object", list: "a list", str: "a string", bool: "a boolean",
            type(None): "null"}.get(type(value), "a number")


# ---------------------------------------------------------------------------- kinds
@dataclass(frozen=True)
class Kind:
    """One kind of model file: the model class, its writer (the body of the document, without
    format, version, kind, digest and source) and its validating reader."""

    name: str
    model_type: type
    write: Callable[[Any], dict]
    read: Callable[[dict, _Reader], Any]


_ATTENTION = ("query", "key", "value")
_LINEAR = ("source", "target", "weights", "bias")


class _Maps:
    """Validating readers of the LINEAR, ATTN and MLP entries over a file's named ``spaces``; every
    map of the construction reads and writes the residual space (its FFN hidden spaces aside)."""

    def __init__(self, r: _Reader, value):
        self.r = r
        self.spaces: dict[str, Space] = {}
        for name, names in r.obj(value, "spaces").items():
            self.spaces[name] = Space(r.strings(names, f"spaces[{name[:40]!r}]", unique=True))
        if "residual" not in self.spaces:
            raise r.fail("spaces", "no 'residual' space")
        self.residual = self.spaces["residual"]

    def linear(self, value, where: str, source: Space | None = None, target: Space | None = None) -> Linear:
        r, spaces, residual = self.r, self.spaces, self.residual
        d = r.obj(value, where, _LINEAR)
        src = spaces.get(r.name(d["source"], f"{where}.source", spaces))
        dst = spaces.get(r.name(d["target"], f"{where}.target", spaces))
        for actual, wanted, end in ((src, source, "source"), (dst, target, "target")):
            if wanted is not None and actual.names != wanted.names:
                raise r.fail(f"{where}.{end}", f"{d[end][:40]!r} where the construction has "
                                               f"{'the residual space' if wanted is residual else 'another space'}")
        weights = {}
        for k, entry in enumerate(r.list(d["weights"], f"{where}.weights")):
            at = f"{where}.weights[{k}]"
            if not (isinstance(entry, list) and len(entry) == 3):
                raise r.fail(at, "expected [source name, target name, \"p/q\"]")
            key = (r.name(entry[0], at + "[0]", src), r.name(entry[1], at + "[1]", dst))
            weights[key] = weights.get(key, Fraction(0)) + r.rational(entry[2], at + "[2]")
        bias = {}
        for k, entry in enumerate(r.list(d["bias"], f"{where}.bias")):
            at = f"{where}.bias[{k}]"
            if not (isinstance(entry, list) and len(entry) == 2):
                raise r.fail(at, "expected [target name, \"p/q\"]")
            name = r.name(entry[0], at + "[0]", dst)
            bias[name] = bias.get(name, Fraction(0)) + r.rational(entry[1], at + "[1]")
        return Linear.build(src, dst, weights, bias)

    def attention(self, value, where: str) -> Attention:
        d = self.r.obj(value, where, _ATTENTION)
        return Attention(*(self.linear(d[p], f"{where}.{p}", self.residual, self.residual) for p in _ATTENTION))

    def mlp(self, value, where: str) -> MLP:
        r, residual = self.r, self.residual
        maps = r.list(value, where)
        if not maps:
            raise r.fail(where, "a feed-forward net needs at least one map")
        layers = []
        for k, m in enumerate(maps):
            source = residual if k == 0 else layers[-1].target
            layers.append(self.linear(m, f"{where}[{k}]", source, residual if k == len(maps) - 1 else None))
        return MLP(tuple(layers))


# ---- perez: the Pérez–Barceló–Marinkovic encoder–decoder
_PEREZ_KEYS = ("score", "cross_attention", "spaces", "positional", "embedding", "seed", "encoder", "decoder",
               "output", "labels")
_LABEL_KEYS = ("machine_name", "states", "symbols", "blank", "marked_blank", "start", "prelude", "stay", "accept",
               "reject", "halt", "input_alphabet")
_POSITIONAL = ("one", "k", "inverse", "inverse_square")
#: Decoder layers of the construction and whether each has a cross-attention / an FFN (None = either).
_PEREZ_DECODER = ((True, True), (None, False), (None, False))


def _num(value: Fraction) -> str:
    return str(value)


def _write_linear(m: Linear, spaces: dict[tuple[str, ...], str], name: str) -> dict:
    for space, default in ((m.source, name + ".in"), (m.target, name + ".out")):
        spaces.setdefault(space.names, default)
    return {"source": spaces[m.source.names], "target": spaces[m.target.names],
            "weights": [[a, b, _num(w)] for a, b, w in m.named_weights()],
            "bias": [[b, _num(w)] for b, w in m.named_bias()]}


def _write_attention(a: Attention | None, spaces, name) -> dict | None:
    if a is None:
        return None
    return {part: _write_linear(getattr(a, part), spaces, f"{name}.{part}") for part in _ATTENTION}


def _write_mlp(m: MLP | None, spaces, name) -> list | None:
    if m is None:
        return None
    for k, layer in enumerate(m.layers[:-1]):
        spaces.setdefault(layer.target.names, f"{name}.hidden" if len(m.layers) == 2 else f"{name}.hidden.{k}")
    return [_write_linear(layer, spaces, f"{name}.{k}") for k, layer in enumerate(m.layers)]


def _write_perez(model: CompiledModel) -> dict:
    t = model.transformer
    spaces: dict[tuple[str, ...], str] = {t.space.names: "residual"}
    body = {
        "encoder": [{"attn": _write_attention(l.attn, spaces, f"encoder.{k}.attn"),
                     "ffn": _write_mlp(l.ffn, spaces, f"encoder.{k}.ffn")} for k, l in enumerate(t.encoder)],
        "decoder": [{"attn": _write_attention(l.attn, spaces, f"decoder.{k}.attn"),
                     "cross": _write_attention(l.cross, spaces, f"decoder.{k}.cross"),
                     "ffn": _write_mlp(l.ffn, spaces, f"decoder.{k}.ffn")} for k, l in enumerate(t.decoder, 1)],
        "output": _write_mlp(t.output, spaces, "output"),
    }
    labels = model.labels
    return {
        "score": t.score, "cross_attention": model.cross_attention,
        "spaces": {name: list(names) for names, name in spaces.items()},
        "positional": positional_roles(t.positional),
        "embedding": {tok: {n: _num(v) for n, v in e.items()} for tok, e in t.embedding.items()},
        "seed": {n: _num(v) for n, v in zip(t.space.names, t.seed) if v},
        **body,
        "labels": {
            "machine_name": labels.machine_name, "states": list(labels.states), "symbols": list(labels.symbols),
            "blank": labels.blank, "marked_blank": labels.marked_blank, "start": labels.start,
            "prelude": list(labels.prelude), "stay": dict(labels.stay), "accept": sorted(labels.accept),
            "reject": sorted(labels.reject), "halt": sorted(labels.halt),
            "input_alphabet": list(labels.input_alphabet),
        },
    }


def _read_labels(r: _Reader, value) -> Labels:
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


def _read_perez(data: dict, r: _Reader) -> CompiledModel:
    r.obj(data, "the document", ("format", "version", "kind", "digest", "source", *_PEREZ_KEYS))
    score = r.string(data["score"], "score", SCORES)
    cross_attention = r.string(data["cross_attention"], "cross_attention", ("per-layer", "shared"))
    maps = _Maps(r, data["spaces"])
    residual, attention, mlp = maps.residual, maps.attention, maps.mlp
    labels = _read_labels(r, data["labels"])
    layout = residual_space(labels.states, labels.symbols)
    if layout.names != residual.names:
        wrong = next((a for a, b in zip(residual.names, layout.names) if a != b), None)
        raise r.fail("spaces.residual", "the residual dimensions are not the layout of the labels' states and "
                                        "symbols (spec §3)" + (f": {wrong[:60]!r} is out of place" if wrong else
                                                               f": {len(residual)} dimensions, not {len(layout)}"))

    def optional(value, where: str, build, present: bool | None):
        if present is True and value is None:
            raise r.fail(where, "null, but the construction has one here")
        if present is False and value is not None:
            raise r.fail(where, "present, but the construction has none here (layers swapped?)")
        return None if value is None else build(value, where)

    encoder = r.list(data["encoder"], "encoder")
    if len(encoder) != 1:
        raise r.fail("encoder", f"{len(encoder)} layers; the construction has 1")
    enc = r.obj(encoder[0], "encoder[0]", ("attn", "ffn"))
    encoder_layer = EncoderLayer(attention(enc["attn"], "encoder[0].attn"), optional(enc["ffn"], "encoder[0].ffn", mlp, None))
    decoder = r.list(data["decoder"], "decoder")
    if len(decoder) != len(_PEREZ_DECODER):
        raise r.fail("decoder", f"{len(decoder)} layers; the construction has {len(_PEREZ_DECODER)}")
    decoder_layers = []
    for k, (layer, (has_cross, has_ffn)) in enumerate(zip(decoder, _PEREZ_DECODER)):
        where = f"decoder[{k}]"
        d = r.obj(layer, where, ("attn", "cross", "ffn"))
        decoder_layers.append(DecoderLayer(attention(d["attn"], f"{where}.attn"),
                                           optional(d["cross"], f"{where}.cross", attention, has_cross),
                                           optional(d["ffn"], f"{where}.ffn", mlp, has_ffn)))
    positional = r.obj(data["positional"], "positional", _POSITIONAL)
    embedding = {r.name(tok, "embedding key", labels.symbols): r.sparse(e, f"embedding[{tok[:40]!r}]", residual)
                 for tok, e in r.obj(data["embedding"], "embedding").items()}
    for token in (*labels.input_alphabet, labels.marked_blank):
        if token not in embedding:
            raise r.fail("embedding", f"the input symbol {token!r} has no embedding")
    transformer = Transformer(
        space=residual, embedding=embedding,
        positional=positional_encoding(**{k: r.name(positional[k], f"positional.{k}", residual) for k in _POSITIONAL}),
        encoder=(encoder_layer,), decoder=tuple(decoder_layers), output=mlp(data["output"], "output"),
        seed=residual.vector(r.sparse(data["seed"], "seed", residual)), score=score,
    )
    return CompiledModel(transformer, labels, cross_attention)


# ---- looped: the looped computer (a block applied to its own output; looped spec §3)
_LOOPED_KEYS = ("score", "spaces", "blocks", "card", "labels")
_CARD_LABEL_KEYS = ("construction", "machine", "bits", "cells", "instructions", "functions", "name", "entry_bound",
                    "cell_labels")


def _write_looped(model: LoopedModel) -> dict:
    t, names = model.transformer, model.space.names
    spaces: dict[tuple[str, ...], str] = {names: "residual"}
    blocks = [{"heads": [_write_attention(h, spaces, f"loop.{l}.attn.{k}") for k, h in enumerate(b.heads)],
               "ffn": _write_mlp(b.ffn, spaces, f"loop.{l}.ffn")} for l, b in enumerate(t.blocks)]
    lab = model.labels
    return {"score": t.score, "spaces": {name: list(n) for n, name in spaces.items()}, "blocks": blocks,
            "card": [{n: _num(v) for n, v in zip(names, col) if v} for col in model.card],
            "labels": {"construction": lab.construction, "machine": lab.machine, "bits": lab.bits,
                       "cells": lab.cells, "instructions": lab.instructions, "functions": list(lab.functions),
                       "name": lab.name, "entry_bound": lab.entry_bound, "cell_labels": dict(lab.cell_labels)}}


def _read_card_labels(r: _Reader, value) -> CardLabels:
    lab = r.obj(value, "labels", _CARD_LABEL_KEYS)
    construction = r.string(lab["construction"], "labels.construction", tuple(CONSTRUCTIONS))
    machine = r.string(lab["machine"], "labels.machine", (CONSTRUCTIONS[construction].machine.value,))
    cell_labels = tuple((r.string(k, "labels.cell_labels key"), r.integer(v, f"labels.cell_labels[{k[:40]!r}]"))
                        for k, v in r.obj(lab["cell_labels"], "labels.cell_labels").items())
    return CardLabels(construction=construction, machine=machine, bits=r.integer(lab["bits"], "labels.bits", 2),
                      cells=r.integer(lab["cells"], "labels.cells", 1),
                      instructions=r.integer(lab["instructions"], "labels.instructions"),
                      functions=r.strings(lab["functions"], "labels.functions", unique=True),
                      name=r.string(lab["name"], "labels.name"),
                      entry_bound=r.integer(lab["entry_bound"], "labels.entry_bound"), cell_labels=cell_labels)


def _read_looped(data: dict, r: _Reader, extra_keys: tuple[str, ...] = ()) -> LoopedModel:
    r.obj(data, "the document", ("format", "version", "kind", "digest", "source", *_LOOPED_KEYS, *extra_keys))
    score = r.string(data["score"], "score", SCORES)
    maps = _Maps(r, data["spaces"])
    blocks = []
    for l, value in enumerate(r.list(data["blocks"], "blocks")):
        where = f"blocks[{l}]"
        b = r.obj(value, where, ("heads", "ffn"))
        heads = tuple(maps.attention(h, f"{where}.heads[{k}]") for k, h in enumerate(r.list(b["heads"], f"{where}.heads")))
        ffn = None if b["ffn"] is None else maps.mlp(b["ffn"], f"{where}.ffn")
        if not heads and ffn is None:
            raise r.fail(where, "a block with neither attention heads nor a feed-forward net")
        blocks.append(LoopBlock(heads, ffn))
    if not blocks:
        raise r.fail("blocks", "a looped model needs at least one block")
    card = r.list(data["card"], "card")
    if not card:
        raise r.fail("card", "an empty punch card")
    columns = tuple(maps.residual.vector(r.sparse(col, f"card[{k}]", maps.residual)) for k, col in enumerate(card))
    return LoopedModel(LoopedTransformer(maps.residual, tuple(blocks), score=score), columns,
                       _read_card_labels(r, data["labels"]))


# ---- looped-machine: a Turing machine compiled to SUBLEQ-U for the looped computer (docs/two-transformers.md)
_TAPE_LAYOUT_NAMES = ("machine_name",)
_TAPE_LAYOUT_LISTS = ("states", "accept", "reject", "alphabet")
_TAPE_LAYOUT_INTEGERS = ("tape_start", "tape_cells", "origin", "input_length", "head_cell", "status_cell",
                         "code_end", "max_loops_per_step")


def _write_looped_machine(model: LoopedMachineModel) -> dict:
    return {**_write_looped(model.looped), "tape_layout": model.layout.to_json()}


def _read_looped_machine(data: dict, r: _Reader) -> LoopedMachineModel:
    looped = _read_looped(data, r, ("tape_layout",))
    keys = (*_TAPE_LAYOUT_NAMES, *_TAPE_LAYOUT_LISTS, "entries", *_TAPE_LAYOUT_INTEGERS)
    value = r.obj(data["tape_layout"], "tape_layout", keys)
    fields = {"machine_name": r.string(value["machine_name"], "tape_layout.machine_name")}
    fields.update({k: r.strings(value[k], f"tape_layout.{k}") for k in _TAPE_LAYOUT_LISTS})
    fields.update({k: r.integer(value[k], f"tape_layout.{k}") for k in _TAPE_LAYOUT_INTEGERS})
    fields["entries"] = tuple(r.integer(v, f"tape_layout.entries[{k}]")
                              for k, v in enumerate(r.list(value["entries"], "tape_layout.entries")))
    layout = TapeLayout(**fields)
    cells = looped.labels.cells
    if len(layout.entries) != len(layout.states) or not layout.alphabet or not all(
            0 <= c < cells for c in (*layout.entries, layout.head_cell, layout.status_cell)) or (
            layout.tape_start + layout.tape_cells >= cells):
        raise r.fail("tape_layout", f"a layout that does not fit the program's {cells} cells")
    return LoopedMachineModel(looped, layout)


KINDS: dict[str, Kind] = {"perez": Kind("perez", CompiledModel, _write_perez, _read_perez),
                          "looped": Kind("looped", LoopedModel, _write_looped, _read_looped),
                          "looped-machine": Kind("looped-machine", LoopedMachineModel, _write_looped_machine,
                                                 _read_looped_machine)}


def _kind_of(model) -> Kind:
    for kind in KINDS.values():
        if isinstance(model, kind.model_type):
            return kind
    raise TypeError(f"no model file kind for {type(model).__name__}")


# ---------------------------------------------------------------------------- documents
def _canonical_digest(kind: str, body: dict, source: Source | None) -> str:
    document = {"format": FORMAT, "version": VERSION, "kind": kind,
                "source": None if source is None else source.to_json(), **body}
    text = json.dumps(document, sort_keys=True, ensure_ascii=False, separators=(",", ":"))
    return DIGEST_PREFIX + hashlib.sha256(text.encode("utf-8")).hexdigest()


def to_json(model, machine=None) -> dict:
    """The model file document of ``model``; ``machine`` (a TuringMachine) is recorded as its source."""
    kind = _kind_of(model)
    body = kind.write(model)
    source = None if machine is None else Source.of(machine)
    return {"format": FORMAT, "version": VERSION, "kind": kind.name,
            "digest": _canonical_digest(kind.name, body, source),
            "source": None if source is None else source.to_json(), **body}


def save_model(model, path: str | Path, *, machine=None) -> None:
    """Write ``model`` to ``path`` (JSON, UTF-8, atomically: the old file survives any failure).

    ``machine`` is the machine it was compiled from, recorded for ``verify MODEL`` and the default
    input of ``run``.
    """
    write_atomic(path, json.dumps(to_json(model, machine), ensure_ascii=False, indent=1) + "\n")


def read_model(path: str | Path) -> ModelFile:
    """Read and fully validate a model file (see the module docstring)."""
    try:
        raw = Path(path).read_bytes()
    except OSError as e:
        raise ModelFileError(f"cannot read the model file {path}: {e.strerror}", location=Location(str(path))) from None
    return parse_model(raw, str(path))


def model_kind(path: str | Path) -> str | None:
    """The ``kind`` of the model file at ``path`` (``"perez"``, ``"looped"``, or whatever an edited
    file says), or None when ``path`` is no model file: not a JSON object whose ``format`` is a
    model file's (a machine file, an automata-lib DTM included, is not), unreadable, or not JSON."""
    try:
        raw = Path(path).read_bytes()
        if not raw.lstrip()[:1] == b"{" or FORMAT.encode() not in raw:
            return None
        data = json.loads(raw.decode("utf-8"))
    except (OSError, ValueError, RecursionError):
        return None
    if not isinstance(data, dict) or data.get("format") != FORMAT:
        return None
    return str(data.get("kind"))


def is_model_file(path: str | Path) -> bool:
    """True when ``path`` holds a model file (see :func:`model_kind`)."""
    return model_kind(path) is not None


def parse_model(raw: bytes, source: str) -> ModelFile:
    """Read and fully validate the bytes of a model file; ``source`` names it in errors."""
    try:
        data = json.loads(raw.decode("utf-8"), parse_constant=_refuse_constant)
    except (json.JSONDecodeError, UnicodeDecodeError, ValueError) as e:
        where = (Location(source, e.lineno, e.colno) if isinstance(e, json.JSONDecodeError) else Location(source))
        raise ModelFileError(f"not a turingformer model file (not JSON: {getattr(e, 'msg', e)})", location=where,
                             hint="create one with `turingformer compile MACHINE -o MODEL`") from None
    except RecursionError:
        raise ModelFileError("not a turingformer model file (JSON nested too deeply)", location=Location(source),
                             hint="create one with `turingformer compile MACHINE -o MODEL`") from None
    return read_json(data, source)


def _refuse_constant(name: str):
    raise ValueError(f"{name} is not a number of a model file")


def read_json(data, source: str = "<model>") -> ModelFile:
    """Validate a parsed model file document and build its model (see the module docstring)."""
    r = _Reader(source)
    if not isinstance(data, dict) or data.get("format") != FORMAT:
        raise ModelFileError("not a turingformer model file", location=Location(source),
                             hint="create one with `turingformer compile MACHINE -o MODEL`")
    version = data.get("version")
    if type(version) is not int or version != VERSION:
        shown = json.dumps(version)[:40] if isinstance(version, (int, str, float, type(None))) else _kind(version)
        raise ModelFileError(f"model format version {shown}; this turingformer reads version {VERSION}",
                             location=Location(source), hint=RECOMPILE)
    kind_name = r.string(data.get("kind"), "kind", tuple(KINDS))
    recorded = r.string(data.get("digest"), "digest")
    if not _DIGEST.match(recorded):
        raise r.fail("digest", f"{recorded[:40]!r} is not 'sha256:' and 64 hex digits")
    src = data.get("source")
    provenance = None
    if src is not None:
        s = r.obj(src, "source", ("machine", "examples"))
        provenance = Source(r.string(s["machine"], "source.machine"), r.strings(s["examples"], "source.examples"))
    kind = KINDS[kind_name]
    model = kind.read(data, r)
    return ModelFile(model, kind_name, provenance, recorded, _canonical_digest(kind_name, kind.write(model), provenance))


def load_model(path: str | Path):
    """Read a model file and return its model; raises :class:`~turingformer.errors.ModelFileError`
    if it is not one. :func:`read_model` also gives the provenance and the integrity check."""
    return read_model(path).model


def from_json(data, source: str = "<model>"):
    """The model of a parsed model file document."""
    return read_json(data, source).model
