"""Importer for Anthony Morphett's simulator text (awmorp/turing @ 896a3202), per FORMATS.md §2.

One rule per line, ``<state> <symbol> <new symbol> <direction> <new state> [!]``; ``;`` starts a
comment; ``_`` is the blank; directions ``l``, ``r``, ``*`` (stay), case-insensitive. ``*`` in the
first two fields is a wildcard, in the new-symbol / new-state fields it means "unchanged". The
simulator looks a rule up with the precedence exact (state, symbol) > (state, ``*``) >
(``*``, symbol) > (``*``, ``*``); a later line for the same pair replaces the earlier one. The
start state is ``0``; entering a state whose name starts with ``halt`` (any case) halts.

The importer expands the wildcards into explicit rules over the collected alphabet (every symbol
of a rule or of the ``$INITIAL_TAPE``, plus the blank), for every state that does not start with
``halt``; the expanded rules keep the line of the rule they came from. ``halt-accept`` becomes an
accept state, ``halt-reject`` a reject state, every other ``halt*`` state a halt state; rules written
for ``halt*`` states are dropped (the simulator never applies them). ``$INITIAL_TAPE`` becomes the
first example (no verdict), with spaces read as ``_``; as in the simulator, the first line that
mentions ``$INITIAL_TAPE:`` is then ignored, even if a rule precedes the comment on it.
"""

from __future__ import annotations

import re
from pathlib import Path

from turingformer.errors import DefinitionSyntaxError, Location
from turingformer.tm.machine import Example, Move, Rule, TuringMachine

NAME = "morphett"
BLANK = "_"
START = "0"
LINE_HINT = "a rule line is  <state> <symbol> <new symbol> <l|r|*> <new state>, e.g.  0 1 _ r 1i"
_DIRECTIONS = {"l": Move.L, "r": Move.R, "*": Move.S}
# The simulator's regex: ";.*\$INITIAL_TAPE:? *(.+)$" without the multiline flag, so it matches
# on the last line only (JavaScript's '.' stops at \r and \n, hence [^\r\n]).
_INITIAL_TAPE = re.compile(r";[^\r\n]*\$INITIAL_TAPE:? *([^\r\n]+)\Z")


def is_halting(state: str) -> bool:
    """Morphett's halting test: the name starts with ``halt``, in any case."""
    return state[:4].lower() == "halt"


def halting_role(state: str) -> str:
    lowered = state.lower()
    if lowered == "halt-accept":
        return "accept"
    if lowered == "halt-reject":
        return "reject"
    return "halt"


def initial_tape(text: str) -> tuple[str, int] | None:
    """The ``$INITIAL_TAPE`` value of a file and its 1-based line, or None.

    Like the simulator it must sit in a comment on the last line; one trailing line break is
    tolerated (editors add it; the site's own files have none).
    """
    body = text[:-2] if text.endswith("\r\n") else text[:-1] if text.endswith("\n") else text
    match = _INITIAL_TAPE.search(body)
    if match is None:
        return None
    line = body.count("\n", 0, match.start()) + 1
    return match.group(1), line


class _Line:
    __slots__ = ("state", "symbol", "write", "move", "next_state", "line")

    def __init__(self, state, symbol, write, move, next_state, line):
        self.state, self.symbol, self.write, self.move, self.next_state, self.line = (
            state, symbol, write, move, next_state, line)


