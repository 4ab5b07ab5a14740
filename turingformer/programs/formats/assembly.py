"""What the three assembly dialects share (looped spec §9): the lexer, operands, labels, the
``#k`` literals and the zero cell ``__Z``, the ``.bits`` / ``.expect`` directives, and the Harvard
assembler that :mod:`.subleq` and :mod:`.fleq` instantiate with their instruction sets.

Lexing: ``;`` starts a comment; tokens are separated by white space or commas (``=`` is a token of
its own); leading ``name:`` tokens are labels. Every token keeps its 1-based line and column, so
every error names ``file:line:column``.

Memory layout of a Harvard program (spec §9.1): the declared data cells in order, then one cell per
distinct literal value ``#k`` (in order of first use), then ``__Z`` if a macro or operand needs it.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Callable, Iterator, Mapping, Sequence

from turingformer.programs.program import Expectation, ExpectedCell, word_range
from turingformer.errors import (
    AddressError, AssemblySyntaxError, DuplicateLabelError, Location, OperandCountError, ProgramSizeError,
    UnknownLabelError, WordRangeError, did_you_mean,
)

DEFAULT_BITS = 8
ZERO = "__Z"
HALT = "HALT"
RESERVED = (ZERO, HALT)

_TOKEN = re.compile(r"=|[^\s,=]+")
_LABEL = re.compile(r"([A-Za-z_][\w.]*):(.*)")
_NAME = re.compile(r"[A-Za-z_][\w.]*")
_OPERAND = re.compile(r"([A-Za-z_][\w.]*)(?:([+-])(\d+))?")


@dataclass(frozen=True)
class Token:
    """One word of the source, where it was written (1-based line and column)."""

    text: str
    line: int
    column: int


@dataclass(frozen=True)
class Line:
    """A source line without its comment: leading ``labels`` (without the colon) and ``words``."""

    number: int
    labels: tuple[Token, ...]
    words: tuple[Token, ...]


def split_labels(tokens: list[Token]) -> tuple[list[Token], list[Token]]:
    """The leading ``name:`` tokens of a line as labels (without the colon), and the other words."""
    tokens, labels = list(tokens), []
    while tokens:
        match = _LABEL.fullmatch(tokens[0].text)
        if not match:
            break
        first = tokens.pop(0)
        labels.append(Token(match.group(1), first.line, first.column))
        if match.group(2):
            tokens.insert(0, Token(match.group(2), first.line, first.column + len(match.group(1)) + 1))
    return labels, tokens


class Source:
    """The text of one program file and the helpers that raise located errors."""

    def __init__(self, text: str, filename: str | None):
        self.text = text
        self.filename = filename

    def at(self, token: Token | None) -> Location:
        if token is None:
            return Location(self.filename)
        return Location(self.filename, token.line, token.column)

    def lines(self) -> Iterator[Line]:
        for number, raw in enumerate(self.text.splitlines(), start=1):
            code = raw.split(";", 1)[0]
            labels, tokens = split_labels([Token(m.group(), number, m.start() + 1) for m in _TOKEN.finditer(code)])
            if labels or tokens:
                yield Line(number, tuple(labels), tuple(tokens))

    def number(self, token: Token, what: str) -> int:
        """The integer ``token`` spells (decimal, or 0x / 0b / 0o)."""
        text = token.text
        try:
            return int(text, 10)
        except ValueError:
            try:
                return int(text, 0)
            except ValueError:
                raise AssemblySyntaxError(f"{what} {text!r} is not a whole number", location=self.at(token),
                                          hint="write a decimal number such as 7 or -3 (or 0x1f)") from None

    def word(self, token: Token, value: int, bits: int, what: str) -> int:
        """``value`` (written as ``token``), checked to fit in ``bits``-bit two's complement."""
        words = word_range(bits)
        if value not in words:
            raise WordRangeError(f"{what} {value} does not fit in {bits} bits ([{words.start}, {words.stop - 1}])",
                                 location=self.at(token),
                                 hint=f"use a value in [{words.start}, {words.stop - 1}] or more bits "
                                      "(.bits N in assembly, --bits N for a CSV program)")
        return value


