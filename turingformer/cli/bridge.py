"""A Turing machine on the looped transformer (issue 14; docs/two-transformers.md):
``compile FILE --target looped``, ``run MODEL`` of such a model, ``verify FILE --target looped``,
``show FILE --target looped`` and ``inspect MODEL``. They are reached from the commands of the
same name through :func:`on_target` (by ``--target``) and
:func:`turingformer.cli.looped.on_model_kind` (by the model kind :data:`MODEL_KIND`).
``--max-steps`` counts machine steps, as for the Pérez transformer.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Callable

from turingformer.cli.common import (
    given_input, input_header, load, machine_and_input, non_negative, note, progress_bar, refuse_same_file,
    step_limit_note,
)
from turingformer.cli.tables import print_run, steps_text
from turingformer.errors import InputError

TARGETS = ("perez", "looped")
#: The kind of the model files ``compile --target looped`` writes.
MODEL_KIND = "looped-machine"


def target_arguments(parser: argparse.ArgumentParser, *, with_input: bool = False) -> None:
    """``--target`` and, for the looped computer, the tape block's size and the head's start cell."""
    group = parser.add_argument_group("target")
    group.add_argument("--target", choices=TARGETS, default="perez",
                       help="perez: the encoder-decoder transformer (default); looped: the machine compiled into "
                            "a self-modifying SUBLEQ-U program run by the looped transformer (docs/two-transformers.md)")
    group.add_argument("--tape-cells", metavar="K", type=non_negative, default=None,
                       help="looped: the tape block's size in memory cells (default 64); leaving it stops the run "
                            "with 'tape bound'")
    group.add_argument("--head-offset", metavar="P", type=non_negative, default=None,
                       help="looped: the block cell the head starts on (default: the input centred in the block)")
    if with_input:
        group.add_argument("--input", "-i", metavar="W", default=None,
                           help="looped: the input on the tape block (default: the file's first example)")


def on_target(perez_command: Callable[[argparse.Namespace], int],
              looped_command: Callable[[argparse.Namespace], int]) -> Callable[[argparse.Namespace], int]:
    """A command that runs ``looped_command`` for ``--target looped`` and ``perez_command`` otherwise."""
    def command(args: argparse.Namespace) -> int:
        from turingformer.cli.looped import is_looped_model
        if is_looped_model(args.file, MODEL_KIND):
            raise InputError(f"{args.file} is a model of a machine on the looped computer, not a machine file",
                             hint="run it with 'turingformer run MODEL'; verify the machine's own file with "
                                  "--target looped")
        if args.target == "looped":
            return looped_command(args)
        if args.tape_cells is not None or args.head_offset is not None:
            raise InputError("--tape-cells and --head-offset are for --target looped",
                             hint="add --target looped (the Pérez transformer's tape is unbounded)")
        return perez_command(args)
    command.__doc__ = perez_command.__doc__
    return command


def _block(args: argparse.Namespace) -> dict:
    from turingformer.compiler.bridge.tm_to_subleq import DEFAULT_TAPE_CELLS
    return {"tape_cells": DEFAULT_TAPE_CELLS if args.tape_cells is None else args.tape_cells,
            "head_offset": args.head_offset}


def _program_lines(compiled) -> list[str]:
    layout, program = compiled.layout, compiled.program
    return [f"SUBLEQ-U program: M = {program.cells} cells of N = {program.bits} bits (code {layout.code_end} cells, "
            f"{len(layout.states)} state blocks)",
            f"tape block: {layout.tape_cells} cells from cell {layout.tape_start}, the head starts on block cell "
            f"{layout.origin}; at most {layout.max_loops_per_step} loops per machine step"]


# ---------------------------------------------------------------------------- compile
def cmd_compile(args: argparse.Namespace) -> int:
    from turingformer.compiler.bridge.tm_to_subleq import compile_looped
    from turingformer.compiler.looped import summary
    from turingformer.modelfile import save_model
    refuse_same_file(args.file, args.output, "the model file")
    machine, runnable, word = machine_and_input(args)
    compiled, model = compile_looped(runnable, word, **_block(args))
    save_model(model, args.output)
    print(f"compiled {machine.name or Path(args.file).stem} on input {word!r} into {args.output} (looped target)")
    for line in _program_lines(compiled) + summary(model.looped).lines():
        print(f"  {line}")
    if args.check:
        return _check_examples(args, machine)
    return 0


def _check_examples(args: argparse.Namespace, machine) -> int:
    from turingformer.analysis.bridge import verify_machine_looped
    from turingformer.tm.formats import prepare_input
    failed = 0
    for example in machine.examples:
        runnable, word = prepare_input(machine, example.input)
        result = verify_machine_looped(runnable, word, max_steps=args.max_steps, **_block(args))
        status = "agrees" if result.ok else f"DIVERGES: {result.divergence}"
        print(f"  example {word!r}: {steps_text(result.decoded.steps) if result.decoded else '-'}, "
              f"{result.decoded.reason.value if result.decoded else '-'}, {status}")
        failed += not result.ok
    return 1 if failed else 0


# ---------------------------------------------------------------------------- run
def cmd_run(args: argparse.Namespace) -> int:
    """Run a looped-machine model from its file alone: weights, punch card and tape layout."""
    from turingformer.cli.model import read_model_file
    from turingformer.compiler.bridge.model import run_machine_model, with_input
    model_file = read_model_file(args.model)
    model = model_file.model
    word = given_input(args)
    if word is not None:
        model = with_input(model, word)
    with progress_bar(args.max_steps) as progress:
        trace, loops = run_machine_model(model, max_steps=args.max_steps, progress=progress)
    name = model.layout.machine_name or Path(args.model).stem
    modified = ", MODIFIED after compiling" if model_file.modified else ""
    print_run(args, trace, model.layout.blank, f"{name} (run by the looped transformer in {args.model}{modified}: "
                                               f"{loops:,} loops), {input_header(trace.input)}",
              extra={"modified": True} if model_file.modified else None)
    _notes(trace, args.max_steps, model.layout.tape_cells)
    return 0


def _notes(trace, max_steps: int, tape_cells: int) -> None:
    from turingformer.tm.trace import HaltReason
    if trace.reason is HaltReason.TAPE_BOUND:
        note(f"the head left the tape block of {tape_cells} cells after {steps_text(trace.steps)} (tape bound); "
             f"recompile with a larger --tape-cells or another --head-offset")
    elif not trace.halted:
        step_limit_note(max_steps)


# ---------------------------------------------------------------------------- verify
def cmd_verify(args: argparse.Namespace) -> int:
    from turingformer.analysis.bridge import verify_machine_looped
    _, runnable, word = machine_and_input(args)
    with progress_bar(None, "loop") as progress:
        result = verify_machine_looped(runnable, word, max_steps=args.max_steps, progress=progress, **_block(args))
    if not args.quiet and result.rows:
        print(result.table(limit=args.limit))
    if not result.ok:
        print(f"DIVERGENCE: {result.divergence}")
        return 1
    decoded = result.decoded
    print(f"the looped transformer agrees with the simulator at every machine step and with the SUBLEQ-U "
          f"interpreter after every loop: {steps_text(decoded.steps)} of the machine ({decoded.reason.value}), "
          f"{result.loops.loops_checked:,} loops, every punch card equal to E(state) entry for entry")
    _notes(decoded, args.max_steps, result.model.layout.tape_cells)
    return 0


# ---------------------------------------------------------------------------- show, inspect
def cmd_show(args: argparse.Namespace) -> int:
    from turingformer.compiler.bridge.tm_to_subleq import compile_machine
    from turingformer.tm.formats import prepare_input
    machine = load(args)
    word = args.input if args.input is not None else (machine.examples[0].input if machine.examples else "")
    runnable, word = prepare_input(machine, word)
    sys.stdout.write(compile_machine(runnable, word, **_block(args)).listing())
    return 0


def cmd_inspect(args: argparse.Namespace) -> int:
    from turingformer.compiler.looped import summary
    from turingformer.modelfile import load_model
    model = load_model(args.model)
    layout = model.layout
    print(f"looped-machine model {args.model}: {layout.machine_name or '(unnamed)'}")
    print(f"  states (entry cell): {', '.join(f'{q} ({e})' for q, e in zip(layout.states, layout.entries))}")
    print(f"  symbols (value): {', '.join(f'{s!r} ({v})' for v, s in enumerate(layout.alphabet))}; "
          f"sentinel {layout.sentinel}")
    print(f"  tape block: {layout.tape_cells} cells from cell {layout.tape_start}, machine cell 0 = block cell "
          f"{layout.origin}; head pointer in cell {layout.head_cell} (as -H), status in cell {layout.status_cell}")
    for line in summary(model.looped).lines():
        print(f"  {line}")
    return 0
