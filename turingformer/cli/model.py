"""Commands on the transformer: ``compile``, ``run``, ``verify`` and ``inspect``."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from turingformer.cli.common import (
    end_of_run,
    MODEL_DEFAULT, STDIO, given_input, input_arguments, input_header, load, machine_and_input, max_steps_argument, non_negative,
    progress_bar, read_source, refuse_same_file, step_limit_note, verdict,
)
from turingformer.cli.machines import report_examples, simulate_arguments
from turingformer.cli.tables import print_run, steps_text
from turingformer.errors import FormatError, InputError, ModelFileError
from turingformer.tm.formats import prepare_input
from turingformer.tm.machine import TuringMachine


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
    refuse_same_file(args.file, args.output, "the model file")
    machine = load(args)
    model = _compile(args, machine)
    save_model(model, args.output, machine=machine)
    print(f"compiled {machine.name or Path(args.file).stem} into {args.output}")
    for line in model.summary().lines():
        print(f"  {line}")
    if args.check:
        from turingformer.analysis.verify import verify
        failed = 0
        from turingformer.tm.examples import check_example, claims
        for number, example in enumerate(machine.examples, start=1):
            runnable, word = prepare_input(machine, example.input)
            result = verify(runnable, word, max_steps=args.max_steps, model=model, decoder=_decoder(args))
            status = "agrees" if result.ok else f"DIVERGES: {result.divergence}"
            print(f"  example {word!r}: {steps_text(result.decoded.steps)}, {result.decoded.verdict.value}, {status}")
            failed += not result.ok
            if claims(example):
                check = check_example(runnable, example, number=number, max_steps=args.max_steps,
                                      result=result.reference)
                print(f"    {check}")
                failed += check.failed
        return 1 if failed else 0
    return 0


def _model_argument(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("model", metavar="MODEL", help="a model file written by 'turingformer compile' "
                                                       "(- reads standard input)")


def read_model_file(path: str):
    """The :class:`~turingformer.modelfile.ModelFile` at ``path`` (``-``: standard input); a model
    edited since it was compiled gets a warning that names it."""
    from turingformer.modelfile import parse_model
    model_file = parse_model(read_source(path), "<stdin>" if path == STDIO else path)
    if model_file.modified:
        advice = (f"the weights or labels are not those compiled from the recorded machine; 'turingformer verify "
                  f"{path}' compares them with it" if model_file.source else
                  "the weights or labels are not those the construction gave; recompile for the original")
        warn(f"{path} was modified after it was compiled (its integrity digest does not match): {advice}")
    return model_file


def warn(text: str) -> None:
    print(f"turingformer: warning: {text}", file=sys.stderr)


def run_model_arguments(parser: argparse.ArgumentParser) -> None:
    _model_argument(parser)
    input_arguments(parser, "the model's first recorded example, else empty")
    max_steps_argument(parser)
    simulate_arguments(parser)
    _decoder_argument(parser)


def cmd_run(args: argparse.Namespace) -> int:
    """Decode from the model file alone: no machine, no simulator."""
    from turingformer.compiler.perez.decoding import run_model
    model_file = read_model_file(args.model)
    model = model_file.model
    word = given_input(args)
    default = word is None and bool(model_file.source and model_file.source.examples)
    word = model_file.default_input() if word is None else word
    with progress_bar(args.max_steps, stoppable=True) as progress:
        trace = run_model(model, word, max_steps=args.max_steps, decoder=_decoder(args), keep_steps=False,
                          progress=progress).trace
    name = model.labels.machine_name or Path(args.model).stem
    modified = ", MODIFIED after compiling" if model_file.modified else ""
    header = input_header(word, MODEL_DEFAULT if default else None)
    print_run(args, trace, model.labels.blank, f"{name} (decoded by the transformer in {args.model}{modified}), {header}",
              extra={"modified": True} if model_file.modified else None)
    return end_of_run(trace, args.max_steps)


def verify_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--machine", "-m", metavar="FILE", default=None,
                        help="with a MODEL as FILE: compare it with this machine instead of the one it records")
    parser.add_argument("--limit", type=non_negative, default=None, metavar="K",
                        help="print at most K rows of the step-by-step table")
    parser.add_argument("--quiet", "-q", action="store_true", help="print only the verdict line")
    _model_arguments(parser)
    _decoder_argument(parser)


def _verify_target(args: argparse.Namespace):
    """(runnable machine, input, model, what) for ``verify FILE`` or ``verify MODEL [--machine M]``."""
    from turingformer.modelfile import is_model_file
    if args.file == STDIO or not is_model_file(args.file):
        if args.machine is not None:
            raise InputError("--machine only goes with a model file",
                             hint=f"{args.file} is a machine file: 'turingformer verify {args.file}' compiles it")
        machine, runnable, word = machine_and_input(args)
        return runnable, word, _compile(args, runnable)
    from turingformer.tm.formats import load_machine, loads_machine
    model_file = read_model_file(args.file)
    if args.machine is not None:
        machine = load_machine(args.machine, format=args.format)
    elif model_file.source is None:
        raise ModelFileError(f"{args.file} records no machine to verify against",
                             hint="give the machine: turingformer verify MODEL --machine FILE")
    else:
        machine = loads_machine(model_file.source.machine, "turingformer", f"{args.file} (recorded machine)")
    word = given_input(args)
    if word is None:
        word = model_file.default_input() if args.machine is None else (
            machine.examples[0].input if machine.examples else "")
    runnable, word = prepare_input(machine, word)
    return runnable, word, model_file.model


def cmd_verify(args: argparse.Namespace) -> int:
    from turingformer.analysis.verify import verify
    runnable, word, model = _verify_target(args)
    mismatch = _label_mismatch(model, _compile(args, runnable))
    if mismatch:
        print(f"DIVERGENCE: the model's labels are not the machine's: {mismatch}")
        return 1
    from turingformer.compiler.perez.decoding import DecodingError
    rows = 0 if args.quiet else args.limit      # keep only the rows that will be printed
    try:
        with progress_bar(args.max_steps) as progress:
            result = verify(runnable, word, max_steps=args.max_steps, model=model, decoder=_decoder(args),
                            keep_rows=rows, progress=progress)
    except DecodingError as error:      # only an edited model gets here: its outputs are no configurations
        print(f"DIVERGENCE: the transformer's outputs are not configurations of the machine: {error}")
        return 1
    if not args.quiet:
        print(result.table(limit=args.limit))
    decoded = result.decoded
    if not result.reference.halted:
        step_limit_note(args.max_steps)
    status = verdict(result.ok, f"the transformer agrees with the simulator at every step: {steps_text(decoded.steps)} "
                     f"of the machine, {result.checked:,} decoder positions, verdict {decoded.verdict.value}, "
                     "no attention ties in layers 1 and 3", result.divergence)
    return report_examples(runnable, word, result.reference, args.max_steps) or status


def _label_mismatch(model, reference) -> str | None:
    """The first label in which ``model`` differs from the model compiled from the machine."""
    for field in ("states", "symbols", "blank", "marked_blank", "start", "prelude", "stay", "accept", "reject",
                  "halt", "input_alphabet"):
        mine, theirs = getattr(model.labels, field), getattr(reference.labels, field)
        if mine != theirs:
            return f"labels.{field} is {_few(mine)}, the machine's is {_few(theirs)}"
    return None


def _few(value) -> str:
    items = sorted(value) if isinstance(value, frozenset) else value
    text = repr(list(items) if isinstance(items, (tuple, list)) else items)
    return text if len(text) <= 120 else text[:117] + "..."


def inspect_arguments(parser: argparse.ArgumentParser) -> None:
    _model_argument(parser)
    parser.add_argument("--weights", metavar="NAME", action="append", default=[],
                        help="print the non-zero weights of one map, e.g. decoder.3.attn.query (repeatable)")
    parser.add_argument("--dimensions", action="store_true", help="list every named residual dimension")


def cmd_inspect(args: argparse.Namespace) -> int:
    model = read_model_file(args.model).model
    t = model.transformer
    print(f"model {args.model}: {model.labels.machine_name or '(unnamed)'}")
    for line in model.summary().lines():
        print(f"  {line}")
    print_maps(t, args)
    return 0


def print_maps(transformer, args: argparse.Namespace) -> None:
    """``inspect``'s listing of every map, the named dimensions (``--dimensions``) and the weights of
    chosen maps (``--weights``); shared by the Pérez and the looped models."""
    maps = dict(transformer.linears())
    print("maps (name: source -> target, non-zero weights + biases):")
    for name, linear in maps.items():
        print(f"  {name:<24} {len(linear.source):>4} -> {len(linear.target):<4} "
              f"{len(linear.weights) + len(linear.bias):>6}" + ("  (zero)" if linear.is_zero() else ""))
    if args.dimensions:
        print("residual dimensions:")
        for k, name in enumerate(transformer.space.names):
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
