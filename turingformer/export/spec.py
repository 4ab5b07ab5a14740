"""The exact weights as dense float arrays and a JSON description: what both exports are built from.

:func:`describe` reads ``model.network`` — the runtime's weights — by its **shape**, never by the
construction's name: a :class:`~turingformer.runtime.transformer.Transformer` (an encoder–decoder)
or a :class:`~turingformer.runtime.looped.LoopedTransformer` (a looped encoder). It returns a
:class:`Description`: ``config`` (JSON: the layers, every named dimension, the hook names, how
the run halts, the model file it came from) and ``arrays`` (``{state_dict key: float64 array}``).

Every array entry is the exact rational weight **rounded once** to the nearest float64
(``float(Fraction)`` is correctly rounded), so an export is **inexact** from its first weight on
(docs/export.md, "Where float breaks"). Conventions, shared by the PyTorch module and the ONNX
graph (:mod:`.torch_module`, :mod:`.onnx_graph`):

* an affine map ``x W + b`` is stored as ``{name}.weight`` of shape (target, source) — the
  ``torch.nn.Linear`` convention — and ``{name}.bias`` of shape (target,), ``name`` being the
  runtime's own (``decoder.3.attn.query``, ``loop.2.ffn.0``; :meth:`Transformer.linears`);
* an attention head's query and key maps keep only the coordinates where both can be non-zero
  (``Attention.support``: every other coordinate adds an exact 0 to ⟨q, k⟩), named in
  ``config["spaces"]["{head}.key"]``; its value map writes the whole residual stream;
* every hidden layer's dimension names are ``config["spaces"][hook]`` (``decoder.1.ffn.hidden``,
  ``output.hidden.0``) and the residual's are ``config["dims"]``;
* an encoder–decoder also has ``embedding`` (one row per token of ``config["vocabulary"]``) and
  ``seed`` (y₀); the positional encoding pos(k) is *computed* in the graph from the
  ``[index, e]`` pairs of ``config["positional"]``: pos(k)[index] = k**e (Pérez: 1, k, 1/k, 1/k²);
* a looped model also has ``card``, the punch card X₀ its own run starts from (one row per
  column; :func:`held_card`): the network's default input, for a loader without this package.

The description is everything a loader needs: :mod:`.torch_module` rebuilds the network from it
without this package.
"""

from __future__ import annotations

import inspect
import json
from dataclasses import dataclass
from typing import Any

import numpy as np

from turingformer.compiler.protocol import Model
from turingformer.errors import ExportError
from turingformer.runtime.looped import IntegerLoop, LoopedTransformer
from turingformer.runtime.space import Linear, Space
from turingformer.runtime.transformer import MLP, Attention, Transformer, head_names

#: The export format's name and version (``config["format"]``, ``config["version"]``).
FORMAT = "turingformer-export"
VERSION = 1
#: The two shapes of network an export knows (``config["network"]``).
ENCODER_DECODER, LOOPED = "encoder-decoder", "looped"
#: The attention forms (docs/export.md): sum the tied values then divide, or weight them by the pattern.
FORMS = ("sum", "pattern")
#: What every export says about itself.
INEXACT = ("INEXACT: the exact rational weights rounded once to {dtype}; runs agree with the exact model only "
           "as long as no rounding changes an attention decision (docs/export.md, 'Where float breaks'; "
           "turingformer export MODEL --check N finds the first divergence)")


@dataclass(frozen=True, repr=False)
class Description:
    """A network as float arrays and JSON (module docstring)."""

    config: dict
    arrays: dict[str, np.ndarray]

    def __repr__(self) -> str:
        return (f"Description({self.config['network']}, d={len(self.config['dims'])}, "
                f"arrays={len(self.arrays)}, parameters={sum(a.size for a in self.arrays.values()):,})")


def describe(model: Model, *, form: str = "sum") -> Description:
    """The :class:`Description` of ``model.network`` (an encoder–decoder or a looped network),
    with the model's halting rule and its model file, for decoding the export's runs back;
    ``form`` is the attention form the export computes (``"sum"`` or ``"pattern"``, docs/export.md)."""
    from turingformer.modelfile import to_json
    if form not in FORMS:
        raise ExportError(f"no attention form {form!r}", hint=f"use one of: {', '.join(FORMS)}")
    network = getattr(model, "network", None)
    builder = _Builder(network.space if network is not None else None)
    if isinstance(network, Transformer):
        body = builder.encoder_decoder(network)
    elif isinstance(network, LoopedTransformer):
        body = builder.looped(network, held_card(model, network))
    else:
        raise ExportError(f"a {type(model).__name__} has a network of type {type(network).__name__}; the exports "
                          "know an encoder-decoder Transformer and a LoopedTransformer",
                          hint="give the model a runtime network (Model.network) of one of those shapes")
    halting = model.halting()
    config = {
        "format": FORMAT, "version": VERSION, "network": body.pop("network"),
        "model_kind": model.kind, "construction": model.construction, "name": model.name,
        "score": network.score, "form": form, "dims": list(network.space.names), **body,
        "spaces": builder.spaces,
        "halting": None if halting is None else {"dims": list(halting.dims), "value": halting.value},
        "model": to_json(model, getattr(model, "source", None)),
    }
    for name in config["halting"]["dims"] if halting else ():
        network.space.index(name)          # a halting rule names residual dimensions
    return Description(config, builder.arrays)


