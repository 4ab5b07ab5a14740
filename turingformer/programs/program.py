"""What a user's program for the looped computer is: one frozen, validated dataclass per machine
model of the looped spec (``../shared/looped-construction.md`` §2).

=============  =====================================================================  ==========
class          machine model                                                          halted at
=============  =====================================================================  ==========
``SubleqH``    §2.1 Harvard SUBLEQ: s read-only instructions (a, b, c), M data cells   pc = s
``SubleqU``    §2.2 unified memory: code and data in the same M cells (self-modifying) pc = -1
``FleqH``      §2.3 FLEQ: (op, a, b, c, f, p), mem[c] = f_op(mem[a], mem[b])           pc = s
``FleqM``      FLEQ-M (linear-algebra spec §1): FLEQ over k×k cells of fixed-point words  pc = s
=============  =====================================================================  ==========

Common to all: ``bits`` N ≥ 2, words are integers in [-2^(N-1), 2^(N-1) - 1] (two's complement),
``memory`` holds the M initial words (signed ints; FLEQ-M: k×k matrices of raw words, :mod:`.fixed`), ``labels`` maps a data label to its cell,
``pc`` is the start pc, ``expect`` the expectations written in the source (``.expect``),
``source`` the file it came from. ``SubleqH`` and ``FleqH`` also carry ``code`` and
``code_labels`` (label -> instruction index). A ``SubleqU`` program's instructions are in its
memory; its ``labels`` name cells, of code or data alike.

Invariant: a constructed program is valid for its model (every word in range, every address a
cell, every target in [0, s], the start pc allowed); the constructor raises a precise
:class:`~turingformer.errors.ProgramError` subclass otherwise, placed at the instruction's source
line when ``code_lines`` knows it. This module knows nothing about transformers.
"""

from __future__ import annotations

from dataclasses import dataclass, field, is_dataclass, replace
from dataclasses import fields as dataclass_fields
from enum import Enum
from fractions import Fraction
from types import MappingProxyType
from typing import Any, ClassVar, Mapping

from turingformer.errors import AddressError, InputError, Location, ProgramSizeError, UnknownFunctionError, WordRangeError, shorten
from turingformer.programs.fixed import (
    Fixed, Matrix, decimal_text, matrix_lines, matrix_text, rational_text, rows_text, top_left,
)
from turingformer.programs.learning import Learner, read_data
from turingformer.programs.numbers import number_text

#: The narrowest and the widest word. N >= 2 is the machine models' (spec §2); the upper bound is
#: this project's: a 4,096-bit word already has 1,234 decimal digits, every cell, weight and
#: printed row grows with N, and no program needs wider words.
MIN_BITS, MAX_BITS = 2, 4096

#: The FLEQ function library of spec §2.3, in the order of its table (x = mem[a], y = mem[b]).
FLEQ_FUNCTIONS: tuple[str, ...] = ("sub", "add", "mov", "neg", "min", "max", "lt", "eq", "shl", "shr", "mul")

#: The FLEQ-M functions (linear-algebra spec §1.4), in the order the construction numbers them;
#: ``shl`` is a family, written ``shl1``, ``shl2``, … (× 2^s).
FLEQM_FUNCTIONS: tuple[str, ...] = ("mov", "add", "sub", "neg", "tr", "abs", "relu", "pos", "max", "min", "lt", "eq",
                                    "shl", "recip", "nrm", "floor", "sigm", "mm", "had", "smul", "amax")
#: The *late* functions (spec §2.3–2.4): products and amax, written in the loop's last block.
FLEQM_LATE: tuple[str, ...] = ("mm", "had", "smul", "amax")
#: Functions of one operand (the assembler sets b = a).
FLEQM_UNARY: frozenset[str] = frozenset({"mov", "neg", "tr", "abs", "relu", "pos", "shl", "recip", "nrm", "floor",
                                         "sigm", "amax"})
#: Functions realised by a table over all 2^N words: only for N ≤ 16 (spec §1.4, §7.5).
FLEQM_TABLE_BITS = {"recip": 16, "sigm": 16}
#: Which operands (0 = X = mem[a], 1 = Y = mem[b]) a function reads only at entry (0, 0).
FLEQM_SCALAR_OPERANDS = {"lt": (0, 1), "eq": (0, 1), "recip": (0,), "nrm": (0,), "floor": (0,), "smul": (0,)}
#: Limits of the FLEQ-M machine model: word width, matrix size.
FLEQM_MAX_BITS, FLEQM_MAX_K = 64, 16


