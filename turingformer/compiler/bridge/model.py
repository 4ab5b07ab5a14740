"""The Turing machine on the looped transformer: the SUBLEQ-U/3L model of its program (looped spec
§6) and the machine's configurations decoded from the punch card after every loop.

A :class:`LoopedMachineModel` is a :class:`~turingformer.compiler.looped.layout.LoopedModel`
(weights that depend only on M and N, and the punch card X₀ holding the program and the tape)
plus the :class:`~turingformer.compiler.bridge.layout.TapeLayout`. Running it uses the weights,
the card and the layout only (this module never imports the machine, the simulator, the
compiler or the interpreter): :func:`card_states` reads (pc, memory) from X after every loop of
the exact integer path (or a float runner), and :func:`~.decoding.machine_trace` turns those into
the machine's trace. A different input is written into the card's tape block by
:func:`with_input`, from the card and the layout alone.

Its model file (kind ``looped-machine``) is the ``looped`` body plus ``"tape_layout"``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable, ClassVar, Iterator

from turingformer.compiler.bridge.decoding import machine_trace
from turingformer.compiler.bridge.layout import TapeLayout
from turingformer.compiler.looped.decoding import read_array
from turingformer.compiler.looped.model import LoopedModel, loop_cards
from turingformer.compiler.looped.subleq_u import encode
from turingformer.compiler.protocol import Halting, Model, Progress, Run, Summary
from turingformer.errors import InputError, shorten
from turingformer.programs.program import SubleqU
from turingformer.runtime.looped import IntegerLoop
from turingformer.runtime.serialize import JsonReader
from turingformer.tm.trace import DEFAULT_MAX_STEPS, HaltReason, Trace, steps_text

_TAPE_LAYOUT_NAMES = ("machine_name",)
_TAPE_LAYOUT_LISTS = ("states", "accept", "reject", "alphabet")
_TAPE_LAYOUT_INTEGERS = ("tape_start", "tape_cells", "origin", "input_length", "head_cell", "status_cell",
                         "code_end", "max_loops_per_step")


@dataclass(frozen=True)
class MachineSummary(Summary):
    """The program a machine became (sizes of its memory and tape block) and its looped model's summary."""

    looped: LoopedModel
    layout: TapeLayout

    def lines(self) -> list[str]:
        layout, labels = self.layout, self.looped.labels
        return [f"SUBLEQ-U program: M = {labels.cells} cells of N = {labels.bits} bits (code {layout.code_end} cells, "
                f"{len(layout.states)} state blocks)",
                f"states (entry cell): {', '.join(f'{q} ({e})' for q, e in zip(layout.states, layout.entries))}",
                f"symbols (value): {', '.join(f'{s!r} ({v})' for v, s in enumerate(layout.alphabet))}; "
                f"sentinel {layout.sentinel}",
                f"tape block: {layout.tape_cells} cells from cell {layout.tape_start}, the head starts on block cell "
                f"{layout.origin} (machine cell 0); head pointer in cell {layout.head_cell} (as -H), status in cell "
                f"{layout.status_cell}; at most {layout.max_loops_per_step} loops per machine step",
                *self.looped.summary().lines()]


