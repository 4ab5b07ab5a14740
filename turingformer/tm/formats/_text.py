"""Small text checks shared by the importers."""

from __future__ import annotations

#: Python refuses to convert longer digit strings to int (``sys.get_int_max_str_digits``).
MAX_DIGITS = 4300


def whole_number(text: str) -> int:
    """The non-negative whole number written in ASCII digits ``0-9`` as ``text``.

    ``str.isdigit`` and ``int`` accept other digits ('²', Arabic-Indic '٣'), and ``int`` refuses
    more than :data:`MAX_DIGITS` digits; both are a ``ValueError`` here, saying why.
    """
    if not text or not (text.isascii() and text.isdigit()):
        raise ValueError(f"{text[:20]!r} is not a whole number in the digits 0-9")
    if len(text) > MAX_DIGITS:
        raise ValueError(f"a number of {len(text):,} digits is too long (at most {MAX_DIGITS:,})")
    return int(text)