@dataclass
class Labels:
    """Label definitions in one namespace (a label may name a cell or an instruction, never both)."""

    source: Source
    cells: dict[str, int]
    targets: dict[str, int]
    defined_at: dict[str, Token]

    @classmethod
    def empty(cls, source: Source) -> "Labels":
        return cls(source, {}, {}, {})

    def define(self, token: Token, value: int, *, code: bool) -> None:
        if token.text in RESERVED:
            raise AssemblySyntaxError(f"{token.text!r} is a reserved name", location=self.source.at(token),
                                      hint="choose another label")
        if token.text in self.defined_at:
            first = self.defined_at[token.text]
            raise DuplicateLabelError(f"label {token.text!r} is defined twice (first on line {first.line})",
                                      location=self.source.at(token), hint="rename one of them")
        self.defined_at[token.text] = token
        (self.targets if code else self.cells)[token.text] = value

    def unknown(self, token: Token, name: str, *, code: bool) -> UnknownLabelError:
        if code and name in self.cells:
            return UnknownLabelError(f"{name!r} names a data cell, not an instruction",
                                     location=self.source.at(token), hint="jump to a code label or HALT")
        if not code and name in self.targets:
            return UnknownLabelError(f"{name!r} names an instruction, not a data cell",
                                     location=self.source.at(token), hint="use a data label, a cell number or #k")
        known = self.targets if code else self.cells
        guess = did_you_mean(name, known)
        return UnknownLabelError(f"unknown label {name!r}", location=self.source.at(token),
                                 hint=guess or ("define it with 'name:' before "
                                                + ("an instruction" if code else "a data value")))


class Cells:
    """Resolves data operands to cells and allocates the literal cells and ``__Z`` on demand.

    ``base`` is the number of declared cells; literals follow in order of first use, then ``__Z``.
    Cell numbers are checked against the final size in :meth:`check` (the size is only known then).
    ``literal(token)`` reads a ``#…`` operand as ``(cell value, label)``; by default a whole number
    that fits in ``bits`` bits, labelled ``#value`` (a dialect with other cells passes its own, and
    the value ``zero`` of ``__Z``).
    """

    def __init__(self, source: Source, labels: Labels, base: int, bits: int,
                 literal: Callable[[Token], tuple[object, str]] | None = None, zero: object = 0):
        self.source, self.labels, self.base, self.bits, self.zero = source, labels, base, bits, zero
        self.literals: dict[object, int] = {}
        self.literal_names: dict[object, str] = {}
        self.zero_used = False
        self._pending: list[tuple[int, Token]] = []
        self._literal = literal or self._word_literal

    def _word_literal(self, token: Token) -> tuple[int, str]:
        value = self.source.word(token, self.source.number(Token(token.text[1:], token.line, token.column + 1),
                                                          "the literal"), self.bits, "the literal")
        return value, f"#{value}"

    def cell(self, token: Token) -> int:
        """The cell an operand names: ``label``, ``label+k``, ``label-k``, a number, ``#k`` or ``__Z``."""
        text = token.text
        if text == ZERO:
            self.zero_used = True
            return -1           # placed by :meth:`finish`
        if text.startswith("#"):
            value, name = self._literal(token)
            self.literal_names.setdefault(value, name)
            return -2 - self.literals.setdefault(value, len(self.literals))
        if re.fullmatch(r"[+-]?\d+|0[xXbBoO][0-9a-fA-F]+", text):
            cell = self.source.number(token, "the cell")
        else:
            cell = self.labelled(token, code=False)
        self._pending.append((cell, token))
        return cell

    def labelled(self, token: Token, *, code: bool) -> int:
        """``label``, ``label+k`` or ``label-k`` in the cell or the code namespace."""
        match = _OPERAND.fullmatch(token.text)
        if not match:
            raise AssemblySyntaxError(f"bad operand {token.text!r}", location=self.source.at(token),
                                      hint="write label, label+k, label-k, a number" + ("" if code else " or #k"))
        name, sign, offset = match.groups()
        table = self.labels.targets if code else self.labels.cells
        if name not in table:
            raise self.labels.unknown(token, name, code=code)
        return table[name] + (int(offset) * (1 if sign == "+" else -1) if sign else 0)

    @property
    def size(self) -> int:
        return self.base + len(self.literals) + self.zero_used

    def place(self, cell: int) -> int:
        """The final cell of a resolved operand (literals and ``__Z`` after the declared data)."""
        if cell == -1:
            return self.base + len(self.literals)
        if cell <= -2:
            return self.base + (-2 - cell)
        return cell

    def check(self) -> None:
        """Every written cell number lies in [0, M)."""
        for cell, token in self._pending:
            if not 0 <= cell < self.size:
                raise AddressError(f"operand {token.text!r} is cell {cell}, outside the memory [0, {self.size - 1}]",
                                   location=self.source.at(token),
                                   hint=f"the program has {self.size} cells; check the label offset or the number")

    def initial(self) -> tuple[int, ...]:
        """The initial values of the literal cells and ``__Z``, in layout order."""
        return tuple(self.literals) + ((self.zero,) if self.zero_used else ())

    def extra_labels(self) -> dict[str, int]:
        names = {self.literal_names[value]: self.base + index for value, index in self.literals.items()}
        if self.zero_used:
            names[ZERO] = self.base + len(self.literals)
        return names


