"""What ``simulate`` and ``show`` print for a program of the looped computer (``.subleq``,
``.usubleq``, ``.fleq``, an official CSV pair). ``--max-steps`` counts loops (one loop = one
instruction)."""

from __future__ import annotations

import argparse
import sys

from turingformer.cli.common import end_of_run, load, progress_bar, refuse_input_for_program
from turingformer.cli.tables import print_run
from turingformer.programs import Program, ProgramTrace, SubleqU, aligned, cell_names, run

MODELS = {"subleq-h": "SUBLEQ-H", "subleq-u": "SUBLEQ-U", "fleq-h": "FLEQ-H", "fleq-m": "FLEQ-M"}


def cmd_simulate(args: argparse.Namespace) -> int:
    """The interpreter's run, one row per loop; the file's ``.expect`` is checked, never echoed:
    a claim not met is exit 1."""
    refuse_input_for_program(args)
    program = load(args)
    with progress_bar(args.max_steps, "loop", stoppable=True) as progress:
        trace = run(program, max_steps=args.max_steps, record=not args.quiet, progress=progress)
    report = expect_report(program, trace)
    print_run(args, trace, heading(program, args.file), summary=trace.summary_text() + report, unit="loop")
    return end_of_run(trace, args.max_steps, "loop") or int("NOT MET" in report)


def heading(program: Program, path: str) -> str:
    """``name (MODEL, N-bit words, M cells[, s instructions]), path``."""
    size = "" if isinstance(program, SubleqU) else f", {program.size} instructions"
    return (f"{program.name} ({MODELS.get(program.kind.value, program.kind.value.upper())}, "
            f"{program.word_description}, {program.cells} cells{size}), {path}")


def expect_report(program: Program, trace: ProgramTrace) -> str:
    """The line that checks the file's ``.expect`` against the run ('' when it states nothing); a
    run cut by its loop limit (or Ctrl-C) leaves the claim not checked."""
    if not program.expect:
        return ""
    if not trace.halted:
        return f"\nexpect: {expect_text(program)}: not checked (the run stopped after {trace.steps:,} loops)"
    failures = program.expect.failures(trace.steps, trace.halted, trace.final.memory)
    return f"\nexpect: {expect_text(program)}: " + ("met" if not failures else "NOT MET: " + "; ".join(failures))


def expect_text(program: Program) -> str:
    expect = program.expect
    parts = [c.describe() for c in expect.cells]
    if expect.steps is not None:
        parts.append(f"steps = {expect.steps}")
    return ", ".join(parts)


def show(program: Program, path: str) -> int:
    """The memory map (cell, label, value) and the code listing with labels."""
    out = sys.stdout
    out.write(f"{heading(program, path)}\n")
    halt = "pc = -1" if isinstance(program, SubleqU) else f"pc = s = {program.size}"
    out.write(f"words: {program.words_text}; start pc {program.pc}; halted at {halt}\n")
    labels: dict[int, list[str]] = {}
    for name, cell in program.labels.items():
        labels.setdefault(cell, []).append(name)
    out.write("memory:\n")
    _table(["cell", "label", "value"],
           [[str(cell), ", ".join(labels.get(cell, [])), program.cell_text(value)]
            for cell, value in enumerate(program.memory)])
    names = cell_names(program.labels, program.cells)
    if isinstance(program, SubleqU):
        out.write("instructions as written (a b c at cells pc, pc+1, pc+2; the code may rewrite them):\n")
        rows = [[str(pc), *(names[v] if 0 <= v < program.cells else str(v) for v in program.memory[pc:pc + 2]),
                 str(program.memory[pc + 2])] for pc in program.instruction_cells]
        _table(["pc", "a", "b", "c"], rows)
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
        _table(["pc", "label", *program.fields, "line"], rows)
    if program.expect:
        out.write(f"expect: {expect_text(program)}\n")
    return 0


def _table(header: list[str], rows: list[list[str]]) -> None:
    sys.stdout.writelines(line + "\n" for line in aligned(header, rows))
