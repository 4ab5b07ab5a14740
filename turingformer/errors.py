"""The exception hierarchy: every error a user can cause has its own type and a message that
names the file, the line where known, and the fix.

    TuringformerError
    ├── MachineError                 a machine definition is wrong
    │   ├── DefinitionSyntaxError    the file cannot be parsed (malformed YAML, a bad rule line)
    │   ├── UnknownKeyError          a key the format does not know
    │   ├── MissingKeyError          a required key is absent
    │   ├── DuplicateRuleError       two rules for one (state, symbol): the table is nondeterministic
    │   ├── UndeclaredStateError     a rule or role names a state that is not declared
    │   ├── UnreachableStateError    a declared state no rule can ever enter
    │   ├── UnknownSymbolError       a rule reads or writes a symbol outside the tape alphabet
    │   ├── BlankSymbolError         the blank is missing, or is in the input alphabet
    │   └── StartStateError          the start state does not exist, or is a halting state
    ├── ProgramError                 a SUBLEQ / FLEQ program (spec looped §2, §9) is wrong
    │   ├── AssemblySyntaxError      a line that cannot be read: unknown mnemonic, directive, token
    │   ├── OperandCountError        an instruction with too few or too many operands
    │   ├── UnknownFunctionError     a FLEQ op outside the function library (§2.3)
    │   ├── UnknownLabelError        an operand or .expect names a label that is not defined
    │   ├── DuplicateLabelError      a label defined twice
    │   ├── AddressError             a cell, jump target or start pc outside the program
    │   ├── WordRangeError           a value that does not fit in N-bit two's complement
    │   ├── CellShapeError           a FLEQ-M matrix that does not fit a k×k cell, or of the wrong shape for its use
    │   └── ProgramSizeError         N, M or s outside what the machine model allows
    ├── InputError                   an input word uses a symbol outside the input alphabet
    ├── FormatError                  an unknown or undetectable file format
    ├── ModelFileError               a model file that cannot be read back
    ├── OutputError                  an output that would overwrite an input
    ├── ConstructionError            an unknown construction, or one that does not take this source
    ├── SourceKindError              a call given the wrong kind of object (also a TypeError)
    ├── OptionError                  an option value a function does not know (also a ValueError)
    ├── DecodingError                a network output that is not the encoding of a configuration
    ├── CensusError                  a census that cannot run or resume as asked
    ├── ExportError                  an export that cannot be made or read (a missing optional extra)
    └── LoopedRuntimeError           the looped runtime met a violated precondition
        ├── AttentionTieError        an attention head with more than one winner
        └── TapeDecodingError        a SUBLEQ-U memory that encodes no machine configuration

The CLI prints ``str(error)`` and exits with status 2; anything else that escapes a command is a
bug, printed by the CLI as one ``internal error`` line (``--debug`` shows the traceback).
:func:`shorten` keeps the inputs and names an error quotes to one readable line.
"""

from __future__ import annotations

import difflib
from dataclasses import dataclass


@dataclass(frozen=True)
class Location:
    """Where in a source file something was written (1-based line and column)."""

    file: str | None = None
    line: int | None = None
    column: int | None = None

    def __str__(self) -> str:
        parts = [self.file or "<string>"]
        if self.line is not None:
            parts.append(str(self.line))
            if self.column is not None:
                parts.append(str(self.column))
        return ":".join(parts)


class TuringformerError(Exception):
    """Base class. ``message`` says what is wrong, ``hint`` how to fix it."""

    def __init__(self, message: str, *, location: Location | None = None, hint: str | None = None):
        self.message = message
        self.location = location
        self.hint = hint
        super().__init__(str(self))

    def with_location(self, location: Location) -> "TuringformerError":
        """The same error, placed at ``location`` unless it already has a line."""
        if self.location is not None and self.location.line is not None:
            return self
        if self.location is not None and location.line is None:
            location = Location(location.file or self.location.file, self.location.line, self.location.column)
        clone = type(self).__new__(type(self))
        TuringformerError.__init__(clone, self.message, location=location, hint=self.hint)
        return clone

    def __str__(self) -> str:
        text = f"{self.location}: {self.message}" if self.location else self.message
        if self.hint:
            text += f"\n  fix: {self.hint}"
        return text


class MachineError(TuringformerError):
    """A machine definition that is not a valid deterministic single-tape Turing machine."""


class DefinitionSyntaxError(MachineError):
    """The file cannot be parsed at all."""


class UnknownKeyError(MachineError):
    """A key the format does not define (often a typo)."""


class MissingKeyError(MachineError):
    """A required key is absent."""


class DuplicateRuleError(MachineError):
    """Two rules for the same (state, symbol): the machine would be nondeterministic."""


class UndeclaredStateError(MachineError):
    """A rule or role refers to a state that is not declared."""