def require_learner(learner: Learner | None, name: str) -> Learner:
    """``learner``, or the error for training data given to a program that declares none."""
    if learner is None:
        raise InputError(f"{name or 'this program'} declares no training data: --data is for learner programs",
                         hint="declare the data cells with .dataset and .learn (docs/in-context-learning.md)")
    return learner


def function_family(op: str) -> tuple[str, int]:
    """``("shl", 3)`` for ``shl3``, ``("mm", 0)`` for ``mm``; ``("", 0)`` when ``op`` is no FLEQ-M function."""
    if op.startswith("shl") and op[3:].isascii() and op[3:].isdigit() and op[3] != "0":
        return "shl", int(op[3:])
    return (op, 0) if op in FLEQM_FUNCTIONS and op != "shl" else ("", 0)


class Kind(str, Enum):
    """The machine model of a program (spec §2)."""

    SUBLEQ_H = "subleq-h"
    SUBLEQ_U = "subleq-u"
    FLEQ_H = "fleq-h"
    FLEQ_M = "fleq-m"


#: kind value -> the Program class of that kind (filled as the classes are defined).
_PROGRAM_TYPES: dict[str, type] = {}


def _plain(value: Any) -> Any:
    """JSON values of a program's field (dataclasses as objects without source locations, an
    expectation with its ``type``, exact rationals as ``"p/q"``)."""
    if is_dataclass(value):
        out = {f.name: _plain(getattr(value, f.name)) for f in dataclass_fields(value) if f.name != "location"}
        if isinstance(value, ExpectedCell) and type(value) is not ExpectedCell:
            out["type"] = type(value).__name__
        return out
    if isinstance(value, Fraction):
        return str(value)
    if isinstance(value, Mapping):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, (tuple, list)):
        return [_plain(v) for v in value]
    if isinstance(value, Enum):
        return value.value
    return value


def _tuples(value: Any) -> Any:
    return tuple(_tuples(v) for v in value) if isinstance(value, list) else value


def word_range(bits: int) -> range:
    """The N-bit two's-complement words: range(-2^(N-1), 2^(N-1)).

    Test membership with :func:`fits`: ``value in range`` is O(1) only for an exact ``int`` and
    scans the range for an int subclass or a float (issue 22: exponential load times).
    """
    half = 1 << (bits - 1)
    return range(-half, half)


def fits(value: int, bits: int) -> bool:
    """True when ``value`` is an N-bit two's-complement word (O(1) for any int type)."""
    half = 1 << (bits - 1)
    return -half <= value < half


def range_text(bits: int) -> str:
    """The word range for a message: ``[-128, 127]``, or ``[-2^4095, 2^4095 - 1]`` when wide."""
    if bits <= 64:
        words = word_range(bits)
        return f"[{words.start}, {words.stop - 1}]"
    return f"[-2^{bits - 1}, 2^{bits - 1} - 1]"


def check_width(bits: int, written: str, location: Location | None, hint: str) -> None:
    """Raise :class:`ProgramSizeError` unless ``MIN_BITS <= bits <= MAX_BITS``; ``written`` is how
    the width was given (``.bits 1``, ``--bits 0``), ``hint`` where to change it."""
    allowed = f"words of {MIN_BITS} to {MAX_BITS:,} bits"
    if bits < MIN_BITS:
        raise ProgramSizeError(f"{written}: the looped computer needs N >= {MIN_BITS} ({allowed})",
                               location=location, hint=hint)
    if bits > MAX_BITS:
        raise ProgramSizeError(f"{written}: a word has at most {MAX_BITS:,} bits ({allowed}: wider words make "
                               f"every cell, weight and printed row longer, and no program needs them)",
                               location=location, hint=hint)


def wrap(value: int, bits: int) -> int:
    """wrap(v) = ((v + B) mod W) - B with B = 2^(N-1), W = 2^N (spec §2)."""
    half = 1 << (bits - 1)
    return ((value + half) % (half << 1)) - half


@dataclass(frozen=True)
class SubleqInstruction:
    """``mem[b] -= mem[a]; if mem[b] <= 0 goto c else pc + 1`` (spec §2.1)."""

    a: int
    b: int
    c: int


