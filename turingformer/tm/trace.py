"""Traces: configurations of a run and how it ended, shared by the simulator and the decoder.

A run is recorded as a :class:`Trace`: the state and head at every step and the symbol written by
every step. Tapes are replayed from the writes on demand, so a trace costs O(T) memory. The
reference simulator (:mod:`turingformer.tm.simulator`) and the transformer's decoder
(:mod:`turingformer.compiler.perez.decoding`) both produce this type, so the two compare field by field; this
module knows nothing about machines or weights.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from enum import Enum
from typing import Collection, Iterator, Sequence

from turingformer.errors import shorten

DEFAULT_MAX_STEPS = 100_000
#: Steps a notebook shows of a trace by default (its HTML is windowed).
HTML_STEPS = 50
#: The widest tape window (in cells) a table row shows; wider tapes are shown around the head.
TABLE_WINDOW = 60

class HaltReason(str, Enum):
    HALTING_STATE = "halting state"
    NO_RULE = "no rule"
    STEP_LIMIT = "step limit"
    INTERRUPTED = "interrupted"     # stopped by the user (Ctrl-C): a partial run, verdict running
    #: A run on a bounded tape (the looped computer's tape block, docs/two-transformers.md) that
    #: needed a cell outside the block: the machine has not halted, the run cannot go on.
    TAPE_BOUND = "tape bound"


#: The reasons of a run that stopped before the machine halted.
_UNFINISHED = (HaltReason.STEP_LIMIT, HaltReason.INTERRUPTED, HaltReason.TAPE_BOUND)


class Verdict(str, Enum):
    ACCEPT = "accept"
    REJECT = "reject"
    HALTED = "halted"
    RUNNING = "running"


@dataclass(frozen=True)
class Tape:
    """The cells ``offset .. offset+len(cells)-1``; every other cell holds ``blank``."""

    cells: tuple[str, ...]
    offset: int
    blank: str

    def __getitem__(self, cell: int) -> str:
        index = cell - self.offset
        return self.cells[index] if 0 <= index < len(self.cells) else self.blank

    def nonblank(self) -> int:
        """The number of non-blank cells."""
        return sum(symbol != self.blank for symbol in self.cells)

    def span(self, head: int) -> tuple[int, str]:
        """(first cell, text) of the smallest window holding every non-blank cell and the head.

        This is the convention of the corpus' EXPECTED.json: ``tape`` and ``tape_offset``.
        """
        marked = [self.offset + i for i, s in enumerate(self.cells) if s != self.blank] + [head]
        low, high = min(marked), max(marked)
        return low, "".join(self[c] for c in range(low, high + 1))

    def window(self, low: int, high: int) -> str:
        return "".join(self[c] for c in range(low, high + 1))


@dataclass(frozen=True)
class Configuration:
    """The machine at one step: ``state`` with the head on ``head`` over ``tape``."""

    step: int
    state: str
    head: int
    tape: Tape

    @property
    def symbol(self) -> str:
        """The symbol under the head."""
        return self.tape[self.head]


@dataclass(frozen=True)
class Trace:
    """A whole run: ``states[t]`` and ``heads[t]`` for t = 0..T, ``writes[t]`` for t < T.

    ``reason`` and ``verdict`` describe how it ended. Index it (``trace[t]``) or iterate it for
    :class:`Configuration` objects; :attr:`final` is the last one.
    """

    input: str
    blank: str
    states: tuple[str, ...]
    heads: tuple[int, ...]
    writes: tuple[str, ...]
    reason: HaltReason
    verdict: Verdict
    machine_name: str = ""

    @property
    def steps(self) -> int:
        return len(self.writes)

    @property
    def halted(self) -> bool:
        return self.reason not in _UNFINISHED

    @property
    def interrupted(self) -> bool:
        """True when the run was asked to stop (Ctrl-C) before it ended."""
        return self.reason is HaltReason.INTERRUPTED

    def __len__(self) -> int:
        return len(self.states)

    def _initial(self) -> dict[int, str]:
        return {cell: symbol for cell, symbol in enumerate(self.input)}

    def __getitem__(self, t: int) -> Configuration:
        t = range(len(self.states))[t]
        cells = self._initial()
        for step in range(t):
            cells[self.heads[step]] = self.writes[step]
        return self._configuration(t, cells)

    def __iter__(self) -> Iterator[Configuration]:
        for t, cells in self._replay():
            yield self._configuration(t, cells)

    def _replay(self) -> Iterator[tuple[int, dict[int, str]]]:
        """(t, the written cells at step t) for t = 0..T: one dict, updated by one write per step."""
        cells = self._initial()
        for t in range(len(self.states)):
            if t:
                cells[self.heads[t - 1]] = self.writes[t - 1]
            yield t, cells

    def reads(self) -> tuple[str, ...]:
        """The symbol under the head at every step t = 0..T, in O(T) time (iterating the trace
        builds every configuration's whole tape: O(T · tape))."""
        return tuple(cells.get(self.heads[t], self.blank) for t, cells in self._replay())

    def agrees_with(self, other: "Trace") -> list[bool]:
        """Per step t of both traces: configuration t is the same in both (state, head and every
        cell), in O(T) time — the tapes are compared incrementally, one written cell per step."""
        out, differ = [], set()
        for (t, mine), (_, theirs) in zip(self._replay(), other._replay()):
            changed = {*mine, *theirs} if t == 0 else {self.heads[t - 1], other.heads[t - 1]}
            for c in changed:
                if mine.get(c, self.blank) != theirs.get(c, other.blank):
                    differ.add(c)
                else:
                    differ.discard(c)
            out.append(not differ and self.states[t] == other.states[t] and self.heads[t] == other.heads[t])
        return out

    def _configuration(self, t: int, cells: dict[int, str]) -> Configuration:
        head = self.heads[t]
        low = min([*cells, head])
        high = max([*cells, head])
        tape = Tape(tuple(cells.get(c, self.blank) for c in range(low, high + 1)), low, self.blank)
        return Configuration(t, self.states[t], head, tape)

    @property
    def final(self) -> Configuration:
        return self[-1]

    def __repr__(self) -> str:
        return (f"Trace(machine={self.machine_name!r}, input={self.input!r}, steps={self.steps}, "
                f"final_state={self.states[-1]!r}, verdict={self.verdict.value!r})")

    def _repr_html_(self) -> str:
        """The first :data:`HTML_STEPS` configurations as a tape table (``html(start, stop)`` for
        another window)."""
        return self.html(0, HTML_STEPS - 1)

    def html(self, start: int = 0, stop: int | None = None) -> str:
        """Steps ``start..stop`` (inclusive) as an HTML table: one row per step, one column per
        cell of the window, the head's cell outlined in red."""
        from turingformer.tm.display import trace_table_html

        return trace_table_html(self, start, stop)

    def spans(self) -> Iterator[tuple[int, str, int, int, str]]:
        """``(step, state, head, tape_offset, tape)`` per configuration, ``tape`` being the
        :meth:`Tape.span` text, rendered incrementally: O(1) work per step beyond the text itself.

        Invariant: ``cells[c - low]`` is cell c for every c in the buffer (blank elsewhere), the
        head is inside it, and ``first``/``last`` bound the non-blank cells (``first > last``
        when there are none): a write moves a bound outwards in O(1); only erasing a bound scans
        inwards, over cells that were written before. The buffer doubles when the head leaves it.
        """
        blank = self.blank
        cells = list(self.input) or [blank]
        low = 0
        marked = [c for c, symbol in enumerate(cells) if symbol != blank]
        first, last = (marked[0], marked[-1]) if marked else (1, 0)
        heads, writes, states = self.heads, self.writes, self.states
        for t in range(len(states)):
            if t:
                cell, symbol = heads[t - 1], writes[t - 1]
                cells[cell - low] = symbol
                if symbol != blank:
                    first, last = (cell, cell) if first > last else (min(first, cell), max(last, cell))
                elif cell == first or cell == last:
                    while first <= last and cells[first - low] == blank:
                        first += 1
                    while first <= last and cells[last - low] == blank:
                        last -= 1
            head = heads[t]
            if head < low:
                grow = max(len(cells), low - head)
                cells[0:0] = [blank] * grow
                low -= grow
            elif head >= low + len(cells):
                cells.extend([blank] * max(len(cells), head - low - len(cells) + 1))
            lo, hi = (head, head) if first > last else (min(first, head), max(last, head))
            yield t, states[t], head, lo, "".join(cells[lo - low:hi - low + 1])

    def json_lines(self, *, steps: bool = True, extra: dict | None = None, delta: bool = False) -> Iterator[str]:
        """JSON Lines: one object per configuration ``{step, state, head, tape, tape_offset}`` when
        ``steps``, then the :meth:`summary` object (with the ``extra`` entries, e.g. ``"modified"``
        for an edited model file). The tapes come from :meth:`spans`, rendered incrementally (O(1)
        per step beyond the output).

        ``delta``: the start configuration in full, then per step only what changed,
        ``{step, state, head, write}`` — ``write`` the symbol the step wrote on the cell the head
        left — so a long run is O(1) characters per step, not a tape per step."""
        if steps and delta:
            dumps = json.dumps
            yield dumps({"step": 0, "state": self.states[0], "head": self.heads[0], "tape": self.input,
                         "tape_offset": 0}, ensure_ascii=False)
            for t in range(1, len(self.states)):
                yield dumps({"step": t, "state": self.states[t], "head": self.heads[t], "write": self.writes[t - 1]},
                            ensure_ascii=False)
        elif steps:
            dumps = json.dumps
            for step, state, head, offset, tape in self.spans():
                yield dumps({"step": step, "state": state, "head": head, "tape": tape, "tape_offset": offset},
                            ensure_ascii=False)
        yield json.dumps({**self.summary(), **(extra or {})}, ensure_ascii=False)

    def table_lines(self) -> Iterator[str]:
        """The step table (:func:`table_lines`)."""
        return table_lines(self)

    def summary_text(self) -> str:
        """The one-line summary (:func:`summary_text` of :meth:`summary`)."""
        return summary_text(self.summary())

    def summary(self) -> dict:
        """The stable JSON summary printed by ``turingformer simulate --json`` and ``run --json``
        (:func:`summary_text` reads it as the one-line summary, :func:`table_lines` prints the steps)."""
        final = self.final
        offset, text = final.tape.span(final.head)
        return {
            "summary": True, "machine": self.machine_name, "input": self.input,
            "steps": self.steps, "final_state": final.state, "head": final.head,
            "halted": self.halted, "reason": self.reason.value, "verdict": self.verdict.value,
            "nonblank": final.tape.nonblank(), "tape": text, "tape_offset": offset,
        }


@dataclass(frozen=True)
class FinalResult:
    """The end of an unrecorded run: the same :meth:`summary` as a :class:`Trace`."""

    input: str
    final: Configuration
    steps: int
    reason: HaltReason
    verdict: Verdict
    machine_name: str = ""

    @property
    def halted(self) -> bool:
        return self.reason not in _UNFINISHED

    interrupted = Trace.interrupted
    summary = Trace.summary
    summary_text = Trace.summary_text

    def json_lines(self, *, steps: bool = True, extra: dict | None = None, delta: bool = False) -> Iterator[str]:
        """Only the summary line: an unrecorded run kept no configurations."""
        yield json.dumps({**self.summary(), **(extra or {})}, ensure_ascii=False)

    def table_lines(self) -> Iterator[str]:
        return iter(())


def steps_text(n: int) -> str:
    """``"1 step"``, ``"1,234 steps"``."""
    return f"{n:,} step" + ("" if n == 1 else "s")


def summary_text(summary: dict) -> str:
    """The one-line reading of a :meth:`Trace.summary` (or :meth:`FinalResult.summary`) dict:
    the sentence ``simulate`` and ``run`` print, so the JSON and the text say the same thing."""
    steps = steps_text(summary["steps"])
    if summary["halted"]:
        if summary["reason"] == HaltReason.HALTING_STATE.value:
            why = "entered a halting state"
        else:
            read = summary["tape"][summary["head"] - summary["tape_offset"]]
            why = f"no rule for state {summary['final_state']} reading {read!r}"
        text = f"halted after {steps} in state {summary['final_state']} ({why}); verdict: {summary['verdict']}"
    elif summary["reason"] == HaltReason.TAPE_BOUND.value:
        text = (f"stopped after {steps} in state {summary['final_state']}: the head left the tape block "
                f"(tape bound); verdict: running")
    else:
        text = f"still running after {steps} in state {summary['final_state']} ({summary['reason']}); verdict: running"
    return (text + f"; tape {shorten(summary['tape'], 80, 'cells')} from cell {summary['tape_offset']}, head on cell "
            f"{summary['head']}, {summary['nonblank']:,} non-blank")


def _cell(symbol: str) -> str:
    return symbol if symbol.isprintable() else "?"


def table_lines(trace: Trace, *, window: int = TABLE_WINDOW) -> Iterator[str]:
    """The step table, one line per configuration after a header: step, state and the tape
    with the head's cell in brackets (tapes wider than ``window`` cells are shown around the
    head, with … where cells are cut)."""
    heads = trace.heads
    low = min(min(heads), 0)
    high = max(max(heads), len(trace.input) - 1)
    wide = high - low + 1 > window
    state_width = max([5, *(len(s) for s in trace.states)])
    yield f"{'step':>6}  {'state':<{state_width}}  tape"
    for conf in trace:
        if wide:
            lo = min(max(conf.head - window // 2, low), high - window + 1)
            hi = lo + window - 1
        else:
            lo, hi = low, high
        text = []
        for cell in range(lo, hi + 1):
            text.append("[" if cell == conf.head else "]" if cell - 1 == conf.head else " ")
            text.append(_cell(conf.tape[cell]))
        text.append("]" if hi == conf.head else " ")
        edge_l = "…" if wide and lo > low else ""
        edge_r = "…" if wide and hi < high else ""
        yield f"{conf.step:>6}  {conf.state:<{state_width}}  {edge_l}{''.join(text)}{edge_r}  head {conf.head}"


def verdict_of(state: str, reason: HaltReason, accept: Collection[str], reject: Collection[str]) -> Verdict:
    """The verdict rule of the module docstring, from the halting roles alone."""
    if reason in _UNFINISHED:
        return Verdict.RUNNING
    if state in accept:
        return Verdict.ACCEPT
    if state in reject or accept:
        return Verdict.REJECT
    return Verdict.HALTED


def trace_from_events(
    *, word: str, blank: str, states: Sequence[str], heads: Sequence[int], writes: Sequence[str],
    reason: HaltReason, verdict: Verdict, machine_name: str = "",
) -> Trace:
    """Build a :class:`Trace` from per-step events (used by the transformer's decoder)."""
    return Trace(word, blank, tuple(states), tuple(heads), tuple(writes), reason, verdict, machine_name)
