"""The builders of the looped constructions by name, and :func:`compile_program` (spec §0 table).

===============  ==========  ============================  =======  ===========================
name             machine     blocks per loop (heads)       d        spec
===============  ==========  ============================  =======  ===========================
``subleq-h3``    SUBLEQ-H    3 (1, 1, 1)                   16       §5 (default for SUBLEQ-H)
``subleq-h2``    SUBLEQ-H    2 (1, 2)                      16       §5.7
``subleq-u3``    SUBLEQ-U    3 (1, 1, 1)                   23       §6
``fleq-h``       FLEQ-H      4 (1 each), 5 with ``mul``    23 + F   §7 (only the used functions)
===============  ==========  ============================  =======  ===========================

The weights depend only on the sizes (M, N, s) and, for FLEQ, the function list; the program
itself goes into the punch card X₀ (:mod:`.layout`). The registry entries are in the package's
``__init__`` (:class:`~turingformer.compiler.looped.Looped`); they call this module.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable, Sequence

from ...programs import FleqH, Kind, Program
from ...runtime.looped import LoopedTransformer
from ...runtime.space import Space, Vector
from . import fleq_h, subleq_h, subleq_u
from ...errors import ConstructionError
from .layout import CardLabels
from .model import LoopedModel
from .names import default_for


@dataclass(frozen=True)
class Builder:
    """How one construction builds its weights and its punch card, and bounds its entries."""

    name: str
    machine: Kind
    build: Callable[[Program], LoopedTransformer]
    encode: Callable[[Space, Program, int, Sequence[int]], tuple[Vector, ...]]
    entry_bound: Callable[[Program], int]
    #: The size guard: refuses, before building, a program too large to build (issue 22).
    check: Callable[[Program], None] = lambda program: None


def _h_bound(p: Program) -> int:
    return max(2 ** (p.bits - 1), p.cells + p.size)


def _fleq_bound(p: FleqH) -> int:
    return max(_h_bound(p), (2 ** p.bits - 1) ** 2 if "mul" in p.functions else 0)


BUILDERS: dict[str, Builder] = {b.name: b for b in (
    Builder("subleq-h3", Kind.SUBLEQ_H, lambda p: subleq_h.build_3l(p.cells, p.bits, p.size), subleq_h.encode,
            _h_bound),
    Builder("subleq-h2", Kind.SUBLEQ_H, lambda p: subleq_h.build_2l(p.cells, p.bits, p.size), subleq_h.encode,
            _h_bound),
    Builder("subleq-u3", Kind.SUBLEQ_U, lambda p: subleq_u.build(p.cells, p.bits), subleq_u.encode,
            lambda p: 2 ** (p.bits - 1)),
    Builder("fleq-h", Kind.FLEQ_H, lambda p: fleq_h.build(p.cells, p.bits, p.size, p.functions), fleq_h.encode,
            _fleq_bound),
)}


def builder_for(program: Program, name: str | None = None) -> Builder:
    """The named construction's builder (default: the program kind's, :func:`.names.default_for`),
    checked against the program's kind."""
    name = name or default_for(program.kind.value)
    if name not in BUILDERS:
        raise ConstructionError(f"unknown looped construction {name!r}", hint=f"choose one of: {', '.join(BUILDERS)}")
    builder = BUILDERS[name]
    if builder.machine != program.kind:
        fits = [k for k, b in BUILDERS.items() if b.machine == program.kind]
        raise ConstructionError(f"construction {name!r} runs {builder.machine.value} programs, not {program.kind.value}",
                                hint=f"for a {program.kind.value} program use: {', '.join(fits)}")
    return builder


def check_size(program: Program, name: str | None = None) -> None:
    """The named construction's size guard on ``program`` (raises before anything is built)."""
    builder_for(program, name).check(program)


def compile_program(program: Program, construction: str | None = None) -> LoopedModel:
    """The looped model of ``program``: weights for its sizes and the punch card of its start state."""
    c = builder_for(program, construction)
    c.check(program)
    transformer = c.build(program)
    labels = CardLabels(construction=c.name, machine=program.kind.value, bits=program.bits, cells=program.cells,
                        instructions=getattr(program, "size", 0),
                        functions=program.functions if isinstance(program, FleqH) else (),
                        name=program.name, entry_bound=c.entry_bound(program),
                        cell_labels=tuple(program.labels.items()))
    return LoopedModel(transformer, c.encode(transformer.space, program, program.pc, program.memory), labels)


def expected_card(model: LoopedModel, program: Program, pc: int, memory: Sequence[int]) -> tuple[Vector, ...]:
    """E(pc, memory): the punch card the per-loop invariant demands (for verification only)."""
    return BUILDERS[model.labels.construction].encode(model.space, program, pc, memory)
