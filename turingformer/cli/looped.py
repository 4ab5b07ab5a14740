"""Commands on looped models (looped spec §13): ``compile PROGRAM``, ``run MODEL`` of a looped
model, ``verify PROGRAM``, ``inspect MODEL`` and ``trace PROGRAM``. They are reached from the
commands of the same name by file kind (:func:`turingformer.cli.programs.on_file_kind`) or model
kind (:func:`on_model_kind`). ``--max-steps`` counts loops (one loop = one instruction).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Callable, TextIO

from turingformer.cli.common import STDIO, verdict, with_progress
from turingformer.cli.model import print_maps, read_model_file
from turingformer.cli.programs import _table, heading, load, print_program_run
from turingformer.cli.tables import TABLE_ROW_LIMIT
from turingformer.errors import InputError, TuringformerError

CONSTRUCTION_CHOICES = ("subleq-h3", "subleq-h2", "subleq-u3", "fleq-h")


def construction_argument(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--construction", choices=CONSTRUCTION_CHOICES, default=None,
                        help="programs: the looped construction (default: subleq-h3 for SUBLEQ-H, subleq-u3 "
                             "for SUBLEQ-U, fleq-h for FLEQ-H; docs/looped.md)")


def is_looped_model(path: str, kind: str = "looped") -> bool:
    """True when ``path`` is a model file of ``kind`` (anything else is left to the caller,
    whose loader reports what is wrong with it)."""
    from turingformer.modelfile import model_kind
    return path != STDIO and model_kind(path) == kind


def on_model_kind(perez_command: Callable[[argparse.Namespace], int],
                  by_kind: dict[str, Callable[[argparse.Namespace], int]]) -> Callable[[argparse.Namespace], int]:
    """A command that runs ``by_kind[kind]`` on a model file of that kind and ``perez_command``
    otherwise (a Pérez model, standard input, or no model file: its loader says what is wrong).
    The file's kind is read once."""
    def command(args: argparse.Namespace) -> int:
        from turingformer.modelfile import model_kind
        kind = None if args.model == STDIO else model_kind(args.model)
        return by_kind.get(kind, perez_command)(args)
    command.__doc__ = perez_command.__doc__
    return command


# ---------------------------------------------------------------------------- compile
def cmd_compile(args: argparse.Namespace) -> int:
    from turingformer.compiler.looped import compile_program, summary
    from turingformer.modelfile import save_model
    program = load(args)
    if args.check:
        raise InputError("--check is for Turing machines", hint=f"run 'turingformer verify {args.file}'")
    model = compile_program(program, args.construction)
    save_model(model, args.output)
    print(f"compiled {program.name or Path(args.file).stem} into {args.output}")
    for line in summary(model).lines():
        print(f"  {line}")
    return 0


# ---------------------------------------------------------------------------- run
def cmd_run(args: argparse.Namespace) -> int:
    """Run a looped model from its file alone: the weights and the punch card, no program, no interpreter."""
    from turingformer.compiler.looped.decoding import run_looped
    if args.input:
        raise InputError("--input is for Turing machines: a looped model's input is its punch card",
                         hint="recompile the program with other .data values")
    model = read_model_file(args.model).model
    trace = with_progress(run_looped, model, max_loops=args.max_steps, record=not args.quiet, unit="loop",
                          total=args.max_steps)
    lab = model.labels
    print_program_run(args, trace, f"{lab.name or Path(args.model).stem} (run by the looped transformer in "
                                   f"{args.model}, construction {lab.construction})",
                      lambda out: _print_loops(trace, lab.cells, dict(lab.cell_labels), out), _summary(trace))
    return 0


def _print_loops(trace, cells: int, labels: dict[str, int], out: TextIO) -> None:
    names = [str(c) for c in range(cells)]
    for name, cell in reversed(list(labels.items())):
        names[cell] = name
    _table(out, ["step", "pc", *names], [[str(s.step), str(s.pc), *map(str, s.memory)] for s in trace], right=True)


def _summary(trace) -> str:
    loops = f"{trace.steps:,} loop" + ("" if trace.steps == 1 else "s")
    state = f"halted after {loops}" if trace.halted else f"still running after {loops} at pc {trace.final.pc}"
    values = ", ".join(f"{name} = {trace.final.memory[cell]}" for name, cell in trace.labels.items())
    return state + (f"; {values}" if values else "")


