"""Commands on the transformer, the same for every construction: ``compile``, ``run``, ``verify``
and ``inspect``. They go through the construction registry and the ``Model`` protocol only
(docs/architecture.md): nothing here knows a construction by name."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from turingformer.cli.common import (
    MODEL_DEFAULT, STDIO, chosen_construction, construction_arguments, construction_options, end_of_run, given_input,
    input_arguments, input_header, load, max_steps_argument, non_negative, note, progress_bar, read_source,
    refuse_input_for_program, refuse_overwrite, run_option_arguments, run_options, runnable_input, step_limit_note,
)
from turingformer.cli.machines import report_examples, simulate_arguments
from turingformer.analysis.verify import KEEP_ROWS
from turingformer.cli.tables import print_run
from turingformer.compiler import construction as registered
from turingformer.errors import FormatError, ModelFileError
from turingformer.sources import MODEL, identify, load_source
from turingformer.tm.trace import HaltReason


def _unit(chosen) -> str:
    """What ``--max-steps`` counts for a construction: a program's loops, a machine's steps."""
    return "step" if chosen.takes_input else "loop"


# ---------------------------------------------------------------------------- compile
def compile_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("-o", "--output", metavar="MODEL", required=True, help="the model file to write (JSON)")
    parser.add_argument("--check", action="store_true",
                        help="also verify the model: every example of a machine file, a program's own run")
    construction_arguments(parser)
    run_option_arguments(parser)


def cmd_compile(args: argparse.Namespace) -> int:
    from turingformer.compiler import compile
    from turingformer.modelfile import save_model
    refuse_overwrite(args, args.output, "the model file")
    source = load(args)
    chosen = chosen_construction(args, source)
    if not chosen.takes_input:
        refuse_input_for_program(args)
    model = compile(source, chosen.name, **construction_options(args, chosen))
    save_model(model, args.output, source=source)
    print(f"compiled {model.name or Path(args.file).stem} into {args.output}")
    for line in model.summary().lines():
        print(f"  {line}")
    if args.check:
        return _check(args, source, model, chosen)
    return 0


def _check(args: argparse.Namespace, source, model, chosen) -> int:
    """``compile --check``: verify the fresh model on every example (a program: on its own run) and
    check what each example claims (met / NOT MET)."""
    from turingformer.analysis.verify import verify
    from turingformer.tm.examples import check_example, claims
    examples = list(enumerate(source.examples, start=1)) if chosen.takes_input else [(None, None)]
    failed = 0
    for number, example in examples:
        runnable, word = runnable_input(args, source, example.input) if example is not None else (source, None)
        result = verify(runnable, word, model=model, max_steps=args.max_steps, rows=0, **run_options(args, chosen))
        status = "agrees" if result.ok else f"DIVERGES: {result.divergence}"
        what = f"example {input_header(word)}" if word is not None else "the program's run"
        print(f"  {what}: {result.checked:,} {'loops' if word is None else 'network steps'} checked, {status}")
        failed += not result.ok
        if example is not None and claims(example):
            check = check_example(runnable, example, number=number, max_steps=args.max_steps, result=result.reference)
            print(f"    {check}")
            failed += check.failed
    return 1 if failed else 0


# ---------------------------------------------------------------------------- run
def model_argument(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("model", metavar="MODEL", help="a model file written by 'turingformer compile' "
                                                       "(- reads standard input)")


def read_model_file(args: argparse.Namespace, path: str):
    """The :class:`~turingformer.modelfile.ModelFile` at ``path`` (``-``: the bytes already read
    from standard input); a model edited since it was compiled gets a warning that names it."""
    from turingformer.modelfile import parse_model
    found = getattr(args, "found", None)
    raw = found.data if found is not None and found.path == path and found.data is not None else read_source(path)
    model_file = parse_model(raw, "<stdin>" if path == STDIO else path)
    if model_file.modified:
        advice = (f"the weights or labels are not those compiled from the recorded source; 'turingformer verify "
                  f"{path}' compares them with it" if model_file.source else
                  "the weights or labels are not those the construction gave; recompile for the original")
        warn(f"{path} was modified after it was compiled (its integrity digest does not match): {advice}")
    return model_file


def warn(text: str) -> None:
    print(f"turingformer: warning: {text}", file=sys.stderr)


def run_model_arguments(parser: argparse.ArgumentParser) -> None:
    model_argument(parser)
    input_arguments(parser, "the model's first recorded example, else empty; a program runs its own memory")
    max_steps_argument(parser, extra="; loops for a program")
    simulate_arguments(parser)
    run_option_arguments(parser)


def cmd_run(args: argparse.Namespace) -> int:
    """Run from the model file alone: no machine, no program, no simulator, no interpreter."""
    model_file = read_model_file(args, args.model)
    model = model_file.model
    chosen = registered(model.construction)
    word, default = run_input(args, model_file)
    with progress_bar(args.max_steps, _unit(chosen), stoppable=True) as progress:
        run = model.run(word, max_steps=args.max_steps, progress=progress, **run_options(args, chosen))
    return print_model_run(args, model_file, run, default, f"the {chosen.name} transformer in {args.model}")


def run_input(args: argparse.Namespace, model_file) -> tuple[str | None, bool]:
    """The word a run of a model file takes — ``--input``, else the word the model holds, else its
    first recorded example — checked, and whether it is such a default."""
    model = model_file.model
    word = given_input(args)
    default = word is None
    if word is None:
        word = model.held_input()
        word = model_file.default_input() if word is None else word
    model.check_input(word)
    return word, default


def print_model_run(args: argparse.Namespace, model_file, run, default: bool, by: str) -> int:
    """Print the run of a model file (``by``: what ran it) as ``run`` does; the exit status."""
    model = model_file.model
    unit = _unit(registered(model.construction))
    modified = ", MODIFIED after compiling" if model_file.modified else ""
    header = "" if run.input is None else ", " + input_header(run.input, MODEL_DEFAULT if default else None)
    heading = (f"{model.name or Path(args.model).stem} (run by {by}{modified}: "
               f"{run.network_steps:,} {run.network_unit}s){header}")
    print_run(args, run.trace, heading, extra={"modified": True} if model_file.modified else None, unit=unit)
    for text in run.notes:
        note(text)
    return end_of_run(run.trace, args.max_steps, unit)


# ---------------------------------------------------------------------------- verify
def verify_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--machine", "-m", metavar="FILE", default=None,
                        help="with a MODEL as FILE: compare it with this machine (or program) instead of the source "
                             "it records")
    parser.add_argument("--limit", type=non_negative, default=None, metavar="K",
                        help="print at most K rows of the step-by-step table")
    parser.add_argument("--quiet", "-q", action="store_true", help="print only the verdict line")
    construction_arguments(parser)
    run_option_arguments(parser)


def _verify_target(args: argparse.Namespace):
    """(source, input, model or None, construction, options) for ``verify FILE`` or ``verify MODEL [--machine F]``."""
    if args.found.what != MODEL:
        if args.machine is not None:
            raise FormatError("--machine goes with a model file",
                              hint=f"{args.file} is a source: 'turingformer verify {args.file}' compiles and checks it")
        source = load(args)
        chosen = chosen_construction(args, source)
        options = construction_options(args, chosen)
        options.pop("input", None)          # the word to verify on is the command's input
        return source, chosen, None, options
    model_file = read_model_file(args, args.file)
    model = model_file.model
    chosen = registered(model.construction)
    if args.machine is not None:
        if args.machine == STDIO and args.file == STDIO:
            raise FormatError("the model and the machine cannot both come from standard input",
                              hint="give one of them as a file")
        found = identify(args.machine, args.format, read_source(STDIO) if args.machine == STDIO else None)
        source = load_source(found, format=args.format, bits=args.bits)
    elif model_file.source is None:
        raise ModelFileError(f"{args.file} records no source to verify against",
                             hint="give it: turingformer verify MODEL --machine FILE")
    else:
        source = model_file.source.load(args.file)
    if args.construction is not None and args.construction != chosen.name:
        raise FormatError(f"{args.file} was built by the construction {chosen.name}, not {args.construction}",
                          hint="drop --construction: a model file's construction is recorded in it")
    held = model.held_input()
    args.recorded_input = held if held is not None else model_file.default_input() if args.machine is None else None
    return source, chosen, model, {}


def cmd_verify(args: argparse.Namespace) -> int:
    from turingformer.analysis.verify import verify
    source, chosen, model, options = _verify_target(args)
    word = None
    if chosen.takes_input:
        given = given_input(args)
        source, word = runnable_input(args, source, given if given is not None else getattr(args, "recorded_input", None))
    else:
        refuse_input_for_program(args)
    rows = 0 if args.quiet else KEEP_ROWS if args.limit is None else args.limit     # the table is bounded
    unit = _unit(chosen)
    with progress_bar(args.max_steps, unit) as progress:
        result = verify(source, word, model=model, construction=chosen.name, max_steps=args.max_steps, rows=rows,
                        progress=progress, **options, **run_options(args, chosen))
    if not args.quiet:
        print(result.table(limit=args.limit))
    reference = result.reference
    if not reference.halted and getattr(reference, "reason", HaltReason.STEP_LIMIT) is HaltReason.STEP_LIMIT:
        step_limit_note(args.max_steps, unit)
    print(result.verdict())
    failed = report_examples(source, word, reference, args.max_steps) if chosen.takes_input else 0
    return 0 if result.ok and not failed else 1


# ---------------------------------------------------------------------------- inspect
def inspect_arguments(parser: argparse.ArgumentParser) -> None:
    model_argument(parser)
    parser.add_argument("--weights", metavar="NAME", action="append", default=[],
                        help="print the non-zero weights of one map, e.g. decoder.3.attn.query (repeatable)")
    parser.add_argument("--dimensions", action="store_true", help="list every named residual dimension")


def cmd_inspect(args: argparse.Namespace) -> int:
    model_file = read_model_file(args, args.model)
    model = model_file.model
    print(f"model {args.model}: {model.name or '(unnamed)'} (kind {model.kind}, construction {model.construction})")
    for line in model.summary().lines():
        print(f"  {line}")
    print_maps(model.network, args)
    return 0


def print_maps(network, args: argparse.Namespace) -> None:
    """``inspect``'s listing of every map, the named dimensions (``--dimensions``) and the weights of
    chosen maps (``--weights``); the same for every model kind."""
    from turingformer.errors import did_you_mean
    maps = dict(network.linears())
    print("maps (name: source -> target, non-zero weights + biases):")
    for name, linear in maps.items():
        print(f"  {name:<24} {len(linear.source):>4} -> {len(linear.target):<4} "
              f"{len(linear.weights) + len(linear.bias):>6}" + ("  (zero)" if linear.is_zero() else ""))
    if args.dimensions:
        print("residual dimensions:")
        for k, name in enumerate(network.space.names):
            print(f"  {k:>4}  {name}")
    for name in args.weights:
        if name not in maps:
            guess = did_you_mean(name, maps)
            raise FormatError(f"no map named {name!r}", hint=(f"{guess} " if guess else "") + f"the maps are: {', '.join(maps)}")
        linear = maps[name]
        print(f"{name}: x W + b")
        for src, dst, w in linear.named_weights():
            print(f"  {src:<28} -> {dst:<28} {w}")
        for dst, b in linear.named_bias():
            print(f"  {'(bias)':<28} -> {dst:<28} {b}")
