"""FLEQ-M assembly, ``.fleqm`` (linear-algebra spec §4.1; ``docs/linear-algebra.md``).

FLEQ-M is FLEQ over cells that are k×k matrices of fixed-point words (``.bits`` N, ``.frac`` F,
``.k`` k; default Q16.8, k = 1)::

    .bits 24
    .frac 16
    .k 3
    .data
    A: [[2, -1, 0.5], [1, 3, -0.75], [1.5, 0.5, 0.25]]   ; a matrix (rows); [1, 2, 3] is a vector (column 0)
    n: 60u                                               ; a raw word: 60 ulps
    .cells X t                                           ; zero cells
    .code
    top: mm A X t            ; binary: op a b c [f [p]]
         amax t t t done     ; unary:  op a c [f [p]]  (b := a)
         jmp top
    done: halt
    .expect t ~ [[1, 0, 0], [0, 1, 0], [0, 0, 1]] tol 1e-4

* Literals (§1.1): ``1.5``, ``-0.25``, ``1/3``, ``1e-3`` are exact rationals r, stored as
  ⌊r·2^F + ½⌋; ``40u`` is the raw word 40; ``raw [[…]]`` takes raw words; a literal that does
  not fit in N bits, or a matrix larger than k×k, is an error (never silently saturated).
* Operands: ``label``, ``label+k``, ``label-k``, a cell number, ``#lit`` (a scalar literal cell,
  one per distinct value, after the data), ``__Z`` (a zero cell after the literals). Targets:
  a code label, an instruction number, ``HALT``. f defaults to c, p to the next instruction.
* Instructions: the 21 functions of §1.4 (``shl<s>`` for s ≥ 1), and ``jmp L`` =
  ``sub __Z __Z __Z __Z L``, ``halt`` = ``jmp HALT``, ``jle x L`` = ``mov x x x L``.
* ``.macro NAME p1 p2 …`` … ``.endm``: an invocation ``NAME a1 a2 …`` substitutes whole words;
  ``$`` in the body becomes a number unique to the expansion (local labels ``loop$:``); macros may
  invoke macros. An error inside an expansion names the body's line and the invocation.
* ``.expect steps = n`` · ``.expect x = lit`` (bit-exact after conversion) · ``.expect raw x = [[…]]``
  · ``.expect x ~ lit tol t`` (|value − lit| ≤ t for every entry of the cell).
* A learner (``docs/in-context-learning.md``, :mod:`turingformer.programs.learning`) declares its
  training data and weights: ``.dataset X|y rows|columns WIDTH CELL…`` and
  ``.learn ALGORITHM MODEL WEIGHT… [rate CELL] [epoch LABEL]``.

Memory layout: the declared cells (data lines and ``.cells``, in order), then the ``#`` literals
in order of first use, then ``__Z``. Lexing, labels, cell operands, literal cells and the located
errors are :mod:`.assembly`'s; this module adds the matrix literals, the macros and the directives.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from fractions import Fraction
from itertools import count
from typing import Iterator

from turingformer.errors import (
    AssemblySyntaxError, CellShapeError, DuplicateLabelError, OperandCountError, ProgramError, ProgramSizeError,
    WordRangeError,
)
from turingformer.programs.fixed import Fixed, decimal_text, pad
from turingformer.programs.learning import ALGORITHMS, LAYOUTS, MODEL_WEIGHTS, MODELS, Dataset, Learner
from turingformer.programs.formats.assembly import (
    HALT, NEXT, ZERO, Cells, Header, Labels, Line, Mnemonic, Source, Token, _field, _stem, arity_error, check_bits,
    directive_error, mnemonic_error,
)
from turingformer.programs.program import (
    FLEQM_FUNCTIONS, FLEQM_MAX_BITS, FLEQM_MAX_K, FLEQM_SCALAR_OPERANDS, FLEQM_TABLE_BITS, FLEQM_UNARY, Expectation,
    ExpectedMatrix, ExpectedNear, FleqInstruction, FleqM, function_family,
)

DEFAULT_BITS, DEFAULT_FRAC, DEFAULT_K = 16, 8, 1
#: The longest number a literal may spell (digits and signs), and its largest decimal exponent.
MAX_DIGITS, MAX_EXPONENT = 100, 400
#: Macro nesting depth and the most instructions expansions may produce (a guard against macro bombs).
MAX_DEPTH, MAX_INSTRUCTIONS = 64, 1_000_000
DIRECTIVES = (".bits", ".frac", ".k", ".data", ".code", ".cells", ".expect", ".macro", ".endm", ".dataset", ".learn")

_DECIMAL = re.compile(r"[+-]?(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+)(?:[eE]([+-]?[0-9]+))?")
_RATIO = re.compile(r"([+-]?[0-9]+)/([0-9]+)")
_RAW = re.compile(r"([+-]?[0-9]+)u")
_PIECE = re.compile(r"\[|\]|[^\[\]]+")
_NAME = re.compile(r"[A-Za-z_][\w.]*")
_INTEGER = re.compile(r"[+-]?[0-9]+")
Z = ZERO


# ---------------------------------------------------------------------------- literals
@dataclass(frozen=True)
class Entry:
    """One scalar of a literal: an exact rational ``value``, or a ``raw`` word (``5u``, ``raw [...]``)."""

    token: Token
    value: Fraction | None = None
    raw: int | None = None


@dataclass(frozen=True)
class Literal:
    """A scalar, vector (column 0) or matrix literal: ``rows`` of :class:`Entry`, as written."""

    token: Token
    rows: tuple[tuple[Entry, ...], ...]
    shape: str                     # "scalar", "vector" or "matrix"

    @property
    def size(self) -> tuple[int, int]:
        return len(self.rows), max(len(row) for row in self.rows)


def scalar_entry(source: Source, token: Token, *, raw: bool = False) -> Entry:
    """The scalar a token spells: ``1.5``, ``-2``, ``1e-3``, ``1/3`` (exact rationals) or ``40u``
    (a raw word); with ``raw`` (inside ``raw [...]``) a whole number is a raw word."""
    text = token.text
    if len(text) > MAX_DIGITS:
        raise AssemblySyntaxError(f"the number {text[:20]!r}... is longer than {MAX_DIGITS} characters",
                                  location=source.at(token), hint="write a shorter literal (e.g. 1e-30)")
    match = _RAW.fullmatch(text)
    if match or (raw and _INTEGER.fullmatch(text)):
        return Entry(token, raw=int(match.group(1) if match else text))
    if raw:
        raise AssemblySyntaxError(f"{text!r} is not a raw word", location=source.at(token),
                                  hint="inside raw [...] every entry is a whole number of ulps, e.g. 98304")
    match = _RATIO.fullmatch(text)
    if match:
        if int(match.group(2)) == 0:
            raise AssemblySyntaxError(f"{text!r} divides by zero", location=source.at(token),
                                      hint="write a non-zero denominator")
        return Entry(token, value=Fraction(int(match.group(1)), int(match.group(2))))
    match = _DECIMAL.fullmatch(text)
    if match:
        if match.group(1) is not None and abs(int(match.group(1))) > MAX_EXPONENT:
            raise AssemblySyntaxError(f"the exponent of {text!r} is beyond ±{MAX_EXPONENT}", location=source.at(token),
                                      hint="no FLEQ-M word needs it: the value saturates or rounds to 0")
        return Entry(token, value=Fraction(text))
    raise AssemblySyntaxError(f"{text!r} is not a number", location=source.at(token),
                              hint="write a decimal (1.5, -0.25, 1e-3), a fraction (1/3) or raw ulps (40u)")


def pieces(tokens: tuple[Token, ...] | list[Token]) -> list[Token]:
    """Tokens split at brackets: ``[[1.5`` → ``[``, ``[``, ``1.5`` (each keeps its column)."""
    out = []
    for token in tokens:
        for m in _PIECE.finditer(token.text):
            out.append(Token(m.group(), token.line, token.column + m.start()))
    return out


class LiteralReader:
    """Reads literals from a list of pieces (:func:`pieces`), left to right."""

    def __init__(self, source: Source, items: list[Token], end: Token | None):
        self.source, self.items, self.i, self.end = source, items, 0, end

    def more(self) -> bool:
        return self.i < len(self.items)

    def peek(self) -> Token | None:
        return self.items[self.i] if self.more() else None

    def take(self, what: str) -> Token:
        if not self.more():
            raise AssemblySyntaxError(f"the line ends where {what} was expected", location=self.source.at(self.end),
                                      hint="close every '[' with ']'")
        self.i += 1
        return self.items[self.i - 1]

    def literal(self, raw: bool = False) -> Literal:
        """The next literal; ``raw`` (or a leading ``raw``) reads whole numbers as raw words."""
        first = self.take("a literal")
        head = first
        if first.text == "raw":
            raw, head = True, self.take("a literal after 'raw'")
        if head.text == "]":
            raise AssemblySyntaxError("']' without '['", location=self.source.at(head), hint="remove it")
        if head.text != "[":
            return Literal(first, ((scalar_entry(self.source, head, raw=raw),),), "scalar")
        if self.peek() is not None and self.peek().text == "[":
            rows = []
            while self.peek() is not None and self.peek().text == "[":
                self.take("'['")
                rows.append(self._entries(raw))
            self._close(head)
            if len({len(row) for row in rows}) > 1:
                raise CellShapeError(f"the rows of this matrix have {sorted({len(r) for r in rows})} entries",
                                     location=self.source.at(head), hint="give every row the same number of entries")
            return Literal(first, tuple(rows), "matrix")
        return Literal(first, tuple((entry,) for entry in self._entries(raw)), "vector")

    def _entries(self, raw: bool) -> tuple[Entry, ...]:
        entries = []
        while True:
            token = self.take("']'")
            if token.text == "]":
                break
            if token.text == "[":
                raise AssemblySyntaxError("'[' inside a row", location=self.source.at(token),
                                          hint="a matrix is [[row], [row]]: rows hold numbers only")
            entries.append(scalar_entry(self.source, token, raw=raw))
        if not entries:
            raise CellShapeError("an empty vector or row", location=self.source.at(token), hint="write at least one number")
        return tuple(entries)

    def _close(self, opening: Token) -> None:
        token = self.take("']'")
        if token.text != "]":
            raise AssemblySyntaxError(f"expected ']' to close the matrix opened at column {opening.column}, "
                                      f"got {token.text!r}", location=self.source.at(token),
                                      hint="a matrix is [[row], [row], …]")


class Converter:
    """Literals to cells by spec §1.1 (``fmt``, k×k), with located errors."""

    def __init__(self, source: Source, fmt: Fixed, k: int):
        self.source, self.fmt, self.k = source, fmt, k

    def check_size(self, literal: Literal) -> None:
        rows, cols = literal.size
        if rows > self.k or cols > self.k:
            what = {"vector": f"a vector of {rows} entries", "scalar": "a scalar"}.get(literal.shape,
                                                                                 f"a {rows}×{cols} matrix")
            raise CellShapeError(f"{what} does not fit a {self.k}×{self.k} cell", location=self.source.at(literal.token),
                                 hint=f"raise .k to {max(rows, cols)} or write a smaller literal")

    def word(self, entry: Entry) -> int:
        fmt = self.fmt
        q = entry.raw if entry.raw is not None else fmt.rounded(entry.value)
        if not fmt.fits(q):
            written = f"{entry.raw}u" if entry.raw is not None else entry.token.text
            raise WordRangeError(
                f"the literal {written} does not fit a {fmt.name} word (raw {q}; the words are "
                f"[{decimal_text(-fmt.B, fmt.frac)}, {decimal_text(fmt.B - 1, fmt.frac)}])",
                location=self.source.at(entry.token), hint="use a smaller value, fewer .frac bits or more .bits")
        return q

    def value(self, entry: Entry) -> Fraction:
        return entry.value if entry.raw is None else Fraction(entry.raw, self.fmt.one)

    def cell(self, literal: Literal) -> tuple:
        """The k×k raw matrix of a literal (zero-padded)."""
        self.check_size(literal)
        return pad([[self.word(e) for e in row] for row in literal.rows], self.k)

    def exact(self, literal: Literal) -> tuple:
        """The k×k matrix of the exact rationals a literal states (zero-padded; for ``~``)."""
        self.check_size(literal)
        rows = [[self.value(e) for e in row] for row in literal.rows]
        return tuple(tuple(rows[i][j] if i < len(rows) and j < len(rows[i]) else Fraction(0) for j in range(self.k))
                     for i in range(self.k))


# ---------------------------------------------------------------------------- macros
@dataclass(frozen=True)
class Macro:
    name: Token
    params: tuple[Token, ...]
    body: tuple[Line, ...]


@dataclass(frozen=True)
class Expanded:
    """A source line after macro expansion: its labels and words, and where the expansion came from."""

    line: Line
    context: str = ""          # " (in macro RECIP, used at line 12)"; "" for a line of the file itself


def _mnemonics() -> dict[str, Mnemonic]:
    def function(op: str) -> Mnemonic:
        if function_family(op)[0] in FLEQM_UNARY:
            return Mnemonic(("a", "c", "f?", "p?"), 1, lambda o: [(op, o[0], o[0], o[1], o[2] if len(o) > 2 else o[1],
                                                                    o[3] if len(o) > 3 else NEXT)])
        return Mnemonic(("a", "b", "c", "f?", "p?"), 1, lambda o: [(op, o[0], o[1], o[2], o[3] if len(o) > 3 else o[2],
                                                                     o[4] if len(o) > 4 else NEXT)])

    table = {op: function(op) for op in FLEQM_FUNCTIONS if op != "shl"}
    table["shl<s>"] = function("shl1")          # listed for messages; shl<s> is built by :func:`mnemonic`
    table["jmp"] = Mnemonic(("L",), 1, lambda o: [("sub", Z, Z, Z, Z, o[0])])
    table["halt"] = Mnemonic((), 1, lambda o: [("sub", Z, Z, Z, Z, HALT)])
    table["jle"] = Mnemonic(("x", "L"), 1, lambda o: [("mov", o[0], o[0], o[0], o[0], o[1])])
    return table


MNEMONICS = _mnemonics()


def mnemonic(name: str) -> Mnemonic | None:
    """The instruction or built-in macro ``name`` (``shl<s>`` for any s ≥ 1), or None."""
    if function_family(name)[0] == "shl":
        unary = MNEMONICS["shl<s>"]
        return Mnemonic(unary.operands, 1, lambda o: [(name, *unary.expand(o)[0][1:])])
    return MNEMONICS.get(name) if name != "shl<s>" else None


# ---------------------------------------------------------------------------- the assembler
@dataclass
class _State:
    source: Source
    header: Header
    frac: tuple[int, Token] | None = None
    k: tuple[int, Token] | None = None
    macros: dict[str, Macro] = field(default_factory=dict)
    data: list[tuple[Token, Literal | None]] = field(default_factory=list)      # None: a .cells zero cell
    code: list[tuple[Token, Mnemonic, list[Token], str]] = field(default_factory=list)
    expects: list[tuple[Token, list[Token]]] = field(default_factory=list)
    datasets: list[tuple[Token, list[Token]]] = field(default_factory=list)
    learn: tuple[Token, list[Token]] | None = None
    size: int = 0


def loads(text: str, filename: str | None = None, bits: int | None = None) -> FleqM:
    """The :class:`~turingformer.programs.program.FleqM` program of a ``.fleqm`` text (module docstring)."""
    source = Source(text, filename)
    state = _State(source, Header(DEFAULT_BITS, None, []))
    lines = _collect_macros(state, list(source.lines()))
    labels = Labels.empty(source)
    section = ".code"
    for item in _expand(state, lines):
        try:
            section = _line(state, labels, item.line, section, item.context)
        except ProgramError as error:
            raise _in_context(error, item.context) from None
    return _assemble(state, labels, bits, filename)


def _in_context(error: ProgramError, context: str) -> ProgramError:
    if not context:
        return error
    clone = type(error).__new__(type(error))
    ProgramError.__init__(clone, error.message + context, location=error.location, hint=error.hint)
    return clone


def _collect_macros(state: _State, lines: list[Line]) -> list[Line]:
    """Take the ``.macro … .endm`` definitions out of ``lines`` into ``state.macros``."""
    source, out, i = state.source, [], 0
    while i < len(lines):
        line = lines[i]
        head = line.words[0] if line.words else None
        if head is None or head.text not in (".macro", ".endm"):
            out.append(line)
            i += 1
            continue
        if head.text == ".endm":
            raise AssemblySyntaxError(".endm without .macro", location=source.at(head),
                                      hint="start the definition with .macro NAME params")
        if line.labels:
            raise AssemblySyntaxError("a label cannot name a directive", location=source.at(line.labels[0]),
                                      hint="put the label on an instruction")
        if len(line.words) < 2:
            raise OperandCountError(".macro needs a name", location=source.at(head), hint="write .macro NAME p1 p2 …")
        name, params = line.words[1], line.words[2:]
        for token in (name, *params):
            if not _NAME.fullmatch(token.text):
                raise AssemblySyntaxError(f"{token.text!r} is not a name", location=source.at(token),
                                          hint="macro and parameter names are letters, digits, _ and .")
        if mnemonic(name.text) is not None or name.text in state.macros:
            what = "defined twice" if name.text in state.macros else "the name of an instruction"
            raise DuplicateLabelError(f"macro {name.text!r} is {what}", location=source.at(name),
                                      hint="choose another name")
        seen = set()
        for p in params:
            if p.text in seen:
                raise DuplicateLabelError(f"parameter {p.text!r} is listed twice", location=source.at(p),
                                          hint="give every parameter its own name")
            seen.add(p.text)
        body, i = [], i + 1
        while i < len(lines) and not (lines[i].words and lines[i].words[0].text == ".endm"):
            inner = lines[i].words[0] if lines[i].words else None
            if inner is not None and inner.text.startswith("."):
                raise AssemblySyntaxError(f"directive {inner.text} inside the macro {name.text}",
                                          location=source.at(inner),
                                          hint="end the macro with .endm first" if inner.text == ".macro"
                                          else "a macro body holds instructions only")
            body.append(lines[i])
            i += 1
        if i == len(lines):
            raise AssemblySyntaxError(f"macro {name.text} has no .endm", location=source.at(head),
                                      hint="end the definition with a line .endm")
        if len(lines[i].words) > 1:
            raise OperandCountError(".endm takes no operands", location=source.at(lines[i].words[1]),
                                    hint="write .endm on a line of its own")
        state.macros[name.text] = Macro(name, tuple(params), tuple(body))
        i += 1
    return out


def _expand(state: _State, lines: list[Line]) -> Iterator[Expanded]:
    """The lines with every macro invocation replaced by its body (recursively)."""
    serial = count(1)
    produced = 0

    def walk(line: Line, context: str, stack: tuple[str, ...]) -> Iterator[Expanded]:
        nonlocal produced
        head = line.words[0] if line.words else None
        macro = state.macros.get(head.text) if head is not None else None
        if macro is None:
            produced += 1
            if produced > MAX_INSTRUCTIONS:
                raise ProgramSizeError(f"the macros expand into more than {MAX_INSTRUCTIONS:,} lines",
                                       location=state.source.at(head), hint="a macro probably invokes itself through another")
            yield Expanded(line, context)
            return
        if macro.name.text in stack or len(stack) >= MAX_DEPTH:
            raise AssemblySyntaxError(f"macro {macro.name.text} invokes itself ({' -> '.join((*stack, macro.name.text))})",
                                      location=state.source.at(head), hint="macros cannot recurse; unroll the loop")
        args = line.words[1:]
        if len(args) != len(macro.params):
            raise _in_context(OperandCountError(
                f"macro {macro.name.text} takes {len(macro.params)} operands, got {len(args)}",
                location=state.source.at(head),
                hint=f"write: {macro.name.text} {' '.join(p.text for p in macro.params)}".rstrip()), context)
        n = next(serial)
        mapping = {p.text: a for p, a in zip(macro.params, args)}
        here = f" (in macro {macro.name.text}, used at line {head.line}){context}"
        for index, body in enumerate(macro.body):
            labels = [_substitute(t, mapping, n) for t in body.labels]
            words = [_substitute(t, mapping, n) for t in body.words]
            if index == 0:
                labels = [*line.labels, *labels]
            yield from walk(Line(body.number, tuple(labels), tuple(words)), here, (*stack, macro.name.text))
        if not macro.body and line.labels:
            yield Expanded(Line(line.number, line.labels, ()), context)

    for line in lines:
        yield from walk(line, "", ())


def _substitute(token: Token, mapping: dict[str, Token], n: int) -> Token:
    if token.text in mapping:
        return mapping[token.text]
    if "$" in token.text:
        return Token(token.text.replace("$", str(n)), token.line, token.column)
    return token


def _line(state: _State, labels: Labels, line: Line, section: str, context: str) -> str:
    """Process one expanded line; returns the section in force after it."""
    source = state.source
    for token in (*line.labels, *line.words):
        if "$" in token.text:
            raise AssemblySyntaxError(f"{token.text!r}: '$' belongs in a macro body (a local label)",
                                      location=source.at(token), hint="use $ only between .macro and .endm")
    head = line.words[0] if line.words else None
    if head is not None and head.text.startswith("."):
        if line.labels:
            raise AssemblySyntaxError("a label cannot name a directive", location=source.at(line.labels[0]),
                                      hint="put the label on the next data or code line")
        return _directive(state, labels, line, section)
    if section == ".data":
        for label in line.labels:
            labels.define(label, len(state.data), code=False)
        reader = LiteralReader(source, pieces(line.words), line.words[-1] if line.words else None)
        while reader.more():
            token = reader.peek()
            if mnemonic(token.text) is not None or token.text in state.macros:
                raise AssemblySyntaxError(f"instruction {token.text!r} in the .data section", location=source.at(token),
                                          hint="write .code before the instructions")
            state.data.append((token, reader.literal()))
        return section
    for label in line.labels:
        labels.define(label, state.size, code=True)
    if head is None:
        return section
    found = mnemonic(head.text)
    if found is None:
        if _DECIMAL.fullmatch(head.text) or head.text.startswith("["):
            raise AssemblySyntaxError(f"data value {head.text!r} in the .code section", location=source.at(head),
                                      hint="write .data before the data lines")
        if head.text.startswith("shl"):
            raise AssemblySyntaxError(f"unknown instruction {head.text!r}", location=source.at(head),
                                      hint="shl takes its shift in the name: shl1 doubles, shl3 multiplies by 8")
        known = [*MNEMONICS, *state.macros]
        raise mnemonic_error(source, head, known, "FLEQ-M")
    operands = list(line.words[1:])
    if not found.required <= len(operands) <= len(found.operands):
        raise arity_error(source, head, head.text, found, len(operands))
    state.code.append((head, found, operands, context))
    state.size += found.size
    return section


def _directive(state: _State, labels: Labels, line: Line, section: str) -> str:
    source, head, args = state.source, line.words[0], line.words[1:]
    name = head.text
    if name in (".data", ".code"):
        if args:
            raise OperandCountError(f"{name} takes no operands", location=source.at(args[0]),
                                    hint=f"write {name} on a line of its own")
        return name
    if name == ".cells":
        if not args:
            raise OperandCountError(".cells needs at least one name", location=source.at(head), hint="write .cells x y t")
        for token in args:
            if not _NAME.fullmatch(token.text):
                raise AssemblySyntaxError(f"{token.text!r} is not a cell name", location=source.at(token),
                                          hint="write .cells followed by names, e.g. .cells x y t")
            labels.define(token, len(state.data), code=False)
            state.data.append((token, None))
        return section
    if name == ".expect":
        if not args:
            raise OperandCountError(".expect needs an expectation", location=source.at(head),
                                    hint="write e.g. .expect steps = 137, .expect q = 2.9, .expect q ~ 2.9 tol 1e-4")
        state.expects.append((head, list(args)))
        return section
    if name == ".dataset":
        state.datasets.append((head, list(args)))
        return section
    if name == ".learn":
        if state.learn is not None:
            raise AssemblySyntaxError(f".learn is given twice (first on line {state.learn[0].line})",
                                      location=source.at(head), hint="a program declares one learner")
        state.learn = (head, list(args))
        return section
    if name in (".bits", ".frac", ".k"):
        if len(args) != 1:
            raise OperandCountError(f"{name} takes one number", location=source.at(head),
                                    hint={".bits": "write .bits 24", ".frac": "write .frac 16", ".k": "write .k 3"}[name])
        given = {".bits": state.header.bits_token, ".frac": state.frac and state.frac[1], ".k": state.k and state.k[1]}[name]
        if given is not None:
            raise AssemblySyntaxError(f"{name} is given twice (first on line {given.line})", location=source.at(head),
                                      hint=f"keep one {name} line")
        value = source.number(args[0], {".bits": "the width", ".frac": "the fraction bits", ".k": "the cell size"}[name])
        if name == ".bits":
            if not 4 <= value <= FLEQM_MAX_BITS:
                raise ProgramSizeError(f".bits {value}: FLEQ-M words have 4 to {FLEQM_MAX_BITS} bits",
                                       location=source.at(args[0]), hint="use e.g. .bits 16 or .bits 24")
            state.header.bits, state.header.bits_token = value, args[0]
        elif name == ".frac":
            state.frac = (value, args[0])
        else:
            if not 1 <= value <= FLEQM_MAX_K:
                raise ProgramSizeError(f".k {value}: cells are k×k with 1 <= k <= {FLEQM_MAX_K}",
                                       location=source.at(args[0]), hint="set .k to the largest matrix size the program needs")
            state.k = (value, args[0])
        return section
    raise directive_error(source, head, DIRECTIVES)


def _assemble(state: _State, labels: Labels, bits: int | None, filename: str | None) -> FleqM:
    source, header = state.source, state.header
    check_bits(source, header, bits)
    N = header.bits
    frac = state.frac[0] if state.frac else min(DEFAULT_FRAC, N - 2)
    if not 1 <= frac <= N - 2:
        raise ProgramSizeError(f".frac {frac}: F must be in [1, {N - 2}] for {N}-bit words (so that 1.0 is a word)",
                               location=source.at(state.frac[1]), hint=f"use .frac {max(1, N // 2)} or more .bits")
    k = state.k[0] if state.k else DEFAULT_K
    fmt = Fixed(N, frac)
    convert = Converter(source, fmt, k)
    memory, shapes = [], []
    for token, literal in state.data:
        memory.append(convert.cell(literal) if literal is not None else pad([], k))
        shapes.append(literal.shape if literal is not None else None)
        if literal is not None and literal.shape != "scalar":
            shapes[-1] = f"{literal.shape} {literal.size[0]}×{literal.size[1]}"

    def literal_cell(token: Token) -> tuple[object, str]:
        items = pieces([Token(token.text[1:], token.line, token.column + 1)])
        reader = LiteralReader(source, items, token)
        if not items:
            raise AssemblySyntaxError("'#' without a value", location=source.at(token), hint="write e.g. #0.5 or #2u")
        literal = reader.literal()
        if literal.shape != "scalar" or reader.more():
            raise CellShapeError(f"the literal operand {token.text!r} is not a scalar", location=source.at(token),
                                 hint="a #literal is one number; put a vector or matrix in .data under a label")
        return convert.cell(literal), token.text

    cells = Cells(source, labels, len(memory), N, literal=literal_cell, zero=pad([], k))
    instructions, lines, spans = [], [], []
    for head, found, operands, context in state.code:
        try:
            _check_function(source, head, N)
            for fields in found.expand(operands):
                pc = len(instructions)
                instructions.append(tuple(_field(kind, value, cells, pc, state.size)
                                          for kind, value in zip(("op", "cell", "cell", "cell", "cell", "target"), fields)))
                lines.append(head.line)
                spans.append((head, operands, context))
        except ProgramError as error:
            raise _in_context(error, context) from None
    cells.check()
    instructions = [tuple(cells.place(v) if i in (1, 2, 3, 4) else v for i, v in enumerate(fields))
                    for fields in instructions]
    for (head, operands, context), fields in zip(spans, instructions):
        _check_shapes(source, head, operands, fields, shapes, context)
    memory = [*memory, *cells.initial()]
    expect = _expectation(state, cells, convert)
    return FleqM(bits=N, frac=frac, k=k, memory=memory, labels={**labels.cells, **cells.extra_labels()},
                 code=[FleqInstruction(*fields) for fields in instructions], code_labels=labels.targets,
                 code_lines=lines, expect=expect, source=filename, name=_stem(filename),
                 learner=_learner(state, cells, k))


def _learner(state: _State, cells: Cells, k: int) -> Learner | None:
    """The ``.dataset`` and ``.learn`` declarations (module docstring) as a :class:`Learner`."""
    source = state.source
    datasets: dict[str, Dataset] = {}
    usage = "write .dataset X rows 3 X0 X1 (X or y, rows or columns, the entries per point, the cells)"
    for head, args in state.datasets:
        if len(args) < 4:
            raise OperandCountError(".dataset needs a name, a layout, a width and at least one cell",
                                    location=source.at(head), hint=usage)
        name, layout, width = args[:3]
        if name.text not in ("X", "y") or name.text in datasets:
            raise AssemblySyntaxError(f".dataset {name.text!r}: " + ("declared twice" if name.text in datasets
                                      else "the parts are X (the features) and y (the targets)"),
                                      location=source.at(name), hint=usage)
        if layout.text not in LAYOUTS:
            raise AssemblySyntaxError(f"{layout.text!r} is not a layout ({' or '.join(LAYOUTS)})",
                                      location=source.at(layout), hint=usage)
        count = source.number(width, "the entries per point", prefixed=False)
        if not 1 <= count <= k or (name.text == "y" and count != 1):
            raise CellShapeError(f"{count} entries per point do not fit: y has 1, X from 1 to k = {k}",
                                 location=source.at(width), hint=usage)
        found = tuple(_data_cell(source, cells, token) for token in args[3:])
        datasets[name.text] = Dataset(name.text, layout.text, count, found)
    if state.learn is None:
        if datasets:
            head = state.datasets[0][0]
            raise AssemblySyntaxError(".dataset without .learn", location=source.at(head),
                                      hint="declare what the program learns: .learn gd linear w rate ETA epoch LABEL")
        return None
    head, args = state.learn
    usage = "write .learn ALGORITHM MODEL WEIGHTS [rate CELL] [epoch LABEL], e.g. .learn gd linear w rate ETA epoch gd"
    if len(args) < 2 or args[0].text not in ALGORITHMS or args[1].text not in MODELS:
        where = args[0] if args and args[0].text not in ALGORITHMS else args[1] if len(args) > 1 else head
        raise AssemblySyntaxError(f".learn: the algorithms are {', '.join(ALGORITHMS)}, the models "
                                  f"{', '.join(MODELS)}", location=source.at(where), hint=usage)
    algorithm, model, rest = args[0].text, args[1].text, args[2:]
    options: dict[str, Token] = {}
    while len(rest) >= 2 and rest[-2].text in ("rate", "epoch"):
        options[rest[-2].text] = rest[-1]
        rest = rest[:-2]
    names = MODEL_WEIGHTS[model]
    if len(rest) != len(names):
        raise OperandCountError(f"a {model} model has {len(names)} weight cell{'s' if len(names) > 1 else ''} "
                                f"({' '.join(names)}), got {len(rest)}", location=source.at(head), hint=usage)
    weights = tuple((token.text, _data_cell(source, cells, token)) for token in rest)
    missing = [name for name in ("X", "y") if name not in datasets]
    if missing:
        raise AssemblySyntaxError(f".learn without .dataset {missing[0]}", location=source.at(head),
                                  hint="declare where the training data lie: .dataset X rows 3 X0 X1 …")
    if algorithm != "newton" and ("rate" not in options or "epoch" not in options):
        raise AssemblySyntaxError(f"{algorithm} needs its rate cell and its epoch label", location=source.at(head),
                                  hint=usage)
    if datasets["X"].points(k) != datasets["y"].points(k):
        raise CellShapeError(f"X holds {datasets['X'].points(k)} points and y {datasets['y'].points(k)}",
                             location=source.at(head), hint="give X and y the same number of cells")
    rate = _data_cell(source, cells, options["rate"]) if "rate" in options else None
    epoch = cells.labelled(options["epoch"], code=True) if "epoch" in options else None
    return Learner(algorithm, model, weights, datasets["X"], datasets["y"], rate, epoch)


def _data_cell(source: Source, cells: Cells, token: Token) -> int:
    if token.text.startswith("#") or not _NAME.fullmatch(token.text):
        raise AssemblySyntaxError(f"{token.text!r} is not a data label", location=source.at(token),
                                  hint="name a cell declared in .data or .cells")
    return cells.labelled(token, code=False)


def _check_function(source: Source, head: Token, bits: int) -> None:
    family = function_family(head.text)[0]
    limit = FLEQM_TABLE_BITS.get(family)
    if limit is not None and bits > limit:
        raise ProgramSizeError(
            f"{family} is a table over all 2^N words: it exists only for N <= {limit}, this program has N = {bits}",
            location=source.at(head),
            hint="compute 1/x by Newton's iteration (the RECIP macro, docs/linear-algebra.md)" if family == "recip"
            else f"use N <= {limit} (e.g. Q16.8) for {family}")
    if family == "shl" and function_family(head.text)[1] > bits:
        raise ProgramSizeError(f"{head.text} shifts by more than N = {bits} bits", location=source.at(head),
                               hint=f"shl{bits} already saturates every non-zero word")


def _check_shapes(source: Source, head: Token, operands: list[Token], fields: tuple, shapes: list, context: str) -> None:
    """A function that reads only entry (0, 0) of an operand must not get a declared vector or matrix."""
    op = fields[0]
    family = function_family(op)[0]
    if head.text != op or family not in FLEQM_SCALAR_OPERANDS:
        return
    for index in FLEQM_SCALAR_OPERANDS[family]:
        cell = fields[1 + index]
        if cell < len(shapes) and shapes[cell] not in (None, "scalar"):
            token = operands[index]
            which = ("its operand" if family in FLEQM_UNARY else
                     ("the scalar factor" if family == "smul" else f"operand {'ab'[index]}"))
            raise _in_context(CellShapeError(
                f"{op} reads only entry (0, 0) of {which}, but {token.text!r} is a {shapes[cell]}",
                location=source.at(token),
                hint="pass a scalar cell" + (" (smul X Y multiplies the matrix Y by X's (0, 0))" if family == "smul"
                                             else "")), context)


def _expectation(state: _State, cells: Cells, convert: Converter) -> Expectation:
    """The ``.expect`` entries: ``steps = n``, ``[raw] x = lit``, ``x ~ lit tol t`` (several per line)."""
    source, steps, expected = state.source, None, []
    hint = "write .expect steps = 137, .expect q = 2.9, .expect raw X = [[1, 2], [3, 4]] or .expect q ~ 2.9 tol 1e-4"
    for head, args in state.expects:
        items = pieces(args)
        reader = LiteralReader(source, items, args[-1])
        while reader.more():
            key = reader.take("a cell label")
            raw = key.text == "raw"
            if raw:
                key = reader.take("a cell label after 'raw'")
            relation = reader.take("'=' or '~'")
            if relation.text not in ("=", "~") or (raw and relation.text != "="):
                raise AssemblySyntaxError(f"expected '=' or '~' after {key.text!r}, got {relation.text!r}",
                                          location=source.at(relation), hint=hint)
            if key.text == "steps" and not raw:
                token = reader.take("the number of loops")
                steps = source.number(token, "the step count")
                if steps < 0 or relation.text != "=":
                    raise AssemblySyntaxError("steps = n takes a loop count n >= 0", location=source.at(token),
                                              hint="steps = loops until the program halts")
                continue
            cell = cells.labelled(key, code=False)
            if not 0 <= cell < cells.size:
                raise AssemblySyntaxError(f".expect {key.text} is cell {cell}, outside the memory",
                                          location=source.at(key), hint="check the label offset")
            literal = reader.literal(raw)
            if relation.text == "=":
                expected.append(ExpectedMatrix(key.text, cell, convert.cell(literal), source.at(literal.token),
                                               frac=convert.fmt.frac, shape=literal.size))
                continue
            word = reader.take("'tol'")
            if word.text != "tol":
                raise AssemblySyntaxError(f"expected 'tol' after the value, got {word.text!r}", location=source.at(word),
                                          hint="write .expect x ~ 2.9 tol 1e-4")
            tolerance = reader.literal()
            if tolerance.shape != "scalar":
                raise CellShapeError("the tolerance is a scalar", location=source.at(tolerance.token),
                                     hint="one number bounds every entry: tol 1e-4")
            tol = convert.value(tolerance.rows[0][0])
            if tol < 0:
                raise AssemblySyntaxError("a negative tolerance", location=source.at(tolerance.token),
                                          hint="write a tolerance >= 0")
            expected.append(ExpectedNear(key.text, cell, convert.exact(literal), source.at(literal.token),
                                         frac=convert.fmt.frac, shape=literal.size, tolerance=tol))
    return Expectation(tuple(expected), steps)


__all__ = ["loads", "DEFAULT_BITS", "DEFAULT_FRAC", "DEFAULT_K", "MNEMONICS", "mnemonic", "scalar_entry", "pieces"]