# ---------------------------------------------------------------------------- directives
@dataclass
class Header:
    """The directives every dialect knows: ``.bits N`` and ``.expect key = value(s), ...``."""

    bits: int
    bits_token: Token | None
    expects: list[tuple[Token, list[Token]]]


def read_bits(source: Source, line: Line, header: Header) -> None:
    """``.bits N`` (once, N >= 2)."""
    if len(line.words) != 2:
        raise OperandCountError(".bits takes one number", location=source.at(line.words[0]), hint="write .bits 8")
    if header.bits_token is not None:
        raise AssemblySyntaxError(f".bits is given twice (first on line {header.bits_token.line})",
                                  location=source.at(line.words[0]), hint="keep one .bits line")
    bits = source.number(line.words[1], "the width")
    if bits < 2:
        raise ProgramSizeError(f".bits {bits}: the looped computer needs N >= 2", location=source.at(line.words[1]),
                               hint="use .bits 2 or more")
    header.bits, header.bits_token = bits, line.words[1]


def read_expect(source: Source, line: Line, header: Header) -> None:
    """``.expect key = v1 [v2 ...], ...``: the keys are collected, resolved later by :func:`expectation`."""
    words = list(line.words[1:])
    if not words:
        raise OperandCountError(".expect needs at least one 'name = value'", location=source.at(line.words[0]),
                                hint="write e.g. .expect r = 63, steps = 55")
    index = 0
    while index < len(words):
        if index + 1 >= len(words) or words[index + 1].text != "=" or words[index].text == "=":
            raise AssemblySyntaxError(f"expected 'name = value' in .expect, got {words[index].text!r}",
                                      location=source.at(words[index]), hint="write e.g. .expect r = 63, steps = 55")
        key, index = words[index], index + 2
        values = []
        while index < len(words) and not (index + 1 < len(words) and words[index + 1].text == "="):
            values.append(words[index])
            index += 1
        if not values:
            raise AssemblySyntaxError(f".expect {key.text} has no value", location=source.at(key),
                                      hint="write e.g. .expect r = 63")
        header.expects.append((key, values))


