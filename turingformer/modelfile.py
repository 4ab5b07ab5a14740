"""Model files: a compiled transformer saved as JSON, exactly, with every dimension's name.

Format ``turingformer-model`` version 1 (documented in ``docs/model-format.md``)::

    {"format": "turingformer-model", "version": 1,
     "score": "abs", "cross_attention": "per-layer",
     "spaces": {"residual": [names...], "decoder.1.ffn.hidden": [names...], ...},
     "positional": {"one": name, "k": name, "inverse": name, "inverse_square": name},
     "embedding": {token: {name: "p/q"}}, "seed": {name: "p/q"},
     "encoder": [{"attn": ATTN, "ffn": [LINEAR, ...] | null}],
     "decoder": [{"attn": ATTN, "cross": ATTN | null, "ffn": [LINEAR, ...] | null}],
     "output": [LINEAR, ...],
     "labels": {...}}

A looped model (``"kind": "looped"``, looped spec §3; absent ``kind`` = ``"perez"``) stores its
blocks, its punch card X₀ (the program is in the input) and the labels decoding reads::

    {"format": "turingformer-model", "version": 1, "kind": "looped", "score": "abs",
     "spaces": {"residual": [names...], "loop.0.ffn.hidden": [names...], ...},
     "blocks": [{"heads": [ATTN, ...], "ffn": [LINEAR, ...] | null}],
     "card": [{name: "p/q"}, ...],          # one sparse column per token
     "labels": {"construction", "machine", "bits", "cells", "instructions", "functions", "name",
                "entry_bound", "cell_labels"}}
    ATTN   = {"query": LINEAR, "key": LINEAR, "value": LINEAR}
    LINEAR = {"source": space, "target": space, "weights": [[from, to, "p/q"], ...], "bias": [[to, "p/q"], ...]}

Numbers are strings ``"p/q"`` (or ``"p"``) so nothing is rounded; dimensions are named, never
indexed; nothing is pickled. A loaded model is a :class:`~turingformer.compiler.perez.layout.CompiledModel`:
weights, names and the labels that read outputs — no transition table; a loaded looped model
is a :class:`~turingformer.compiler.looped.layout.LoopedModel`.
"""

from __future__ import annotations

import json
import os
from fractions import Fraction
from pathlib import Path

from turingformer.errors import ModelFileError
from turingformer.compiler.looped.layout import CardLabels, LoopedModel
from turingformer.compiler.perez.layout import CompiledModel, Labels
from turingformer.runtime.looped import LoopBlock, LoopedTransformer
from turingformer.runtime.space import Linear, Space
from turingformer.runtime.transformer import MLP, Attention, DecoderLayer, EncoderLayer, PositionalEncoding, Transformer

FORMAT = "turingformer-model"
VERSION = 1


def _num(value: Fraction) -> str:
    return str(value)


def _linear(m: Linear, spaces: dict[tuple[str, ...], str], name: str) -> dict:
    for space, default in ((m.source, name + ".in"), (m.target, name + ".out")):
        spaces.setdefault(space.names, default)
    return {"source": spaces[m.source.names], "target": spaces[m.target.names],
            "weights": [[a, b, _num(w)] for a, b, w in m.named_weights()],
            "bias": [[b, _num(w)] for b, w in m.named_bias()]}


def _attention(a: Attention | None, spaces, name) -> dict | None:
    if a is None:
        return None
    return {part: _linear(getattr(a, part), spaces, f"{name}.{part}") for part in ("query", "key", "value")}


def _mlp(m: MLP | None, spaces, name) -> list | None:
    if m is None:
        return None
    for k, layer in enumerate(m.layers[:-1]):
        spaces.setdefault(layer.target.names, f"{name}.hidden" if len(m.layers) == 2 else f"{name}.hidden.{k}")
    return [_linear(layer, spaces, f"{name}.{k}") for k, layer in enumerate(m.layers)]


def to_json(model: CompiledModel | LoopedModel) -> dict:
    if isinstance(model, LoopedModel):
        return _looped_json(model)
    t = model.transformer
    spaces: dict[tuple[str, ...], str] = {t.space.names: "residual"}
    body = {
        "encoder": [{"attn": _attention(l.attn, spaces, f"encoder.{k}.attn"),
                     "ffn": _mlp(l.ffn, spaces, f"encoder.{k}.ffn")} for k, l in enumerate(t.encoder)],
        "decoder": [{"attn": _attention(l.attn, spaces, f"decoder.{k}.attn"),
                     "cross": _attention(l.cross, spaces, f"decoder.{k}.cross"),
                     "ffn": _mlp(l.ffn, spaces, f"decoder.{k}.ffn")} for k, l in enumerate(t.decoder, 1)],
        "output": _mlp(t.output, spaces, "output"),
    }
    labels = model.labels
    return {
        "format": FORMAT, "version": VERSION, "score": t.score, "cross_attention": model.cross_attention,
        "spaces": {name: list(names) for names, name in spaces.items()},
        "positional": {"one": t.positional.one, "k": t.positional.k, "inverse": t.positional.inverse,
                       "inverse_square": t.positional.inverse_square},
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


def _looped_json(model: LoopedModel) -> dict:
    t, names = model.transformer, model.space.names
    spaces: dict[tuple[str, ...], str] = {names: "residual"}
    blocks = [{"heads": [_attention(h, spaces, f"loop.{l}.attn.{k}") for k, h in enumerate(b.heads)],
               "ffn": _mlp(b.ffn, spaces, f"loop.{l}.ffn")} for l, b in enumerate(t.blocks)]
    lab = model.labels
    return {"format": FORMAT, "version": VERSION, "kind": "looped", "score": t.score,
            "spaces": {name: list(n) for n, name in spaces.items()}, "blocks": blocks,
            "card": [{n: _num(v) for n, v in zip(names, col) if v} for col in model.card],
            "labels": {"construction": lab.construction, "machine": lab.machine, "bits": lab.bits,
                       "cells": lab.cells, "instructions": lab.instructions, "functions": list(lab.functions),
                       "name": lab.name, "entry_bound": lab.entry_bound,
                       "cell_labels": dict(lab.cell_labels)}}


def save_model(model: CompiledModel | LoopedModel, path: str | Path) -> None:
    """Write ``model`` to ``path`` (JSON, UTF-8): to a temporary file beside it, then renamed, so a
    failure never leaves a half-written file or destroys a previous one."""
    path = Path(path)
    text = json.dumps(to_json(model), ensure_ascii=False, indent=1) + "\n"
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    try:
        tmp.write_text(text, encoding="utf-8")
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)


