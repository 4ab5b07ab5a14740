"""Importer for automata-lib DTMs (caleb531/automata, ``automata/tm/dtm.py``) as JSON, per FORMATS.md §4.

The JSON object holds the constructor's keyword arguments, sets as lists and tuples as lists::

    {"states": [...], "input_symbols": [...], "tape_symbols": [...],
     "transitions": {"q0": {"0": ["q1", "x", "R"]}},      # [next state, write, direction]
     "initial_state": "q0", "blank_symbol": ".", "final_states": ["q4"]}

Note the order of a transition: **next state first**, then the symbol to write, then ``L``, ``R``
or ``N`` (no move, imported as ``S``). ``final_states`` become accept states: the library accepts
as soon as one is entered and rejects where no transition applies. Keys starting with ``_`` are
provenance notes and are ignored.
"""

from __future__ import annotations

import bisect
import json
import json.decoder
import json.scanner
import re
from decimal import Decimal
from pathlib import Path

from turingformer.errors import DefinitionSyntaxError, Location, MissingKeyError, UnknownKeyError, shorten
from turingformer.tm.machine import Move, Rule, TuringMachine
from . import _yaml

NAME = "automata-lib"
KEYS = ("states", "input_symbols", "tape_symbols", "transitions", "initial_state", "blank_symbol",
        "final_states")
_MOVES = {"L": Move.L, "R": Move.R, "N": Move.S}
TRANSITION_HINT = 'a transition is [next state, write, direction], e.g. "0": ["q1", "x", "R"]'


class _Array(list):
    """A JSON array that remembers where it started (a character offset)."""

    pos = 0


def _decoder() -> json.JSONDecoder:
    """A JSON decoder whose arrays remember their offsets and whose numbers are Decimals (no
    digit limit: only strings matter in a DTM, a number is an error reported where it stands)."""
    decoder = json.JSONDecoder(parse_int=Decimal, parse_float=Decimal)

    def parse_array(s_and_end, scan_once):
        start = s_and_end[1] - 1
        values, end = json.decoder.JSONArray(s_and_end, scan_once)
        array = _Array(values)
        array.pos = start
        return array, end

    decoder.parse_array = parse_array
    decoder.scan_once = json.scanner.py_make_scanner(decoder)   # the C scanner ignores parse_array
    return decoder


def _show(value) -> str:
    """A JSON value as written (numbers included), shortened for a message."""
    return shorten(json.dumps(value, default=str, ensure_ascii=False))[1:-1]


def loads(text: str, filename: str | None = None) -> TuringMachine:
    """Read an automata-lib DTM from its JSON transcription."""

    starts = [0, *(m.end() for m in re.finditer("\n", text))]   # offset of each line, for bisect

    def at(offset: int | None) -> Location:
        if offset is None:
            return Location(filename)
        line = bisect.bisect_right(starts, offset)
        return Location(filename, line, offset - starts[line - 1] + 1)

    try:
        data = _decoder().decode(text)
    except json.JSONDecodeError as error:
        raise DefinitionSyntaxError(f"malformed JSON: {error.msg}", location=Location(filename, error.lineno, error.colno),
                                    hint="check commas, quotes and brackets") from None
    except RecursionError:
        depth = max(text.count("["), text.count("{"))
        raise DefinitionSyntaxError(f"the JSON nests too deeply (up to {depth:,} brackets) for a DTM",
                                    location=Location(filename),
                                    hint="a DTM is one object of lists of strings and a transitions object "
                                         "two levels deep") from None
    if not isinstance(data, dict):
        raise DefinitionSyntaxError("an automata-lib DTM is a JSON object of the DTM constructor's arguments",
                                    location=Location(filename, 1, 1), hint=f"give the keys {', '.join(KEYS)}")
    for key in data:
        if key.startswith("_"):
            continue
        if key not in KEYS:
            guess = _yaml.suggest(key, KEYS)
            raise UnknownKeyError(f"unknown key {shorten(key)} (DTM has no such argument)", location=Location(filename),
                                  hint=(guess + " " if guess else "") + f"the keys are: {', '.join(KEYS)}")
    missing = [k for k in KEYS if k not in data]
    if missing:
        raise MissingKeyError(f"the DTM lacks {', '.join(map(repr, missing))}", location=Location(filename),
                              hint=f"a DTM needs {', '.join(KEYS)}")

    def strings(key: str) -> list[str]:
        value = data[key]
        if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
            raise DefinitionSyntaxError(f"{shorten(key)} must be a list of strings", location=at(getattr(value, "pos", None)),
                                        hint=f'write e.g. "{key}": ["q0", "q1"]')
        return value

    def string(key: str) -> str:
        if not isinstance(data[key], str):
            raise DefinitionSyntaxError(f"{shorten(key)} must be a string", location=Location(filename),
                                        hint=f'write e.g. "{key}": "q0"')
        return data[key]

    states, input_symbols, tape_symbols = strings("states"), strings("input_symbols"), strings("tape_symbols")
    finals = strings("final_states")
    start, blank = string("initial_state"), string("blank_symbol")
    transitions = data["transitions"]
    if not isinstance(transitions, dict):
        raise DefinitionSyntaxError("'transitions' must be an object state -> symbol -> [next state, write, direction]",
                                    location=Location(filename), hint=TRANSITION_HINT)
    rules: list[Rule] = []
    for state, table in transitions.items():
        if not isinstance(table, dict):
            raise DefinitionSyntaxError(f"the transitions of state {shorten(state)} must be an object symbol -> transition",
                                        location=Location(filename), hint=TRANSITION_HINT)
        for read, spec in table.items():
            where = at(getattr(spec, "pos", None))
            if not (isinstance(spec, list) and len(spec) == 3 and all(isinstance(v, str) for v in spec)):
                raise DefinitionSyntaxError(f"the transition of state {shorten(state)} reading {shorten(read)} is not "
                                            f"[next state, write, direction]: {_show(spec)}",
                                            location=where, hint=TRANSITION_HINT)
            next_state, write, direction = spec
            if direction not in _MOVES:
                hint = (" (the order is next state, write, direction)"
                        if write in _MOVES and direction not in _MOVES else "")
                raise DefinitionSyntaxError(
                    f"the transition of state {shorten(state)} reading {shorten(read)} has the direction {shorten(direction)}{hint}",
                    location=where, hint="a direction is L, R or N (no move)")
            rules.append(Rule(state, read, write, _MOVES[direction], next_state, location=where))
    return TuringMachine(
        states=states, start=start, blank=blank, rules=rules, input_alphabet=input_symbols,
        tape_alphabet=tape_symbols, accept=finals, name=Path(filename).stem if filename else "",
        source_format=NAME, allow_unreachable=True, location=Location(filename),
    )
