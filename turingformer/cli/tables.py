"""How commands print a trace: the step table, JSON Lines and the one-line summary."""

from __future__ import annotations

import json
from typing import TextIO

from turingformer.cli.common import note
from turingformer.tm.formats import reported_final_state, reported_steps
from turingformer.tm.machine import TuringMachine
from turingformer.tm.trace import steps_text, summary_text, table_lines

__all__ = ["TABLE_ROW_LIMIT", "print_table_or_note", "steps_text", "summary_line", "write_json_lines"]

#: Above this many steps ``simulate`` prints the summary only (``--json`` prints everything).
TABLE_ROW_LIMIT = 10_000


def write_json_lines(result, out: TextIO, *, configurations: bool, extra: dict | None = None) -> None:
    """JSON Lines: one object per configuration (unless not wanted), then the summary object (with
    the ``extra`` entries, e.g. ``"modified"`` for a model file).

    The tapes come from :meth:`Trace.spans`, rendered incrementally (O(1) per step beyond the output)."""
    if configurations:
        dumps = json.dumps
        for step, state, head, offset, tape in result.spans():
            out.write(dumps({"step": step, "state": state, "head": head, "tape": tape, "tape_offset": offset},
                            ensure_ascii=False) + "\n")
    out.write(json.dumps({**result.summary(), **(extra or {})}, ensure_ascii=False) + "\n")


def print_table_or_note(trace, blank: str, out: TextIO) -> None:
    """The step table, or for more than TABLE_ROW_LIMIT steps a note that only the summary follows."""
    if trace.steps <= TABLE_ROW_LIMIT:
        for line in table_lines(trace):
            out.write(line + "\n")
    else:
        note(f"{trace.steps:,} steps: printing the summary only (the table stops at "
              f"{TABLE_ROW_LIMIT:,} steps; --json prints every configuration)")


def summary_line(machine: TuringMachine | None, result) -> str:
    """:func:`summary_text` of the result's summary, plus what the machine's source tool would report."""
    text = summary_text(result.summary())
    if machine is None:
        return text
    final = result.final
    steps, state = reported_steps(machine, result), reported_final_state(machine, result)
    if steps != result.steps or state != final.state:
        text += (f"\n({machine.source_format} itself would report {steps_text(steps)} and state {state}: it counts "
                 f"the stop for lack of a rule as one more step)")
    return text
