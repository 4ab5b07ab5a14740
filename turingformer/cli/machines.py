"""Commands on a source file — a machine, or a program for the looped computer: ``simulate``,
``show``, ``convert`` and ``graph`` (the last two for machines only)."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from turingformer.cli.common import (
    FILE_DEFAULT, end_of_run, input_header, load, note, progress_bar, refuse_input_for_program, refuse_overwrite,
    runnable_input, write_text, chosen_construction, construction_options,
)
from turingformer.cli import programs
from turingformer.cli.tables import TABLE_ROW_LIMIT, print_run, tool_note
from turingformer.errors import FormatError, InputError
from turingformer.sources import PROGRAM
from turingformer.tm.formats import dump_machine
from turingformer.tm.simulator import run


# ---------------------------------------------------------------------------- simulate
def simulate_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--json", action="store_true",
                        help="JSON Lines: one object per configuration {step, state, head, tape, tape_offset} (a "
                             "program: one per loop {step, pc, memory}), then the summary object")
    parser.add_argument("--quiet", "-q", action="store_true",
                        help="print only the summary (with --json: only the summary object)")
    parser.add_argument("--delta", action="store_true",
                        help="with --json: the first configuration in full, then per step only what changed "
                             "({step, state, head, write}; a program: {step, pc, write: {cell: value}})")


def cmd_simulate(args: argparse.Namespace) -> int:
    """The reference run: the simulator for a machine, the interpreter for a program."""
    if args.found.what == PROGRAM:
        return programs.cmd_simulate(args)
    machine = load(args)
    runnable, word = runnable_input(args, machine)
    with progress_bar(args.max_steps, stoppable=True) as progress:
        result = run(runnable, word, max_steps=args.max_steps, record=args.json and not args.quiet, progress=progress)
    if not args.json and not args.quiet and result.steps <= TABLE_ROW_LIMIT and not result.interrupted:
        result = run(runnable, word, max_steps=args.max_steps, record=True)      # short: again, for the table
    header = input_header(word, FILE_DEFAULT if args.default_input else None)
    print_run(args, result, f"{machine.name or Path(args.file).stem} ({machine.source_format}), {header}",
              summary=result.summary_text() + tool_note(machine, result))
    status = end_of_run(result, args.max_steps)
    failed = report_examples(machine, word, result, args.max_steps, to_stderr=True)
    return status or failed


def report_examples(machine, word: str, result, max_steps: int, *, to_stderr: bool = False) -> int:
    """Check every example of ``machine`` whose input is ``word`` against ``result``, the
    simulator's run of it just made (:func:`turingformer.tm.examples.check_example`), and print
    each outcome (on stderr with ``to_stderr``, as ``simulate`` does: its stdout stays what ``run``
    prints for the same input, table or JSON Lines). Returns 1 when an example is not met, else 0."""
    from turingformer.tm.examples import check_example, examples_of_input
    failed = 0
    for number, example in examples_of_input(machine, word):
        check = check_example(machine, example, number=number, max_steps=max_steps, result=result)
        if to_stderr:
            print(f"turingformer: {check}", file=sys.stderr)
        else:
            print(check)
        failed |= check.failed
    return int(failed)


# ---------------------------------------------------------------------------- show
def cmd_show(args: argparse.Namespace) -> int:
    """A machine's states, alphabets and table; a program's memory map and code; with
    ``--construction``, what that construction makes of the source (e.g. the SUBLEQ-U program of a machine)."""
    source = load(args)
    if args.construction is not None:
        chosen = chosen_construction(args, source)
        options = construction_options(args, chosen)
        text = chosen.listing(source, options.pop("input", None), **options)
        if text is None:
            raise InputError(f"construction {chosen.name} has nothing to show before compiling",
                             hint=f"compile it and inspect the model: turingformer compile {args.file} "
                                  f"--construction {chosen.name} -o MODEL && turingformer inspect MODEL")
        sys.stdout.write(text)
        return 0
    if args.found.what == PROGRAM:
        refuse_input_for_program(args)
        return programs.show(source, args.file)
    machine = source
    out = sys.stdout

    def sym(symbol: str) -> str:
        return repr(symbol)

    roles = {"accept": "accept", "reject": "reject", "halt": "halt"}
    out.write(f"{machine.name or Path(args.file).stem}  ({machine.source_format} format, {args.file})\n")
    if machine.description:
        out.write(f"  {machine.description.strip()}\n")
    described = []
    for state in machine.states:
        tags = (["start"] if state == machine.start else []) + ([roles[machine.role(state)]]
                                                                 if machine.role(state) else [])
        described.append(f"{state} ({', '.join(tags)})" if tags else state)
    out.write(f"states ({len(machine.states)}): {', '.join(described)}\n")
    out.write(f"start: {machine.start}\n")
    out.write(f"blank: {sym(machine.blank)}\n")
    out.write(f"input alphabet: {' '.join(map(sym, machine.input_alphabet)) or '(empty)'}\n")
    out.write(f"tape alphabet: {' '.join(map(sym, machine.tape_alphabet))}\n")
    out.write(f"rules: {len(machine.rules)} (cell = write move next state; '-' = no rule: the machine stops)\n")
    symbols = machine.tape_alphabet
    header = ["state \\ read", *map(sym, symbols)]
    rows = []
    for state in machine.states:
        role = machine.role(state)
        if role:
            rows.append([state, f"({role}: halts)", *[""] * (len(symbols) - 1)])
            continue
        row = [state]
        for symbol in symbols:
            rule = machine.rule(state, symbol)
            row.append(f"{sym(rule.write)} {rule.move.value} {rule.next_state}" if rule else "-")
        rows.append(row)
    widths = [max(len(r[i]) for r in [header, *rows]) for i in range(len(header))]
    for i, row in enumerate([header, *rows]):
        out.write("  " + " | ".join(c.ljust(w) for c, w in zip(row, widths)).rstrip() + "\n")
        if i == 0:
            out.write("  " + "-+-".join("-" * w for w in widths) + "\n")
    unreachable = machine.unreachable_states()
    if unreachable:
        out.write(f"unreachable states: {', '.join(unreachable)}\n")
    if machine.examples:
        out.write(f"examples ({len(machine.examples)}):\n")
        for example in machine.examples:
            facts = [f"{k} {v!r}" if isinstance(v, str) else f"{k} {v}" for k, v in (
                ("verdict", example.verdict), ("tape", example.tape), ("steps", example.steps),
                ("final state", example.final_state)) if v is not None]
            out.write(f"  input {example.input!r}" + (": " + ", ".join(facts) if facts else "") + "\n")
    return 0

# ---------------------------------------------------------------------------- convert
def cmd_convert(args: argparse.Namespace) -> int:
    refuse_overwrite(args, args.output)
    write_text(args.output, dump_machine(load(args)))
    return 0


# ---------------------------------------------------------------------------- graph
def cmd_graph(args: argparse.Namespace) -> int:
    from turingformer.tm import diagram
    from turingformer.views import figures

    refuse_overwrite(args, args.output)
    machine = load(args)
    suffix = Path(args.output).suffix.lower()
    if args.output == "-" or suffix in (".dot", ".gv"):
        write_text(args.output, diagram.to_dot(machine))
    elif suffix in figures.FIGURE_SUFFIXES:
        figures.draw_diagram(machine, args.output)
        note(f"wrote {args.output}")
    else:
        raise FormatError(f"unknown output extension {suffix or '(none)'!r} for {args.output!r}",
                          hint="use .dot (Graphviz text), .png, .svg or .pdf (matplotlib), or - for DOT on stdout")
    return 0