@dataclass(frozen=True)
class FleqInstruction:
    """``mem[c] = op(mem[a], mem[b]); if mem[f] <= 0 goto p else pc + 1`` (spec §2.3)."""

    op: str
    a: int
    b: int
    c: int
    f: int
    p: int


@dataclass(frozen=True)
class ExpectedCell:
    """One ``.expect`` entry: after the run, ``memory[cell] == value`` (``label`` as written)."""

    label: str
    cell: int
    value: int
    location: Location | None = field(default=None, compare=False)

    def describe(self) -> str:
        """The expectation as the source states it: ``r = 63``."""
        return f"{self.label} = {self.value}"

    def failure(self, got) -> str | None:
        """None when the final cell value ``got`` meets the expectation, else what went wrong."""
        return None if got == self.value else f"{self.describe()} expected, got {got}"

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> "ExpectedCell":
        """The expectation a program's JSON records (:meth:`Program.to_json`)."""
        return cls(**{k: v for k, v in data.items() if k != "type"})


@dataclass(frozen=True)
class ExpectedMatrix(ExpectedCell):
    """FLEQ-M ``.expect x = lit`` / ``.expect raw x = [[…]]``: the cell equals the k×k raw ``value``
    bit for bit. ``frac`` F and ``shape`` (the rows × columns the literal wrote) only shape the
    messages, which show that block as values and raw words."""

    frac: int = 0
    shape: tuple[int, int] = (1, 1)

    def _text(self, cell) -> str:
        block = top_left(cell, self.shape)
        return f"{rows_text(block, lambda q: decimal_text(q, self.frac))} (raw {rows_text(block)})"

    def describe(self) -> str:
        return f"{self.label} = {self._text(self.value)}"

    def failure(self, got) -> str | None:
        return None if got == self.value else f"{self.describe()} expected, got {self._got(got)}"

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> "ExpectedMatrix":
        return cls(**{**{k: v for k, v in data.items() if k != "type"}, "value": _tuples(data["value"]),
                      "shape": tuple(data["shape"])})

    def _got(self, cell) -> str:
        """``cell`` as the block the expectation wrote, or whole when something lies outside it."""
        r, c = self.shape
        outside = any(q for i, row in enumerate(cell) for j, q in enumerate(row) if i >= r or j >= c)
        return rows_text(cell if outside else top_left(cell, self.shape), lambda q: decimal_text(q, self.frac))


@dataclass(frozen=True)
class ExpectedNear(ExpectedMatrix):
    """FLEQ-M ``.expect x ~ lit tol t``: |q_ij / 2^F − value_ij| ≤ ``tolerance`` for every entry of
    the cell (``value`` is the k×k matrix of exact rationals the literal states, zero-padded)."""

    tolerance: Fraction = Fraction(0)

    def describe(self) -> str:
        return (f"{self.label} ~ {rows_text(top_left(self.value, self.shape), rational_text)} "
                f"tol {rational_text(self.tolerance)}")

    def failure(self, got) -> str | None:
        worst = max(abs(Fraction(q, 1 << self.frac) - v) for grow, vrow in zip(got, self.value)
                    for q, v in zip(grow, vrow))
        if worst <= self.tolerance:
            return None
        return f"{self.describe()} expected, got {self._got(got)} (off by {float(worst):.3g})"

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> "ExpectedNear":
        value = tuple(tuple(Fraction(v) for v in row) for row in data["value"])
        return cls(**{**{k: v for k, v in data.items() if k != "type"}, "value": value, "shape": tuple(data["shape"]),
                      "tolerance": Fraction(data["tolerance"])})


_EXPECTATIONS = {c.__name__: c for c in (ExpectedCell, ExpectedMatrix, ExpectedNear)}


@dataclass(frozen=True)
class Expectation:
    """What the source says the run ends with: cell values and, optionally, the loop count.

    ``steps`` = loops until the program halts (spec §9.2); None = not stated.
    """

    cells: tuple[ExpectedCell, ...] = ()
    steps: int | None = None

    def __bool__(self) -> bool:
        return bool(self.cells) or self.steps is not None

    def failures(self, steps: int, halted: bool, memory: tuple[int, ...]) -> tuple[str, ...]:
        """The unmet expectations of a run that ended after ``steps`` loops with ``memory``."""
        failed = []
        if self.steps is not None and (steps != self.steps or not halted):
            got = f"halted after {steps}" if halted else f"still running after {steps}"
            failed.append(f"steps = {self.steps} expected, {got}")
        for cell in self.cells:
            failure = cell.failure(memory[cell.cell])
            if failure is not None:
                failed.append(failure)
        return tuple(failed)


