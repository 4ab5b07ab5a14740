"""The exported network as an ONNX graph, built node by node with ``onnx.helper`` from the
description of :mod:`.spec` (the exact weights rounded once to float64 or float32; no torch).

The ops are those of the runtime (``turingformer/runtime/transformer.py``): an affine map is a
``Gemm`` (``transB=1``, the weights in the ``torch.nn.Linear`` layout under their state_dict
names), σ a ``Clip(0, 1)``, a score ``Neg(Abs(MatMul(q, kᵀ)))`` (``Min(·, 1)`` first for the
clipped score), average-hard attention ``ReduceMax`` / ``Equal`` / ``Cast`` (the winner mask) and,
in the default *sum* form, ``Div(MatMul(winners, V), r)`` with r the number of winners (at least
1: an empty key set gives 0) — or ``MatMul(winners / r, V)`` in the *pattern* form. Opset 18,
no custom op; :func:`build` runs ``onnx.checker`` (full check) on the result.

Two graphs, by the network's shape (docs/export.md, "ONNX"):

* **looped**: one ``Loop``. Inputs ``card`` (n × d; default: the card the model holds) and
  ``max_loops`` (int64; default 100,000); outputs ``card_final`` and ``cards`` (T × n × d, one card
  per loop, a scan output). The loop condition is the model's halting rule (``config["halting"]``:
  the first column holds the value in those dimensions), so the graph stops by itself; every head's
  winner mask is a scan output (``loop.{l}.attn[.h].winners``, T × n × n).
* **encoder–decoder**: the *decoder step*, with past keys and values as inputs and outputs (the
  form ONNX decoders ship in). Inputs ``input_ids`` (int64, n: the encoder tokens, indices into
  ``config["vocabulary"]``), ``y`` (d: y_i), ``position`` (int64: i) and, per decoder layer,
  ``past.decoder.{l}.attn.key`` (i × s) / ``.value`` (i × d); outputs ``y_next`` (y_{i+1}),
  ``halted`` (bool), ``present.…`` (the caches with position i appended) and every layer's
  ``decoder.{l}.resid_post``. The encoder (cheap for the Pérez construction: its one attention
  has a zero value map) runs inside every step. y₀ is the initializer ``seed``. The driver:
  :class:`turingformer.export.runners.OnnxDecoder`, and docs/export.md.

``activations`` adds hook names (docs/hooks.md; ``"all"``: every one) as named extra outputs
(inside the ``Loop``: scan outputs, one row per loop). The description is in the model's
``metadata_props`` under ``"turingformer"``.
"""

from __future__ import annotations

import numpy as np

from turingformer.errors import ExportError
from turingformer.export.spec import ENCODER_DECODER, Description, dumps, loads

OPSET = 18
METADATA_KEY = "turingformer"
#: The default of the looped graph's ``max_loops`` input.
MAX_LOOPS = 100_000


def is_onnx(value) -> bool:
    """Whether ``value`` is an ``onnx.ModelProto``."""
    return type(value).__name__ == "ModelProto" and hasattr(value, "graph")


def config_of(proto, where: str) -> dict:
    """The description stored in an ONNX export's metadata."""
    for prop in proto.metadata_props:
        if prop.key == METADATA_KEY:
            return loads(prop.value, where)
    raise ExportError(f"{where} is an ONNX model but no turingformer export",
                      hint="export a model: turingformer export MODEL --to onnx -o OUT.onnx")


