"""The one number parser of every program dialect (``.subleq``, ``.usubleq``, ``.fleq``, the
official CSV pairs) and of the command line's number options (issue 22; docs/errors.md).

A number is written in the ASCII digits ``0-9``: decimal ``[+-]?[0-9]+``, or, where the dialect
allows it, ``0x`` / ``0b`` / ``0o`` followed by hexadecimal, binary or octal digits. Python's
``int`` would also take other scripts' digits (Arabic-Indic ``٣``, full-width ``７``), digit
separators (``1_0``) and surrounding blanks; :func:`parse_int` refuses them, and refuses more than
:data:`MAX_DIGITS` digits before ``int`` does (``int`` raises for 4,301 decimal digits, after the
work). Every refusal is a :class:`NumberSyntax` whose message starts with the text, quoted and
shortened (:func:`turingformer.errors.shorten`: a 4,301-digit number is never echoed whole), and
says why; callers prefix what the number is and add the location (assemblers) or turn it into an
option error (the CLI).
"""

from __future__ import annotations

import re
import unicodedata

from turingformer.errors import shorten

#: Python refuses to convert longer digit strings to int (``sys.get_int_max_str_digits``); the
#: same limit applies here to every base.
MAX_DIGITS = 4300

_DECIMAL = re.compile(r"[+-]?([0-9]+)", re.ASCII)
_PREFIXED = re.compile(r"[+-]?0(?:[xX]([0-9a-fA-F]+)|[bB]([01]+)|[oO]([0-7]+))", re.ASCII)
_NUMBER_START = re.compile(r"[+-]?\d")          # \d: any script's decimal digit (Unicode Nd)

_LIMIT = 10 ** MAX_DIGITS

HINT = "write a whole number in the ASCII digits 0-9, such as 7 or -3"


class NumberSyntax(ValueError):
    """Text that is not a number of this grammar: ``str(error)`` says why, ``hint`` how to write it."""

    def __init__(self, message: str, hint: str = HINT):
        super().__init__(message)
        self.hint = hint


def looks_numeric(text: str) -> bool:
    """True when ``text`` starts like a number (a sign, then a digit of any script): such a token
    is parsed as a number, so that ``٣`` or ``1_0`` gets the reason, not "unknown label"."""
    return _NUMBER_START.match(text) is not None


def parse_int(text: str, *, prefixed: bool = True) -> int:
    """The integer ``text`` spells (decimal, or with ``prefixed`` also 0x / 0b / 0o).

    Raises :class:`NumberSyntax` for anything else, saying why: a digit outside ASCII ``0-9``, a
    ``_`` separator, more than :data:`MAX_DIGITS` digits, or no number at all.
    """
    match = _DECIMAL.fullmatch(text)
    digits, base = (match.group(1), 10) if match else (None, 10)
    if match is None and prefixed:
        match = _PREFIXED.fullmatch(text)
        if match is not None:
            digits, base = next((d, b) for d, b in zip(match.groups(), (16, 2, 8)) if d is not None)
    if match is None:
        raise NumberSyntax(f"{shorten(text)} is not a whole number{_why(text, prefixed)}",
                           HINT + (" (or 0x1f, 0b101, 0o17)" if prefixed else ""))
    value = int(digits, base) if len(digits) <= MAX_DIGITS else None
    if value is None or value >= _LIMIT:
        count = f"{len(digits):,} digits" if value is None else f"more than {MAX_DIGITS:,} decimal digits"
        raise NumberSyntax(f"{shorten(text)} is too long: a number of {count} (at most {MAX_DIGITS:,})",
                           "write a shorter number: no value of a program needs this many digits")
    return -value if text.startswith("-") else value


def _why(text: str, prefixed: bool) -> str:
    """The reason a text that is no number was refused, when there is a specific one."""
    for char in text:
        if char.isdigit() and not char.isascii():
            name = unicodedata.name(char, f"U+{ord(char):04X}").lower()
            return f": {char!r} ({name}) is not one of the ASCII digits 0-9"
    if "_" in text and looks_numeric(text):
        return ": digit separators '_' are not allowed"
    if text != text.strip():
        return ": it has blanks around it"
    if not text:
        return ": it is empty"
    if not prefixed and re.match(r"[+-]?0[xXbBoO]", text):
        return ": only decimal digits are allowed here"
    return ""


def number_text(value: int) -> str:
    """``value`` in decimal for a message, or from 2^90 on (29 digits) its sign and size,
    ``(a 14,000-bit number)``: a message never echoes a huge number whole, and never converts one
    ``str`` cannot (a sum of two 4,300-digit numbers has 4,301 digits)."""
    bits = abs(value).bit_length()
    if bits <= 90:
        return str(value)
    return f"{'-' if value < 0 else ''}(a {bits:,}-bit number)"