@dataclass(frozen=True, kw_only=True)
class Program:
    """The fields every machine model shares; use :class:`SubleqH`, :class:`SubleqU`, :class:`FleqH`."""

    kind: ClassVar[Kind]
    #: What the construction registry calls this kind of source (the kind's value, e.g. ``"subleq-h"``).
    source_kind: ClassVar[str]
    #: The fields of one instruction, for listings (SUBLEQ-U lists the cells at ``instruction_cells``).
    fields: ClassVar[tuple[str, ...]] = ("a", "b", "c")

    bits: int = 8
    memory: tuple[int, ...]
    labels: Mapping[str, int] = field(default_factory=dict)
    pc: int = 0
    expect: Expectation = Expectation()
    name: str = ""
    source: str | None = None

    #: The instruction type of ``code`` (Harvard machines), for :meth:`from_json`.
    instruction: ClassVar[type | None] = None

    def __init_subclass__(cls, **kwargs) -> None:
        super().__init_subclass__(**kwargs)
        if "kind" in cls.__dict__:
            cls.source_kind = cls.kind.value
            _PROGRAM_TYPES[cls.kind.value] = cls

    # ---------------------------------------------------------------- JSON (a model file's recorded source)
    def to_json(self) -> dict:
        """The program as JSON values (``{"kind": …, field: value, …}``; source locations dropped):
        what a model file records so that ``verify MODEL`` can re-run the reference."""
        return {"kind": self.kind.value,
                **{f.name: _plain(getattr(self, f.name)) for f in dataclass_fields(self) if f.name != "source"}}

    @staticmethod
    def from_json(data: Mapping[str, Any]) -> "Program":
        """The program :meth:`to_json` wrote (validated by the constructor, as any program is)."""
        cls = _PROGRAM_TYPES[data["kind"]]
        values = {}
        for f in dataclass_fields(cls):
            if f.name not in data:
                continue
            value = data[f.name]
            if f.name == "code":
                value = tuple(cls.instruction(**item) for item in value)
            elif f.name == "learner":
                value = None if value is None else Learner.from_json(value)
            elif f.name == "expect":
                value = Expectation(tuple(_EXPECTATIONS[cell.get("type", "ExpectedCell")].from_json(cell)
                                          for cell in value["cells"]), value["steps"])
            elif isinstance(value, list):
                value = _tuples(value)
            values[f.name] = value
        return cls(**values)

    def __post_init__(self) -> None:
        object.__setattr__(self, "memory", tuple(self.memory))
        object.__setattr__(self, "labels", MappingProxyType(dict(self.labels)))
        check_width(self.bits, f"a word of {number_text(self.bits)} bits", self._where(),
                    f"set .bits to {MIN_BITS}..{MAX_BITS}")
        if not self.memory:
            raise ProgramSizeError("the program has no memory cells", location=self._where(),
                                   hint="declare at least one data cell")
        for cell, value in enumerate(self.memory):
            self._check_value(cell, value)
        for name, cell in self.labels.items():
            self._check_cell(cell, f"label {shorten(name)}", None)

    def _check_value(self, cell: int, value) -> None:
        """Refuse an initial cell value the machine cannot hold (here: a word outside N bits)."""
        if not fits(value, self.bits):
            raise WordRangeError(
                f"cell {cell}{self._label_of(cell)} holds {number_text(value)}, which does not fit in "
                f"{self.bits} bits ({range_text(self.bits)})", location=self._where(),
                hint=f"use a value in {range_text(self.bits)} or raise .bits")

    # ---------------------------------------------------------------- display
    @property
    def word_description(self) -> str:
        """What a cell holds, for headings: ``8-bit words``."""
        return f"{self.bits}-bit words"

    @property
    def fraction_bits(self) -> int | None:
        """F when cells hold fixed-point matrices (FLEQ-M), None for integer words."""
        return None

    @property
    def words_text(self) -> str:
        """The word range, for listings: ``8-bit two's complement [-128, 127]``."""
        return f"{self.bits}-bit two's complement {range_text(self.bits)}"

    def cell_text(self, value) -> str:
        """A cell value on one line (an integer word as itself)."""
        return str(value)

    def cell_lines(self, value) -> list[str]:
        """A cell value as display lines (one, for an integer word)."""
        return [self.cell_text(value)]

    # ---------------------------------------------------------------- sizes
    @property
    def cells(self) -> int:
        """M, the number of memory cells."""
        return len(self.memory)

    @property
    def halt_pc(self) -> int:
        """The pc value that means halted."""
        raise NotImplementedError

    def _where(self, line: int | None = None) -> Location | None:
        return Location(self.source, line) if self.source or line else None

    def _label_of(self, cell: int) -> str:
        names = [name for name, at in self.labels.items() if at == cell]
        return f" ({shorten(names[0])})" if names else ""

    def _check_cell(self, cell: int, what: str, line: int | None) -> None:
        if not 0 <= cell < self.cells:
            raise AddressError(f"{what} is cell {number_text(cell)}, outside the memory [0, {self.cells - 1}]",
                               location=self._where(line),
                               hint=f"the program has {self.cells} cells; use a label or a cell below {self.cells}")


