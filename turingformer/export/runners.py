"""Exports as *runners* of the weights they came from, for the model's own decoding (``Model.run(...,
runner=...)``; compiler/protocol.py, *Runners*).

A runner follows the shape of the network, never the construction:

* an encoder–decoder's runner is a **decoder function** with the contract of
  :func:`turingformer.runtime.transformer.decode`: ``runner(transformer, tokens, max_steps=,
  stop=, capture=)`` yields :class:`~turingformer.runtime.transformer.Step` objects (outputs as float64
  arrays, the captured hooks among them) — :class:`TorchDecoder`, :class:`OnnxDecoder`;
* a looped network's runner has the ``to_array(card)`` / ``step(X) -> (X', decisions)`` of
  :class:`~turingformer.runtime.looped.IntegerLoop` (X a d × n float64 array; ``decisions`` per
  block, per head, the 0/1 winner mask over key columns of every query column) — :class:`TorchLoop`,
  :class:`OnnxLoop`.

The ``transformer`` a decoder function is handed is the exact one the model decodes with; a
runner computes with its own (exported, float) weights of it. :func:`runner_for` pairs an export
with the model embedded in it.
"""

from __future__ import annotations

import contextlib
from typing import Callable, Collection, Iterator, Sequence

import numpy as np

from turingformer.errors import ExportError
from turingformer.export.spec import ENCODER_DECODER, model_of
from turingformer.runtime.transformer import Step, autoregress


def winner_hooks(config: dict) -> list[str]:
    """The ``*.winners`` hooks of every attention of an encoder–decoder's decoder, in network order."""
    hooks = []
    for l, layer in enumerate(config["decoder"], start=1):
        heads = layer["heads"]
        hooks += [f"decoder.{l}.attn.winners"] if len(heads) == 1 else \
            [f"decoder.{l}.attn.{h}.winners" for h in range(len(heads))]
        if layer.get("cross"):
            hooks.append(f"decoder.{l}.cross.winners")
    return hooks


def card_array(card: Sequence[Sequence]) -> np.ndarray:
    """A punch card (columns of exact numbers) as a d × n float64 array: each entry rounded once."""
    return np.array([[float(v) for v in column] for column in card], dtype=np.float64).reshape(len(card), -1).T.copy()


# ---------------------------------------------------------------------------- torch
class TorchDecoder:
    """Runs an exported :class:`~.torch_module.EncoderDecoder` with its key/value cache, the
    captured hooks read by PyTorch forward hooks on the hook points of those names."""

    tolerance = 0.0

    def __init__(self, net):
        self.net = net
        self.modules = dict(net.named_modules())

    def __call__(self, transformer, tokens: Sequence[str], *, max_steps: int, stop: Callable = lambda y: False,
                 capture: Collection[str] | None = ()) -> Iterator[Step]:
        import torch
        net = self.net
        wanted = [name for name in self.modules if _hook_like(name)] if capture is None else list(capture)
        missing = [name for name in wanted if name not in self.modules]
        if missing:
            raise ExportError(f"the torch export has no hook {missing[0]!r}", hint="docs/hooks.md lists the hook names")
        seen: dict[str, np.ndarray] = {}
        handles = [self.modules[name].register_forward_hook(_keeper(seen, name)) for name in wanted]

        def step(i: int, y):
            seen.clear()
            with one_thread(), torch.inference_mode():
                out = net.step(torch.as_tensor(y, dtype=dtype, device=device), cache)
            return out.double().cpu().numpy(), {name: value[0] if value.ndim > 1 else value
                                                for name, value in seen.items()}

        device, dtype = net.seed.device, net.seed.dtype
        try:
            with one_thread(), torch.inference_mode():
                cache = net.start(net.tokens(tokens))
            for out in autoregress(step, net.seed.double().cpu().numpy(), max_steps=max_steps, stop=stop,
                                   encoder_activations={}):
                yield out
        finally:
            for handle in handles:
                handle.remove()


@contextlib.contextmanager
def one_thread():
    """torch on one thread while a runner runs: its tensors are tiny, and the threads of a parallel
    region only wait for each other (on a loaded machine, 10-40x slower); the setting is restored."""
    import torch
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        yield
    finally:
        torch.set_num_threads(threads)


def _hook_like(name: str) -> bool:
    return bool(name) and "." in name


def _keeper(seen: dict, name: str):
    def keep(module, inputs, output):
        seen[name] = output.detach().double().cpu().numpy()
    return keep


class TorchLoop:
    """Runs an exported :class:`~.torch_module.Looped` one loop per :meth:`step`, reporting every
    head's winner mask (read by forward hooks on the ``*.winners`` hook points)."""

    def __init__(self, net):
        self.net = net
        modules = dict(net.named_modules())
        self.winners = [[f"loop.{l}.{name}" for name, _ in block.named_modules() if name.endswith("winners")]
                        for l, block in enumerate(net.loop.values())]
        self.modules = {name: modules[name] for names in self.winners for name in names}

    to_array = staticmethod(card_array)

    def step(self, X: np.ndarray) -> tuple[np.ndarray, list[tuple[np.ndarray, ...]]]:
        import torch
        net = self.net
        seen: dict[str, np.ndarray] = {}
        handles = [module.register_forward_hook(_keeper(seen, name)) for name, module in self.modules.items()]
        try:
            with one_thread(), torch.inference_mode():
                out = net(torch.as_tensor(X.T, dtype=net.card.dtype, device=net.card.device))
        finally:
            for handle in handles:
                handle.remove()
        return out.double().cpu().numpy().T.copy(), [tuple(seen[name] != 0 for name in names) for names in self.winners]


