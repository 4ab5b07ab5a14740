"""A Turing machine as a self-modifying SUBLEQ-U program (issue 14; looped spec §2.2, §6).

Memory, in order (all cells words of N bits; docs/two-transformers.md draws it):

    code        one block per state, in the machine's state order (the pc's regions)
    constants   Z = 0, ONE = 1, NEG1 = −1 and the write deltas / halt codes the blocks use
    NHP         −H, H = the cell under the head
    STATUS      0 while running; −1 halting state, −2 no rule, −3 tape bound
    T           the dispatch temporary, 1 between machine steps
    sentinel    the value k = |tape alphabet|
    tape        K cells; block cell ``origin`` is the machine's cell 0
    sentinel    k

A state q with rules compiles to (every omitted target is the next instruction)::

    q:        subleq  R R              ; R := 0, R is the a-field of 'read'
              subleq  NHP R            ; R := H             (the patched operand)
    read:     subleq  R:H T  test1     ; T := 1 − v; v ≥ 1 → test1, else v = 0 and T = 1
              <handler for the symbol of value 0>
    test1:    subleq  NEG1 T test2     ; T := 2 − v; v ≥ 2 → test2, else v = 1 and T = 1
              <handler for value 1> ...
    sentinel: subleq  #3 STATUS -1     ; the head is off the block: 'tape bound' (or 'no rule')

and a rule δ(q, a) = (p, b, m) to the handler of a's value (the first three lines only if b ≠ a)::

              subleq  W W
              subleq  NHP W            ; W := H, W is the b-field of the next instruction
              subleq  #(a−b) W:H       ; tape[H] := a − (a − b) = b
              subleq  ONE NHP p        ; m = R: −(H+1) < 0, so it always jumps to p's block
                                       ; (m = L: NEG1; m = S: subleq Z Z p)

A handler leaves T = 1 (the invariant every block starts from), a missing rule becomes
``subleq #2 STATUS -1`` and a halting state's block is ``subleq ONE STATUS -1``. Jumps inside a
block only go forward, so a machine step costs at most one pass through its state's block:
2 + (v + 1) + 3·[a ≠ b] + 1 loops for a symbol of value v. No word ever wraps.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Union

from turingformer.compiler.bridge.layout import DEFAULT_TAPE_CELLS, STATUS_CODES, TapeLayout
from turingformer.compiler.bridge.model import LoopedMachineModel
from turingformer.compiler.looped.construction import compile_program
from turingformer.errors import InputError, ProgramSizeError
from turingformer.programs.program import SubleqU
from turingformer.tm.machine import Move, TuringMachine
from turingformer.tm.trace import HaltReason

#: The largest tape block a machine compiles with: beyond it the punch card (one column per
#: memory cell) makes model files of hundreds of MB and loops of seconds.
MAX_TAPE_CELLS = 65_536
#: The looped construction a machine's program runs on (self-modifying code needs SUBLEQ-U).
CONSTRUCTION = "subleq-u3"

Operand = Union[int, str]   # a cell number, or a label resolved when the program is placed


@dataclass(frozen=True)
class Line:
    """One instruction (three cells) or one data cell of the listing, with what it does."""

    cell: int
    size: int
    labels: tuple[str, ...]
    comment: str


@dataclass(frozen=True)
class MachineProgram:
    """A Turing machine compiled for the looped computer: the program, its layout, its listing."""

    program: SubleqU
    layout: TapeLayout
    lines: tuple[Line, ...] = field(repr=False)

    def listing(self) -> str:
        """The program with labels, one instruction or data cell a line (``show --construction looped-machine``)."""
        layout = self.layout
        out = [f"; {layout.machine_name or 'machine'} as SUBLEQ-U: M = {self.program.cells} cells of "
               f"N = {self.program.bits} bits, code {layout.code_end} cells, tape block {layout.tape_cells} cells "
               f"from cell {layout.tape_start} (head starts on block cell {layout.origin}), "
               f"at most {layout.max_loops_per_step} loops per machine step"]
        cells = {cell: name for name, cell in self.program.labels.items()}
        starts = {line.cell: line.labels[0] for line in self.lines if line.labels}
        for line in self.lines:
            label = " ".join(f"{name}:" for name in line.labels)
            words = self.program.memory[line.cell:line.cell + line.size]
            operands = str(words[0])
            if len(words) == 3:
                a, b = (self._operand(w, cells) for w in words[:2])
                c = words[2]
                target = "" if c == line.cell + 3 else " " + ("-1" if c < 0 else starts.get(c, str(c)))
                operands = f"subleq {a} {b}{target}"
            comment = f"  ; {line.comment}" if line.comment else ""
            out.append(f"{line.cell:>5}  {label:<18} {operands:<34}{comment}".rstrip())
        return "\n".join(out) + "\n"

    def _operand(self, cell: int, cells: dict[int, str]) -> str:
        """An operand as the listing shows it: its label, ``tape+i`` in the tape block, else the number."""
        layout = self.layout
        if layout.tape_start <= cell < layout.tape_start + layout.tape_cells:
            return f"tape+{cell - layout.tape_start}"
        return cells.get(cell, str(cell))


class _Assembler:
    """Instructions and data cells with symbolic operands; :meth:`place` resolves the labels."""

    def __init__(self) -> None:
        self.items: list[tuple[str, tuple, tuple[str, ...], str]] = []   # (kind, words, labels, comment)
        self.size = 0
        self.cells: dict[str, int] = {}
        self.pending: list[str] = []

    def label(self, name: str) -> None:
        self.pending.append(name)

    def _define(self, name: str, cell: int) -> None:
        if name in self.cells:
            raise InputError(f"two labels of the SUBLEQ-U program are both called {name!r} (from the state names)",
                             hint="rename the state whose name ends in .R, .off, .testK or .WK or starts with q:")
        self.cells[name] = cell

    def subleq(self, a: Operand, b: Operand, c: Operand | None = None, comment: str = "", *,
               a_label: str | None = None, b_label: str | None = None) -> None:
        here = self.size
        for name in self.pending:
            self._define(name, here)
        labels, self.pending = tuple(self.pending), []
        if a_label:
            self._define(a_label, here)
        if b_label:
            self._define(b_label, here + 1)
        self.items.append(("code", (a, b, here + 3 if c is None else c), labels, comment))
        self.size += 3

    def data(self, value: Operand, comment: str = "") -> None:
        here = self.size
        for name in self.pending:
            self._define(name, here)
        labels, self.pending = tuple(self.pending), []
        self.items.append(("data", (value,), labels, comment))
        self.size += 1

    def place(self, **values: int) -> tuple[list[int], list[Line], list[int]]:
        """(memory, listing, instruction cells); ``values`` gives operands that are not cells' labels."""
        names = {**self.cells, **values}
        memory: list[int] = []
        lines: list[Line] = []
        code: list[int] = []
        for kind, words, labels, comment in self.items:
            cell = len(memory)
            resolved = tuple(names[w] if isinstance(w, str) else w for w in words)
            memory.extend(resolved)
            if kind == "code":
                code.append(cell)
            lines.append(Line(cell, len(resolved), labels, comment))
        return memory, lines, code