@dataclass(frozen=True, kw_only=True)
class _Harvard(Program):
    """A program with a separate read-only code store of s instructions (SUBLEQ-H, FLEQ-H)."""

    code: tuple
    code_labels: Mapping[str, int] = field(default_factory=dict)
    #: The source line of each instruction (empty when not assembled from text).
    code_lines: tuple[int, ...] = ()

    def __post_init__(self) -> None:
        super().__post_init__()
        object.__setattr__(self, "code", tuple(self.code))
        object.__setattr__(self, "code_labels", MappingProxyType(dict(self.code_labels)))
        object.__setattr__(self, "code_lines", tuple(self.code_lines))
        if not self.code:
            raise ProgramSizeError("the program has no instructions", location=self._where(),
                                   hint="write at least one instruction (halt is one)")
        for index, instruction in enumerate(self.code):
            line = self.code_lines[index] if index < len(self.code_lines) else None
            self._check_instruction(index, instruction, line)
        for name, target in self.code_labels.items():
            self._check_target(target, f"code label {shorten(name)}", None)
        self._check_target(self.pc, "the start pc", None)

    @property
    def size(self) -> int:
        """s, the number of instructions."""
        return len(self.code)

    @property
    def halt_pc(self) -> int:
        return len(self.code)

    def _check_instruction(self, index: int, instruction, line: int | None) -> None:
        raise NotImplementedError

    def _check_target(self, target: int, what: str, line: int | None) -> None:
        if not 0 <= target <= self.size:
            raise AddressError(f"{what} is instruction {number_text(target)}, outside [0, {self.size}]",
                               location=self._where(line),
                               hint=f"jump to a label, to an instruction below {self.size}, or to HALT (= {self.size})")


@dataclass(frozen=True, kw_only=True)
class SubleqH(_Harvard):
    """Harvard SUBLEQ (spec §2.1): ``code`` is a tuple of :class:`SubleqInstruction`."""

    kind: ClassVar[Kind] = Kind.SUBLEQ_H
    instruction: ClassVar[type] = SubleqInstruction

    def _check_instruction(self, index: int, instruction: SubleqInstruction, line: int | None) -> None:
        self._check_cell(instruction.a, f"instruction {index}: a", line)
        self._check_cell(instruction.b, f"instruction {index}: b", line)
        self._check_target(instruction.c, f"instruction {index}: c", line)


@dataclass(frozen=True, kw_only=True)
class FleqH(_Harvard):
    """FLEQ (spec §2.3): ``code`` is a tuple of :class:`FleqInstruction` over :data:`FLEQ_FUNCTIONS`."""

    kind: ClassVar[Kind] = Kind.FLEQ_H
    instruction: ClassVar[type] = FleqInstruction
    fields: ClassVar[tuple[str, ...]] = ("op", "a", "b", "c", "f", "p")

    @property
    def functions(self) -> tuple[str, ...]:
        """The functions the code uses, in the order of :data:`FLEQ_FUNCTIONS`."""
        used = {instruction.op for instruction in self.code}
        return tuple(name for name in FLEQ_FUNCTIONS if name in used)

    def _check_instruction(self, index: int, instruction: FleqInstruction, line: int | None) -> None:
        if instruction.op not in FLEQ_FUNCTIONS:
            raise UnknownFunctionError(f"instruction {index}: unknown function {shorten(str(instruction.op))}",
                               location=self._where(line), hint=f"the functions are: {', '.join(FLEQ_FUNCTIONS)}")
        for name in ("a", "b", "c", "f"):
            self._check_cell(getattr(instruction, name), f"instruction {index}: {name}", line)
        self._check_target(instruction.p, f"instruction {index}: p", line)


