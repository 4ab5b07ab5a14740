"""Commands on a program for the looped computer (``.subleq``, ``.usubleq``, ``.fleq``, an official
CSV pair): ``simulate PROGRAM`` and ``show PROGRAM``, reached through :func:`on_file_kind` from the
machine commands of the same name. ``--max-steps`` counts loops (one loop = one instruction)."""

from __future__ import annotations

import argparse
import sys
from typing import Callable, TextIO

from turingformer.cli.common import note, with_progress
from turingformer.cli.tables import TABLE_ROW_LIMIT
from turingformer.errors import InputError
from turingformer.programs import Program, ProgramTrace, SubleqU, json_lines, run
from turingformer.programs.formats import is_program_file, load_program

MODELS = {"subleq-h": "SUBLEQ-H", "subleq-u": "SUBLEQ-U", "fleq-h": "FLEQ-H", "fleq-m": "FLEQ-M"}


def on_file_kind(machine_command: Callable[[argparse.Namespace], int],
                 program_command: Callable[[argparse.Namespace], int]) -> Callable[[argparse.Namespace], int]:
    """A command that runs ``program_command`` on a program file and ``machine_command`` otherwise."""
    def command(args: argparse.Namespace) -> int:
        if is_program_file(args.file, args.format):
            return program_command(args)
        return machine_command(args)
    command.__doc__ = machine_command.__doc__
    return command


def load(args: argparse.Namespace) -> Program:
    """The program named by the ``machine`` options (``--bits`` is an official CSV program's width)."""
    if getattr(args, "input", None) is not None:
        raise InputError("--input is for Turing machines: a program's input is its initial memory",
                         hint="edit the program's .data values (or X_init_mem.csv) instead")
    return load_program(args.file, format=args.format, bits=args.bits)


# ---------------------------------------------------------------------------- simulate
def cmd_simulate(args: argparse.Namespace) -> int:
    program = load(args)
    trace = with_progress(run, program, max_steps=args.max_steps, record=not args.quiet, unit="loop",
                          total=args.max_steps)
    summary = summary_line(program, trace)
    if program.expect:
        failures = program.expect.failures(trace.steps, trace.halted, trace.final.memory)
        summary += (f"\nexpect: {expect_text(program)}: " + ("met" if not failures else
                                                            "NOT MET: " + "; ".join(failures)))
    print_program_run(args, trace, heading(program, args.file), lambda out: print_loops(program, trace, out), summary)
    return 0


def print_program_run(args: argparse.Namespace, trace: ProgramTrace, heading: str,
                      print_table: Callable[[TextIO], None], summary: str) -> None:
    """What ``simulate PROGRAM`` and ``run MODEL`` print for a run of loops: JSON Lines with
    ``--json`` (one object per loop, then the summary), else the heading, the loop table (up to
    TABLE_ROW_LIMIT loops) and the summary; a note when the run hit the loop limit."""
    out = sys.stdout
    if args.json:
        out.writelines(line + "\n" for line in json_lines(trace, loops=not args.quiet))
    else:
        out.write(heading + "\n")
        if not args.quiet:
            if trace.steps <= TABLE_ROW_LIMIT:
                print_table(out)
            else:
                note(f"{trace.steps:,} loops: printing the summary only (the table stops at "
                     f"{TABLE_ROW_LIMIT:,} loops; --json prints every loop)")
        out.write(summary + "\n")
    if not trace.halted:
        note(f"the program did not halt within the limit of {args.max_steps:,} loops; "
             f"raise it with --max-steps N")


def heading(program: Program, path: str) -> str:
    """``name (MODEL, N-bit words, M cells[, s instructions]), path``."""
    size = "" if isinstance(program, SubleqU) else f", {program.size} instructions"
    return (f"{program.name} ({MODELS[program.kind.value]}, {program.word_description}, "
            f"{program.cells} cells{size}), {path}")


def cell_names(program: Program) -> list[str]:
    """The name of every cell: its first label, else its number."""
    names = [str(cell) for cell in range(program.cells)]
    for name, cell in reversed(list(program.labels.items())):
        names[cell] = name
    return names