# ---------------------------------------------------------------------------- verify
def cmd_verify(args: argparse.Namespace) -> int:
    from turingformer.analysis.looped import verify_looped
    program = load(args)
    result = with_progress(verify_looped, program, args.construction, max_loops=args.max_steps, unit="loop",
                           total=args.max_steps)
    lab = result.model.labels
    if not args.quiet:
        print(heading(program, args.file))
        rows = [[str(s.step), str(s.pc), " ".join(map(str, s.memory)), "agrees"] for s in result.decoded]
        limit = args.limit if args.limit is not None else TABLE_ROW_LIMIT
        _table(sys.stdout, ["loop", "pc", "memory (decoded from the card)", "E(reference)"], rows[:limit])
        if len(rows) > limit:
            print(f"  ... {len(rows) - limit:,} more loops")
    halted = "halted" if result.reference.halted else "not halted (loop limit)"
    return verdict(result.ok, f"the looped transformer ({lab.construction}) agrees with the interpreter after every "
                   f"loop: {result.loops_checked:,} loops, {halted}; every punch card equal to E(state) entry for "
                   "entry, one winner per head and column", result.divergence)


# ---------------------------------------------------------------------------- inspect
def cmd_inspect(args: argparse.Namespace) -> int:
    from turingformer.compiler.looped import summary
    model = read_model_file(args.model).model
    t = model.transformer
    print(f"looped model {args.model}: {model.labels.name or '(unnamed)'}")
    for line in summary(model).lines():
        print(f"  {line}")
    print_maps(t, args)
    return 0


# ---------------------------------------------------------------------------- trace
def run_trace(args: argparse.Namespace) -> int:
    """``trace PROGRAM``: card (the punch card after every block of loop --step), attention (the column
    each column attended to), spacetime (memory over the loops) or verification."""
    from turingformer.analysis.looped import trace_loop, verify_looped
    from turingformer.compiler.looped import compile_program
    from turingformer.compiler.looped.decoding import run_looped
    from turingformer.programs.formats import load_program
    from turingformer.views.figures import save

    if args.input is not None:
        raise InputError("--input is for Turing machines: a program's input is its initial memory",
                         hint="edit the program's .data values instead")
    program = load_program(args.file, format=args.format)
    model = compile_program(program, getattr(args, "construction", None))
    view = "card" if args.view == "residual" else args.view
    if view == "diagram":
        raise TuringformerError("a program has no state diagram", hint="use --view card, attention or spacetime")
    if view == "verification":
        result = verify_looped(program, model=model, max_loops=args.max_steps)
        print(f"{result.loops_checked:,} loops: " + ("agree" if result.ok else f"DIVERGENCE: {result.divergence}"))
        return 0 if result.ok else 1
    if view == "spacetime":
        trace = run_looped(model, max_loops=args.max_steps)
        if args.output is None:
            _print_loops(trace, model.labels.cells, dict(model.labels.cell_labels), sys.stdout)
            return 0
        from turingformer.views.looped import memory_over_loops
        save(memory_over_loops(trace), args.output)
        print(f"wrote {args.output}")
        return 0
    t = 1 if args.step is None else args.step
    if t < 1:
        raise TuringformerError(f"--step {t}: loops count from 1", hint="use --step 1 for the first loop")
    if t > args.max_steps:
        raise TuringformerError(f"--step {t:,} is past the loop limit of {args.max_steps:,}",
                                hint="raise --max-steps to trace a later loop")
    from turingformer.programs import run as interpret
    loops = interpret(program, max_steps=t, record=False).steps
    if t > loops:
        raise TuringformerError(f"--step {t:,} is past the end of the run: the program halts after {loops:,} loops",
                                hint=f"choose a loop from 1 to {loops:,}")
    traced = trace_loop(model, t)
    if args.output is None:
        if view == "card":
            print(f"== loop {t} input\n{traced.table(None)}\n")
            for l in range(len(traced.cards)):
                print(f"== after block {l}\n{traced.table(l)}\n")
        else:
            from turingformer.runtime.transformer import head_names
            for l, block in enumerate(model.transformer.blocks):
                for name, winners in zip(head_names(f"loop.{l}", len(block.heads)), traced.winners[l]):
                    print(f"{name}: " + " ".join(f"{j}->{i}" for j, i in enumerate(winners)))
        return 0
    from turingformer.views.looped import attention_map, punch_card
    save(punch_card(traced) if view == "card" else attention_map(traced), args.output)
    print(f"wrote {args.output}")
    return 0