# ---------------------------------------------------------------------------- onnx
def _session(proto):
    import onnxruntime
    options = onnxruntime.SessionOptions()
    options.intra_op_num_threads = options.inter_op_num_threads = 1
    options.log_severity_level = 3      # errors only: not the notes of its graph optimiser
    return onnxruntime.InferenceSession(proto.SerializeToString(), options, providers=["CPUExecutionProvider"])


class OnnxDecoder:
    """Drives the decoder-step graph of an encoder–decoder export with onnxruntime: past keys and
    values in, present ones out, y₀ the initializer ``seed`` (docs/export.md, "ONNX")."""

    tolerance = 0.0

    def __init__(self, proto, config: dict):
        from onnx import numpy_helper
        self.session = _session(proto)
        self.outputs = [o.name for o in self.session.get_outputs()]
        self.dtype = np.dtype(config["dtype"])
        self.vocabulary = {token: k for k, token in enumerate(config["vocabulary"])}
        self.past = {i.name: i.shape[1] for i in self.session.get_inputs() if i.name.startswith("past.")}
        self.seed = next(numpy_helper.to_array(t) for t in proto.graph.initializer if t.name == "seed").astype(np.float64)

    def __call__(self, transformer, tokens: Sequence[str], *, max_steps: int, stop: Callable = lambda y: False,
                 capture: Collection[str] | None = ()) -> Iterator[Step]:
        wanted = [o for o in self.outputs if "." in o and not o.startswith("present.")] if capture is None \
            else list(capture)
        missing = [name for name in wanted if name not in self.outputs]
        if missing:
            raise ExportError(f"the ONNX export has no output {missing[0]!r}",
                              hint=f"export it with: turingformer export MODEL --to onnx --activations {missing[0]} "
                                   "(or all)")
        ids = np.array([self.vocabulary[t] for t in tokens], dtype=np.int64)
        past = {name: np.zeros((0, width), dtype=self.dtype) for name, width in self.past.items()}

        def step(i: int, y):
            results = dict(zip(self.outputs, self.session.run(None, {
                "input_ids": ids, "y": np.asarray(y, dtype=self.dtype), "position": np.array(i, dtype=np.int64),
                **past})))
            for name in past:
                past[name] = results["present." + name[len("past."):]]
            return (results["y_next"].astype(np.float64),
                    {name: results[name].astype(np.float64)[0 if name.startswith("decoder.") else slice(None)]
                     for name in wanted})

        return autoregress(step, self.seed, max_steps=max_steps, stop=stop, encoder_activations={})


class OnnxLoop:
    """Drives the ``Loop`` graph of a looped export with onnxruntime. One session call runs up to
    ``chunk`` loops (the graph stops by itself when the card halts); :meth:`step` hands out the
    cards of the last call one by one and calls again when they run out."""

    def __init__(self, proto, config: dict, chunk: int = 256):
        self.session = _session(proto)
        self.outputs = [o.name for o in self.session.get_outputs()]
        self.chunk = chunk
        self.dtype = np.dtype(config["dtype"])
        self.blocks = [[f"loop.{l}.attn.winners"] if len(b["heads"]) == 1 else
                       [f"loop.{l}.attn.{h}.winners" for h in range(len(b["heads"]))] for l, b in enumerate(config["blocks"])]
        self._ahead: list = []
        self._last = None

    to_array = staticmethod(card_array)

    def step(self, X: np.ndarray) -> tuple[np.ndarray, list[tuple[np.ndarray, ...]]]:
        if not (self._ahead and X is self._last):
            results = dict(zip(self.outputs, self.session.run(None, {
                "card": np.ascontiguousarray(X.T, dtype=self.dtype), "max_loops": np.array(self.chunk, dtype=np.int64)})))
            cards = results["cards"]
            if not len(cards):          # a halted card: the graph runs no loop
                return X, []
            self._ahead = [(cards[t], [tuple(results[name][t] != 0 for name in names) for names in self.blocks])
                           for t in range(len(cards))]
        card, decisions = self._ahead.pop(0)
        self._last = card.astype(np.float64).T.copy()
        return self._last, decisions


def runner_for(exported, model=None) -> tuple[object, object]:
    """(runner, model) of an export — a torch module or an ONNX model — and the model it was made
    from: ``model`` when given (it must have the export's kind and residual dimensions), else the one
    a torch module was built from, else the model file embedded in the export (read once per module)."""
    from turingformer.export.onnx_graph import config_of, is_onnx
    if is_onnx(exported):
        config = config_of(exported, "the ONNX export")
        runner = OnnxDecoder(exported, config) if config["network"] == ENCODER_DECODER else OnnxLoop(exported, config)
    elif hasattr(exported, "config") and hasattr(exported, "dims"):
        config = exported.config
        runner = TorchDecoder(exported) if config["network"] == ENCODER_DECODER else TorchLoop(exported)
        model = model or getattr(exported, "compiled_model", None)
    else:
        raise ExportError(f"a {type(exported).__name__} is no export", hint="turingformer.export.to_torch(model) / to_onnx(model)")
    if model is None:
        model = model_of(config, "the export")
    elif model.kind != config["model_kind"] or list(model.network.space.names) != config["dims"]:
        raise ExportError(f"this export was made from a {config['model_kind']} model with other dimensions than the "
                          f"given {model.kind} model", hint="run an export with the model it was exported from")
    if not is_onnx(exported):
        exported.compiled_model = model
    return runner, model


def run(exported, input: str | None = None, *, max_steps: int | None = None, progress=None, model=None):
    """:func:`turingformer.export.run` of an export object (not a path)."""
    from turingformer.export.spec import run_on
    runner, model = runner_for(exported, model)
    return run_on(model, runner, input, max_steps=max_steps, progress=progress)