class _Graph:
    """Nodes (of the graph being built: the main one or a Loop body), the shared initializers and
    the requested activations."""

    def __init__(self, dtype: str, activations):
        from onnx import TensorProto
        self.np = np.dtype(dtype)
        self.elem = TensorProto.DOUBLE if dtype == "float64" else TensorProto.FLOAT
        self.nodes: list = []
        self.initializers: list = []
        self.wanted = activations
        self.found: list[tuple[str, int]] = []     # (hook, rank) of the activations added
        self.scope = ""                            # "body." inside the Loop body: its names stay its own
        self.count = 0

    def fresh(self, hint: str) -> str:
        self.count += 1
        return f"{hint}_{self.count}"

    def op(self, op_type: str, inputs: list[str], hint: str | None = None, **attrs) -> str:
        from onnx import helper
        out = self.fresh(hint or op_type.lower())
        self.nodes.append(helper.make_node(op_type, inputs, [out], **attrs))
        return out

    def initializer(self, name: str, array: np.ndarray) -> str:
        from onnx import numpy_helper
        self.initializers.append(numpy_helper.from_array(np.array(array, order="C"), name))
        return name

    def const(self, value, hint: str, dtype=None) -> str:
        return self.initializer(self.fresh(hint), np.asarray(value, dtype=dtype or self.np))

    def linear(self, x: str, name: str) -> str:
        return self.op("Gemm", [x, f"{name}.weight", f"{name}.bias"], name.replace(".", "_"), transB=1)

    def hook(self, name: str, value: str) -> str:
        """Expose ``value`` as the output ``name`` (in the Loop body: ``body.name``) when asked (:attr:`wanted`)."""
        from onnx import helper
        if self.wanted == "all" or name in self.wanted:
            self.nodes.append(helper.make_node("Identity", [value], [self.scope + name]))
            self.found.append((name, 2))
        return value

    def outputs(self, rank_extra: int = 0) -> list:
        """The value infos of the activations added (shapes left open; a Loop's scans have one more axis)."""
        from onnx import helper
        return [helper.make_tensor_value_info(self.scope + name, self.elem, [None] * (rank + rank_extra))
                for name, rank in self.found]

    def axes(self, *values: int) -> str:
        return self.const(list(values), "axes", np.int64)


def _attention(g: _Graph, name: str, x: str, keys: str, values: str, score: str, form: str) -> str:
    """One average-hard attention of queries ``x`` over ``keys`` / ``values`` (module docstring)."""
    dots = g.op("MatMul", [g.linear(x, f"{name}.query"), g.op("Transpose", [keys], perm=[1, 0])])
    magnitude = g.op("Abs", [dots])
    if score == "clipped":
        magnitude = g.op("Min", [magnitude, g.const(1, "one")])
    scores = g.hook(f"{name}.scores", g.op("Neg", [magnitude], "scores"))
    best = g.op("ReduceMax", [scores, g.axes(-1)], keepdims=1)
    winners = g.hook(f"{name}.winners", g.op("Cast", [g.op("Equal", [scores, best])], "winners", to=g.elem))
    r = g.op("Max", [g.op("ReduceSum", [winners, g.axes(-1)], keepdims=1), g.const(1, "one")], "r")
    pattern = g.hook(f"{name}.pattern", g.op("Div", [winners, r], "pattern"))
    if form == "pattern":
        out = g.op("MatMul", [pattern, values])
    else:
        out = g.op("Div", [g.op("MatMul", [winners, values]), r])
    return g.hook(f"{name}.out", out)


def _mlp(g: _Graph, prefix: str, spec: dict, x: str, last: str) -> str:
    layers = spec["layers"]
    for k in range(layers):
        x = g.linear(x, f"{prefix}.{k}")
        if k < layers - 1:
            x = g.op("Clip", [x, g.const(0, "zero"), g.const(1, "one")], "sigma")
            g.hook(f"{prefix}.hidden" if layers == 2 else f"{prefix}.hidden.{k}", x)
    return g.hook(f"{prefix}.{last}", x)


def _layer(g: _Graph, prefix: str, spec: dict, x: str, *, score: str, form: str, last: str,
           cache: dict | None = None, memory: tuple[str, str] | None = None) -> str:
    """One block (torch_module.Layer): heads, cross-attention, FFN, with the runtime's hook names.
    With ``cache``, each head's keys and values are appended to ``past.{head}.key|value`` and the
    results become the outputs ``present.…``."""
    x = g.hook(f"{prefix}.resid_pre", x)
    mid = x
    heads = spec["heads"]
    for h in range(len(heads)):
        name = f"{prefix}.attn" if len(heads) == 1 else f"{prefix}.attn.{h}"
        keys, values = g.linear(x, f"{name}.key"), g.linear(x, f"{name}.value")
        if cache is not None:
            keys = g.op("Concat", [f"past.{name}.key", keys], axis=0)
            values = g.op("Concat", [f"past.{name}.value", values], axis=0)
            cache[name] = (keys, values, heads[h]["support"])
        mid = g.op("Add", [mid, _attention(g, name, x, keys, values, score, form)])
    mid = g.hook(f"{prefix}.resid_mid", mid)
    if spec.get("cross"):
        mid = g.op("Add", [mid, _attention(g, f"{prefix}.cross", mid, *memory, score, form)])
    if "cross" in spec:                 # a decoder layer
        mid = g.hook(f"{prefix}.resid_cross", mid)
    out = mid if not spec.get("ffn") else g.op("Add", [mid, _mlp(g, f"{prefix}.ffn", spec["ffn"], mid, "out")])
    return g.hook(f"{prefix}.{last}", out)


