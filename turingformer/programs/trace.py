"""Runs of a looped-computer program: one state per loop, and the JSON every command prints.

A :class:`ProgramTrace` is what both the reference interpreter (:mod:`.interpreter`) and a
decoder of looped weights produce, so the two compare state for state. :meth:`ProgramTrace.json_lines`
is the ONE place that shapes the JSON Lines output (``turingformer simulate PROGRAM --json`` and the
``run`` of a looped model), so that ``diff`` of the two outputs is empty when they agree:

* one object per loop: ``{"step": t, "pc": pc, "memory": [signed ints]}`` (t = 0 is the start);
* then the summary: ``{"summary": true, "program", "kind", "bits", "steps", "halted", "pc",
  "memory", "labels": {label: final value}}``.

A FLEQ-M run (``frac`` F set) holds k×k matrices of raw words in its cells; the JSON gives each
cell as ``{"value": [[decimal strings]], "raw": [[ints]]}`` and the summary adds ``"frac"``; the
table shows the cells each loop changed, the summary text the labelled cells as matrices. A
learner's run (``learner`` set) adds ``"learned"``: its weights, the loss per epoch and the
float64 references (:func:`turingformer.programs.learning.report`), from the states alone.

The module knows only integers: nothing about programs' code or about weights.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Callable, Iterator, Mapping

from turingformer.programs.fixed import Fixed, matrix_json, matrix_lines, matrix_text
from turingformer.programs.learning import Learner, report, report_lines

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
    ``interrupted`` when the run was asked to stop (Ctrl-C) before it halted or reached its
    limit; ``labels`` maps data labels to cells (the summary reports their final values); ``frac``
    is FLEQ-M's F (cells are matrices of fixed-point words), None for integer words; ``learner``
    a FLEQ-M learner's declaration (the summary then reports what it learned).
    A trace prints itself (:meth:`json_lines`, :meth:`table_lines`, :meth:`summary_text`), so the
    interpreter's run and a network's run print the same way.
    """

    states: tuple[LoopState, ...]
    halt_pc: int
    name: str = ""
    kind: str = ""
    bits: int = 8
    labels: Mapping[str, int] = field(default_factory=dict)
    interrupted: bool = False
    frac: int | None = None
    learner: Learner | None = None

    def __post_init__(self) -> None:
        object.__setattr__(self, "states", tuple(self.states))
        object.__setattr__(self, "labels", MappingProxyType(dict(self.labels)))

    def __repr__(self) -> str:
        name = f"{self.name!r}, " if self.name else ""
        return (f"ProgramTrace({name}{self.kind or 'program'}, steps={self.steps:,}, halted={self.halted}, "
                f"pc={self.final.pc}, recorded={len(self.states):,} states)")

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
        """The summary object of :meth:`json_lines` (``"interrupted": true`` only after Ctrl-C)."""
        final = self.final
        fixed = {} if self.frac is None else {"frac": self.frac}
        out = {"summary": True, "program": self.name, "kind": self.kind, "bits": self.bits, **fixed,
               "steps": self.steps, "halted": self.halted, "pc": final.pc,
               "memory": [self.cell_json(value) for value in final.memory],
               "labels": {name: self.cell_json(final.memory[cell]) for name, cell in self.labels.items()}}
        if self.interrupted:
            out["interrupted"] = True
        learned = self.learned()
        if learned is not None:
            out["learned"] = learned
        return out

    def learned(self) -> dict | None:
        """What a learner learned (None for other programs, or when only the final state was kept)."""
        if self.learner is None or self.frac is None or not self.recorded:
            return None
        k = len(self.final.memory[0])
        return report(self.learner, self.states, Fixed(self.bits, self.frac), k)

    def json_lines(self, *, steps: bool = True, extra: dict | None = None, delta: bool = False) -> Iterator[str]:
        """The JSON Lines of the run (module docstring): one line per loop when ``steps``, then the
        summary (with the ``extra`` entries, e.g. ``"modified"`` for an edited model file).

        ``delta``: the start state in full, then per loop ``{step, pc, write: {cell: value}}`` with
        only the cells that loop changed."""
        if steps and delta:
            previous = None
            for state in self.states:
                if previous is None:
                    yield json.dumps(state.to_json(self.cell_json))
                else:
                    changed = {str(c): self.cell_json(v)
                               for c, (v, old) in enumerate(zip(state.memory, previous.memory)) if v != old}
                    yield json.dumps({"step": state.step, "pc": state.pc, "write": changed})
                previous = state
        elif steps:
            for state in self.states:
                yield json.dumps(state.to_json(self.cell_json))
        yield json.dumps({**self.summary(), **(extra or {})}, ensure_ascii=False)

    def table_lines(self) -> Iterator[str]:
        """One row per recorded loop: the step, the pc and every memory cell (headed by its label);
        for matrix cells (FLEQ-M) the step, the pc and the cells the loop changed, with their values."""
        names = cell_names(self.labels, len(self.final.memory))
        if self.frac is None:
            rows = [[str(s.step), str(s.pc), *map(str, s.memory)] for s in self.states]
            return aligned(["step", "pc", *names], rows, right=True)
        rows, previous = [], None
        for s in self.states:
            changed = [i for i, value in enumerate(s.memory) if previous is not None and value != previous[i]]
            rows.append([str(s.step), str(s.pc),
                         "; ".join(f"{names[i]} = {matrix_text(s.memory[i], self.frac)}" for i in changed)])
            previous = s.memory
        return aligned(["step", "pc", "written"], rows)

    def summary_text(self) -> str:
        """``halted after 4 loops (pc = s = 4); x = 7, y = 42``, or where a run that did not halt stopped."""
        final = self.final
        loops = f"{self.steps:,} loop" + ("" if self.steps == 1 else "s")
        halt = "-1" if self.halt_pc < 0 else f"s = {self.halt_pc}"
        if self.halted:
            state = f"halted after {loops} (pc = {halt})"
        elif self.interrupted:
            state = f"interrupted after {loops} at pc {final.pc}"
        else:
            state = f"still running after {loops} at pc {final.pc} (loop limit)"
        if self.frac is not None:
            learned = self.learned()
            return "\n".join([state + ":", *self.cell_listing(), *(report_lines(learned) if learned else [])])
        values = ", ".join(f"{name} = {final.memory[cell]}" for name, cell in self.labels.items())
        return state + (f"; {values}" if values else "")

    def cell_listing(self) -> list[str]:
        """The labelled cells (not the ``#`` literals or ``__Z``) as matrices, values and raw words."""
        names = [name for name in self.labels if not name.startswith("#") and name != "__Z"]
        width = max((len(name) for name in names), default=0)
        out = []
        for name in names:
            for i, line in enumerate(matrix_lines(self.final.memory[self.labels[name]], self.frac)):
                out.append(f"  {(name + ' =') if i == 0 else '':<{width + 2}} {line}")
        return out


def cell_names(labels: Mapping[str, int], cells: int) -> list[str]:
    """The name of every cell: its first label, else its number."""
    names = [str(cell) for cell in range(cells)]
    for name, cell in reversed(list(labels.items())):
        names[cell] = name
    return names


def aligned(header: list[str], rows: list[list[str]], *, right: bool = False) -> Iterator[str]:
    """Lines of columns as wide as their widest entry, left-aligned (right-aligned when ``right``),
    each indented by two spaces."""
    widths = [max(len(r[i]) for r in [header, *rows]) for i in range(len(header))]
    for row in [header, *rows]:
        cells = (c.rjust(w) if right else c.ljust(w) for c, w in zip(row, widths))
        yield "  " + "  ".join(cells).rstrip()
