"""The Turing machine on the looped transformer: the SUBLEQ-U/3L model of its program (looped spec
§6) and the machine's configurations decoded from the punch card after every loop.

A :class:`LoopedMachineModel` is a :class:`~turingformer.compiler.looped.layout.LoopedModel`
(weights that depend only on M and N, and the punch card X₀ holding the program and the tape)
plus the :class:`~turingformer.compiler.bridge.layout.TapeLayout`. Running it uses the weights,
the card and the layout only (this module never imports the machine, the simulator, the
compiler or the interpreter): :func:`card_states` reads (pc, memory) from X after every loop of
the exact integer path (or a float dtype), and :func:`~.decoding.machine_trace` turns those into
the machine's trace. A different input is written into the card's tape block by
:func:`with_input`, from the card and the layout alone.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable, Iterator

from turingformer.compiler.bridge.decoding import machine_trace
from turingformer.compiler.bridge.layout import TapeLayout
from turingformer.compiler.looped.decoding import read_array
from turingformer.compiler.looped.layout import LoopedModel
from turingformer.compiler.looped.subleq_u import encode
from turingformer.errors import InputError
from turingformer.programs.program import SubleqU
from turingformer.runtime.looped import FloatLoop, IntegerLoop
from turingformer.tm.trace import DEFAULT_MAX_STEPS, Trace

@dataclass(frozen=True)
class LoopedMachineModel:
    """A Turing machine compiled for the looped computer: the looped model and its tape layout."""

    looped: LoopedModel
    layout: TapeLayout


def card_states(model: LoopedModel, *, dtype: str | None = None) -> Iterator[tuple[int, tuple[int, ...]]]:
    """(pc, memory) read from the punch card after 0, 1, 2, ... loops, until the decoded pc halts.

    Exact integer path by default; ``dtype`` ("float64", "float32") runs the same weights in floats
    (the memory is then read by truncation: compare with the exact states to trust it).
    """
    fast = IntegerLoop(model.transformer) if dtype is None else FloatLoop(model.transformer, dtype, single_winner=True)
    X = fast.to_array(model.card)
    while True:
        state = read_array(model.labels, model.space, X)
        yield state.pc, state.mem
        if state.pc == model.labels.halt_pc:
            return
        X, _ = fast.step(X)


def run_machine_model(model: LoopedMachineModel, *, max_steps: int = DEFAULT_MAX_STEPS,
                      dtype: str | None = None, progress: Callable[[int], None] | None = None) -> tuple[Trace, int]:
    """The machine's trace decoded from the looped transformer's run, and the loops it took."""
    return machine_trace(model.layout, card_states(model.looped, dtype=dtype), max_steps=max_steps,
                         progress=progress)


def with_input(model: LoopedMachineModel, word: str) -> LoopedMachineModel:
    """The same model with ``word`` on its tape block (read from the card, re-encoded with the layout)."""
    layout, looped = model.layout, model.looped
    unknown = sorted(set(word) - set(layout.alphabet))
    if unknown:
        raise InputError(f"input {word!r}: symbol {unknown[0]!r} is not in the tape alphabet "
                         f"{list(layout.alphabet)} of the compiled machine", hint="use the machine's symbols")
    try:
        state = read_array(looped.labels, looped.space, IntegerLoop(looped.transformer).to_array(looped.card))
        memory = layout.initial_memory(state.mem, word)
    except ValueError as error:
        raise InputError(f"input {word!r}: {error}",
                         hint="recompile with a larger --tape-cells (or a smaller --head-offset)") from None
    labels = looped.labels
    program = SubleqU(bits=labels.bits, memory=memory, pc=state.pc, name=labels.name)
    card = encode(looped.space, program, state.pc, memory)
    return LoopedMachineModel(LoopedModel(looped.transformer, card, labels),
                              TapeLayout(**{**layout.to_json(), "input_length": len(word)}))
