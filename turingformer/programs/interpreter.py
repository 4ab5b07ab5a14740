"""The reference interpreters of the looped computer, exactly as spec §2 defines them.

One loop of the looped transformer is one :func:`step` here; verification compares the two
after every loop. Conventions (spec §2):

* SUBLEQ-H (§2.1): pc = s is halted; ``r = wrap(mem[b] - mem[a])``; ``mem[b] = r``;
  ``pc = c if r <= 0 else pc + 1`` (so falling through the last instruction halts).
* SUBLEQ-U (§2.2): pc = -1 is halted; (a, b, c) = mem[pc..pc+2], read before the write; an
  operand a or b outside [0, M) halts with memory unchanged; the next pc t halts unless
  0 <= t <= M - 3.
* FLEQ-H (§2.3): ``mem[c] = f_op(mem[a], mem[b])``, then ``pc = p if mem[f] <= 0`` (read after
  the write) ``else pc + 1``; pc = s is halted.

A halted state is a fixpoint: :func:`step` returns it unchanged. "steps" counts loops until the
program halts.
"""

from __future__ import annotations

from typing import Callable, Iterator

from turingformer.programs.program import FleqH, Program, SubleqH, SubleqU, wrap
from turingformer.programs.trace import DEFAULT_MAX_LOOPS, LoopState, ProgramTrace

Memory = tuple[int, ...]

#: f_op(x, y, N) for each FLEQ function (spec §2.3; x = mem[a], y = mem[b]); comparisons give 1 or 0.
FUNCTIONS: dict[str, Callable[[int, int, int], int]] = {
    "sub": lambda x, y, n: wrap(y - x, n),
    "add": lambda x, y, n: wrap(x + y, n),
    "mov": lambda x, y, n: x,
    "neg": lambda x, y, n: wrap(-x, n),
    "min": lambda x, y, n: min(x, y),
    "max": lambda x, y, n: max(x, y),
    "lt": lambda x, y, n: int(x < y),
    "eq": lambda x, y, n: int(x == y),
    "shl": lambda x, y, n: wrap(2 * x, n),
    "shr": lambda x, y, n: x // 2,
    "mul": lambda x, y, n: wrap(x * y, n),
}


def _written(memory: Memory, cell: int, value: int) -> Memory:
    return memory[:cell] + (value,) + memory[cell + 1:]


def step_subleq_h(program: SubleqH, pc: int, memory: Memory) -> tuple[int, Memory]:
    """One loop of SUBLEQ-H (spec §2.1)."""
    if pc == program.halt_pc:
        return pc, memory
    instruction = program.code[pc]
    result = wrap(memory[instruction.b] - memory[instruction.a], program.bits)
    return (instruction.c if result <= 0 else pc + 1), _written(memory, instruction.b, result)


def step_subleq_u(program: SubleqU, pc: int, memory: Memory) -> tuple[int, Memory]:
    """One loop of SUBLEQ-U (spec §2.2)."""
    cells = len(memory)
    if pc == -1:
        return pc, memory
    a, b, c = memory[pc:pc + 3]
    if not (0 <= a < cells and 0 <= b < cells):
        return -1, memory
    result = wrap(memory[b] - memory[a], program.bits)
    target = c if result <= 0 else pc + 3
    return (target if 0 <= target <= cells - 3 else -1), _written(memory, b, result)


def step_fleq_h(program: FleqH, pc: int, memory: Memory) -> tuple[int, Memory]:
    """One loop of FLEQ-H (spec §2.3)."""
    if pc == program.halt_pc:
        return pc, memory
    instruction = program.code[pc]
    value = FUNCTIONS[instruction.op](memory[instruction.a], memory[instruction.b], program.bits)
    memory = _written(memory, instruction.c, value)
    return (instruction.p if memory[instruction.f] <= 0 else pc + 1), memory


_STEPS = {SubleqH: step_subleq_h, SubleqU: step_subleq_u, FleqH: step_fleq_h}


def step(program: Program, pc: int, memory: Memory) -> tuple[int, Memory]:
    """(pc, memory) after one loop of ``program``'s machine model from (``pc``, ``memory``)."""
    return _STEPS[type(program)](program, pc, tuple(memory))


def iterate(program: Program, max_steps: int | None = None) -> Iterator[LoopState]:
    """The states after 0, 1, 2, ... loops, up to the halted state or ``max_steps`` loops."""
    stepper = _STEPS[type(program)]
    pc, memory, t = program.pc, program.memory, 0
    yield LoopState(0, pc, memory)
    while pc != program.halt_pc and (max_steps is None or t < max_steps):
        pc, memory = stepper(program, pc, memory)
        t += 1
        yield LoopState(t, pc, memory)


def run(program: Program, max_steps: int = DEFAULT_MAX_LOOPS, *, record: bool = True,
        progress: Callable[[int], bool | None] | None = None) -> ProgramTrace:
    """Run ``program`` until it halts or ``max_steps`` loops have run.

    ``record=False`` keeps only the final state (for long runs); ``progress(t)`` is called every
    1,024 loops, and when it returns True the run stops there (the trace is ``interrupted``).
    """
    states: list[LoopState] = []
    interrupted = False
    for state in iterate(program, max_steps):
        if record or not states:
            states.append(state)
        else:
            states[0] = state
        if progress is not None and state.step and not state.step & 0x3FF and progress(state.step):
            interrupted = state.pc != program.halt_pc
            break
    return trace_of(program, states, interrupted=interrupted)


def trace_of(program: Program, states, *, interrupted: bool = False) -> ProgramTrace:
    """A :class:`ProgramTrace` of ``states`` carrying ``program``'s name, kind, width and labels."""
    return ProgramTrace(tuple(states), program.halt_pc, name=program.name, kind=program.kind.value,
                        bits=program.bits, labels=program.labels, interrupted=interrupted)
