"""Verification of a Turing machine on the looped transformer (issue 14): every machine step
against the reference simulator and, inside it, every loop against the SUBLEQ-U interpreter.

:func:`verify_machine_looped` compiles the machine to SUBLEQ-U (:mod:`turingformer.compiler.bridge`)
and its SUBLEQ-U/3L model, then

1. runs the program on the reference interpreter to learn how many loops the run takes;
2. runs the network for those loops with :func:`turingformer.analysis.looped.verify_looped`: after
   every loop the punch card must equal E(interpreter state) entry for entry, one attention winner
   per head and column;
3. decodes the machine's configurations from the network's cards (memory + layout only) and
   compares them with the simulator's, configuration for configuration: state, head, tape.

A run that leaves the tape block ends with ``tape bound``; it agrees when every configuration up
to there is the simulator's.
"""

from __future__ import annotations

from dataclasses import dataclass

from turingformer.analysis.looped import LoopedVerification, verify_looped
from turingformer.compiler.bridge.decoding import interpret, machine_trace
from turingformer.compiler.bridge.model import LoopedMachineModel
from turingformer.compiler.looped.construction import compile_program
from turingformer.compiler.bridge.tm_to_subleq import CONSTRUCTION, DEFAULT_TAPE_CELLS, CompiledMachine, compile_looped
from turingformer.tm import simulator
from turingformer.tm.machine import TuringMachine
from turingformer.tm.trace import DEFAULT_MAX_STEPS, HaltReason, Trace


@dataclass(frozen=True)
class StepRow:
    """One machine step of the verification table."""

    step: int
    state: str
    head: int
    loops: int
    agrees: bool


@dataclass(frozen=True)
class MachineLoopedVerification:
    compiled: CompiledMachine
    model: LoopedMachineModel
    reference: Trace
    loops: LoopedVerification
    decoded: Trace | None
    rows: tuple[StepRow, ...]
    divergence: str | None

    @property
    def ok(self) -> bool:
        return self.divergence is None

    def table(self, limit: int | None = None) -> str:
        rows = self.rows if limit is None else self.rows[:limit]
        width = max([5, *(len(r.state) for r in rows)])
        out = [f"{'step':>6}  {'state':<{width}}  {'head':>5}  {'loops':>5}  check"]
        out += [f"{r.step:>6}  {r.state:<{width}}  {r.head:>5}  {r.loops:>5}  {'agrees' if r.agrees else 'DIFFERS'}"
                for r in rows]
        if len(rows) < len(self.rows):
            out.append(f"  ... {len(self.rows) - len(rows):,} more steps")
        return "\n".join(out)


def _configuration(conf) -> tuple:
    return conf.state, conf.head, conf.tape.span(conf.head)


def verify_machine_looped(machine: TuringMachine, word: str = "", *, tape_cells: int = DEFAULT_TAPE_CELLS,
                          head_offset: int | None = None, max_steps: int = DEFAULT_MAX_STEPS,
                          compiled: CompiledMachine | None = None, progress=None) -> MachineLoopedVerification:
    """Compile ``machine`` for the looped computer and check it (module docstring).

    ``compiled`` checks a given program instead of compiling ``machine`` (to test the checker).
    """
    if compiled is None:
        compiled, model = compile_looped(machine, word, tape_cells=tape_cells, head_offset=head_offset)
    else:
        model = LoopedMachineModel(compile_program(compiled.program, CONSTRUCTION), compiled.layout)
    reference = simulator.run(machine, word, max_steps=max_steps)
    _, loops = interpret(compiled.program, compiled.layout, max_steps=max_steps)
    checked = verify_looped(compiled.program, model=model.looped, max_loops=loops, progress=progress)
    if not checked.ok:
        return MachineLoopedVerification(compiled, model, reference, checked, None, (),
                                         f"the network leaves the interpreter: {checked.divergence}")
    states = [(s.pc, s.memory) for s in checked.decoded.states]
    decoded, _ = machine_trace(model.layout, states, max_steps=max_steps)
    entries = set(model.layout.entries)
    starts = [t for t, (pc, _) in enumerate(states) if pc in entries][:len(decoded)]
    ends = starts[1:] + [len(states) - 1]
    rows, divergence = [], None
    for conf, want, start, end in zip(decoded, reference, starts, ends):
        agrees = _configuration(conf) == _configuration(want)
        rows.append(StepRow(conf.step, conf.state, conf.head, end - start, agrees))
        if not agrees and divergence is None:
            divergence = (f"machine step {conf.step}: decoded {_configuration(conf)}, "
                          f"the simulator has {_configuration(want)}")
    if divergence is None:
        if decoded.reason is HaltReason.TAPE_BOUND:
            if decoded.steps > reference.steps:
                divergence = f"the network runs {decoded.steps} steps, the simulator stops after {reference.steps}"
        elif (decoded.steps, decoded.reason, decoded.verdict) != (reference.steps, reference.reason, reference.verdict):
            divergence = (f"the run ends after {decoded.steps} steps ({decoded.reason.value}, {decoded.verdict.value}); "
                          f"the simulator's after {reference.steps} ({reference.reason.value}, {reference.verdict.value})")
    return MachineLoopedVerification(compiled, model, reference, checked, decoded, tuple(rows), divergence)


@dataclass(frozen=True)
class LoopedPrecision:
    """How large the looped run's integers get, and whether float runs of the same weights stay exact.

    ``largest_entry`` is the largest |entry| of any punch card over the run; ``largest_integer``
    bounds every integer any block forms from such cards (attention products, σ pre-activations
    over their power-of-two denominators; :meth:`~turingformer.runtime.looped.IntegerLoop.largest_integer`).
    ``float_departure[dtype]`` is the first loop whose float card differs from the exact one (None:
    equal at every loop, i.e. the float run is the exact run).
    """

    loops: int
    largest_entry: int
    largest_integer: int
    float_departure: dict[str, int | None]

    @property
    def entry_bits(self) -> int:
        """Bits (with sign) of the largest card entry."""
        return self.largest_entry.bit_length() + 1

    @property
    def integer_bits(self) -> int:
        """Bits (with sign) of the largest integer any block forms."""
        return self.largest_integer.bit_length() + 1


def looped_precision(model: LoopedMachineModel, loops: int,
                     dtypes: tuple[str, ...] = ("float64", "float32")) -> LoopedPrecision:
    """Run ``loops`` loops exactly and in each float ``dtype`` side by side (see :class:`LoopedPrecision`)."""
    import numpy as np

    from turingformer.runtime.looped import FloatLoop, IntegerLoop
    looped = model.looped
    exact = IntegerLoop(looped.transformer)
    floats = {dtype: FloatLoop(looped.transformer, dtype) for dtype in dtypes}
    X = exact.to_array(looped.card)
    Y = {dtype: f.to_array(looped.card) for dtype, f in floats.items()}
    departure: dict[str, int | None] = {dtype: None for dtype in dtypes}
    largest = int(abs(X).max())
    for t in range(1, loops + 1):
        X, _ = exact.step(X)
        largest = max(largest, int(abs(X).max()))
        for dtype, f in floats.items():
            if departure[dtype] is None:
                Y[dtype], _ = f.step(Y[dtype])
                if not np.array_equal(Y[dtype], X.astype(np.float64)):
                    departure[dtype] = t
    return LoopedPrecision(loops, largest, exact.largest_integer(largest), departure)
