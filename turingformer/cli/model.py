"""Commands on the transformer: ``compile``, ``run``, ``verify`` and ``inspect``."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from turingformer.cli.common import load, machine_and_input, non_negative, note
from turingformer.cli.machines import simulate_arguments
from turingformer.cli.tables import print_table_or_note, steps_text, summary_line, write_json_lines
from turingformer.errors import FormatError
from turingformer.tm.formats import prepare_input
from turingformer.tm.machine import TuringMachine
from turingformer.tm.simulator import DEFAULT_MAX_STEPS


# ---------------------------------------------------------------------------- the transformer
def _model_arguments(parser: argparse.ArgumentParser) -> None:
    group = parser.add_argument_group("construction")
    group.add_argument("--cross-attention", choices=("per-layer", "shared"), default="per-layer",
                       help="decoder layers 2-3: their own zero cross-attention (per-layer, the default) or the "
                            "strict shared one (spec 8 A); both are exact")
    group.add_argument("--score", choices=("abs", "clipped"), default="abs",
                       help="attention score: -|x| (default) or -min(|x|, 1)")


def _decoder_argument(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--decoder", choices=("fast", "plain"), default="fast",
                        help="exact decoder: fast (flint, certified float filter; the default) or plain "
                             "(Fractions, every score computed); both give identical results")


def _decoder(args: argparse.Namespace):
    if args.decoder == "plain":
        from turingformer.runtime.transformer import decode
        return decode
    from turingformer.runtime.fast import decode_fast
    return decode_fast


def _compile(args: argparse.Namespace, machine: TuringMachine):
    from turingformer.compiler.perez.construction import compile_machine
    return compile_machine(machine, cross_attention=args.cross_attention, score=args.score)


def compile_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("-o", "--output", metavar="MODEL", required=True, help="the model file to write (JSON)")
    parser.add_argument("--check", action="store_true",
                        help="also verify every example of the machine file against the simulator")
    _model_arguments(parser)
    _decoder_argument(parser)


def cmd_compile(args: argparse.Namespace) -> int:
    from turingformer.modelfile import save_model
    machine = load(args)
    model = _compile(args, machine)
    save_model(model, args.output)
    print(f"compiled {machine.name or Path(args.file).stem} into {args.output}")
    for line in model.summary().lines():
        print(f"  {line}")
    if args.check:
        from turingformer.analysis.verify import verify
        failed = 0
        for example in machine.examples:
            runnable, word = prepare_input(machine, example.input)
            result = verify(runnable, word, max_steps=args.max_steps, model=model, decoder=_decoder(args))
            status = "agrees" if result.ok else f"DIVERGES: {result.divergence}"
            print(f"  example {word!r}: {steps_text(result.decoded.steps)}, {result.decoded.verdict.value}, {status}")
            failed += not result.ok
        return 1 if failed else 0
    return 0


def run_model_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("model", metavar="MODEL", help="a model file written by 'turingformer compile'")
    parser.add_argument("--input", "-i", metavar="W", default="", help="the input word (default: empty)")
    parser.add_argument("--max-steps", "-n", metavar="N", type=non_negative, default=DEFAULT_MAX_STEPS,
                        help=f"stop after N machine steps (default {DEFAULT_MAX_STEPS:,})")
    simulate_arguments(parser)
    _decoder_argument(parser)


def cmd_run(args: argparse.Namespace) -> int:
    """Decode from the model file alone: no machine, no simulator."""
    from turingformer.compiler.perez.decoding import run_model
    from turingformer.modelfile import load_model
    model = load_model(args.model)
    trace = run_model(model, args.input, max_steps=args.max_steps, decoder=_decoder(args), keep_steps=False).trace
    out = sys.stdout
    if args.json:
        write_json_lines(trace, out, configurations=not args.quiet)
    else:
        name = model.labels.machine_name or Path(args.model).stem
        out.write(f"{name} (decoded by the transformer in {args.model}), input {args.input!r}\n")
        if not args.quiet:
            print_table_or_note(trace, model.labels.blank, out)
        out.write(summary_line(None, trace) + "\n")
    if not trace.halted:
        note(f"the machine did not halt within {args.max_steps:,} steps (verdict: running); raise --max-steps")
    return 0


def verify_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--limit", type=non_negative, default=None, metavar="K",
                        help="print at most K rows of the step-by-step table")
    parser.add_argument("--quiet", "-q", action="store_true", help="print only the verdict line")
    _model_arguments(parser)
    _decoder_argument(parser)


def cmd_verify(args: argparse.Namespace) -> int:
    from turingformer.analysis.verify import verify
    machine, runnable, word = machine_and_input(args)
    model = _compile(args, runnable)
    rows = 0 if args.quiet else args.limit      # keep only the rows that will be printed
    result = verify(runnable, word, max_steps=args.max_steps, model=model, decoder=_decoder(args), keep_rows=rows)
    if not args.quiet:
        print(result.table(limit=args.limit))
    decoded = result.decoded
    if result.ok:
        print(f"the transformer agrees with the simulator at every step: {steps_text(decoded.steps)} of the machine, "
              f"{result.checked:,} decoder positions, verdict {decoded.verdict.value}, "
              f"no attention ties in layers 1 and 3")
        return 0
    print(f"DIVERGENCE: {result.divergence}")
    return 1


def inspect_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("model", metavar="MODEL", help="a model file written by 'turingformer compile'")
    parser.add_argument("--weights", metavar="NAME", action="append", default=[],
                        help="print the non-zero weights of one map, e.g. decoder.3.attn.query (repeatable)")
    parser.add_argument("--dimensions", action="store_true", help="list every named residual dimension")


def cmd_inspect(args: argparse.Namespace) -> int:
    from turingformer.modelfile import load_model
    model = load_model(args.model)
    t = model.transformer
    print(f"model {args.model}: {model.labels.machine_name or '(unnamed)'}")
    for line in model.summary().lines():
        print(f"  {line}")
    maps = dict(t.linears())
    print("maps (name: source -> target, non-zero weights + biases):")
    for name, linear in maps.items():
        print(f"  {name:<24} {len(linear.source):>4} -> {len(linear.target):<4} "
              f"{len(linear.weights) + len(linear.bias):>6}" + ("  (zero)" if linear.is_zero() else ""))
    if args.dimensions:
        print("residual dimensions:")
        for k, name in enumerate(t.space.names):
            print(f"  {k:>4}  {name}")
    for name in args.weights:
        if name not in maps:
            raise FormatError(f"no map named {name!r}", hint=f"choose one of: {', '.join(maps)}")
        linear = maps[name]
        print(f"{name}: x W + b")
        for src, dst, w in linear.named_weights():
            print(f"  {src:<28} -> {dst:<28} {w}")
        for dst, b in linear.named_bias():
            print(f"  {'(bias)':<28} -> {dst:<28} {b}")
    return 0
