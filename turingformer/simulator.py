"""Stage 2: the reference simulator, the oracle every other stage is checked against.

Conventions (those of turingmachine.io, Morphett, bbchallenge and automata-lib): the input
occupies cells ``0 .. n-1``, the head starts on cell 0 in the start state, every other cell
holds the blank, and the tape is unbounded in both directions. One *step* is one executed rule
(read, write, move, change state). A run stops

* in a halting state (accept / reject / halt roles): :attr:`HaltReason.HALTING_STATE`,
* where no rule matches the (state, symbol): :attr:`HaltReason.NO_RULE`,
* after ``max_steps`` steps: :attr:`HaltReason.STEP_LIMIT` (the verdict is then ``running``).

The verdict is ``accept`` / ``reject`` for a stop in such a state; a machine that has accept
states rejects wherever else it stops (the automata-lib and turingmachine.io reading); a machine
without accept states simply ``halted``.

A run is recorded as a :class:`Trace`: the state and head at every step and the symbol written by
every step. Tapes are replayed from the writes on demand, so a trace costs O(T) memory; the
decoded transformer trace (:mod:`turingformer.decoding`) is the same type, built from the same
three sequences, so the two compare field by field.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import Enum
from typing import Callable, Collection, Iterator, Sequence

from .machine import TuringMachine

DEFAULT_MAX_STEPS = 100_000


class HaltReason(str, Enum):
    HALTING_STATE = "halting state"
    NO_RULE = "no rule"
    STEP_LIMIT = "step limit"


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
        return self.reason is not HaltReason.STEP_LIMIT

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


def verdict_for(machine: TuringMachine, state: str, reason: HaltReason) -> Verdict:
    """The verdict of a run of ``machine`` that stopped in ``state`` for ``reason``."""
    return verdict_of(state, reason, machine.accept_states, machine.reject_states)


def verdict_of(state: str, reason: HaltReason, accept: Collection[str], reject: Collection[str]) -> Verdict:
    """The verdict rule of the module docstring, from the halting roles alone."""
    if reason is HaltReason.STEP_LIMIT:
        return Verdict.RUNNING
    if state in accept:
        return Verdict.ACCEPT
    if state in reject or accept:
        return Verdict.REJECT
    return Verdict.HALTED


def run(
    machine: TuringMachine,
    word: str = "",
    *,
    max_steps: int = DEFAULT_MAX_STEPS,
    record: bool = True,
    progress: Callable[[int], None] | None = None,
) -> Trace:
    """Run ``machine`` on ``word`` for at most ``max_steps`` steps.

    With ``record=False`` only the final configuration is kept (``states``, ``heads`` and
    ``writes`` then hold the last step alone and ``steps`` is still exact): this is the fast path
    for long runs such as BB(5). ``progress`` is called every 2**20 steps with the step count.
    """
    machine.check_input(word)
    symbols = machine.tape_alphabet
    states = machine.states
    sym_index = {s: i for i, s in enumerate(symbols)}
    nsym = len(symbols)
    # table[q * nsym + a] = (next state, written symbol, move) or None: the machine halts there.
    table: list[tuple[int, int, int] | None] = [None] * (len(states) * nsym)
    state_index = {q: i for i, q in enumerate(states)}
    for rule in machine.rules:
        table[state_index[rule.state] * nsym + sym_index[rule.read]] = (
            state_index[rule.next_state], sym_index[rule.write], rule.move.delta)

    width = max(64, 2 * len(word))
    tape = [0] * width                      # tape[pos] is cell pos - origin; symbol 0 is the blank
    origin = width // 4
    for i, symbol in enumerate(word):
        tape[origin + i] = sym_index[symbol]
    q = state_index[machine.start]
    pos = origin
    step = 0
    seen_states: list[int] = [q]
    seen_heads: list[int] = [0]
    seen_writes: list[int] = []
    chunk = 1 << 20
    while step < max_steps:
        entry = table[q * nsym + tape[pos]]
        if entry is None:
            break
        q, tape[pos], move = entry
        if record:
            seen_writes.append(tape[pos])
            seen_states.append(q)
        pos += move
        step += 1
        if record:
            seen_heads.append(pos - origin)
        if not 0 <= pos < len(tape):
            grow = len(tape)
            if pos < 0:
                tape[0:0] = [0] * grow
                origin += grow
                pos += grow
            else:
                tape.extend([0] * grow)
        if progress is not None and step % chunk == 0:
            progress(step)

    final_state = states[q]
    if machine.rule(final_state, symbols[tape[pos]]) is not None:
        reason = HaltReason.STEP_LIMIT
    elif final_state in machine.halting_states:
        reason = HaltReason.HALTING_STATE
    else:
        reason = HaltReason.NO_RULE
    if not record:
        # Keep the final configuration only: the tape as it is, the head where it is.
        written = {cell - origin: symbols[s] for cell, s in enumerate(tape) if s}
        return _final_only(machine, word, written, final_state, pos - origin, step, reason)
    return Trace(
        input=word, blank=machine.blank, states=tuple(states[i] for i in seen_states),
        heads=tuple(seen_heads), writes=tuple(symbols[i] for i in seen_writes), reason=reason,
        verdict=verdict_for(machine, final_state, reason), machine_name=machine.name,
    )


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
        return self.reason is not HaltReason.STEP_LIMIT

    summary = Trace.summary


def _final_only(machine: TuringMachine, word: str, written: dict[int, str], state: str, head: int,
                steps: int, reason: HaltReason) -> FinalResult:
    low = min([*written, head])
    high = max([*written, head])
    tape = Tape(tuple(written.get(c, machine.blank) for c in range(low, high + 1)), low, machine.blank)
    return FinalResult(word, Configuration(steps, state, head, tape), steps, reason,
                       verdict_for(machine, state, reason), machine.name)


def trace_from_events(
    *, word: str, blank: str, states: Sequence[str], heads: Sequence[int], writes: Sequence[str],
    reason: HaltReason, verdict: Verdict, machine_name: str = "",
) -> Trace:
    """Build a :class:`Trace` from per-step events (used by the transformer's decoder)."""
    return Trace(word, blank, tuple(states), tuple(heads), tuple(writes), reason, verdict, machine_name)