@dataclass(frozen=True, kw_only=True)
class SubleqU(Program):
    """Unified-memory, self-modifying SUBLEQ (spec §2.2): 3 ≤ M ≤ 2^(N-1), pc ∈ {-1} ∪ [0, M-3].

    ``instruction_cells`` lists the cells where the source wrote an instruction (for listings
    only: the machine fetches whatever three cells pc points at).
    """

    kind: ClassVar[Kind] = Kind.SUBLEQ_U
    instruction_cells: tuple[int, ...] = ()

    def __post_init__(self) -> None:
        super().__post_init__()
        object.__setattr__(self, "instruction_cells", tuple(self.instruction_cells))
        half = 1 << (self.bits - 1)
        if not 3 <= self.cells <= half:
            raise ProgramSizeError(
                f"SUBLEQ-U needs 3 <= M <= 2^(N-1) = {half} cells (every cell index must be a word), "
                f"the program has M = {self.cells}", location=self._where(),
                hint=f"raise .bits to {max(2, (self.cells - 1).bit_length() + 1)} or more" if self.cells > half
                else "a SUBLEQ-U program needs at least one instruction (3 cells)")
        if not (self.pc == -1 or 0 <= self.pc <= self.cells - 3):
            raise AddressError(f"the start pc is {number_text(self.pc)}, outside {{-1}} ∪ [0, {self.cells - 3}]",
                               location=self._where(), hint="start at an instruction's first cell")
        for cell in self.instruction_cells:
            self._check_cell(cell, "an instruction", None)

    @property
    def halt_pc(self) -> int:
        return -1


