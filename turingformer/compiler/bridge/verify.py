"""Verification of a Turing machine on the looped transformer (issue 14): every machine step
against the reference simulator and, inside it, every loop against the SUBLEQ-U interpreter.

:func:`verify_machine_looped` compiles the machine to SUBLEQ-U (:mod:`turingformer.compiler.bridge`)
and its SUBLEQ-U/3L model, then

1. runs the program on the reference interpreter to learn how many loops the run takes;
2. runs the network for those loops with :func:`turingformer.compiler.looped.verify.verify_looped`: after
   every loop the punch card must equal E(interpreter state) entry for entry, one attention winner
   per head and column;
3. decodes the machine's configurations from the network's cards (memory + layout only) and
   compares them with the simulator's, configuration for configuration: state, head, tape.

A run that leaves the tape block ends with ``tape bound``; it agrees when every configuration up
to there is the simulator's.
"""

from __future__ import annotations

from dataclasses import dataclass

from turingformer.compiler.bridge.layout import DEFAULT_TAPE_CELLS
from turingformer.compiler.bridge.decoding import interpret, machine_trace
from turingformer.compiler.bridge.model import LoopedMachineModel
from turingformer.compiler.bridge.tm_to_subleq import CONSTRUCTION, MachineProgram, compile_looped, machine_to_program
from turingformer.compiler.looped.construction import compile_program
from turingformer.compiler.looped.verify import LoopedVerification, verify_looped
from turingformer.compiler.protocol import Divergence, Verification
from turingformer.tm import simulator
from turingformer.tm.machine import TuringMachine
from turingformer.tm.trace import DEFAULT_MAX_STEPS, HaltReason, Trace, steps_text


@dataclass(frozen=True)
class StepRow:
    """One machine step of the verification table."""

    step: int
    state: str
    head: int
    loops: int
    agrees: bool


@dataclass(frozen=True, repr=False)
class MachineLoopedVerification(Verification):
    """The program, its model, the simulator's trace, the loop-by-loop check of the network
    against the SUBLEQ-U interpreter, the machine trace decoded from the cards and one row per
    machine step; ``divergence`` is the first disagreement at either level."""

    compiled: MachineProgram
    model: LoopedMachineModel
    reference: Trace
    loops: LoopedVerification
    decoded: Trace | None
    rows: tuple[StepRow, ...]
    divergence: Divergence | None

    @property
    def checked(self) -> int:
        return self.loops.checked

    def table(self, *, limit: int | None = None) -> str:
        rows = self.rows if limit is None else self.rows[:limit]
        width = max([5, *(len(r.state) for r in rows)])
        out = [f"{'step':>6}  {'state':<{width}}  {'head':>5}  {'loops':>5}  check"]
        out += [f"{r.step:>6}  {r.state:<{width}}  {r.head:>5}  {r.loops:>5}  {'agrees' if r.agrees else 'DIFFERS'}"
                for r in rows]
        if len(rows) < len(self.rows):
            out.append(f"  ... {len(self.rows) - len(rows):,} more steps")
        return "\n".join(out)

    def agreement(self) -> str:
        decoded = self.decoded
        return (f"the looped transformer agrees with the simulator at every machine step and with the SUBLEQ-U "
                f"interpreter after every loop: {steps_text(decoded.steps)} of the machine ({decoded.reason.value}), "
                f"{self.checked:,} loops, every punch card equal to E(state) entry for entry")


def _configuration(conf) -> tuple:
    return conf.state, conf.head, conf.tape.span(conf.head)


def verify_machine_looped(machine: TuringMachine, word: str = "", *, tape_cells: int = DEFAULT_TAPE_CELLS,
                          head_offset: int | None = None, max_steps: int = DEFAULT_MAX_STEPS,
                          compiled: MachineProgram | None = None, model: LoopedMachineModel | None = None,
                          progress=None) -> MachineLoopedVerification:
    """Compile ``machine`` for the looped computer and check it (module docstring).

    ``model`` checks a given model (e.g. read from a file: its own tape layout and block size are
    used, with ``word`` written on its tape); ``compiled`` checks a given program instead of
    compiling ``machine`` (to test the checker).
    """
    if model is not None:
        from turingformer.compiler.bridge.model import with_input
        model = with_input(model, word)
        layout = model.layout
        compiled = machine_to_program(machine, word, tape_cells=layout.tape_cells,
                                      head_offset=layout.origin)
    elif compiled is None:
        compiled, model = compile_looped(machine, word, tape_cells=tape_cells, head_offset=head_offset)
    else:
        model = LoopedMachineModel(compile_program(compiled.program, CONSTRUCTION), compiled.layout)
    reference = simulator.run(machine, word, max_steps=max_steps)
    _, loops = interpret(compiled.program, compiled.layout, max_steps=max_steps)
    checked = verify_looped(compiled.program, model=model.looped, max_loops=loops, progress=progress)
    if not checked.ok:
        return MachineLoopedVerification(compiled, model, reference, checked, None, (), checked.divergence)
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
            divergence = Divergence(conf.step, "machine step", "machine", "configuration (state, head, tape)",
                                    _configuration(want), _configuration(conf))
    if divergence is None:
        if decoded.reason is HaltReason.TAPE_BOUND:
            if decoded.steps > reference.steps:
                divergence = Divergence(reference.steps, "machine step", "machine", "number of steps",
                                        reference.steps, decoded.steps)
        elif (decoded.steps, decoded.reason, decoded.verdict) != (reference.steps, reference.reason, reference.verdict):
            divergence = Divergence(min(decoded.steps, reference.steps), "machine step", "machine", "end of the run",
                                    f"{reference.steps} steps ({reference.reason.value}, {reference.verdict.value})",
                                    f"{decoded.steps} steps ({decoded.reason.value}, {decoded.verdict.value})")
    return MachineLoopedVerification(compiled, model, reference, checked, decoded, tuple(rows), divergence)