def parse_line(text: str, number: int, filename: str | None) -> _Line | None:
    """One source line (1-based ``number``): a rule, or None for a blank/comment line."""
    tokens = text.split(";", 1)[0].split()
    if not tokens:
        return None

    def fail(problem: str) -> DefinitionSyntaxError:
        return DefinitionSyntaxError(f"syntax error on line {number}: {problem}",
                                     location=Location(filename, number, 1), hint=LINE_HINT)

    if len(tokens) < 2:
        raise fail("missing <current symbol>")
    if len(tokens[1]) > 1:
        raise fail(f"<current symbol> should be a single character, got {tokens[1]!r}")
    if len(tokens) < 3:
        raise fail("missing <new symbol>")
    if len(tokens[2]) > 1:
        raise fail(f"<new symbol> should be a single character, got {tokens[2]!r}")
    if len(tokens) < 4:
        raise fail("missing <direction>")
    if tokens[3].lower() not in _DIRECTIONS:
        raise fail(f"<direction> should be 'l', 'r' or '*', got {tokens[3]!r}")
    if len(tokens) < 5:
        raise fail("missing <new state>")
    if len(tokens) > 6 or (len(tokens) == 6 and tokens[5] != "!"):
        raise fail("too many entries (only a breakpoint '!' may follow the new state)")
    return _Line(tokens[0], tokens[1], tokens[2], _DIRECTIONS[tokens[3].lower()], tokens[4], number)


def loads(text: str, filename: str | None = None) -> TuringMachine:
    """Read a Morphett program, expanding its wildcards (see the module docstring)."""
    tape = initial_tape(text)
    lines = text.replace("\r", "").split("\n")
    if tape is not None:
        # Like the simulator, blank out the first line mentioning "$INITIAL_TAPE:" (even a rule on it).
        marked = next((i for i, line in enumerate(lines) if "$INITIAL_TAPE:" in line), None)
        if marked is not None:
            lines[marked] = ""
    program: dict[tuple[str, str], _Line] = {}      # later lines replace earlier ones
    for number, line_text in enumerate(lines, start=1):
        parsed = parse_line(line_text, number, filename)
        if parsed is not None:
            program[parsed.state, parsed.symbol] = parsed

    examples: list[Example] = []
    tape_symbols: list[str] = []
    if tape is not None:
        word, line = tape
        word = word.replace(" ", BLANK)
        if "*" in word[1:]:
            raise DefinitionSyntaxError(
                f"the $INITIAL_TAPE {tape[0]!r} puts the head (marked '*') after the first cell",
                location=Location(filename, line, 1),
                hint="turingformer starts the head on the first input cell: start the initial tape at the '*'")
        word = word.lstrip("*")
        tape_symbols = list(word)
        examples.append(Example(input=word, location=Location(filename, line, 1)))

    # Collect states and the alphabet in order of appearance.
    states = [START]
    symbols = [BLANK]
    for rule in program.values():
        states += [s for s in (rule.state, rule.next_state) if s != "*"]
        symbols += [s for s in (rule.symbol, rule.write) if s != "*"]
    states = list(dict.fromkeys(states))
    symbols = list(dict.fromkeys(symbols + tape_symbols))

    rules: list[Rule] = []
    for state in states:
        if is_halting(state):
            continue
        for symbol in symbols:
            found = (program.get((state, symbol)) or program.get((state, "*"))
                     or program.get(("*", symbol)) or program.get(("*", "*")))
            if found is None:
                continue
            rules.append(Rule(
                state, symbol, symbol if found.write == "*" else found.write, found.move,
                state if found.next_state == "*" else found.next_state,
                location=Location(filename, found.line, 1)))
    state_rank = {state: k for k, state in enumerate(states)}
    symbol_rank = {symbol: k for k, symbol in enumerate(symbols)}
    rules.sort(key=lambda r: (r.location.line, state_rank[r.state], symbol_rank[r.read]))

    roles: dict[str, list[str]] = {"accept": [], "reject": [], "halt": []}
    for state in states:
        if is_halting(state):
            roles[halting_role(state)].append(state)
    return TuringMachine(
        states=states, start=START, blank=BLANK, rules=rules,
        input_alphabet=[s for s in symbols if s != BLANK], tape_alphabet=symbols, **roles,
        name=Path(filename).stem if filename else "", examples=examples, source_format=NAME,
        allow_unreachable=True, location=Location(filename),
    )
