"""The machine's configurations, read back from SUBLEQ-U memories (issue 14).

:func:`machine_trace` takes the states of a run of the compiled program — (pc, memory) after
every loop, from the reference interpreter or decoded from the looped transformer's punch card —
and the :class:`~turingformer.compiler.bridge.layout.TapeLayout`, and returns the Turing machine's
:class:`~turingformer.tm.trace.Trace`. It uses the memory and the layout only, never the machine:

* a machine step ends exactly when the pc lands on a state's entry; the state is that entry's;
* the head is −mem[NHP] minus the cell of the machine's cell 0; the tape is the tape block;
* at pc = −1 (halted) the status cell gives the reason: halting state, no rule or tape bound.

It checks the layout's invariant at every step (only the cell under the old head changed, every
tape cell holds a symbol, the head is on the block or a sentinel, no step takes more loops than
the longest path through a block) and raises :class:`~turingformer.errors.TapeDecodingError`
naming the loop otherwise, so a wrong memory can never pass for a configuration.
"""

from __future__ import annotations

from typing import Callable, Iterable, Sequence

from turingformer.compiler.bridge.layout import STATUS_REASONS, TapeLayout
from turingformer.errors import TapeDecodingError
from turingformer.tm.trace import DEFAULT_MAX_STEPS, HaltReason, Trace, trace_from_events, verdict_of


def _fail(loop: int, what: str) -> TapeDecodingError:
    return TapeDecodingError(f"loop {loop}: {what}: the memory does not encode a machine configuration",
                               hint="verify the model with 'turingformer verify FILE --construction looped-machine'")


def _tape(layout: TapeLayout, memory: Sequence[int], loop: int) -> tuple[int, ...]:
    tape = tuple(memory[layout.tape_start:layout.tape_start + layout.tape_cells])
    for i, v in enumerate(tape):
        if not 0 <= v < len(layout.alphabet):
            raise _fail(loop, f"tape block cell {i} holds {v}, not a symbol value")
    return tape


def _head(layout: TapeLayout, memory: Sequence[int], loop: int) -> int:
    cell = -memory[layout.head_cell]
    if not layout.tape_start - 1 <= cell <= layout.tape_start + layout.tape_cells:
        raise _fail(loop, f"the head pointer names cell {cell}, outside the tape block and its sentinels")
    return cell - layout.tape_start - layout.origin


def machine_trace(layout: TapeLayout, loops: Iterable[tuple[int, Sequence[int]]], *,
                  max_steps: int = DEFAULT_MAX_STEPS,
                  progress: Callable[[int], bool | None] | None = None) -> tuple[Trace, int]:
    """The machine's trace of a run whose loop states are ``loops`` ((pc, memory) for loop 0, 1, ...),
    and the last loop it read.

    Stops after ``max_steps`` machine steps (reason ``step limit``: the loop that read is the one
    that entered step ``max_steps`` + 1), at the loop where the program halted, or when
    ``progress`` — called with the step count at every machine step — returns True (reason
    ``interrupted``).
    """
    entry_state = dict(zip(layout.entries, layout.states))
    states: list[str] = []
    heads: list[int] = []
    writes: list[str] = []
    tape: tuple[int, ...] = ()
    word = ""
    reason = HaltReason.STEP_LIMIT
    since = 0
    loop = -1
    for loop, (pc, memory) in enumerate(loops):
        state = entry_state.get(pc)
        if state is not None:
            if len(states) > max_steps:
                break
            new = _tape(layout, memory, loop)
            head = _head(layout, memory, loop)
            if states:
                old = layout.origin + heads[-1]
                changed = [i for i in range(layout.tape_cells) if new[i] != tape[i] and i != old]
                if changed:
                    raise _fail(loop, f"tape block cell {changed[0]} changed, but the head was on block cell {old}")
                writes.append(layout.alphabet[new[old]] if 0 <= old < layout.tape_cells else layout.blank)
            else:
                end = layout.origin + layout.input_length
                word = "".join(layout.alphabet[v] for v in new[layout.origin:end])
                if any(new[:layout.origin]) or any(new[end:]):
                    raise _fail(loop, "the tape block holds symbols outside the input")
            tape = new
            states.append(state)
            heads.append(head)
            since = 0
            if progress is not None and len(states) > 1 and progress(len(states) - 1):
                reason = HaltReason.INTERRUPTED
                break
        elif pc == -1:
            if not states:
                raise _fail(loop, "the program halted before it entered a state")
            status = memory[layout.status_cell]
            if status not in STATUS_REASONS:
                raise _fail(loop, f"the program halted with status {status}")
            reason = STATUS_REASONS[status]
            break
        since += 1
        if since > layout.max_loops_per_step:
            raise _fail(loop, f"{since} loops without reaching a state's block (at most "
                              f"{layout.max_loops_per_step} per machine step)")
    else:
        raise _fail(max(loop, 0), "the run ended before the program halted or reached the step limit")
    final = states[-1]
    trace = trace_from_events(word=word, blank=layout.blank, states=states, heads=heads, writes=writes,
                              reason=reason, verdict=verdict_of(final, reason, layout.accept, layout.reject),
                              machine_name=layout.machine_name)
    return trace, loop


def interpret(program, layout: TapeLayout, *, max_steps: int = DEFAULT_MAX_STEPS) -> tuple[Trace, int]:
    """The machine's trace of ``program`` on the SUBLEQ-U reference interpreter (the reference path),
    and the loops it took (as :func:`machine_trace`)."""
    from turingformer.programs.interpreter import iterate
    return machine_trace(layout, ((s.pc, s.memory) for s in iterate(program)), max_steps=max_steps)