def expectation(source: Source, header: Header, cell_of: Callable[[Token], int], cells: int) -> Expectation:
    """The :class:`Expectation` of the collected ``.expect`` entries (``steps`` or cell operands)."""
    expected, steps = [], None
    for key, values in header.expects:
        if key.text == "steps":
            if len(values) != 1:
                raise OperandCountError("steps takes one number", location=source.at(values[1]),
                                        hint="write steps = 55")
            steps = source.number(values[0], "the step count")
            if steps < 0:
                raise AssemblySyntaxError("the step count must be 0 or more", location=source.at(values[0]),
                                          hint="steps = loops until the program halts")
            continue
        first = cell_of(key)
        for offset, token in enumerate(values):
            cell = first + offset
            if not 0 <= cell < cells:
                raise AddressError(f".expect {key.text}: value {offset + 1} would be cell {cell}, outside the memory",
                                   location=source.at(token), hint="list at most as many values as the data has cells")
            value = source.word(token, source.number(token, "the expected value"), header.bits, "the expected value")
            label = key.text if offset == 0 else f"{key.text}+{offset}"
            expected.append(ExpectedCell(label, cell, value, source.at(token)))
    return Expectation(tuple(expected), steps)


def mnemonic_error(source: Source, token: Token, known: Sequence[str], where: str) -> AssemblySyntaxError:
    guess = did_you_mean(token.text, known)
    return AssemblySyntaxError(f"unknown instruction {token.text!r}", location=source.at(token),
                               hint=(guess + " " if guess else "") + f"{where} knows: {', '.join(known)}")


def directive_error(source: Source, token: Token, known: Sequence[str]) -> AssemblySyntaxError:
    guess = did_you_mean(token.text, known)
    return AssemblySyntaxError(f"unknown directive {token.text!r}", location=source.at(token),
                               hint=(guess + " " if guess else "") + f"the directives are: {', '.join(known)}")


def check_bits(source: Source, header: Header, bits: int | None) -> None:
    """Apply a width given by the caller (``--bits``): it must agree with the file's ``.bits``."""
    if bits is None:
        return
    if header.bits_token is not None and header.bits != bits:
        raise ProgramSizeError(f"the file says .bits {header.bits}, but {bits} bits were asked for",
                               location=source.at(header.bits_token), hint="drop --bits or change .bits")
    header.bits = bits


# ---------------------------------------------------------------------------- Harvard programs
@dataclass(frozen=True)
class Mnemonic:
    """One instruction or macro: operand names (``?`` marks an optional one) and its expansion.

    ``expand(operands)`` returns the instructions as tuples of fields; a field is a user's
    :class:`Token`, :data:`ZERO`, ``NEXT`` (the following instruction) or :data:`HALT`, or for FLEQ
    the op name. ``size`` is the number of instructions it expands into.
    """

    operands: tuple[str, ...]
    size: int
    expand: Callable[[list], list[tuple]]

    @property
    def required(self) -> int:
        return sum(not name.endswith("?") for name in self.operands)


NEXT = "NEXT"


@dataclass(frozen=True)
class InstructionSet:
    """A Harvard dialect: its mnemonics and, per instruction field, ``cell``, ``target`` or ``op``."""

    name: str
    mnemonics: Mapping[str, Mnemonic]
    fields: tuple[str, ...]


def arity_error(source: Source, token: Token, name: str, mnemonic: Mnemonic, given: int) -> OperandCountError:
    spelled = " ".join(o.rstrip("?") if not o.endswith("?") else f"[{o[:-1]}]" for o in mnemonic.operands)
    need = (f"{mnemonic.required}" if mnemonic.required == len(mnemonic.operands)
            else f"{mnemonic.required} to {len(mnemonic.operands)}")
    return OperandCountError(f"{name} takes {need} operand{'s' if len(mnemonic.operands) != 1 else ''}, got {given}",
                             location=source.at(token), hint=f"write: {name} {spelled}".rstrip())


