"""The looped constructions by name, and :func:`compile_program` (spec §0 table).

===============  ==========  ============================  =======  ===========================
name             machine     blocks per loop (heads)       d        spec
===============  ==========  ============================  =======  ===========================
``subleq-h3``    SUBLEQ-H    3 (1, 1, 1)                   16       §5 (default for SUBLEQ-H)
``subleq-h2``    SUBLEQ-H    2 (1, 2)                      16       §5.7
``subleq-u3``    SUBLEQ-U    3 (1, 1, 1)                   23       §6
``fleq-h``       FLEQ-H      4 (1 each), 5 with ``mul``    23 + F   §7 (only the used functions)
===============  ==========  ============================  =======  ===========================

The weights depend only on the sizes (M, N, s) and, for FLEQ, the function list; the program
itself goes into the punch card X₀ (:mod:`.layout`).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable, Sequence

from ...errors import ProgramError
from ...programs import FleqH, Kind, Program
from ...runtime.looped import IntegerLoop, LoopedTransformer
from ...runtime.space import Space, Vector
from . import fleq_h, subleq_h, subleq_u
from .layout import CardLabels, LoopedModel


@dataclass(frozen=True)
class Construction:
    """One construction: which machine it runs, how to build its weights and its punch card."""

    name: str
    machine: Kind
    description: str
    build: Callable[[Program], LoopedTransformer]
    encode: Callable[[Space, Program, int, Sequence[int]], tuple[Vector, ...]]
    entry_bound: Callable[[Program], int]


def _h_bound(p: Program) -> int:
    return max(2 ** (p.bits - 1), p.cells + p.size)


def _fleq_bound(p: FleqH) -> int:
    return max(_h_bound(p), (2 ** p.bits - 1) ** 2 if "mul" in p.functions else 0)


CONSTRUCTIONS: dict[str, Construction] = {c.name: c for c in (
    Construction("subleq-h3", Kind.SUBLEQ_H, "SUBLEQ-H, 3 single-head blocks, d = 16 (spec §5)",
                 lambda p: subleq_h.build_3l(p.cells, p.bits, p.size), subleq_h.encode, _h_bound),
    Construction("subleq-h2", Kind.SUBLEQ_H, "SUBLEQ-H, 2 blocks (1 and 2 heads), d = 16 (spec §5.7)",
                 lambda p: subleq_h.build_2l(p.cells, p.bits, p.size), subleq_h.encode, _h_bound),
    Construction("subleq-u3", Kind.SUBLEQ_U, "self-modifying SUBLEQ-U, 3 single-head blocks, d = 23 (spec §6)",
                 lambda p: subleq_u.build(p.cells, p.bits), subleq_u.encode, lambda p: 2 ** (p.bits - 1)),
    Construction("fleq-h", Kind.FLEQ_H, "FLEQ-H, 4 single-head blocks (+1 FFN-only block for mul), "
                 "d = 23 + F (+1) (spec §7)",
                 lambda p: fleq_h.build(p.cells, p.bits, p.size, p.functions), fleq_h.encode, _fleq_bound),
)}

#: The construction ``compile`` uses for each machine model when none is named.
DEFAULT: dict[Kind, str] = {Kind.SUBLEQ_H: "subleq-h3", Kind.SUBLEQ_U: "subleq-u3", Kind.FLEQ_H: "fleq-h"}


def construction_for(program: Program, name: str | None = None) -> Construction:
    """The named construction (default: the machine's), checked against the program's kind."""
    name = name or DEFAULT[program.kind]
    if name not in CONSTRUCTIONS:
        raise ProgramError(f"unknown construction {name!r}", hint=f"choose one of: {', '.join(CONSTRUCTIONS)}")
    c = CONSTRUCTIONS[name]
    if c.machine != program.kind:
        fits = [k for k, v in CONSTRUCTIONS.items() if v.machine == program.kind]
        raise ProgramError(f"construction {name!r} runs {c.machine.value} programs, not {program.kind.value}",
                           hint=f"for a {program.kind.value} program use: {', '.join(fits)}")
    return c


#: Each construction's size guard (issue 22): it refuses, before building, what it cannot build in
#: reasonable size.
SIZE_CHECKS: dict[str, Callable[[Program], None]] = {
    "subleq-h3": subleq_h.check_size, "subleq-h2": subleq_h.check_size, "subleq-u3": subleq_u.check_size,
    "fleq-h": fleq_h.check_size}


def compile_program(program: Program, construction: str | None = None) -> LoopedModel:
    """The looped model of ``program``: weights for its sizes and the punch card of its start state.
    Raises :class:`~turingformer.errors.ProgramSizeError` before building when the program is too
    large for the construction (:data:`SIZE_CHECKS`)."""
    c = construction_for(program, construction)
    SIZE_CHECKS[c.name](program)
    transformer = c.build(program)
    labels = CardLabels(construction=c.name, machine=program.kind.value, bits=program.bits, cells=program.cells,
                        instructions=getattr(program, "size", 0),
                        functions=program.functions if isinstance(program, FleqH) else (),
                        name=program.name, entry_bound=c.entry_bound(program),
                        cell_labels=tuple(program.labels.items()))
    return LoopedModel(transformer, c.encode(transformer.space, program, program.pc, program.memory), labels)


def expected_card(model: LoopedModel, program: Program, pc: int, memory: Sequence[int]) -> tuple[Vector, ...]:
    """E(pc, memory): the punch card the per-loop invariant demands (for verification only)."""
    return CONSTRUCTIONS[model.labels.construction].encode(model.space, program, pc, memory)


@dataclass(frozen=True)
class LoopedSummary:
    """What ``turingformer compile`` prints about a looped model."""

    construction: str
    description: str
    machine: str
    cells: int
    bits: int
    instructions: int
    functions: tuple[str, ...]
    columns: int
    d: int
    heads: tuple[int, ...]
    hidden: tuple[int, ...]
    nonzero_weights: int
    largest_integer: int

    def lines(self) -> list[str]:
        sizes = f"M = {self.cells} cells of N = {self.bits} bits"
        if self.machine != "subleq-u":
            sizes += f", s = {self.instructions} instructions"
        out = [f"construction {self.construction}: {self.description}",
               f"{self.machine}: {sizes}" + (f"; functions {', '.join(self.functions)}" if self.functions else ""),
               f"punch card: n = {self.columns} columns × d = {self.d} named dimensions",
               f"blocks per loop: {len(self.heads)}; heads per block: {', '.join(map(str, self.heads))}",
               f"hidden widths: {', '.join(map(str, self.hidden))} ({sum(self.hidden)} σ units per loop)",
               f"non-zero weights: {self.nonzero_weights}",
               f"activations: integers below 2^{self.largest_integer.bit_length()} in the integer path "
               f"({self.largest_integer.bit_length() + 1} bits with sign; int64 is used when < 2^62)"]
        return out


def summary(model: LoopedModel) -> LoopedSummary:
    t, lab = model.transformer, model.labels
    description = CONSTRUCTIONS[lab.construction].description if lab.construction in CONSTRUCTIONS else ""
    return LoopedSummary(
        construction=lab.construction, description=description, machine=lab.machine, cells=lab.cells,
        bits=lab.bits, instructions=lab.instructions, functions=lab.functions, columns=model.n, d=len(t.space),
        heads=tuple(len(b.heads) for b in t.blocks),
        hidden=tuple(b.ffn.hidden_sizes[0] if b.ffn else 0 for b in t.blocks),
        nonzero_weights=t.nonzero_weights(), largest_integer=IntegerLoop(t).largest_integer(lab.entry_bound))