def load_model(path: str | Path) -> CompiledModel | LoopedModel:
    """Read a model file; raises :class:`~turingformer.errors.ModelFileError` if it is not one."""
    try:
        data = json.loads(Path(path).read_text(encoding="utf-8"))
    except OSError as e:
        raise ModelFileError(f"cannot read the model file {path}: {e.strerror}") from None
    except (json.JSONDecodeError, UnicodeDecodeError) as e:
        raise ModelFileError(f"{path} is not a turingformer model file (not JSON: {e})",
                             hint="create one with `turingformer compile MACHINE -o MODEL`") from None
    return from_json(data, str(path))


def from_json(data: dict, source: str = "<model>") -> CompiledModel | LoopedModel:
    if not isinstance(data, dict) or data.get("format") != FORMAT:
        raise ModelFileError(f"{source} is not a turingformer model file",
                             hint="create one with `turingformer compile MACHINE -o MODEL`")
    if data.get("version") != VERSION:
        raise ModelFileError(f"{source} has model format version {data.get('version')!r}; "
                             f"this turingformer reads version {VERSION}", hint="recompile the machine")
    kind = data.get("kind", "perez")
    if kind not in ("perez", "looped"):
        raise ModelFileError(f"{source} holds a model of unknown kind {kind!r}",
                             hint="this turingformer reads 'perez' and 'looped' models; recompile")
    try:
        return _build_looped(data) if kind == "looped" else _build(data)
    except (KeyError, TypeError, ValueError, ZeroDivisionError) as e:
        raise ModelFileError(f"{source} is damaged: {type(e).__name__}: {e}",
                             hint="recompile the machine to get a fresh model file") from None


def _readers(data: dict):
    """The residual space and readers of LINEAR, ATTN and MLP entries over the file's spaces."""
    spaces = {name: Space(tuple(names)) for name, names in data["spaces"].items()}

    def linear(d: dict) -> Linear:
        return Linear.build(spaces[d["source"]], spaces[d["target"]],
                            {(a, b): Fraction(w) for a, b, w in d["weights"]},
                            {b: Fraction(w) for b, w in d["bias"]})

    def attention(d: dict | None) -> Attention | None:
        return None if d is None else Attention(linear(d["query"]), linear(d["key"]), linear(d["value"]))

    def mlp(d: list | None) -> MLP | None:
        return None if d is None else MLP(tuple(linear(x) for x in d))

    return spaces["residual"], attention, mlp


def _build_looped(data: dict) -> LoopedModel:
    residual, attention, mlp = _readers(data)
    transformer = LoopedTransformer(
        residual, tuple(LoopBlock(tuple(attention(h) for h in b["heads"]), mlp(b["ffn"])) for b in data["blocks"]),
        score=data["score"])
    card = tuple(residual.vector({n: Fraction(v) for n, v in col.items()}) for col in data["card"])
    lab = dict(data["labels"])
    lab["functions"] = tuple(lab["functions"])
    lab["cell_labels"] = tuple((str(k), int(v)) for k, v in lab["cell_labels"].items())
    return LoopedModel(transformer, card, CardLabels(**lab))


def _build(data: dict) -> CompiledModel:
    residual, attention, mlp = _readers(data)
    transformer = Transformer(
        space=residual,
        embedding={tok: {n: Fraction(v) for n, v in e.items()} for tok, e in data["embedding"].items()},
        positional=PositionalEncoding(**data["positional"]),
        encoder=tuple(EncoderLayer(attention(l["attn"]), mlp(l["ffn"])) for l in data["encoder"]),
        decoder=tuple(DecoderLayer(attention(l["attn"]), attention(l["cross"]), mlp(l["ffn"]))
                      for l in data["decoder"]),
        output=mlp(data["output"]),
        seed=residual.vector({n: Fraction(v) for n, v in data["seed"].items()}),
        score=data["score"],
    )
    lab = data["labels"]
    labels = Labels(
        states=tuple(lab["states"]), symbols=tuple(lab["symbols"]), blank=lab["blank"],
        marked_blank=lab["marked_blank"], start=lab["start"], prelude=tuple(lab["prelude"]),
        stay=dict(lab["stay"]), accept=frozenset(lab["accept"]), reject=frozenset(lab["reject"]),
        halt=frozenset(lab["halt"]), input_alphabet=tuple(lab["input_alphabet"]),
        machine_name=lab.get("machine_name", ""),
    )
    return CompiledModel(transformer, labels, data["cross_attention"])
