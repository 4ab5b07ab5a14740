"""How commands print a run: JSON Lines, or the heading, the step table and the one-line summary.

Every trace prints itself (``json_lines``, ``table_lines``, ``summary_text``: a machine's
:class:`~turingformer.tm.trace.Trace` and a program's
:class:`~turingformer.programs.trace.ProgramTrace` alike), so ``simulate`` and ``run`` of every
kind print through :func:`print_run`, and ``run --json`` equals ``simulate --json``.
"""

from __future__ import annotations

import sys
from typing import TextIO

from turingformer.cli.common import note
from turingformer.tm.formats import reported_final_state, reported_steps
from turingformer.tm.machine import TuringMachine
from turingformer.tm.trace import steps_text

__all__ = ["TABLE_ROW_LIMIT", "print_run", "steps_text", "tool_note"]

#: Above this many steps a run prints the summary only (``--json`` prints everything).
TABLE_ROW_LIMIT = 10_000


def print_run(args, trace, heading: str, *, extra: dict | None = None, summary: str | None = None,
              unit: str = "step", out: TextIO | None = None) -> None:
    """JSON Lines with ``--json`` (the summary object with the ``extra`` entries), else the heading,
    the step table (unless ``--quiet``; a note instead above :data:`TABLE_ROW_LIMIT` steps) and
    the summary line (``summary`` when given, else the trace's own)."""
    out = out or sys.stdout
    if args.json:
        out.writelines(line + "\n" for line in trace.json_lines(steps=not args.quiet, extra=extra,
                                                                  delta=getattr(args, "delta", False)))
        return
    out.write(heading + "\n")
    if not args.quiet:
        if trace.steps <= TABLE_ROW_LIMIT:
            out.writelines(line + "\n" for line in trace.table_lines())
        else:
            note(f"{trace.steps:,} {unit}s: printing the summary only (the table stops at "
                 f"{TABLE_ROW_LIMIT:,} {unit}s; --json prints every one)")
    out.write((trace.summary_text() if summary is None else summary) + "\n")


def tool_note(machine: TuringMachine, result) -> str:
    """What the machine's source tool would report differently about a run ('' when nothing)."""
    final = result.final
    steps, state = reported_steps(machine, result), reported_final_state(machine, result)
    if steps != result.steps or state != final.state:
        return (f"\n({machine.source_format} itself would report {steps_text(steps)} and state {state}: it counts "
                f"the stop for lack of a rule as one more step)")
    return ""
