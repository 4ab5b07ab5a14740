"""One machine, two transformers (issue 14): a Turing machine compiled into a self-modifying
SUBLEQ-U program for the looped computer, and its configurations read back from the memory.

    layout.py        TapeLayout: where the states, the tape, the head and the status live
    tm_to_subleq.py  machine_to_program: TuringMachine -> SUBLEQ-U program + layout + listing
    model.py         LoopedMachineModel: the SUBLEQ-U/3L model, its run and its model file
    decoding.py      machine_trace: loop states (pc, memory) -> the machine's Trace
    verify.py        every machine step against the simulator, every loop against the interpreter

The compiler imports :mod:`turingformer.tm` and :mod:`turingformer.programs`; the decoder reads
only the memory and the layout (docs/two-transformers.md). This module is the registry entry.
"""

from __future__ import annotations

from typing import Any, ClassVar

from turingformer.compiler.protocol import TURING_MACHINE, Construction, Option
from turingformer.errors import InputError

from .layout import DEFAULT_TAPE_CELLS


def _cells(text: str) -> int:
    """A tape block size from the command line (the construction checks the bound)."""
    if not (text.isascii() and text.isdigit()) or len(text) > 12:
        raise InputError(f"--tape-cells {text[:40]!r}: not a whole number of cells",
                         hint="give the tape block's size, e.g. --tape-cells 64")
    return int(text)


class LoopedMachine(Construction):
    """A Turing machine as a SUBLEQ-U program on the looped computer (SUBLEQ-U/3L, d = 23)."""

    name: ClassVar[str] = "looped-machine"
    description: ClassVar[str] = ("the machine as a self-modifying SUBLEQ-U program on the looped computer "
                                  "(SUBLEQ-U/3L, d = 23; docs/two-transformers.md)")
    sources: ClassVar[tuple[str, ...]] = (TURING_MACHINE,)
    model_kind: ClassVar[str] = "looped-machine"
    options: ClassVar[tuple[Option, ...]] = (
        Option("input", "the input on the tape block (default: the machine's first example, else empty)"),
        Option("tape_cells", "the tape block's size in memory cells; leaving it stops the run with 'tape bound'",
               DEFAULT_TAPE_CELLS, parse=_cells, metavar="K"),
        Option("head_offset", "the block cell the head starts on (default: the input centred in the block)",
               parse=_cells, metavar="P"),
    )

    @staticmethod
    def _word(machine, input: str | None) -> str:
        return (machine.examples[0].input if machine.examples else "") if input is None else input

    def check(self, source: Any, *, input: str | None = None, tape_cells: int = DEFAULT_TAPE_CELLS,
              head_offset: int | None = None) -> None:
        from .tm_to_subleq import check_size
        check_size(source, tape_cells)

    def compile(self, source: Any, *, input: str | None = None, tape_cells: int = DEFAULT_TAPE_CELLS,
                head_offset: int | None = None):
        from .tm_to_subleq import compile_looped
        return compile_looped(source, self._word(source, input), tape_cells=tape_cells, head_offset=head_offset)[1]

    def listing(self, source: Any, input: str | None = None, *, tape_cells: int = DEFAULT_TAPE_CELLS,
                head_offset: int | None = None, **options: Any) -> str:
        from .tm_to_subleq import machine_to_program
        self.check(source, tape_cells=tape_cells)
        return machine_to_program(source, self._word(source, input), tape_cells=tape_cells,
                                  head_offset=head_offset).listing()

    def verify(self, source: Any, input: str | None = None, *, model=None, max_steps: int | None = None,
               progress=None, rows: int | None = None, tape_cells: int = DEFAULT_TAPE_CELLS,
               head_offset: int | None = None, **options: Any):
        from turingformer.tm.trace import DEFAULT_MAX_STEPS

        from .verify import verify_machine_looped
        if model is None:
            self.check(source, tape_cells=tape_cells)
        return verify_machine_looped(source, self._word(source, input), tape_cells=tape_cells, head_offset=head_offset,
                                     model=model, progress=progress,
                                     max_steps=DEFAULT_MAX_STEPS if max_steps is None else max_steps)


CONSTRUCTIONS = (LoopedMachine(),)
MODEL_KIND = "looped-machine"
MODEL_CLASS = "turingformer.compiler.bridge.model:LoopedMachineModel"