@dataclass(frozen=True, kw_only=True)
class FleqM(_Harvard):
    """FLEQ-M (linear-algebra spec §1): ``mem[c] = f_op(mem[a], mem[b]); if mem[f](0,0) ≤ 0 goto p``.

    ``memory`` holds M cells, each a k×k matrix (a tuple of k rows of k raw words) of the format
    (``bits`` N, ``frac`` F) (:class:`~turingformer.programs.fixed.Fixed`); ``code`` is a tuple of
    :class:`FleqInstruction` whose ``op`` is one of :data:`FLEQM_FUNCTIONS` (``shl`` as ``shl<s>``,
    1 ≤ s ≤ N). Invariant: 4 ≤ N ≤ 64, 1 ≤ F ≤ N − 2, 1 ≤ k ≤ 16, every entry a word, every
    table function (``recip``, ``sigm``) only for N ≤ 16. ``learner``: what a learner program
    declares about its training data and weights (``.dataset``, ``.learn``; None for others).
    """

    kind: ClassVar[Kind] = Kind.FLEQ_M
    instruction: ClassVar[type] = FleqInstruction
    fields: ClassVar[tuple[str, ...]] = ("op", "a", "b", "c", "f", "p")

    frac: int
    k: int = 1
    learner: Learner | None = None

    def __post_init__(self) -> None:
        if not 4 <= self.bits <= FLEQM_MAX_BITS:
            raise ProgramSizeError(f"FLEQ-M words of {self.bits} bits: N must be in [4, {FLEQM_MAX_BITS}]",
                                   location=self._where(), hint="use e.g. .bits 16 (Q16.8) or .bits 24 (Q24.16)")
        if not 1 <= self.frac <= self.bits - 2:
            raise ProgramSizeError(f"{self.frac} fraction bits in {self.bits}-bit words: F must be in "
                                   f"[1, {self.bits - 2}] (so that 1.0 is a word)", location=self._where(),
                                   hint=f"use .frac {min(max(1, self.bits // 2), self.bits - 2)} or widen .bits")
        if not 1 <= self.k <= FLEQM_MAX_K:
            raise ProgramSizeError(f"cells of {self.k}×{self.k}: k must be in [1, {FLEQM_MAX_K}]",
                                   location=self._where(), hint="set .k to the largest matrix size the program needs")
        object.__setattr__(self, "memory", tuple(tuple(tuple(row) for row in cell) for cell in self.memory))
        super().__post_init__()

    @property
    def format(self) -> Fixed:
        return Fixed(self.bits, self.frac)

    def with_data(self, data) -> "FleqM":
        """This learner program with other training data in its declared cells (a file name, a
        :class:`~turingformer.programs.learning.TrainingData` or ``(X, y)``; converted by §1.1)."""
        learner = require_learner(self.learner, self.name)
        found = read_data(data, learner, self.format, self.k)
        return replace(self, memory=learner.load(self.memory, found, self.k), learner=replace(learner, data=found.name))

    @property
    def functions(self) -> tuple[str, ...]:
        """The functions the code uses, in the order of :data:`FLEQM_FUNCTIONS` (``shl<s>`` by s)."""
        used = {instruction.op for instruction in self.code}
        order = {name: i for i, name in enumerate(FLEQM_FUNCTIONS)}
        return tuple(sorted(used, key=lambda op: (order[function_family(op)[0]], function_family(op)[1])))

    @property
    def word_description(self) -> str:
        return f"{self.format.name} words, {self.k}×{self.k} cells"

    @property
    def fraction_bits(self) -> int | None:
        return self.frac

    @property
    def words_text(self) -> str:
        fmt = self.format
        return (f"{fmt.name} fixed point: raw words [{-fmt.B}, {fmt.B - 1}] meaning q / 2^{self.frac} in "
                f"[{decimal_text(-fmt.B, self.frac)}, {decimal_text(fmt.B - 1, self.frac)}]; "
                f"cells are {self.k}×{self.k} matrices")

    def cell_text(self, value: Matrix) -> str:
        return matrix_text(value, self.frac)

    def cell_lines(self, value: Matrix) -> list[str]:
        return matrix_lines(value, self.frac)

    def _check_value(self, cell: int, value) -> None:
        k, B = self.k, 1 << (self.bits - 1)
        if len(value) != k or any(len(row) != k for row in value):
            raise ProgramSizeError(f"cell {cell}{self._label_of(cell)} is not a {k}×{k} matrix",
                                   location=self._where(), hint=f"every FLEQ-M cell holds k×k = {k}×{k} words")
        for i, row in enumerate(value):
            for j, q in enumerate(row):
                if not (isinstance(q, int) and -B <= q < B):
                    raise WordRangeError(
                        f"cell {cell}{self._label_of(cell)} entry ({i}, {j}) holds {q}, which is not a "
                        f"{self.format.name} word (raw [{-B}, {B - 1}] = [{decimal_text(-B, self.frac)}, "
                        f"{decimal_text(B - 1, self.frac)}])", location=self._where(),
                        hint="use a smaller value, fewer fraction bits (.frac) or more bits (.bits)")

    def _check_instruction(self, index: int, instruction: FleqInstruction, line: int | None) -> None:
        family, s = function_family(instruction.op)
        if not family:
            hint = ("shl takes its shift in the name: shl1 doubles, shl3 multiplies by 8"
                    if instruction.op.startswith("shl") else f"the functions are: {', '.join(FLEQM_FUNCTIONS)}")
            raise UnknownFunctionError(f"instruction {index}: unknown FLEQ-M function {instruction.op!r}",
                                       location=self._where(line), hint=hint)
        if family == "shl" and s > self.bits:
            raise UnknownFunctionError(f"instruction {index}: {instruction.op} shifts by more than N = {self.bits} bits",
                                       location=self._where(line),
                                       hint=f"shl{self.bits} already saturates every non-zero word")
        limit = FLEQM_TABLE_BITS.get(family)
        if limit is not None and self.bits > limit:
            raise UnknownFunctionError(
                f"instruction {index}: {family} is a table over all 2^N words and exists only for N <= {limit} "
                f"(this program has N = {self.bits})", location=self._where(line),
                hint="compute it by Newton's iteration (the RECIP macro of docs/linear-algebra.md)" if family == "recip"
                else f"use N <= {limit} (e.g. Q16.8) for {family}")
        for name in ("a", "b", "c", "f"):
            self._check_cell(getattr(instruction, name), f"instruction {index}: {name}", line)
        self._check_target(instruction.p, f"instruction {index}: p", line)
