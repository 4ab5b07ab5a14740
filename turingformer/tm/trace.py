"""Traces: configurations of a run and how it ended, shared by the simulator and the decoder.

A run is recorded as a :class:`Trace`: the state and head at every step and the symbol written by
every step. Tapes are replayed from the writes on demand, so a trace costs O(T) memory. The
reference simulator (:mod:`turingformer.tm.simulator`) and the transformer's decoder
(:mod:`turingformer.compiler.perez.decoding`) both produce this type, so the two compare field by field; this
module knows nothing about machines or weights.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import Enum
from typing import Collection, Iterator, Sequence

DEFAULT_MAX_STEPS = 100_000

class HaltReason(str, Enum):
    HALTING_STATE = "halting state"
    NO_RULE = "no rule"
    STEP_LIMIT = "step limit"
    INTERRUPTED = "interrupted"     # stopped by the user (Ctrl-C): a partial run, verdict running


#: The reasons of a run that stopped before the machine halted.
_UNFINISHED = (HaltReason.STEP_LIMIT, HaltReason.INTERRUPTED)


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
        cells = self._initial()
        for t in range(len(self.states)):
            if t:
                cells[self.heads[t - 1]] = self.writes[t - 1]
            yield self._configuration(t, cells)

    def _configuration(self, t: int, cells: dict[int, str]) -> Configuration:
        head = self.heads[t]
        low = min([*cells, head])
        high = max([*cells, head])
        tape = Tape(tuple(cells.get(c, self.blank) for c in range(low, high + 1)), low, self.blank)
        return Configuration(t, self.states[t], head, tape)

    @property
    def final(self) -> Configuration:
        return self[-1]

    def summary(self) -> dict:
        """The stable JSON summary printed by ``turingformer simulate --json`` and ``run --json``."""
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

    summary = Trace.summary


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
