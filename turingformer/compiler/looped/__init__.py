"""Looped transformers as programmable computers (Giannou et al. 2023; looped spec): constructions
that turn SUBLEQ / FLEQ programs into looped weights and a punch card, and read it back.

    gadgets.py       exact σ gadgets G1–G9 and the FFN builder (spec §4), the address head (§5.2)
    names.py         the constructions by name: the machine each runs, its description
    layout.py        the punch card: named dimensions and CardLabels (§5.1–5.2, §6, §7.1)
    blocks.py        units shared by the Harvard constructions (§5.3–5.5)
    subleq_h.py      SUBLEQ-H/3L and /2L (§5)
    subleq_u.py      SUBLEQ-U/3L, self-modifying (§6)
    fleq_h.py        FLEQ-H (§7)
    construction.py  the builders by name, compile_program
    decoding.py      the state of a punch card, from the labels and X alone (§8)
    model.py         LoopedModel: its run (the one loop driver), summary and model file
    verify.py        every loop against the reference interpreter (§8)

This module is the registry entry: four constructions, one model kind (``looped``). It is light,
so that loading a model file imports only :mod:`.model` and what it needs.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, ClassVar

from turingformer.compiler.protocol import Construction

from .names import CONSTRUCTIONS as NAMES


@dataclass(frozen=True, repr=False)
class Looped(Construction):
    """One looped construction: the weights depend only on the program's sizes (and, for FLEQ,
    its function list); the program itself goes into the punch card."""

    name: str
    description: str
    machine: str
    takes_input: ClassVar[bool] = False
    model_kind: ClassVar[str] = "looped"

    @property
    def sources(self) -> tuple[str, ...]:
        return (self.machine,)

    def check(self, source: Any, **options: Any) -> None:
        from .construction import check_size
        check_size(source, self.name)

    def compile(self, source: Any, **options: Any):
        from .construction import compile_program
        return compile_program(source, self.name)

    def verify(self, source: Any, input: str | None = None, *, model=None, max_steps: int | None = None,
               progress=None, rows: int | None = None, **options: Any):
        from turingformer.errors import InputError
        from turingformer.programs import DEFAULT_MAX_LOOPS

        from .verify import verify_looped
        if input is not None:
            raise InputError("a program takes no input word: its input is its initial memory",
                             hint="edit the program's .data values instead")
        return verify_looped(source, self.name, model=model, progress=progress,
                             max_loops=DEFAULT_MAX_LOOPS if max_steps is None else max_steps)


CONSTRUCTIONS = tuple(Looped(name, description, machine) for name, (machine, description) in NAMES.items())
MODEL_KIND = "looped"
MODEL_CLASS = "turingformer.compiler.looped.model:LoopedModel"