def _halted(g: _Graph, config: dict, x: str) -> str:
    """A bool scalar: the first row of ``x`` holds the halting value in the halting dimensions
    (False, always, without a halting rule)."""
    halting = config["halting"]
    if halting is None:
        return g.const(False, "never", np.bool_)
    dims = [config["dims"].index(name) for name in halting["dims"]]
    row = g.op("Gather", [x, g.const(0, "row", np.int64)], axis=0)
    picked = g.op("Gather", [row, g.const(dims, "dims", np.int64)], axis=0)
    equal = g.op("Cast", [g.op("Equal", [picked, g.const([halting["value"]] * len(dims), "halt_value")])], to=g.elem)
    return g.op("Equal", [g.op("ReduceMin", [equal, g.axes(0)], keepdims=0), g.const(1, "one")], "halted")


def _positions(g: _Graph, config: dict, k: str) -> str:
    """pos(k) for the positions ``k`` (a vector of the float type): (len(k), d), computed in the graph."""
    d = len(config["dims"])
    column = g.op("Unsqueeze", [k, g.axes(1)])
    one = g.const(1, "one")
    out = g.const(np.zeros((1, d)), "pos_zero")
    for index, e in config["positional"]:      # k**e as |e| − 1 products and one division
        row = np.zeros((1, d))
        row[0, index] = 1
        power = one
        for _ in range(abs(e)):
            power = column if power == one else g.op("Mul", [power, column])
        if e < 0:
            power = g.op("Div", [one, power])
        out = g.op("Add", [g.op("Mul", [power, g.const(row, f"pos_{index}")]), out])
    return out


def _decoder_step(g: _Graph, config: dict, form: str) -> tuple[list, list]:
    from onnx import TensorProto, helper
    d, score = len(config["dims"]), config["score"]
    ids = "input_ids"
    n = g.op("Gather", [g.op("Shape", [ids]), g.const(0, "zero_index", np.int64)], axis=0)
    first = g.const(1, "first", np.int64)
    k = g.op("Cast", [g.op("Range", [first, g.op("Add", [n, first]), first])], "k", to=g.elem)
    x = g.op("Add", [g.op("Gather", ["embedding", ids], axis=0), _positions(g, config, k)], "embedded")
    for l, spec in enumerate(config["encoder"]):
        x = _layer(g, f"encoder.{l}", spec, x, score=score, form=form, last="out")
    position = g.op("Cast", [g.op("Add", ["position", first])], to=g.elem)
    h = g.op("Add", [g.op("Unsqueeze", ["y", g.axes(0)]),
                     _positions(g, config, g.op("Unsqueeze", [position, g.axes(0)]))], "h")
    cache: dict = {}
    for l, spec in enumerate(config["decoder"], start=1):
        memory = None
        if spec.get("cross"):
            memory = (g.linear(x, f"decoder.{l}.cross.key"), g.linear(x, f"decoder.{l}.cross.value"))
        if g.wanted != "all":           # the layer outputs and every attention decision are always outputs
            g.wanted = {*g.wanted, f"decoder.{l}.resid_post", f"decoder.{l}.attn.winners",
                        *([f"decoder.{l}.cross.winners"] if spec.get("cross") else [])}
        h = _layer(g, f"decoder.{l}", spec, h, score=score, form=form, last="resid_post", cache=cache, memory=memory)
    y = _mlp(g, "output", config["output"], h, "y")
    g.nodes.append(helper.make_node("Squeeze", [y, g.axes(0)], ["y_next"]))
    g.nodes.append(helper.make_node("Identity", [_halted(g, config, y)], ["halted"]))
    inputs = [helper.make_tensor_value_info(ids, TensorProto.INT64, ["n"]),
              helper.make_tensor_value_info("y", g.elem, [d]),
              helper.make_tensor_value_info("position", TensorProto.INT64, [])]
    outputs = [helper.make_tensor_value_info("y_next", g.elem, [d]),
               helper.make_tensor_value_info("halted", TensorProto.BOOL, []), *g.outputs()]
    for name, (keys, values, support) in cache.items():
        for part, value, width in (("key", keys, support), ("value", values, d)):
            inputs.append(helper.make_tensor_value_info(f"past.{name}.{part}", g.elem, ["i", width]))
            g.nodes.append(helper.make_node("Identity", [value], [f"present.{name}.{part}"]))
            outputs.append(helper.make_tensor_value_info(f"present.{name}.{part}", g.elem, ["i+1", width]))
    return inputs, outputs


