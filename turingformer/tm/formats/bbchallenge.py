"""Importer for the bbchallenge standard TM text format (S. Ligocki, 2022), per FORMATS.md §3.

``1RB1LB_1LA1RZ``: one row per state ``A, B, C, ...`` (``A`` starts), rows joined by ``_``; a row is
one 3-character instruction ``<write digit><L|R><next state letter>`` per read symbol ``0, 1, ...``,
or ``---`` for an undefined transition (the machine stops there). Symbols are digits, ``0`` is the
blank. A next-state letter without a row (conventionally ``Z``, or ``H``) is a halt state: the
transition into it is executed and counted. An optional ``Halt <steps> <ones>`` or ``Infinite``
after the machine (as on the wiki) is kept as an example for the blank input.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Iterator

from turingformer.errors import DefinitionSyntaxError, Location, shorten
from turingformer.tm.machine import Example, Move, Rule, TuringMachine
from ._text import whole_number

NAME = "bbchallenge"
BLANK = "0"
HINT = "write e.g. 1RB1LB_1LA1RZ: per state a row of <digit><L|R><letter> or ---, rows joined by _"


_SHAPE = re.compile(r"[0-9A-Z\-]{3,}(?:_[0-9A-Z\-]+)*\Z")


def looks_like(text: str) -> bool:
    """True when ``text`` is one line whose first token has the shape of a standard-format machine
    (digits, capitals, ``-`` and ``_``; the loader then checks it exactly)."""
    lines = [line for line in text.splitlines() if line.strip()]
    if len(lines) != 1:
        return False
    tokens = lines[0].split()
    return (len(tokens) in (1, 2, 4) and _SHAPE.match(tokens[0]) is not None
            and any(c.isdigit() for c in tokens[0]) and any(c in "LR" for c in tokens[0]))


def loads(text: str, filename: str | None = None, *, line: int = 1) -> TuringMachine:
    """Read one machine in the standard text format; ``line`` is the file line ``text`` starts on
    (for machines read from a list of machines, one per line), so errors name the right line."""
    lines = [(n, row) for n, row in enumerate(text.replace("\r", "").split("\n"), start=line) if row.strip()]
    if not lines:
        raise DefinitionSyntaxError("the file holds no machine", location=Location(filename), hint=HINT)
    if len(lines) > 1:
        raise DefinitionSyntaxError("a bbchallenge file holds one machine on one line",
                                    location=Location(filename, lines[1][0], 1), hint=HINT)
    number, source = lines[0]
    indent = len(source) - len(source.lstrip())
    tokens = source.split()
    code, rest = tokens[0], tokens[1:]

    def fail(problem: str, offset: int) -> DefinitionSyntaxError:
        return DefinitionSyntaxError(problem, location=Location(filename, number, indent + offset + 1), hint=HINT)

    rows = code.split("_")
    width = len(rows[0])
    if width == 0 or width % 3:
        raise fail(f"the row {rows[0]!r} is not a sequence of 3-character instructions", 0)
    symbols = [str(d) for d in range(width // 3)]
    if len(symbols) > 10:
        raise fail(f"{len(symbols)} symbols: the standard format writes symbols as single digits", 0)
    if len(rows) > 26:
        raise fail(f"{len(rows)} rows: states are the letters A to Z", 0)
    letters = [chr(ord("A") + i) for i in range(len(rows))]
    rules: list[Rule] = []
    targets: list[str] = []
    offset = 0
    for state, row in zip(letters, rows):
        if len(row) != width:
            raise fail(f"the row of state {state} ({row!r}) has {len(row)} characters, the first row has {width}",
                       offset)
        for i, symbol in enumerate(symbols):
            cell = row[3 * i:3 * i + 3]
            at = offset + 3 * i
            if cell == "---":
                continue
            write, move, target = cell
            if write not in symbols or move not in "LR" or not ("A" <= target <= "Z"):
                raise fail(f"bad instruction {cell!r} for state {state} reading {symbol}: expected "
                           f"<digit 0-{symbols[-1]}><L|R><state letter> or ---", at)
            targets.append(target)
            rules.append(Rule(state, symbol, write, Move(move), target, location=Location(filename, number, indent + at + 1)))
        offset += width + 1
    halting = sorted(set(targets) - set(letters))

    examples = []
    if rest:
        if len(rest) == 3 and rest[0] == "Halt":
            column = source.index(rest[1], source.index("Halt") + 4) - indent
            try:
                steps = whole_number(rest[1])
                whole_number(rest[2])
            except ValueError as error:
                raise fail(f"'Halt <steps> <ones>': {error}", column) from None
            examples.append(Example(input="", verdict="halted", steps=steps))
        elif rest == ["Infinite"]:
            examples.append(Example(input="", verdict="running"))
        else:
            raise fail(f"unexpected text after the machine: {shorten(' '.join(rest))}", len(code) + 1)
    return TuringMachine(
        states=letters + halting, start="A", blank=BLANK, rules=rules,
        input_alphabet=symbols[1:], tape_alphabet=symbols, halt=halting,
        name=Path(filename).stem if filename else code, examples=examples, source_format=NAME,
        allow_unreachable=True, location=Location(filename, number, indent + 1),
    )


def machine_lines(path: str | Path) -> Iterator[tuple[int, str | DefinitionSyntaxError]]:
    """``(line number, text)`` for every machine line of a list of machines, one per line (how
    bbchallenge publishes them); blank lines and ``#`` comments are skipped. A line that is not
    UTF-8 comes as a :class:`DefinitionSyntaxError` in place of its text, so a reader can report
    that line and go on. Each text is read with ``loads(text, path, line=number)``.
    """
    with open(path, "rb") as stream:
        for number, raw in enumerate(stream, start=1):
            try:
                text = raw.decode("utf-8-sig" if number == 1 else "utf-8").rstrip("\r\n")
            except UnicodeDecodeError as error:
                yield number, DefinitionSyntaxError(
                    f"the line is not UTF-8 text (byte {error.start + 1})",
                    location=Location(str(path), number), hint="save the file as UTF-8")
                continue
            if text.strip() and not text.lstrip().startswith("#"):
                yield number, text