def check_size(machine: TuringMachine, tape_cells: int) -> None:
    """Refuse a tape block the looped computer cannot hold in reasonable size (before building)."""
    if not 1 <= tape_cells <= MAX_TAPE_CELLS:
        raise ProgramSizeError(f"a tape block of {tape_cells:,} cells" if tape_cells < 10 ** 12 else
                               "a tape block of more than 10^12 cells",
                               hint=f"give --tape-cells from 1 to {MAX_TAPE_CELLS:,} (each cell is a column of the "
                                    "punch card: the model grows and every loop slows with it)")


def _entry(state: str) -> str:
    return f"q:{state}"


def machine_to_program(machine: TuringMachine, word: str = "", *, tape_cells: int = DEFAULT_TAPE_CELLS,
                       head_offset: int | None = None) -> MachineProgram:
    """``machine`` on input ``word`` as a SUBLEQ-U program (module docstring).

    The tape block has ``tape_cells`` = K cells; the head starts on block cell ``head_offset``
    (default: the input centred in the block) and the input fills the cells from there. The word
    size N is the least with M ≤ 2^(N−1) (looped spec §2.2). Raises :class:`InputError` when the
    input does not fit or uses a symbol outside the tape alphabet.
    """
    machine.check_input(word)
    if tape_cells < 1:
        raise InputError(f"a tape block of {tape_cells} cells", hint="give --tape-cells 1 or more")
    if head_offset is None:
        head_offset = max(0, (tape_cells - len(word)) // 2)
    if not 0 <= head_offset < tape_cells or head_offset + len(word) > tape_cells:
        raise InputError(
            f"the input of {len(word)} symbols from block cell {head_offset} does not fit a tape block of "
            f"{tape_cells} cells", hint=f"raise --tape-cells to {head_offset + max(1, len(word))} or more, "
                                        f"or lower --head-offset")
    alphabet = machine.tape_alphabet
    value = {symbol: v for v, symbol in enumerate(alphabet)}
    k = len(alphabet)
    asm = _Assembler()
    constants: dict[int, str] = {0: "Z", 1: "ONE", -1: "NEG1"}

    def constant(v: int) -> str:
        return constants.setdefault(v, f"#{v}")

    def halt(reason: HaltReason, comment: str) -> None:
        asm.subleq(constant(STATUS_CODES[reason]), "STATUS", -1, comment)

    longest = 1
    for q in machine.states:
        asm.label(_entry(q))
        if q in machine.halting_states or not any(r.state == q for r in machine.rules):
            reason = HaltReason.HALTING_STATE if q in machine.halting_states else HaltReason.NO_RULE
            halt(reason, f"state {q}: halt ({reason.value})")
            continue
        read = f"{q}.R"
        asm.subleq(read, read, comment=f"state {q}: clear the read operand")
        asm.subleq("NHP", read, comment="read operand := H, the cell under the head")
        for v in range(k):
            target = f"{q}.test{v + 1}" if v + 1 < k else f"{q}.off"
            if v == 0:
                asm.subleq("H", "T", target, f"T := 1 - tape[H]; not {alphabet[0]!r} -> {target}", a_label=read)
            else:
                asm.label(f"{q}.test{v}")
                asm.subleq("NEG1", "T", target, f"T += 1; not {alphabet[v]!r} -> {target}")
            rule = machine.rule(q, alphabet[v])
            cost = 2 + (v + 1)
            if rule is None:
                halt(HaltReason.NO_RULE, f"no rule for ({q}, {alphabet[v]!r})")
                longest = max(longest, cost + 1)
                continue
            delta = v - value[rule.write]
            write = f"{q}.W{v}"
            if delta:
                asm.subleq(write, write, comment=f"({q}, {alphabet[v]!r}) -> ({rule.next_state}, "
                                                 f"{rule.write!r}, {rule.move}): clear the write operand")
                asm.subleq("NHP", write, comment="write operand := H")
                asm.subleq(constant(delta), "H", comment=f"tape[H] := {rule.write!r}", b_label=write)
                cost += 3
            step = {Move.R: "ONE", Move.L: "NEG1"}.get(rule.move)
            what = "" if delta else f"({q}, {alphabet[v]!r}) -> ({rule.next_state}, {rule.write!r}, {rule.move}): "
            if step:
                asm.subleq(step, "NHP", _entry(rule.next_state),
                           f"{what}head {'right' if rule.move is Move.R else 'left'}, go to {rule.next_state}")
            else:
                asm.subleq("Z", "Z", _entry(rule.next_state), f"{what}head stays, go to {rule.next_state}")
            longest = max(longest, cost + 1)
        asm.label(f"{q}.off")
        if machine.rule(q, machine.blank) is None:
            halt(HaltReason.NO_RULE, f"the head is off the block, and no rule for ({q}, {machine.blank!r})")
        else:
            halt(HaltReason.TAPE_BOUND, "the head is off the tape block: tape bound")
        longest = max(longest, 2 + k + 1)
    code_end = asm.size
    for v, name in sorted(constants.items(), key=lambda item: (abs(item[0]), -item[0])):
        asm.label(name)
        asm.data(v, "constant")
    tape_start = asm.size + 4         # after NHP, STATUS, T and the left sentinel
    head = tape_start + head_offset
    asm.label("NHP")
    asm.data(-head, "-H, H = the cell under the head")
    asm.label("STATUS")
    asm.data(0, "0 running; -1 halting state, -2 no rule, -3 tape bound")
    asm.label("T")
    asm.data(1, "dispatch temporary (1 between steps)")
    asm.data(k, "sentinel (left of the tape block)")
    assert asm.size == tape_start
    asm.label("tape")
    for cell in range(tape_cells):
        asm.data(0, "the machine's cell 0" if cell == head_offset else "")
    asm.data(k, "sentinel (right of the tape block)")
    nhp = asm.cells["NHP"]
    memory, lines, code = asm.place(H=head)
    layout = TapeLayout(
        machine_name=machine.name, states=machine.states,
        entries=tuple(asm.cells[_entry(q)] for q in machine.states),
        accept=tuple(sorted(machine.accept_states)), reject=tuple(sorted(machine.reject_states)),
        alphabet=alphabet, tape_start=tape_start, tape_cells=tape_cells, origin=head_offset,
        input_length=len(word), head_cell=nhp, status_cell=asm.cells["STATUS"], code_end=code_end,
        max_loops_per_step=longest)
    memory = list(layout.initial_memory(memory, word))
    bits = max(2, (len(memory) - 1).bit_length() + 1)
    program = SubleqU(bits=bits, memory=memory, labels=asm.cells, pc=layout.entries[machine.states.index(machine.start)],
                      instruction_cells=tuple(code), name=machine.name)
    return MachineProgram(program, layout, tuple(lines))


def compile_looped(machine: TuringMachine, word: str = "", *, tape_cells: int = DEFAULT_TAPE_CELLS,
                   head_offset: int | None = None) -> tuple[MachineProgram, LoopedMachineModel]:
    """``machine`` on ``word`` as a SUBLEQ-U program and the SUBLEQ-U/3L model that runs it."""
    compiled = machine_to_program(machine, word, tape_cells=tape_cells, head_offset=head_offset)
    return compiled, LoopedMachineModel(compile_program(compiled.program, CONSTRUCTION), compiled.layout)
