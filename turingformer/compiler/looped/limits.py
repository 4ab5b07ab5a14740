"""What every looped construction refuses to build (issue 22; docs/looped.md "Size limits").

The weights of a construction depend only on the sizes and stay small (FLEQ's ``mul`` and ``shr``
excepted: :func:`turingformer.compiler.looped.fleq_h.check_size`), but the punch card has one column
per memory cell and instruction plus the halt column, and every loop's attention scores every
column against every column: n² scores per head and loop (about 0.4 s per loop at n = 4,000, so
about 6 s at the limit). Each construction's ``check_size`` calls :func:`check_columns` before building.
"""

from __future__ import annotations

from ...errors import Location, ProgramSizeError
from ...programs import Program

#: The most punch-card columns a looped model may have (a 10,000-instruction program fits).
MAX_COLUMNS = 16_384


def where(program: Program) -> Location | None:
    """The program's file, for a size error (a size has no line)."""
    return Location(program.source) if program.source else None


def check_columns(program: Program, construction: str, columns: int, sizes: str, hint: str) -> None:
    """Raise :class:`~turingformer.errors.ProgramSizeError` when ``program``'s card of ``columns``
    columns (``sizes`` says how they are counted) exceeds :data:`MAX_COLUMNS`; ``hint`` is the fix."""
    if columns > MAX_COLUMNS:
        raise ProgramSizeError(
            f"{construction} would need a punch card of n = {sizes} = {columns:,} columns; the looped "
            f"constructions take at most {MAX_COLUMNS:,} (every loop scores each column against every "
            f"column, n² per head)", location=where(program), hint=hint)
