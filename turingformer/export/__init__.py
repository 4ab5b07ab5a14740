"""Exports: the compiled weights as a PyTorch module and as an ONNX graph (docs/export.md).

Every model kind the registry knows is exported the same way, by the shape of its runtime network
(``model.network``: an encoder–decoder :class:`~turingformer.runtime.transformer.Transformer` or a
:class:`~turingformer.runtime.looped.LoopedTransformer`; :mod:`.spec`), never by its construction:

* :func:`to_torch` — an ``nn.Module`` (float64, float32 on request) with the project's hook names
  (:mod:`.torch_module`, a standalone file); :func:`save_torch` / :func:`load_torch` write and read
  it as safetensors (a ``state_dict`` with the description, labels included, in its metadata);
* :func:`to_onnx` — an ``onnx.ModelProto`` built with ``onnx.helper`` from the exact weights (no
  torch): a looped model as one ``Loop`` graph, an encoder–decoder as the decoder step with past
  keys and values (:mod:`.onnx_graph`); :func:`save_onnx` / :func:`load_onnx`;
* :func:`run` — an export's run decoded into the user's terms by the model's **own** decoding:
  the export plugs in as a *runner* of the same weights (``Model.run(..., runner=...)``,
  :mod:`.runners`), so the trace is the one ``turingformer run --json`` prints;
* :func:`check` — the export beside the exact runtime, step by step, until the first divergence
  (:mod:`.lockstep`).

Exports are **inexact** (floats) and say so. torch and onnx/onnxruntime are optional extras
(``pip install 'turingformer[torch]'`` / ``'turingformer[onnx]'``): without them the rest of the
package works and these functions raise an :class:`~turingformer.errors.ExportError` naming the extra.
"""

from __future__ import annotations

import importlib
from pathlib import Path
from typing import Any

from turingformer.errors import ExportError

__all__ = ["to_torch", "save_torch", "load_torch", "to_onnx", "save_onnx", "load_onnx", "load", "run", "check",
           "require", "TARGETS"]

#: The export targets: name -> (the modules they need, the extra that installs them, the file suffix).
TARGETS = {
    "torch": (("torch", "safetensors"), "torch", ".safetensors"),
    "onnx": (("onnx", "onnxruntime"), "onnx", ".onnx"),
}


def require(target: str) -> None:
    """Import the modules ``target`` needs, or raise an :class:`ExportError` naming its extra."""
    modules, extra, _ = TARGETS[target]
    for name in modules:
        try:
            importlib.import_module(name)
        except ImportError:
            raise ExportError(f"exporting to {target} needs the Python package {name!r}, which is not installed",
                              hint=f"pip install 'turingformer[{extra}]' (docs/export.md, 'Install': a CPU-only "
                                   "torch)") from None


# ---------------------------------------------------------------------------- torch
def to_torch(model, *, dtype: str = "float64", form: str = "sum", hook_point: type | None = None,
             root: type | None = None):
    """The ``nn.Module`` of ``model`` (:mod:`.torch_module`): ``dtype`` ``"float64"`` or
    ``"float32"``; ``form`` the attention form (``"sum"`` or ``"pattern"``); ``hook_point`` /
    ``root`` for TransformerLens (:func:`.torch_module.build`)."""
    require("torch")
    import torch
    from turingformer.export import spec, torch_module
    described = spec.describe(model, form=form)
    net = torch_module.build(described.config, **({"hook_point": hook_point} if hook_point else {}), root=root)
    net.load_state_dict({k: torch.from_numpy(v) for k, v in described.arrays.items()}, strict=True)
    net = net.to(dtype=_torch_dtype(dtype)).requires_grad_(False)
    net.compiled_model = model          # what run() decodes with (a loaded export reads its embedded model file)
    return net


def _torch_dtype(dtype: str):
    import torch
    if dtype not in ("float64", "float32"):
        raise ExportError(f"no {dtype!r} export", hint="use float64 (the default) or float32")
    return getattr(torch, dtype)


def save_torch(net, path: str | Path) -> None:
    """Write a torch export atomically (safetensors: the ``state_dict`` and the description)."""
    from turingformer.export.torch_module import save
    from turingformer.files import atomic_path
    with atomic_path(path) as tmp:
        save(net, tmp)


def load_torch(path: str | Path, **options: Any):
    """The ``nn.Module`` of a torch export (``options``: those of :func:`.torch_module.load`)."""
    require("torch")
    from turingformer.export.torch_module import load as load_module
    try:
        return load_module(path, **options)
    except (ValueError, OSError, KeyError) as error:
        raise ExportError(f"{path}: not a turingformer torch export ({error})",
                          hint="export a model: turingformer export MODEL --to torch -o OUT.safetensors") from None


# ---------------------------------------------------------------------------- onnx
def to_onnx(model, *, dtype: str = "float64", form: str = "sum", activations=()):
    """The ``onnx.ModelProto`` of ``model`` (:mod:`.onnx_graph`), checked by ``onnx.checker``;
    ``activations``: hook names (or ``"all"``) to add as named extra outputs."""
    require("onnx")
    from turingformer.export import onnx_graph, spec
    return onnx_graph.build(spec.describe(model, form=form), dtype=dtype, activations=activations)


def save_onnx(proto, path: str | Path) -> None:
    """Write an ONNX export atomically."""
    from turingformer.files import write_atomic
    write_atomic(path, proto.SerializeToString())


def load_onnx(path: str | Path):
    """The ``onnx.ModelProto`` of an ONNX export (checked to be one)."""
    require("onnx")
    import onnx
    from turingformer.export import onnx_graph
    try:
        proto = onnx.load(str(path))
    except Exception as error:  # onnx raises DecodeError and friends for a file that is no ONNX
        raise ExportError(f"{path}: not an ONNX file ({type(error).__name__})",
                          hint="export a model: turingformer export MODEL --to onnx -o OUT.onnx") from None
    onnx_graph.config_of(proto, str(path))
    return proto


# ---------------------------------------------------------------------------- any export
def load(path: str | Path):
    """A torch or ONNX export, by its suffix (``.safetensors`` or ``.onnx``)."""
    suffix = Path(path).suffix
    for target, (_, _, ending) in TARGETS.items():
        if suffix == ending:
            return load_torch(path) if target == "torch" else load_onnx(path)
    raise ExportError(f"{path}: an export ends in .safetensors (torch) or .onnx", hint="name the file by its target")


def run(exported, input: str | None = None, *, max_steps: int | None = None, progress=None, model=None):
    """The run of an export (a torch module, an ONNX model, or a path to either), decoded by the
    model it was exported from (``model``; default: the model file embedded in the export) — the
    same :class:`~turingformer.compiler.protocol.Run` (and JSON Lines) as ``model.run(input)`` while
    the float run stays exact."""
    from turingformer.export.runners import run as run_export
    exported = load(exported) if isinstance(exported, (str, Path)) else exported
    return run_export(exported, input, max_steps=max_steps, progress=progress, model=model)


def check(exported, steps: int, input: str | None = None, *, progress=None, model=None):
    """Run ``exported`` beside the exact model (``model``, default: the one embedded in the export)
    for ``steps`` network steps (decoder steps or loops): a :class:`.lockstep.Check` with the first
    divergence, if any."""
    from turingformer.export.lockstep import check as check_export
    from turingformer.export.runners import runner_for
    exported = load(exported) if isinstance(exported, (str, Path)) else exported
    runner, model = runner_for(exported, model)
    return check_export(model, runner, steps, input, progress=progress)