def print_loops(program: Program, trace: ProgramTrace, out: TextIO) -> None:
    """One row per loop: the step, the pc and every memory cell (headed by its label); for
    matrix cells (FLEQ-M) the step, the pc and the cells the loop changed, with their new values."""
    if program.fraction_bits is None:
        rows = [[str(s.step), str(s.pc), *map(str, s.memory)] for s in trace]
        _table(out, ["step", "pc", *cell_names(program)], rows, right=True)
        return
    names, rows, previous = cell_names(program), [], None
    for s in trace:
        changed = [i for i, value in enumerate(s.memory) if previous is not None and value != previous[i]]
        rows.append([str(s.step), str(s.pc), "; ".join(f"{names[i]} = {program.cell_text(s.memory[i])}"
                                                       for i in changed)])
        previous = s.memory
    _table(out, ["step", "pc", "written"], rows)


def summary_line(program: Program, trace: ProgramTrace) -> str:
    final = trace.final
    loops = f"{trace.steps:,} loop" + ("" if trace.steps == 1 else "s")
    halt = "-1" if isinstance(program, SubleqU) else f"s = {program.size}"
    state = (f"halted after {loops} (pc = {halt})" if trace.halted
             else f"still running after {loops} at pc {final.pc} (loop limit)")
    if program.fraction_bits is not None:
        return "\n".join([state + ":", *cell_listing(program, final.memory)])
    values = ", ".join(f"{name} = {final.memory[cell]}" for name, cell in program.labels.items())
    return state + (f"; {values}" if values else "")


def cell_listing(program: Program, memory) -> list[str]:
    """The labelled cells of ``memory`` as matrices (values and raw words), for FLEQ-M runs."""
    names = [name for name in program.labels if not name.startswith("#") and name != "__Z"]
    width = max((len(name) for name in names), default=0)
    out = []
    for name in names:
        for i, line in enumerate(program.cell_lines(memory[program.labels[name]])):
            out.append(f"  {(name + ' =') if i == 0 else '':<{width + 2}} {line}")
    return out


def expect_text(program: Program) -> str:
    expect = program.expect
    parts = [c.describe() for c in expect.cells]
    if expect.steps is not None:
        parts.append(f"steps = {expect.steps}")
    return ", ".join(parts)


# ---------------------------------------------------------------------------- show
def cmd_show(args: argparse.Namespace) -> int:
    program = load(args)
    out = sys.stdout
    out.write(f"{heading(program, args.file)}\n")
    halt = "pc = -1" if isinstance(program, SubleqU) else f"pc = s = {program.size}"
    out.write(f"words: {program.words_text}; start pc {program.pc}; halted at {halt}\n")
    labels: dict[int, list[str]] = {}
    for name, cell in program.labels.items():
        labels.setdefault(cell, []).append(name)
    out.write("memory:\n")
    _table(out, ["cell", "label", "value"],
           [[str(cell), ", ".join(labels.get(cell, [])), program.cell_text(value)]
            for cell, value in enumerate(program.memory)])
    names = cell_names(program)
    if isinstance(program, SubleqU):
        out.write("instructions as written (a b c at cells pc, pc+1, pc+2; the code may rewrite them):\n")
        rows = [[str(pc), *(names[v] if 0 <= v < program.cells else str(v) for v in program.memory[pc:pc + 2]),
                 str(program.memory[pc + 2])] for pc in program.instruction_cells]
        _table(out, ["pc", "a", "b", "c"], rows)
    else:
        targets: dict[int, list[str]] = {}
        for name, index in program.code_labels.items():
            targets.setdefault(index, []).append(name)
        target_names = {index: names_[0] for index, names_ in targets.items()}
        target_names[program.size] = "HALT"
        rows = []
        for index, instruction in enumerate(program.code):
            fields = []
            for field in program.fields:
                value = getattr(instruction, field)
                if field == program.fields[-1]:                      # c of SUBLEQ, p of FLEQ
                    fields.append(target_names.get(value, str(value)))
                else:
                    fields.append(value if field == "op" else names[value])
            line = str(program.code_lines[index]) if index < len(program.code_lines) else ""
            rows.append([str(index), ", ".join(targets.get(index, [])), *fields, line])
        out.write("code:\n")
        _table(out, ["pc", "label", *program.fields, "line"], rows)
    if program.expect:
        out.write(f"expect: {expect_text(program)}\n")
    return 0


def _table(out: TextIO, header: list[str], rows: list[list[str]], *, right: bool = False) -> None:
    """Columns as wide as their widest entry, left-aligned (right-aligned when ``right``)."""
    widths = [max(len(r[i]) for r in [header, *rows]) for i in range(len(header))]
    for row in [header, *rows]:
        cells = (c.rjust(w) if right else c.ljust(w) for c, w in zip(row, widths))
        out.write("  " + "  ".join(cells).rstrip() + "\n")
