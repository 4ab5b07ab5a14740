"""``turingformer export MODEL --to torch|onnx -o OUT``: the weights where researchers work
(docs/export.md). The same for every model kind (``turingformer.export`` reads the model's runtime
network by its shape); ``--check N`` runs the written export beside the exact model and exits 1
at the first divergence, ``--run`` prints the written export's run exactly as ``run`` does."""

from __future__ import annotations

import argparse
from pathlib import Path

from turingformer.cli.common import input_arguments, max_steps_argument, non_negative, note, progress_bar
from turingformer.cli.machines import simulate_arguments
from turingformer.cli.model import model_argument, print_model_run, read_model_file, run_input
from turingformer.errors import ExportError

EXPORT_HELP = "export a model file's weights to PyTorch (safetensors) or ONNX: float, labelled inexact"
EXPORT_DESCRIPTION = (
    "Write the model's weights, rounded once to float64 (or --dtype float32), as a PyTorch state_dict "
    "(OUT.safetensors: an nn.Module with the project's hook names and named dimensions, loadable by the standalone "
    "turingformer/export/torch_module.py) or as an ONNX graph (OUT.onnx: a looped model is one Loop; a Pérez model "
    "the decoder step with past keys and values). An export is INEXACT. --check N runs the written export N network "
    "steps (decoder steps or loops) beside the exact model and exits 1 at the first divergence, naming it; --run "
    "prints the written export's run as 'turingformer run' does (--json: the same JSON Lines, for diff). "
    "docs/export.md.")


def export_arguments(parser: argparse.ArgumentParser) -> None:
    model_argument(parser)
    parser.add_argument("--to", required=True, choices=("torch", "onnx"), help="the target")
    parser.add_argument("-o", "--output", metavar="OUT", required=True,
                        help="the file to write: OUT.safetensors (torch) or OUT.onnx (onnx)")
    parser.add_argument("--dtype", choices=("float64", "float32"), default="float64",
                        help="the float type of the weights and the run (default float64)")
    parser.add_argument("--form", choices=("sum", "pattern"), default="sum",
                        help="average-hard attention as (sum of the tied values) / r, the runtime's (default), or "
                             "pattern @ values, where an intervention on the pattern takes effect (docs/export.md)")
    parser.add_argument("--activations", metavar="HOOKS", default=None,
                        help="onnx: hook names (comma-separated, docs/hooks.md) or 'all', added as named outputs")
    parser.add_argument("--check", type=non_negative, metavar="N", default=None,
                        help="run the written export N network steps beside the exact model; exit 1 at the first "
                             "divergence")
    parser.add_argument("--run", action="store_true",
                        help="run the written export through the model's decoding and print it as 'run' does")
    group = parser.add_argument_group("the run of --check and --run")
    input_arguments(group, "the model's first recorded example, else empty; a program runs its own memory")
    max_steps_argument(group, extra="; loops for a program")
    simulate_arguments(parser)


def cmd_export(args: argparse.Namespace) -> int:
    from turingformer import export
    model_file = read_model_file(args, args.model)
    model = model_file.model
    export.require(args.to)
    suffix = export.TARGETS[args.to][2]
    if Path(args.output).suffix != suffix:
        raise ExportError(f"a {args.to} export is a {suffix} file, not {args.output}",
                          hint=f"-o {Path(args.output).with_suffix(suffix).name}")
    if args.activations is not None and args.to != "onnx":
        raise ExportError("--activations names the extra outputs of an ONNX graph",
                          hint="a torch export has every hook point: read them with forward hooks (docs/export.md)")
    if args.to == "torch":
        exported = export.to_torch(model, dtype=args.dtype, form=args.form)
        export.save_torch(exported, args.output)
    else:
        hooks = args.activations or ""
        exported = export.to_onnx(model, dtype=args.dtype, form=args.form,
                                  activations="all" if hooks == "all" else [h for h in hooks.split(",") if h])
        export.save_onnx(exported, args.output)
    say = note if args.json else print
    say(f"exported {model.name or Path(args.model).stem} ({model.kind}, construction {model.construction}) to "
        f"{args.output}: {_what(args, exported)}")
    say(f"INEXACT: the exact weights rounded once to {args.dtype}; runs agree with the exact model only as long as "
        "no rounding changes an attention decision (--check N finds the first divergence)")
    written = export.load(args.output)
    status = 0
    word, default = run_input(args, model_file) if args.check is not None or args.run else (None, True)
    if args.check is not None:
        with progress_bar(None, "step", stoppable=True) as progress:
            result = export.check(written, args.check, word, progress=progress, model=model)
        say(result.verdict())
        status = 1 if not result.ok else 130 if result.interrupted else 0
    if args.run:
        with progress_bar(args.max_steps, "step", stoppable=True) as progress:
            run = export.run(written, word, max_steps=args.max_steps, progress=progress, model=model)
        ran = print_model_run(args, model_file, run, default, f"the {args.to} export {args.output} of {args.model}")
        status = status or ran
    return status


def _what(args: argparse.Namespace, exported) -> str:
    """One line on what was written."""
    if args.to == "torch":
        from turingformer.export.torch_module import HookPoint
        parameters = sum(p.numel() for p in exported.parameters())
        hooks = sum(isinstance(m, HookPoint) for m in exported.modules())
        return (f"a torch nn.Module ({type(exported).__name__}, {args.dtype}, form {args.form}), "
                f"{parameters:,} parameters, {hooks} hook points")
    outputs = [o.name for o in exported.graph.output]
    return (f"an ONNX graph ({args.dtype}, form {args.form}, opset {exported.opset_import[0].version}), "
            f"{len(exported.graph.node):,} nodes, outputs {', '.join(outputs[:4])}{', …' if len(outputs) > 4 else ''}")