class UnreachableStateError(MachineError):
    """A declared state that no path of rules from the start state can enter."""


class UnknownSymbolError(MachineError):
    """A symbol outside the declared tape alphabet."""


class BlankSymbolError(MachineError):
    """The blank is missing, is not a single character, or is part of the input alphabet."""


class StartStateError(MachineError):
    """The start state is missing, undeclared, or halting."""


class ProgramError(TuringformerError):
    """A SUBLEQ-H, SUBLEQ-U or FLEQ-H program that is not valid for its machine model."""


class AssemblySyntaxError(ProgramError):
    """An assembly or CSV line that cannot be read."""


class OperandCountError(ProgramError):
    """An instruction or macro with the wrong number of operands."""


class UnknownFunctionError(ProgramError):
    """A FLEQ instruction whose op is not one of the library's functions."""


class UnknownLabelError(ProgramError):
    """A label that is used but never defined."""


class DuplicateLabelError(ProgramError):
    """A label that is defined twice."""


class AddressError(ProgramError):
    """A memory cell, jump target or start pc outside the program's memory or code."""


class WordRangeError(ProgramError):
    """A value outside the N-bit two's-complement range [-2^(N-1), 2^(N-1) - 1]."""


class CellShapeError(ProgramError):
    """A FLEQ-M literal larger than a k×k cell, or a matrix where a function reads a scalar."""


class ProgramSizeError(ProgramError):
    """A word width, memory size or code length the machine model does not allow."""


def did_you_mean(word: str, choices) -> str | None:
    """A did-you-mean phrase for ``word`` among ``choices``, or None (for an error's hint)."""
    close = difflib.get_close_matches(word, list(choices), n=1, cutoff=0.6)
    return f"did you mean {close[0]!r}?" if close else None


class InputError(TuringformerError):
    """An input word that the machine (or a compiled model) cannot take."""


class FormatError(TuringformerError):
    """A file whose format is unknown or cannot be detected."""


class ModelFileError(TuringformerError):
    """A model file that is malformed or of an unsupported version."""


class OutputError(TuringformerError):
    """An output path that is the input (writing it would destroy the input)."""


class ConstructionError(TuringformerError):
    """An unknown construction, an option it does not have, or a source it does not compile."""


class SourceKindError(TuringformerError, TypeError):
    """A function given the wrong kind of object (a model where a machine is expected, …); the
    message names the call to use instead."""


class OptionError(TuringformerError, ValueError):
    """An option value a function does not know (a name outside its choices, a bad number)."""


class WeightsError(TuringformerError, ValueError):
    """Weights that are not a well-formed network, or a name they do not have: a dimension named
    twice, a token outside the embedding, a positional encoding with a non-integer power, models of
    different shapes in one batch."""


class DimensionError(TuringformerError, KeyError):
    """A named dimension or block that a residual space (or a hook's space) does not have."""


class DecodingError(TuringformerError):
    """A network output that is not the encoding of a configuration (an edited model, a float mode)."""


class CensusError(TuringformerError):
    """A census that cannot start or go on: bad options, an unreachable cluster, a shard folder
    that belongs to another census."""


class ExportError(TuringformerError):
    """An export to PyTorch or ONNX that cannot be made or read: a missing optional extra
    (``pip install 'turingformer[torch]'``), a file that is no export, a network of an unknown shape."""


#: The longest quoted text (an input word, a name) an error or a header shows whole.
SHORT = 60


def shorten(text: str, limit: int = SHORT, unit: str = "characters") -> str:
    """``repr(text)``, or for text longer than ``limit`` its two ends and its length:
    ``'0101'...'1110' (20,000 characters)``. Errors and headers quote user text through this."""
    if len(text) <= limit:
        return repr(text)
    half = max(limit // 2 - 2, 1)
    return f"{text[:half]!r}...{text[-half:]!r} ({len(text):,} {unit})"


def check_word(word: str, alphabet, blank: str, *, owner: str, hint: str, what: str = "input") -> None:
    """Raise :class:`InputError` unless every symbol of ``word`` is in ``alphabet`` or the blank."""
    allowed = set(alphabet) | {blank}
    for position, symbol in enumerate(word):
        if symbol not in allowed:
            raise InputError(
                f"{what} {shorten(word)}: symbol {symbol!r} at position {position} is not in the input "
                f"alphabet {sorted(alphabet)} {owner}", hint=hint)


class LoopedRuntimeError(TuringformerError):
    """The looped runtime met a violated precondition (a tie, a non-integer on the integer path)."""


class AttentionTieError(LoopedRuntimeError):
    """An attention head of a looped model had more than one winner for some query column."""


class TapeDecodingError(LoopedRuntimeError):
    """A SUBLEQ-U memory that does not encode a Turing machine's configuration (docs/two-transformers.md)."""
