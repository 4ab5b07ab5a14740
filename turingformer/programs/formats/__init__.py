"""Reading programs for the looped computer (looped spec §9; ``docs/programs.md``).

=================  ==========================================================  ===========================
format name        what                                                        file
=================  ==========================================================  ===========================
``subleq``         SUBLEQ-H assembly (§9.1)                                    ``.subleq``
``usubleq``        SUBLEQ-U assembly: unified, self-modifying memory (§9.3)    ``.usubleq``
``fleq``           FLEQ-H assembly (§9.4)                                      ``.fleq``
``fleqm``          FLEQ-M assembly: fixed-point matrix cells (linear-algebra §4.1)  ``.fleqm``
``official-csv``   the official code's program pair (§2.1)                     ``X_cmds.csv`` + ``X_init_mem.csv``
=================  ==========================================================  ===========================

:func:`load_program` detects the format from the file name unless ``format=`` names it.
"""

from __future__ import annotations

from pathlib import Path

from turingformer.programs.program import Program
from turingformer.errors import AssemblySyntaxError, FormatError, Location, did_you_mean
from turingformer.programs.formats import fleq, fleqm, official, subleq, usubleq

__all__ = ["PROGRAM_FORMATS", "load_program", "loads_program", "detect_program_format", "is_program_file"]

_ASSEMBLERS = {"subleq": subleq.loads, "usubleq": usubleq.loads, "fleq": fleq.loads, "fleqm": fleqm.loads}
PROGRAM_FORMATS: tuple[str, ...] = (*_ASSEMBLERS, "official-csv")
_SUFFIXES = {".subleq": "subleq", ".usubleq": "usubleq", ".fleq": "fleq", ".fleqm": "fleqm"}
_ALIASES = {"subleq-h": "subleq", "subleq-u": "usubleq", "fleq-h": "fleq", "fleq-m": "fleqm", "csv": "official-csv",
            "official": "official-csv"}


def detect_program_format(path: str | Path) -> str | None:
    """The program format a file name implies, or None when it is not a program's name."""
    path = Path(path)
    if official.is_official(path):
        return "official-csv"
    return _SUFFIXES.get(path.suffix.lower())


def is_program_file(path: str | Path, format: str | None = None) -> bool:
    """True when ``path`` (or ``format``) names a program rather than a Turing machine."""
    if format is not None:
        return format.strip().lower() in (*PROGRAM_FORMATS, *_ALIASES)
    return detect_program_format(path) is not None


def _normalize(name: str) -> str:
    key = name.strip().lower()
    key = _ALIASES.get(key, key)
    if key not in PROGRAM_FORMATS:
        guess = did_you_mean(key, PROGRAM_FORMATS)
        raise FormatError(f"unknown program format {name!r}",
                          hint=(guess + " " if guess else "") + f"the formats are: {', '.join(PROGRAM_FORMATS)}")
    return key


def loads_program(text: str, format: str, filename: str | None = None, bits: int | None = None) -> Program:
    """The program of an assembly ``text`` in ``format`` (``subleq``, ``usubleq``, ``fleq`` or ``fleqm``)."""
    name = _normalize(format)
    if name == "official-csv":
        raise FormatError("an official CSV program is two files", hint="use load_program on either file")
    return _ASSEMBLERS[name](text, filename, bits)


def load_program(path: str | Path, format: str | None = None, bits: int | None = None) -> Program:
    """Read the program file ``path`` (detected by its name unless ``format`` is given).

    ``bits`` is the word width N: the official CSV format's (default 8); for assembly it must agree
    with the file's ``.bits`` (used when the file has none). Errors are
    :class:`~turingformer.errors.ProgramError` subclasses naming the file, line and column; a file
    that cannot be read raises :class:`OSError` as usual.
    """
    path = Path(path)
    name = _normalize(format) if format else detect_program_format(path)
    if name is None:
        raise FormatError(f"cannot tell the program format of {path}", location=Location(str(path)),
                          hint="use .subleq, .usubleq, .fleq, .fleqm or an X_cmds.csv/X_init_mem.csv pair, or --format")
    if name == "official-csv":
        return official.load(path, bits)
    data = path.read_bytes()
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as error:
        raise AssemblySyntaxError(f"the file is not UTF-8 text (byte {error.start})",
                                  location=Location(str(path), data.count(b"\n", 0, error.start) + 1),
                                  hint="save the file as UTF-8") from None
    return _ASSEMBLERS[name](text.replace("\r\n", "\n").replace("\r", "\n"), str(path), bits)
