"""SUBLEQ-U assembly, ``.usubleq`` (looped spec §9.3): one memory for code and data.

Every line is placed at the next free cell, in order: an instruction (``subleq a b [c]`` or a
macro of :mod:`.subleq`) takes 3 cells per expanded instruction, a data line ``v1 v2 ...`` one cell
per value (a value may also be a label: the cell number it names, i.e. a pointer). After the last
line come the ``#k`` literal cells, then ``__Z``. A leading ``name:`` names the line's first cell;
an operand of ``subleq`` written ``name:operand`` names the cell that holds that operand, so the
program can rewrite it (``subleq p:LIST Z`` ... ``subleq NEG1 p`` walks a pointer).

The target c: a label (its cell), a number, ``HALT`` or any negative number (halts), omitted = the
next instruction (the cell 3 further). Operands a and b must name cells (an esolang I/O operand
``-1`` is not modelled, spec §2.2). Execution starts at cell 0 (``.start label`` moves it).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from turingformer.programs.numbers import looks_numeric, number_text
from turingformer.programs.program import SubleqU
from turingformer.errors import AddressError, AssemblySyntaxError, ProgramSizeError, shorten
from turingformer.programs.formats.assembly import (
    DEFAULT_BITS, HALT, NAME, NEXT, ZERO, Cells, Header, Labels, Source, Token, arity_error, check_bits,
    directive_error, directive_label_error, expectation, mnemonic_error, read_bits, read_expect, _stem,
)
from turingformer.programs.formats.subleq import MNEMONICS

_OPERAND_LABEL = re.compile(r"([^:]+):(.+)", re.DOTALL)
DIRECTIVES = (".bits", ".expect", ".start")


def loads(text: str, filename: str | None = None, bits: int | None = None) -> SubleqU:
    """The :class:`~turingformer.programs.program.SubleqU` program of a ``.usubleq`` text."""
    source = Source(text, filename)
    header = Header(DEFAULT_BITS, None, [])
    labels = Labels.empty(source)
    items: list[tuple[str, object, list[Token]]] = []   # ("code", head, operands) | ("data", None, words)
    start: Token | None = None
    size = 0
    for line in source.lines():
        head = line.words[0] if line.words else None
        if head is not None and head.text.startswith("."):
            if line.labels:
                raise directive_label_error(source, line)
            if head.text == ".bits":
                read_bits(source, line, header)
            elif head.text == ".expect":
                read_expect(source, line, header)
            elif head.text == ".start" and len(line.words) == 2:
                start = line.words[1]
            elif head.text == ".start":
                raise arity_error(source, head, ".start", MNEMONICS["jmp"], len(line.words) - 1)
            else:
                raise directive_error(source, head, DIRECTIVES)
            continue
        for label in line.labels:
            labels.define(label, size, code=False)
        if head is None:
            continue
        words = list(line.words)
        mnemonic = MNEMONICS.get(head.text)
        operands = words[1:] if mnemonic else words
        if mnemonic and not mnemonic.required <= len(operands) <= len(mnemonic.operands):
            raise arity_error(source, head, head.text, mnemonic, len(operands))
        plain = []
        for offset, token in enumerate(operands):
            match = _OPERAND_LABEL.fullmatch(token.text)
            if match:
                if mnemonic is not None and head.text != "subleq":
                    raise AssemblySyntaxError(f"an operand label ({shorten(token.text)}) needs a plain subleq",
                                              location=source.at(token),
                                              hint=f"{head.text} expands into several instructions; write subleq")
                labels.define(source.name(Token(match.group(1), token.line, token.column)), size + offset, code=False)
                token = Token(match.group(2), token.line, token.column + len(match.group(1)) + 1)
            plain.append(token)
        items.append(("code", (head, mnemonic), plain) if mnemonic else ("data", None, plain))
        size += 3 * mnemonic.size if mnemonic else len(plain)
    check_bits(source, header, bits)
    cells = Cells(source, labels, size, header.bits)
    memory: list = []
    instruction_cells = []
    for kind, what, operands in items:
        if kind == "data" and _is_name(operands[0].text) and operands[0].text not in labels.cells:
            raise mnemonic_error(source, operands[0], list(MNEMONICS), "SUBLEQ-U")
        if kind == "data":
            memory.extend(_word(source, cells, token, header.bits) for token in operands)
            continue
        head, mnemonic = what
        for token in operands[:2]:
            if token.text.startswith("-") and looks_numeric(token.text):
                raise AddressError(f"operand {shorten(token.text)} is not a cell", location=source.at(token),
                                   hint="SUBLEQ-U does not model the esolang's I/O operands (a = -1 reads, "
                                        "b = -1 prints); operands a and b must name cells")
        for fields in mnemonic.expand(operands):
            here = len(memory)
            instruction_cells.append(here)
            a, b = (_Unplaced(cells.cell(f if isinstance(f, Token) else Token(ZERO, 0, 0))) for f in fields[:2])
            memory.extend((a, b, _target(source, cells, fields[2], here, header.bits)))
    half = 1 << (header.bits - 1)
    if cells.size > half:
        raise ProgramSizeError(
            f"SUBLEQ-U needs M <= 2^(N-1) = {half} cells (every cell index must be a word), the program has "
            f"M = {cells.size}", location=source.at(header.bits_token),
            hint=f"raise .bits to {(cells.size - 1).bit_length() + 1} or more, or shorten the program")
    cells.check()
    memory = [cells.place(v.cell) if isinstance(v, _Unplaced) else v for v in memory]
    memory.extend(cells.initial())
    pc = 0 if start is None else cells.labelled(start, code=False)
    expect = expectation(source, header, lambda token: cells.labelled(token, code=False), cells.size)
    if start is not None and not 0 <= pc <= len(memory) - 3:
        raise AddressError(f".start {shorten(start.text)} is cell {number_text(pc)}, not the first cell of an instruction",
                           location=source.at(start), hint=f"start at a cell in [0, {len(memory) - 3}]")
    return SubleqU(bits=header.bits, memory=memory, labels={**labels.cells, **cells.extra_labels()}, pc=pc,
                   instruction_cells=instruction_cells, expect=expect, source=filename, name=_stem(filename))


@dataclass(frozen=True)
class _Unplaced:
    """A resolved operand cell that :meth:`Cells.place` still has to move (literals, ``__Z``).

    Not an ``int`` subclass: ``value in range(...)`` scans the whole range for one (issue 22)."""

    cell: int


def _is_name(text: str) -> bool:
    return NAME.fullmatch(text) is not None and text != HALT


def _word(source: Source, cells: Cells, token: Token, bits: int):
    if looks_numeric(token.text):
        return source.word(token, source.number(token, "the data value"), bits, "the data value")
    if token.text.startswith("#") or token.text == ZERO:
        return _Unplaced(cells.cell(token))
    return cells.labelled(token, code=False)


def _target(source: Source, cells: Cells, field, here: int, bits: int) -> int:
    if field == NEXT:
        return here + 3
    if field == HALT or field.text == HALT:
        return -1
    if looks_numeric(field.text):
        return source.word(field, source.number(field, "the target"), bits, "the target")
    return cells.labelled(field, code=False)
