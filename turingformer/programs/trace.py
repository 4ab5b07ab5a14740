"""Runs of a looped-computer program: one state per loop, and the JSON every command prints.

A :class:`ProgramTrace` is what both the reference interpreter (:mod:`.interpreter`) and a
decoder of looped weights produce, so the two compare state for state. :func:`json_lines` is the
ONE place that shapes the JSON Lines output (``turingformer simulate PROGRAM --json`` and the
``run`` of a looped model), so that ``diff`` of the two outputs is empty when they agree:

* one object per loop: ``{"step": t, "pc": pc, "memory": [signed ints]}`` (t = 0 is the start);
* then the summary: ``{"summary": true, "program", "kind", "bits", "steps", "halted", "pc",
  "memory", "labels": {label: final value}}``.

A FLEQ-M run (``frac`` F set) holds k×k matrices of raw words in its cells; the JSON gives each
cell as ``{"value": [[decimal strings]], "raw": [[ints]]}`` and the summary adds ``"frac"``.

The module knows only integers: nothing about programs' code or about weights.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Callable, Iterator, Mapping

from turingformer.programs.fixed import matrix_json

#: The loop limit of a run when none is given (the same figure as a Turing machine's step limit).
DEFAULT_MAX_LOOPS = 100_000


@dataclass(frozen=True)
class LoopState:
    """The machine after ``step`` loops: its ``pc`` and its whole ``memory`` (signed words)."""

    step: int
    pc: int
    memory: tuple[int, ...]

    def to_json(self, cell: Callable[[object], object] = lambda value: value) -> dict:
        """The loop's JSON object; ``cell`` shapes each memory cell (identity for integer words)."""
        return {"step": self.step, "pc": self.pc, "memory": [cell(value) for value in self.memory]}


@dataclass(frozen=True)
class ProgramTrace:
    """A run: ``states[t]`` after t loops, t = 0..steps (or only the final state, when not recorded).

    ``halted`` is true when the final pc is ``halt_pc`` (s for SUBLEQ-H / FLEQ-H, -1 for SUBLEQ-U);
    ``labels`` maps data labels to cells (the summary reports their final values); ``frac`` is
    FLEQ-M's F (cells are matrices of fixed-point words), None for integer words.
    """

    states: tuple[LoopState, ...]
    halt_pc: int
    name: str = ""
    kind: str = ""
    bits: int = 8
    labels: Mapping[str, int] = field(default_factory=dict)
    frac: int | None = None

    def __post_init__(self) -> None:
        object.__setattr__(self, "states", tuple(self.states))
        object.__setattr__(self, "labels", MappingProxyType(dict(self.labels)))

    @property
    def final(self) -> LoopState:
        return self.states[-1]

    @property
    def steps(self) -> int:
        """Loops run (= the final state's step)."""
        return self.final.step

    @property
    def halted(self) -> bool:
        return self.final.pc == self.halt_pc

    @property
    def recorded(self) -> bool:
        """True when every loop's state is kept (not only the final one)."""
        return len(self.states) == self.steps + 1

    def __len__(self) -> int:
        return len(self.states)

    def __iter__(self) -> Iterator[LoopState]:
        return iter(self.states)

    def __getitem__(self, t: int) -> LoopState:
        return self.states[t]

    def value(self, label: str) -> int:
        """The final value of the cell ``label`` names."""
        return self.final.memory[self.labels[label]]

    def cell_json(self, value) -> object:
        """One cell for JSON: the word itself, or a FLEQ-M matrix as decimal strings and raw words."""
        return value if self.frac is None else matrix_json(value, self.frac)

    def summary(self) -> dict:
        """The summary object of :func:`json_lines`."""
        final = self.final
        fixed = {} if self.frac is None else {"frac": self.frac}
        return {"summary": True, "program": self.name, "kind": self.kind, "bits": self.bits, **fixed,
                "steps": self.steps, "halted": self.halted, "pc": final.pc,
                "memory": [self.cell_json(value) for value in final.memory],
                "labels": {name: self.cell_json(final.memory[cell]) for name, cell in self.labels.items()}}


def json_lines(trace: ProgramTrace, *, loops: bool = True) -> Iterator[str]:
    """The JSON Lines of a run (module docstring): one line per loop when ``loops``, then the summary."""
    if loops:
        for state in trace.states:
            yield json.dumps(state.to_json(trace.cell_json))
    yield json.dumps(trace.summary(), ensure_ascii=False)
