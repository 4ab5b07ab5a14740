"""The official code's CSV programs (jysohn1108/Looped-Transformer; looped spec §1.1, §2.1).

A program is a pair of files: ``X_cmds.csv`` (header ``a,b,c``; one command per row, every field a
*column index of the punch card*) and ``X_init_mem.csv`` (header ``mem``; one word per row). The
punch card has s_o scratchpad columns, then the m memory columns, then the s command columns; the
last command is the generator's EOF, ``(s_o, s_o + 1, n - 1)`` or ``(s_o + 1, s_o, n - 1)``, so s_o is
the smaller of its a and b. The importer maps a = a_col - s_o, b = b_col - s_o, c = c_col - s_o - m.
EOF then is an ordinary self-loop (it never reaches HALT = s), so the official traces compare 1:1
and a run ends at the loop limit. Words are N-bit two's complement (``bits``, default 8). A
leading unnamed index column (as pandas writes it) is accepted.
"""

from __future__ import annotations

from pathlib import Path

from turingformer.programs.numbers import number_text
from turingformer.programs.program import SubleqH, SubleqInstruction
from turingformer.errors import AddressError, AssemblySyntaxError, FormatError, Location, shorten
from turingformer.programs.formats.assembly import DEFAULT_BITS, Source, Token, check_bits_option, read_text

CMDS, MEM = "_cmds.csv", "_init_mem.csv"


def pair(path: str | Path) -> tuple[Path, Path, str]:
    """(commands file, memory file, program name) for either file of a pair."""
    path = Path(path)
    for own, other in ((CMDS, MEM), (MEM, CMDS)):
        if path.name.endswith(own):
            stem = path.name[: -len(own)]
            partner = path.with_name(stem + other)
            if not partner.exists():
                raise FormatError(f"{path} is half of an official CSV program: {partner.name} is missing",
                                  location=Location(str(path)), hint=f"put {partner.name} beside it")
            return (path, partner, stem) if own == CMDS else (partner, path, stem)
    raise FormatError(f"{path} is not named X{CMDS} or X{MEM}", location=Location(str(path)),
                      hint="the official programs come as a pair X_cmds.csv + X_init_mem.csv")


def is_official(path: str | Path) -> bool:
    name = Path(path).name
    return name.endswith(CMDS) or name.endswith(MEM)


def _rows(path: Path, columns: tuple[str, ...]) -> list[list[Token]]:
    """The data rows of a CSV file whose header is ``columns`` (optionally after an index column)."""
    source = Source(read_text(path), str(path))
    rows = []
    for number, raw in enumerate(source.text.splitlines(), start=1):
        if not raw.strip():
            continue
        fields, column = [], 1
        for text in raw.split(","):
            fields.append(Token(text.strip(), number, column))
            column += len(text) + 1
        rows.append(fields)
    if not rows:
        raise AssemblySyntaxError("the file is empty", location=Location(str(path)),
                                  hint=f"the first line is the header {','.join(columns)}")
    header = [t.text for t in rows[0]]
    skip = 1 if header[:1] == [""] or header[:1] == ["Unnamed: 0"] else 0
    if header[skip:] != list(columns):
        raise AssemblySyntaxError(f"the header is {shorten(','.join(header))}, not {','.join(columns)!r}",
                                  location=source.at(rows[0][0]), hint=f"the first line must be {','.join(columns)}")
    body = []
    for fields in rows[1:]:
        if len(fields) != len(header):
            raise AssemblySyntaxError(f"{len(fields)} fields, the header has {len(header)}",
                                      location=source.at(fields[0]), hint=f"write {','.join(columns)} on every row")
        body.append([(source, token) for token in fields[skip:]])
    if not body:
        raise AssemblySyntaxError("the file has a header but no rows", location=Location(str(path)),
                                  hint="add at least one row")
    return body


def load(path: str | Path, bits: int | None = None) -> SubleqH:
    """The :class:`~turingformer.programs.program.SubleqH` program of an official CSV pair."""
    cmds_path, mem_path, name = pair(path)
    bits = DEFAULT_BITS if bits is None else bits
    check_bits_option(bits, str(path))
    memory = [source.word(token, source.number(token, "the word"), bits, "the word")
              for (source, token), in _rows(mem_path, ("mem",))]
    commands = [[(source, token, source.number(token, "the column")) for source, token in row]
                for row in _rows(cmds_path, ("a", "b", "c"))]
    m, s = len(memory), len(commands)
    scratch = min(commands[-1][0][2], commands[-1][1][2])
    code = []
    for row in commands:
        fields = []
        for field, (source, token, value), low, high in zip(
                "abc", row, (scratch, scratch, scratch + m), (scratch + m, scratch + m, scratch + m + s)):
            if not low <= value < high:
                what = "memory" if field != "c" else "command"
                raise AddressError(
                    f"{field} = {number_text(value)} is not a {what} column: they are {low}..{high - 1} "
                    f"({scratch} scratchpad columns, from the last command, then {m} memory and {s} command columns)",
                    location=source.at(token), hint="a and b point at memory columns, c at a command column")
            fields.append(value - low)
        code.append(SubleqInstruction(*fields))
    return SubleqH(bits=bits, memory=memory, code=code, name=name, source=str(cmds_path),
                   code_lines=[row[0][1].line for row in commands])