def _loop(g: _Graph, config: dict, form: str, card: np.ndarray) -> tuple[list, list]:
    from onnx import TensorProto, helper
    d, score = len(config["dims"]), config["score"]
    if g.wanted != "all":               # every head's winner mask is a scan output: the loop's decisions
        g.wanted = {*g.wanted, *(f"loop.{l}.attn{'' if len(b['heads']) == 1 else f'.{h}'}.winners"
                                 for l, b in enumerate(config["blocks"]) for h in range(len(b["heads"])))}
    main, g.nodes, g.scope = g.nodes, [], "body."
    X = "X"
    for l, spec in enumerate(config["blocks"]):
        X = _layer(g, f"loop.{l}", spec, X, score=score, form=form, last="out")
    g.nodes += [helper.make_node("Not", [_halted(g, config, X)], ["cond_out"]),
                helper.make_node("Identity", [X], ["X_next"]), helper.make_node("Identity", [X], ["card_t"])]
    body = helper.make_graph(
        g.nodes, "loop_body",
        [helper.make_tensor_value_info("iteration", TensorProto.INT64, []),
         helper.make_tensor_value_info("cond_in", TensorProto.BOOL, []),
         helper.make_tensor_value_info("X", g.elem, ["n", d])],
        [helper.make_tensor_value_info("cond_out", TensorProto.BOOL, []),
         helper.make_tensor_value_info("X_next", g.elem, ["n", d]),
         helper.make_tensor_value_info("card_t", g.elem, ["n", d]), *g.outputs()])
    g.nodes, g.scope = main, ""
    running = g.op("Not", [_halted(g, config, "card")], "running")
    g.initializer("card", card.astype(g.np))
    g.initializer("max_loops", np.array(MAX_LOOPS, dtype=np.int64))
    hooks = [name for name, _ in g.found]
    g.nodes.append(helper.make_node("Loop", ["max_loops", running, "card"], ["card_final", "cards", *hooks],
                                    body=body))
    inputs = [helper.make_tensor_value_info("card", g.elem, ["n", d]),
              helper.make_tensor_value_info("max_loops", TensorProto.INT64, [])]
    outputs = [helper.make_tensor_value_info("card_final", g.elem, ["n", d]),
               helper.make_tensor_value_info("cards", g.elem, ["T", "n", d]), *g.outputs(rank_extra=1)]
    return inputs, outputs


def build(described: Description, *, dtype: str = "float64", activations=()) -> "onnx.ModelProto":
    """The ONNX model of a described network (module docstring), validated by ``onnx.checker``."""
    import onnx
    from onnx import helper
    if dtype not in ("float64", "float32"):
        raise ExportError(f"no {dtype!r} export", hint="use float64 (the default) or float32")
    wanted = "all" if activations == "all" else set(activations)
    config, arrays = described.config, described.arrays
    g = _Graph(dtype, wanted)
    for key, array in arrays.items():
        if key != "card":
            g.initializer(key, array.astype(g.np))
    form = config["form"]
    if config["network"] == ENCODER_DECODER:
        inputs, outputs = _decoder_step(g, config, form)
    else:
        inputs, outputs = _loop(g, config, form, arrays["card"])
    if wanted != "all":
        missing = sorted(wanted - {name for name, _ in g.found})
        if missing:
            raise ExportError(f"the network has no hook {missing[0]!r} to export",
                              hint="docs/hooks.md lists the hook names; 'all' exports every one")
    graph = helper.make_graph(g.nodes, f"turingformer {config['network']}", inputs, outputs, g.initializers)
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", OPSET)], producer_name="turingformer")
    helper.set_model_props(model, {METADATA_KEY: dumps({**config, "dtype": dtype})})
    onnx.checker.check_model(model, full_check=True)
    return model