def assemble_harvard(text: str, filename: str | None, bits: int | None, isa: InstructionSet, build) -> object:
    """Assemble a SUBLEQ-H or FLEQ-H source (spec §9.1, §9.4) into ``build(**fields)``.

    Sections: ``.data`` lines hold ``[label:] v1 v2 ...``; ``.code`` lines hold
    ``[label:] mnemonic operands``; lines before any section are code.
    """
    source = Source(text, filename)
    header = Header(DEFAULT_BITS, None, [])
    labels = Labels.empty(source)
    data: list[tuple[int, Token]] = []
    code: list[tuple[Token, Mnemonic, list[Token]]] = []
    size, section = 0, ".code"
    directives = (".bits", ".data", ".code", ".expect")
    for line in source.lines():
        head = line.words[0] if line.words else None
        if head is not None and head.text.startswith("."):
            if line.labels:
                raise AssemblySyntaxError("a label cannot name a directive", location=source.at(line.labels[0]),
                                          hint="put the label on the next data or code line")
            if head.text in (".data", ".code"):
                if len(line.words) > 1:
                    raise OperandCountError(f"{head.text} takes no operands", location=source.at(line.words[1]),
                                            hint=f"write {head.text} on a line of its own")
                section = head.text
            elif head.text == ".bits":
                read_bits(source, line, header)
            elif head.text == ".expect":
                read_expect(source, line, header)
            else:
                raise directive_error(source, head, directives)
            continue
        if section == ".data":
            for label in line.labels:
                labels.define(label, len(data), code=False)
            for token in line.words:
                if token.text in isa.mnemonics:
                    raise AssemblySyntaxError(f"instruction {token.text!r} in the .data section",
                                              location=source.at(token), hint="write .code before the instructions")
                data.append((source.number(token, "the data value"), token))
            continue
        for label in line.labels:
            labels.define(label, size, code=True)
        if head is None:
            continue
        mnemonic = isa.mnemonics.get(head.text)
        if mnemonic is None:
            if re.fullmatch(r"[+-]?\d+", head.text):
                raise AssemblySyntaxError(f"data value {head.text!r} in the .code section", location=source.at(head),
                                          hint="write .data before the data lines")
            raise mnemonic_error(source, head, list(isa.mnemonics), isa.name)
        operands = list(line.words[1:])
        if not mnemonic.required <= len(operands) <= len(mnemonic.operands):
            raise arity_error(source, head, head.text, mnemonic, len(operands))
        code.append((head, mnemonic, operands))
        size += mnemonic.size
    check_bits(source, header, bits)
    memory = [source.word(token, value, header.bits, "the data value") for value, token in data]
    cells = Cells(source, labels, len(memory), header.bits)
    instructions, lines = [], []
    for head, mnemonic, operands in code:
        for fields in mnemonic.expand(operands):
            pc = len(instructions)
            instructions.append(tuple(_field(kind, value, cells, pc, size) for kind, value in zip(isa.fields, fields)))
            lines.append(head.line)
    cells.check()
    instructions = [tuple(cells.place(v) if kind == "cell" else v for kind, v in zip(isa.fields, fields))
                    for fields in instructions]
    expect = expectation(source, header, lambda token: cells.labelled(token, code=False), cells.size)
    return build(bits=header.bits, memory=(*memory, *cells.initial()), labels={**labels.cells, **cells.extra_labels()},
                 code=instructions, code_labels=labels.targets, code_lines=lines, expect=expect,
                 source=filename, name=_stem(filename))


def _field(kind: str, value, cells: Cells, pc: int, size: int):
    if kind == "op":
        return value
    if kind == "cell":
        return cells.cell(value) if isinstance(value, Token) else cells.cell(Token(ZERO, 0, 0))
    if value == NEXT:
        return pc + 1
    if value == HALT or (isinstance(value, Token) and value.text == HALT):
        return size
    if re.fullmatch(r"[+-]?\d+", value.text):
        target = cells.source.number(value, "the target")
    else:
        target = cells.labelled(value, code=True)
    if not 0 <= target <= size:
        raise AddressError(f"target {value.text!r} is instruction {target}, outside [0, {size}]",
                           location=cells.source.at(value), hint=f"jump to a label, 0..{size - 1}, or HALT (= {size})")
    return target


def _stem(filename: str | None) -> str:
    if not filename:
        return ""
    from pathlib import Path
    return Path(filename).stem
