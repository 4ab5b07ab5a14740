"""Commands on a machine file: ``simulate``, ``show``, ``convert`` and ``graph``."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from turingformer.cli.common import (
    FILE_DEFAULT, end_of_run, input_header, load, machine_and_input, note, progress_bar, refuse_same_file, write_text,
)
from turingformer.cli import tables
from turingformer.cli.tables import print_table_or_note, summary_line, write_json_lines
from turingformer.errors import FormatError
from turingformer.tm.formats import dump_machine
from turingformer.tm.simulator import run


# ---------------------------------------------------------------------------- simulate
def simulate_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--json", action="store_true",
                        help="JSON Lines: one object per configuration {step, state, head, tape, tape_offset}, "
                             "then the summary object")
    parser.add_argument("--quiet", "-q", action="store_true",
                        help="print only the summary (with --json: only the summary object)")


def cmd_simulate(args: argparse.Namespace) -> int:
    machine, runnable, word = machine_and_input(args)
    with progress_bar(args.max_steps, stoppable=True) as progress:
        result = run(runnable, word, max_steps=args.max_steps, record=args.json and not args.quiet,
                     progress=progress)
    out = sys.stdout
    if args.json:
        write_json_lines(result, out, configurations=not args.quiet)
    else:
        header = input_header(word, FILE_DEFAULT if args.default_input else None)
        out.write(f"{machine.name or Path(args.file).stem} ({machine.source_format}), {header}\n")
        if not args.quiet:
            trace = run(runnable, word, max_steps=args.max_steps, record=True) \
                if result.steps <= tables.TABLE_ROW_LIMIT else result
            print_table_or_note(trace, runnable.blank, out)
        out.write(summary_line(machine, result) + "\n")
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
    machine = load(args)
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





def cmd_convert(args: argparse.Namespace) -> int:
    refuse_same_file(args.file, args.output)
    write_text(args.output, dump_machine(load(args)))
    return 0


# ---------------------------------------------------------------------------- graph
def cmd_graph(args: argparse.Namespace) -> int:
    from turingformer.tm import diagram
    from turingformer.views import figures

    refuse_same_file(args.file, args.output)
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

