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

* FLEQ-M (linear-algebra spec §1.5): as FLEQ-H over k×k cells of fixed-point words; the branch
  reads the raw entry (0, 0) of mem[f] after the write; every function saturates
  (:func:`fleqm_function`).

A halted state is a fixpoint: :func:`step` returns it unchanged. "steps" counts loops until the
program halts.
"""

from __future__ import annotations

from functools import lru_cache
from typing import Callable, Iterator

from turingformer.programs.fixed import Fixed, Matrix, scalar, sigmoid_word
from turingformer.programs.program import FleqH, FleqM, Program, SubleqH, SubleqU, function_family, wrap
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


@lru_cache(maxsize=None)
def fleqm_function(op: str, bits: int, frac: int, k: int) -> Callable[[Matrix, Matrix], Matrix]:
    """f_op(X, Y) of FLEQ-M (linear-algebra spec §1.4–1.5) for (N, F, k), on raw words, exactly.

    X = mem[a], Y = mem[b]; ``sub`` is Y − X (FLEQ-H's order); ``shl<s>`` is ``shl`` with s ≥ 1.
    Scalar results (lt, eq, recip, nrm, floor, amax) sit at (0, 0) with zeros elsewhere.
    """
    fmt = Fixed(bits, frac)
    B, ONE, sat, rnd, K = fmt.B, fmt.one, fmt.sat, fmt.rnd, range(k)
    family, s = function_family(op)

    def ew(f: Callable[[int, int], int]) -> Callable[[Matrix, Matrix], Matrix]:
        return lambda X, Y: tuple(tuple(f(X[i][j], Y[i][j]) for j in K) for i in K)

    def on_x00(f: Callable[[int], int]) -> Callable[[Matrix, Matrix], Matrix]:
        return lambda X, Y: scalar(f(X[0][0]), k)

    def recip(q: int) -> int:
        return B - 1 if q == 0 else sat((2 ** (2 * frac + 1) + q) // (2 * q))

    def nrm(q: int) -> int:
        return 1 << (bits - 2) if q == 0 else 1 << min(max(2 * frac - abs(q).bit_length(), 0), bits - 2)

    table: dict[str, Callable[[Matrix, Matrix], Matrix]] = {
        "mov": lambda X, Y: X,
        "add": ew(lambda x, y: sat(x + y)), "sub": ew(lambda x, y: sat(y - x)),
        "neg": ew(lambda x, y: sat(-x)), "abs": ew(lambda x, y: sat(abs(x))),
        "tr": lambda X, Y: tuple(tuple(X[j][i] for j in K) for i in K),
        "relu": ew(lambda x, y: max(x, 0)), "pos": ew(lambda x, y: ONE if x > 0 else 0),
        "max": ew(max), "min": ew(min),
        "shl": ew(lambda x, y: sat(x << s)),
        "lt": lambda X, Y: scalar(ONE if X[0][0] < Y[0][0] else 0, k),
        "eq": lambda X, Y: scalar(ONE if X[0][0] == Y[0][0] else 0, k),
        "recip": on_x00(recip), "nrm": on_x00(nrm), "floor": on_x00(lambda q: (q >> frac) << frac),
        "sigm": ew(lambda x, y: sigmoid_word(x, frac)),
        "mm": lambda X, Y: tuple(tuple(sat(rnd(sum(X[i][l] * Y[l][j] for l in K))) for j in K) for i in K),
        "had": ew(lambda x, y: sat(rnd(x * y))),
        "smul": lambda X, Y: tuple(tuple(sat(rnd(X[0][0] * Y[i][j])) for j in K) for i in K),
        "amax": lambda X, Y: scalar(min(max(abs(q) for row in X for q in row), B - 1), k),
    }
    return table[family]


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


def step_fleq_m(program: FleqM, pc: int, memory: Memory) -> tuple[int, Memory]:
    """One loop of FLEQ-M (linear-algebra spec §1.5): both operands read before the write, the
    flag (raw entry (0, 0) of mem[f]) after it."""
    if pc == program.halt_pc:
        return pc, memory
    ins = program.code[pc]
    value = fleqm_function(ins.op, program.bits, program.frac, program.k)(memory[ins.a], memory[ins.b])
    memory = _written(memory, ins.c, value)
    return (ins.p if memory[ins.f][0][0] <= 0 else pc + 1), memory


_STEPS = {SubleqH: step_subleq_h, SubleqU: step_subleq_u, FleqH: step_fleq_h, FleqM: step_fleq_m}


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
                        bits=program.bits, labels=program.labels, interrupted=interrupted,
                        frac=program.fraction_bits, learner=getattr(program, "learner", None))
