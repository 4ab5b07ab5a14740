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
decoded transformer trace (:mod:`turingformer.compiler.perez.decoding`) is the same type, built from the same
three sequences, so the two compare field by field.
"""

from __future__ import annotations

from typing import Callable, Iterator, NamedTuple

from turingformer.tm.machine import TuringMachine
from turingformer.tm.trace import (  # noqa: F401  (re-exported: the simulator's results are traces)
    DEFAULT_MAX_STEPS, Configuration, FinalResult, HaltReason, Tape, Trace, Verdict, trace_from_events, verdict_of,
)


def verdict_for(machine: TuringMachine, state: str, reason: HaltReason) -> Verdict:
    """The verdict of a run of ``machine`` that stopped in ``state`` for ``reason``."""
    return verdict_of(state, reason, machine.accept_states, machine.reject_states)


def run(
    machine: TuringMachine,
    word: str = "",
    *,
    max_steps: int = DEFAULT_MAX_STEPS,
    record: bool = True,
    progress: Callable[[int], bool | None] | None = None,
) -> Trace:
    """Run ``machine`` on ``word`` for at most ``max_steps`` steps.

    With ``record=False`` only the final configuration is kept (``states``, ``heads`` and
    ``writes`` then hold the last step alone and ``steps`` is still exact): this is the fast path
    for long runs such as BB(5). ``progress`` is called every 2**20 steps with the step count; when it
returns True (the user pressed Ctrl-C) the run stops there, complete up to that step, with
:attr:`HaltReason.INTERRUPTED`.
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
    interrupted = False
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
        if progress is not None and step % chunk == 0 and progress(step):
            interrupted = True
            break

    final_state = states[q]
    if interrupted:
        reason = HaltReason.INTERRUPTED
    elif machine.rule(final_state, symbols[tape[pos]]) is not None:
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


class Step(NamedTuple):
    """One configuration of a streamed run and the symbol its step writes (None: no step follows)."""

    state: str
    head: int
    read: str
    write: str | None


def iterate(machine: TuringMachine, word: str = "", *, max_steps: int = DEFAULT_MAX_STEPS) -> Iterator[Step]:
    """The run of :func:`run`, one configuration at a time and nothing kept: t = 0, 1, … up to the
    halt or ``max_steps`` steps. The last configuration's ``write`` is None when the machine stops
    there (a halting state, or no rule), and its symbol otherwise (the step limit cut the run).
    Memory is the written cells only, so a run of any length can be compared as it goes."""
    machine.check_input(word)
    cells = dict(enumerate(word))
    blank = machine.blank
    rules = {(r.state, r.read): r for r in machine.rules}
    halting = machine.halting_states
    state, head = machine.start, 0
    for step in range(max_steps + 1):
        read = cells.get(head, blank)
        rule = None if state in halting else rules.get((state, read))
        if rule is None or step == max_steps:
            yield Step(state, head, read, None if rule is None else rule.write)
            return
        yield Step(state, head, read, rule.write)
        cells[head] = rule.write
        head += rule.move.delta
        state = rule.next_state


def _final_only(machine: TuringMachine, word: str, written: dict[int, str], state: str, head: int,
                steps: int, reason: HaltReason) -> FinalResult:
    low = min([*written, head])
    high = max([*written, head])
    tape = Tape(tuple(written.get(c, machine.blank) for c in range(low, high + 1)), low, machine.blank)
    return FinalResult(word, Configuration(steps, state, head, tape), steps, reason,
                       verdict_for(machine, state, reason), machine.name)
