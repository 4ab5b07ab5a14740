"""How commands print a trace: the step table, JSON Lines and the one-line summary."""

from __future__ import annotations

import json
from typing import TextIO

from turingformer.cli.common import note
from turingformer.errors import shorten
from turingformer.tm.formats import reported_final_state, reported_steps
from turingformer.tm.machine import TuringMachine
from turingformer.tm.simulator import HaltReason

#: Above this many steps ``simulate`` prints the summary only (``--json`` prints everything).
TABLE_ROW_LIMIT = 10_000
#: The widest tape window (in cells) a table row shows; wider tapes are shown around the head.
TABLE_WINDOW = 60


def write_json_lines(result, out: TextIO, *, configurations: bool, extra: dict | None = None) -> None:
    """JSON Lines: one object per configuration (unless not wanted), then the summary object
    (with the ``extra`` entries, e.g. ``"modified"`` for a model file)."""
    if configurations:
        for conf in result:
            offset, tape = conf.tape.span(conf.head)
            out.write(json.dumps({"step": conf.step, "state": conf.state, "head": conf.head,
                                  "tape": tape, "tape_offset": offset}, ensure_ascii=False) + "\n")
    out.write(json.dumps({**result.summary(), **(extra or {})}, ensure_ascii=False) + "\n")


def print_table_or_note(trace, blank: str, out: TextIO) -> None:
    """The step table, or for more than TABLE_ROW_LIMIT steps a note that only the summary follows."""
    if trace.steps <= TABLE_ROW_LIMIT:
        _print_table(trace, blank, out)
    else:
        note(f"{trace.steps:,} steps: printing the summary only (the table stops at "
              f"{TABLE_ROW_LIMIT:,} steps; --json prints every configuration)")


def _cell(symbol: str) -> str:
    return symbol if symbol.isprintable() else "?"


def _print_table(trace, blank: str, out: TextIO) -> None:
    heads = trace.heads
    low = min(min(heads), 0)
    high = max(max(heads), len(trace.input) - 1)
    wide = high - low + 1 > TABLE_WINDOW
    state_width = max([5, *(len(s) for s in trace.states)])
    out.write(f"{'step':>6}  {'state':<{state_width}}  tape\n")
    for conf in trace:
        if wide:
            lo = min(max(conf.head - TABLE_WINDOW // 2, low), high - TABLE_WINDOW + 1)
            hi = lo + TABLE_WINDOW - 1
        else:
            lo, hi = low, high
        text = []
        for cell in range(lo, hi + 1):
            text.append("[" if cell == conf.head else "]" if cell - 1 == conf.head else " ")
            text.append(_cell(conf.tape[cell]))
        text.append("]" if hi == conf.head else " ")
        edge_l = "…" if wide and lo > low else ""
        edge_r = "…" if wide and hi < high else ""
        out.write(f"{conf.step:>6}  {conf.state:<{state_width}}  {edge_l}{''.join(text)}{edge_r}  head {conf.head}\n")


def steps_text(n: int) -> str:
    return f"{n:,} step" + ("" if n == 1 else "s")


def summary_line(machine: TuringMachine | None, result) -> str:
    final = result.final
    offset, tape = final.tape.span(final.head)
    if result.halted:
        why = "entered a halting state" if result.reason is HaltReason.HALTING_STATE else "no rule applies"
        text = (f"halted after {steps_text(result.steps)} in state {final.state} ({why}); "
                f"verdict: {result.verdict.value}")
    else:
        text = (f"still running after {steps_text(result.steps)} in state {final.state} "
                f"({result.reason.value}); verdict: running")
    text += (f"; tape {shorten(tape, 80, 'cells')} from cell {offset}, head on cell {final.head}, "
             f"{final.tape.nonblank():,} non-blank")
    if machine is None:
        return text
    steps, state = reported_steps(machine, result), reported_final_state(machine, result)
    if steps != result.steps or state != final.state:
        text += (f"\n({machine.source_format} itself would report {steps_text(steps)} and state {state}: it counts "
                 f"the stop for lack of a rule as one more step)")
    return text