@dataclass(frozen=True, repr=False)
class LoopedMachineModel(Model):
    """A Turing machine compiled for the looped computer: the looped model and its tape layout."""

    kind: ClassVar[str] = "looped-machine"

    looped: LoopedModel
    layout: TapeLayout

    @property
    def construction(self) -> str:
        return "looped-machine"

    @property
    def name(self) -> str:
        return self.layout.machine_name

    @property
    def network(self):
        return self.looped.transformer

    def _repr_sizes(self) -> str:
        return (f"tape_cells={self.layout.tape_cells}, M={self.looped.labels.cells}, d={len(self.looped.space)}, "
                f"nonzero_weights={self.looped.transformer.nonzero_weights():,}")

    def check_input(self, input: str | None) -> None:
        if input is not None:
            with_input(self, input)

    def held_input(self) -> str:
        """The word on the card's tape block (from the machine's cell 0, ``input_length`` symbols)."""
        layout, looped = self.layout, self.looped
        memory = read_array(looped.labels, looped.space, next(loop_cards(looped))).mem
        start = layout.tape_start + layout.origin
        return "".join(layout.alphabet[v] for v in memory[start:start + layout.input_length])

    def run(self, input: str | None = None, *, max_steps: int | None = None, progress: Progress | None = None,
            runner: IntegerLoop | None = None) -> Run:
        """Run the card (with ``input`` written on the tape block; None: the compiled input) on the
        exact integer path (or ``runner``) and decode the machine's configurations after every loop."""
        model = self if input is None else with_input(self, input)
        trace, loops = run_machine_model(model, max_steps=DEFAULT_MAX_STEPS if max_steps is None else max_steps,
                                         progress=progress, runner=runner)
        notes = ()
        if trace.reason is HaltReason.TAPE_BOUND:
            notes = (f"the head left the tape block of {self.layout.tape_cells} cells after {steps_text(trace.steps)} "
                     "(tape bound); recompile with a larger --tape-cells or another --head-offset",)
        return Run(trace, trace.input, loops, "loop", notes)

    def halting(self) -> Halting:
        return self.looped.halting()

    def summary(self) -> MachineSummary:
        return MachineSummary(self.looped, self.layout)

    def to_json(self) -> dict:
        return {**self.looped.to_json(), "tape_layout": self.layout.to_json()}

    @classmethod
    def from_json(cls, data: dict, r: JsonReader) -> "LoopedMachineModel":
        looped = LoopedModel.from_json(data, r, ("tape_layout",))
        keys = (*_TAPE_LAYOUT_NAMES, *_TAPE_LAYOUT_LISTS, "entries", *_TAPE_LAYOUT_INTEGERS)
        value = r.obj(data["tape_layout"], "tape_layout", keys)
        fields = {"machine_name": r.string(value["machine_name"], "tape_layout.machine_name")}
        fields.update({k: r.strings(value[k], f"tape_layout.{k}") for k in _TAPE_LAYOUT_LISTS})
        fields.update({k: r.integer(value[k], f"tape_layout.{k}") for k in _TAPE_LAYOUT_INTEGERS})
        fields["entries"] = tuple(r.integer(v, f"tape_layout.entries[{k}]")
                                  for k, v in enumerate(r.list(value["entries"], "tape_layout.entries")))
        layout = TapeLayout(**fields)
        cells = looped.labels.cells
        if looped.labels.machine != "subleq-u" or len(layout.entries) != len(layout.states) or not layout.alphabet or \
                not all(0 <= c < cells for c in (*layout.entries, layout.head_cell, layout.status_cell)) or \
                layout.tape_start < 1 or layout.tape_start + layout.tape_cells >= cells or \
                layout.origin + layout.input_length > layout.tape_cells:
            raise r.fail("tape_layout", f"a layout that does not fit the program's {cells} cells")
        return cls(looped, layout)


def card_states(model: LoopedModel, *, runner: IntegerLoop | None = None) -> Iterator[tuple[int, tuple[int, ...]]]:
    """(pc, memory) read from the punch card after 0, 1, 2, ... loops, until the decoded pc halts.

    Exact integer path by default; ``runner`` may run the same weights in floats (the memory is
    then read by truncation: compare with the exact states to trust it).
    """
    for X in loop_cards(model, runner):
        state = read_array(model.labels, model.space, X)
        yield state.pc, state.mem
        if state.pc == model.labels.halt_pc:
            return


def run_machine_model(model: LoopedMachineModel, *, max_steps: int = DEFAULT_MAX_STEPS,
                      runner: IntegerLoop | None = None,
                      progress: Callable[[int], bool | None] | None = None) -> tuple[Trace, int]:
    """The machine's trace decoded from the looped transformer's run, and the loops it took."""
    return machine_trace(model.layout, card_states(model.looped, runner=runner), max_steps=max_steps,
                         progress=progress)


def with_input(model: LoopedMachineModel, word: str) -> LoopedMachineModel:
    """The same model with ``word`` on its tape block (read from the card, re-encoded with the layout)."""
    layout, looped = model.layout, model.looped
    unknown = sorted(set(word) - set(layout.alphabet))
    if unknown:
        raise InputError(f"input {shorten(word)}: symbol {unknown[0]!r} is not in the tape alphabet "
                         f"{list(layout.alphabet)} of the compiled machine", hint="use the machine's symbols")
    if len(word) > layout.tape_cells - layout.origin:
        raise InputError(f"input {shorten(word)}: {len(word):,} symbols from block cell {layout.origin} do not fit in "
                         f"the tape block of {layout.tape_cells} cells",
                         hint="recompile with a larger --tape-cells (or a smaller --head-offset)")
    state = read_array(looped.labels, looped.space, next(loop_cards(looped)))
    memory = layout.initial_memory(state.mem, word)
    labels = looped.labels
    program = SubleqU(bits=labels.bits, memory=memory, pc=state.pc, name=labels.name)
    card = encode(looped.space, program, state.pc, memory)
    return LoopedMachineModel(LoopedModel(looped.transformer, card, labels),
                              TapeLayout(**{**layout.to_json(), "input_length": len(word)}))