class _Builder:
    """Collects the arrays and the named spaces while walking a network."""

    def __init__(self, residual: Space | None):
        self.residual = residual
        self.arrays: dict[str, np.ndarray] = {}
        self.spaces: dict[str, list[str]] = {}

    # -- maps
    def linear(self, name: str, m: Linear, rows: tuple[int, ...] | None = None) -> None:
        """``name.weight`` (target × source) and ``name.bias``, restricted to the output ``rows``."""
        rows = tuple(range(len(m.target))) if rows is None else rows
        pick = {o: r for r, o in enumerate(rows)}
        W = np.zeros((len(rows), len(m.source)))
        b = np.zeros(len(rows))
        for i, o, w in m.weights:
            if o in pick:
                W[pick[o], i] = float(w)
        for o, v in m.bias:
            if o in pick:
                b[pick[o]] = float(v)
        self.arrays[f"{name}.weight"], self.arrays[f"{name}.bias"] = W, b

    def attention(self, name: str, head: Attention) -> dict:
        self.linear(f"{name}.query", head.query, head.support)
        self.linear(f"{name}.key", head.key, head.support)
        self.linear(f"{name}.value", head.value)
        self.spaces[f"{name}.key"] = [head.key.target.names[s] for s in head.support]
        return {"support": len(head.support)}

    def mlp(self, prefix: str, mlp: MLP | None) -> dict | None:
        if mlp is None:
            return None
        hidden = []
        for k, layer in enumerate(mlp.layers):
            self.linear(f"{prefix}.{k}", layer)
            if k < len(mlp.layers) - 1:
                hook = f"{prefix}.hidden" if len(mlp.layers) == 2 else f"{prefix}.hidden.{k}"
                self.spaces[hook] = list(layer.target.names)
                hidden.append(len(layer.target))
        return {"layers": len(mlp.layers), "hidden": hidden}

    def heads(self, prefix: str, heads) -> list[dict]:
        return [self.attention(name, h) for name, h in zip(head_names(prefix, len(heads)), heads)]

    # -- networks
    def encoder_decoder(self, t: Transformer) -> dict:
        space = t.space
        vocabulary = list(t.embedding)
        E = np.zeros((len(vocabulary), len(space)))
        for row, token in enumerate(vocabulary):
            for name, value in t.embedding[token].items():
                E[row, space.index(name)] = float(value)
        self.arrays["embedding"] = E
        self.arrays["seed"] = np.array([float(v) for v in t.seed])
        pe = t.positional
        return {
            "network": ENCODER_DECODER, "vocabulary": vocabulary,
            "positional": [[space.index(name), e] for name, e in pe.powers],
            "encoder": [{"heads": self.heads(f"encoder.{l}", (layer.attn,)), "ffn": self.mlp(f"encoder.{l}.ffn", layer.ffn)}
                        for l, layer in enumerate(t.encoder)],
            "decoder": [{"heads": self.heads(f"decoder.{l}", (layer.attn,)),
                         "cross": None if layer.cross is None else self.attention(f"decoder.{l}.cross", layer.cross),
                         "ffn": self.mlp(f"decoder.{l}.ffn", layer.ffn)}
                        for l, layer in enumerate(t.decoder, start=1)],
            "output": self.mlp("output", t.output),
        }

    def looped(self, t: LoopedTransformer, card) -> dict:
        self.arrays["card"] = np.array([[float(v) for v in column] for column in card]).reshape(len(card), len(t.space))
        return {"network": LOOPED, "columns": len(card),
                "blocks": [{"heads": self.heads(f"loop.{l}", block.heads), "ffn": self.mlp(f"loop.{l}.ffn", block.ffn)}
                           for l, block in enumerate(t.blocks)]}


class _CardProbe(IntegerLoop):
    """The exact integer path, remembering the first card the model's own run gives it."""

    card = None

    def to_array(self, X):
        self.card = X if self.card is None else self.card
        return super().to_array(X)


def held_card(model: Model, network: LoopedTransformer) -> tuple:
    """The punch card the model's own run starts from (its held input): what a looped model feeds
    its network, asked through the protocol (a zero-step run on a recording runner)."""
    probe = _CardProbe(network)
    run_on(model, probe, None, max_steps=0)
    if probe.card is None:
        raise ExportError(f"a {type(model).__name__}'s run gave its runner no punch card")
    return probe.card


def run_on(model: Model, runner, input: str | None, **options) -> Any:
    """``model.run(input, runner=runner, **options)``: the model's own decoding over another runner
    of its network; an :class:`ExportError` when the model's run takes no runner."""
    if "runner" not in inspect.signature(model.run).parameters:
        raise ExportError(f"a {type(model).__name__}'s run takes no runner (Model.run(..., runner=...)), so an "
                          "export cannot be run through its decoding",
                          hint="give its run the protocol's runner argument (docs/architecture.md, 'The protocol')")
    return model.run(input, runner=runner, **options)


def dumps(config: dict) -> str:
    """The config as the one-line JSON the exports store (safetensors metadata, ONNX metadata_props)."""
    return json.dumps(config, ensure_ascii=False, separators=(",", ":"))


def loads(text: str, where: str) -> dict:
    """The config stored in an export; an :class:`ExportError` naming ``where`` when it is not one."""
    try:
        config = json.loads(text)
    except ValueError as error:
        raise ExportError(f"{where}: the export's description is not JSON ({error})",
                          hint="export the model again: turingformer export MODEL --to torch|onnx -o OUT") from None
    if not isinstance(config, dict) or config.get("format") != FORMAT:
        raise ExportError(f"{where} is not a turingformer export", hint="export a model: turingformer export MODEL ...")
    if config.get("version") != VERSION:
        raise ExportError(f"{where}: export version {str(config.get('version'))[:20]}; this turingformer reads "
                          f"version {VERSION}", hint="export the model again with this turingformer")
    return config


def model_of(config: dict, where: str) -> Any:
    """The turingformer model an export was made from (its embedded model file), for decoding."""
    from turingformer.modelfile import read_json
    return read_json(config["model"], f"{where} (its model file)").model
