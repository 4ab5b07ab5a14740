"""Importer for turingmachine.io YAML (aepsilon/turing-machine-viz @ b4dab9e4), per FORMATS.md §1.

The file is the ``source code`` of a turingmachine.io document::

    input: '1011'            # optional default input
    blank: ' '               # required, one character after String()
    start state: right       # required, a key of table
    synonyms:                # optional: name -> instruction
      accept: {R: accept}
    table:                   # state -> null (a halting state) | symbol key -> instruction
      right:
        [1,0]: R             # a list key stands for each of its symbols
        ' '  : {L: carry}    # {write: c, L|R: next}; an omitted write keeps the symbol,
      carry:                 # an omitted / null next state keeps the state
        1      : {write: 0, L}
        [0,' ']: {write: 1, L: done}
      done:                  # empty entry: a halting state

Every scalar is read as its exact text (js-yaml's YAML 1.2 reading of the shipped files; PyYAML
would turn ``0111`` into 73). There is no stay move. Halting states (empty entries) named
``accept`` get the accept role, ``reject`` the reject role, the others the halt role. The
default ``input`` becomes the machine's first :class:`~turingformer.tm.machine.Example` (no verdict).
"""

from __future__ import annotations

from pathlib import Path

import yaml

from turingformer.errors import (
    BlankSymbolError,
    DefinitionSyntaxError,
    DuplicateRuleError,
    Location,
    MissingKeyError,
    StartStateError,
    UndeclaredStateError,
    UnknownKeyError,
    UnknownSymbolError,
    shorten,
)
from turingformer.tm.machine import Example, Move, Rule, TuringMachine
from . import _yaml as Y

NAME = "turingmachine.io"
INSTRUCTION_HINT = ("an instruction is L, R, a synonym, or a mapping with one of L/R and an optional "
                    "write, e.g. {write: 1, R: next} or {L: } (stay in the same state)")


def split_symbol_key(key: str) -> list[str]:
    """The symbols a table key stands for.

    js-yaml turns a list key ``[a, b, ' ']`` into the string ``"a,b, "`` and the diagram code splits
    it on commas; two consecutive empty parts stand for the comma symbol itself (``[',', a]`` is
    ``",,a"``). A key without a comma is the symbol itself.
    """
    if "," not in key:
        return [key]
    parts = key.split(",")
    symbols: list[str] = []
    i = 0
    while i < len(parts):
        if parts[i] == "" and i + 1 < len(parts) and parts[i + 1] == "":
            symbols.append(",")
            i += 2
        else:
            symbols.append(parts[i])
            i += 1
    return symbols


#: The longest text a composed key may stand for (aliases can make a short file spell a huge key).
MAX_KEY = 100_000


def _js_string(node: yaml.Node, filename: str | None = None) -> str:
    """JavaScript's String() of a composed key: scalars as written, lists joined by commas.

    Iterative, so nesting depth costs no stack; a list that contains itself (a recursive alias,
    ``? &a [*a]``) and a key longer than :data:`MAX_KEY` are :class:`DefinitionSyntaxError` errors.
    """
    parts: list[str] = []
    size = 0
    open_lists: set[int] = set()
    stack: list[object] = [node]          # nodes to render, ``","`` separators and list-end markers
    while stack:
        item = stack.pop()
        if isinstance(item, str):
            parts.append(item)
            size += len(item)
        elif isinstance(item, tuple):     # ("end", list node)
            open_lists.discard(id(item[1]))
        elif isinstance(item, yaml.SequenceNode):
            if id(item) in open_lists:
                raise DefinitionSyntaxError("a list that contains itself (a recursive alias) cannot be a key or name",
                                            location=Y.location(item, filename),
                                            hint="write the symbols out, e.g. [a, b]: R")
            open_lists.add(id(item))
            stack.append(("end", item))
            for k, child in enumerate(reversed(item.value)):
                stack.append(child)
                if k < len(item.value) - 1:
                    stack.append(",")
        elif isinstance(item, yaml.MappingNode):
            stack.append("[object Object]")
        else:
            stack.append("" if Y.is_null(item) else item.value)
        if size > MAX_KEY:
            raise DefinitionSyntaxError(f"a key spells more than {MAX_KEY:,} characters",
                                        location=Y.location(node, filename),
                                        hint="keys are state names and symbols; check the aliases (*name) it uses")
    return "".join(parts)


class _Instruction:
    __slots__ = ("write", "move", "state")

    def __init__(self, write: str | None, move: Move, state: str | None):
        self.write, self.move, self.state = write, move, state


def loads(text: str, filename: str | None = None) -> TuringMachine:
    """Read a turingmachine.io machine (the ``source code`` text of a document)."""
    return _Reader(filename).read(text)


class _Reader(Y.NodeReader):
    def read(self, text: str) -> TuringMachine:
        root = Y.compose(text, self.file)
        if root is None:
            raise MissingKeyError("the document is empty", location=Location(self.file),
                                  hint="a turingmachine.io machine needs blank, start state and table")
        top: dict[str, tuple[yaml.Node, yaml.Node]] = {}
        for key, value in Y.mapping(root, "the document", self.file, null_ok=False):
            name = _js_string(key, self.file)
            if name in top:
                raise DefinitionSyntaxError(f"duplicated mapping key {shorten(name)} (first at line {self.at(top[name][0]).line})",
                                            location=self.at(key), hint="keep one of them")
            top[name] = (key, value)   # other keys (name, positions, ...) are ignored, as on the site

        # blank
        if "blank" not in top or Y.is_null(top["blank"][1]):
            raise BlankSymbolError("no blank symbol was specified (key 'blank')",
                                   location=self.at(top["blank"][0]) if "blank" in top else Location(self.file),
                                   hint="examples: blank: ' ', blank: '0'")
        blank_node = top["blank"][1]
        blank = Y.scalar(blank_node, "blank", self.file)
        if len(blank) != 1:
            raise BlankSymbolError(f"the blank symbol must be a string of length 1, got {shorten(blank)}",
                                   location=self.at(blank_node), hint="examples: blank: ' ', blank: '0'")
        # start state
        if "start state" not in top or Y.is_null(top["start state"][1]):
            raise StartStateError("no start state was specified", location=(
                self.at(top["start state"][0]) if "start state" in top else Location(self.file)),
                hint="assign one using  start state: <name>")
        start_node = top["start state"][1]
        start = Y.scalar(start_node, "start state", self.file)
        # table
        if "table" not in top or Y.is_null(top["table"][1]):
            raise MissingKeyError("missing transition table (key 'table')", location=(
                self.at(top["table"][0]) if "table" in top else Location(self.file)),
                hint="specify one using  table:  (state -> symbol -> instruction)")
        table_pairs = Y.mapping(top["table"][1], "the transition table", self.file, null_ok=False,
                                hint="the table maps states to symbols to instructions")
        states: dict[str, tuple[yaml.Node, yaml.Node]] = {}
        for key, value in table_pairs:
            state = _js_string(key, self.file)
            if state in states:
                raise DefinitionSyntaxError(f"duplicated mapping key: the state {shorten(state)} appears twice in the table "
                                            f"(first at line {self.at(states[state][0]).line})",
                                            location=self.at(key), hint="merge the two entries")
            states[state] = (key, value)
        if start not in states:
            guess = Y.suggest(start, states)
            raise StartStateError(f"the start state {shorten(start)} has to be declared in the transition table",
                                  location=self.at(start_node),
                                  hint=(guess + " " if guess else "") + f"states: {', '.join(states)}")

        synonyms = self.synonyms(top["synonyms"][1], states) if "synonyms" in top else {}

        # rules
        rules: list[Rule] = []
        seen: dict[tuple[str, str], Location] = {}
        halting: list[str] = []
        symbols: list[str] = [blank]
        for state, (key, entry) in states.items():
            if Y.is_null(entry):
                halting.append(state)
                continue
            pairs = Y.mapping(entry, f"the entry of state {shorten(state)}", self.file, null_ok=False,
                              hint="each state maps symbols to instructions; an empty entry is a halting state")
            for symbol_key, value in pairs:
                where = self.at(symbol_key)
                instruction = self.instruction(value, synonyms, states, f"state {shorten(state)}, symbol key "
                                               f"{_js_string(symbol_key, self.file)!r}")
                for symbol in split_symbol_key(_js_string(symbol_key, self.file)):
                    if len(symbol) != 1:
                        raise UnknownSymbolError(
                            f"the symbol {shorten(symbol)} in the table of state {shorten(state)} is not one character",
                            location=where, hint="symbols are single characters; list several as [a, b]")
                    if (state, symbol) in seen:
                        raise DuplicateRuleError(
                            f"two instructions for state {shorten(state)} and symbol {shorten(symbol)}: line "
                            f"{seen[state, symbol].line} and line {where.line}",
                            location=where, hint="keep one instruction per (state, symbol)")
                    seen[state, symbol] = where
                    write = symbol if instruction.write is None else instruction.write
                    target = state if instruction.state is None else instruction.state
                    symbols += [symbol, write]
                    rules.append(Rule(state, symbol, write, instruction.move, target, location=where))

        # input
        examples = []
        if "input" in top:
            node = top["input"][1]
            word = "" if Y.is_null(node) else Y.scalar(node, "input", self.file)
            symbols += list(word)
            examples.append(Example(input=word, location=self.at(node)))

        alphabet = list(dict.fromkeys(symbols))
        name_node = top.get("name", (None, None))[1]
        name = (name_node.value if isinstance(name_node, yaml.ScalarNode) and not Y.is_null(name_node)
                else (Path(self.file).stem if self.file else ""))
        roles = {"accept": [s for s in halting if s == "accept"],
                 "reject": [s for s in halting if s == "reject"],
                 "halt": [s for s in halting if s not in ("accept", "reject")]}
        return TuringMachine(
            states=list(states), start=start, blank=blank, rules=rules,
            input_alphabet=[s for s in alphabet if s != blank], tape_alphabet=alphabet, **roles,
            name=name, examples=examples, source_format=NAME, allow_unreachable=True,
            location=self.at(start_node),
        )

    def synonyms(self, node: yaml.Node, states) -> dict[str, _Instruction]:
        pairs = Y.mapping(node, "synonyms", self.file, hint="synonyms map names to instructions, e.g. accept: {R: accept}")
        out: dict[str, _Instruction] = {}
        for key, value in pairs:
            name = _js_string(key, self.file)
            out[name] = self.instruction(value, None, states, f"the synonym {shorten(name)}")
        return out

    def instruction(self, node: yaml.Node, synonyms: dict[str, _Instruction] | None, states, where: str) -> _Instruction:
        if isinstance(node, yaml.ScalarNode) and not Y.is_null(node):
            text = node.value
            if text == "L":
                return _Instruction(None, Move.L, None)
            if text == "R":
                return _Instruction(None, Move.R, None)
            if synonyms and text in synonyms:
                return synonyms[text]
            info = (" (a synonym cannot be defined using another synonym)" if synonyms is None else "")
            raise DefinitionSyntaxError(f"unrecognized string {shorten(text)} as the instruction for {where}{info}",
                                        location=self.at(node), hint=INSTRUCTION_HINT)
        if not isinstance(node, yaml.MappingNode):
            raise DefinitionSyntaxError(f"missing or invalid instruction for {where}: {Y.kind(node)}",
                                        location=self.at(node), hint=INSTRUCTION_HINT)
        keys: dict[str, yaml.Node] = {}
        for key, value in node.value:
            name = _js_string(key, self.file)
            if name not in ("L", "R", "write"):
                guess = Y.suggest(name, ("L", "R", "write"))
                stay = " turingmachine.io has no stay move;" if name in ("N", "S") else ""
                raise UnknownKeyError(f"unrecognized key {shorten(name)} in the instruction for {where}",
                                      location=self.at(key),
                                      hint=f"{guess + ' ' if guess else ''}{stay} {INSTRUCTION_HINT}".strip())
            keys[name] = value
        if "L" in keys and "R" in keys:
            raise DefinitionSyntaxError(f"conflicting tape movements in the instruction for {where}",
                                        location=self.at(node), hint="each instruction moves L or R, not both")
        if "L" not in keys and "R" not in keys:
            raise DefinitionSyntaxError(f"missing movement direction in the instruction for {where}",
                                        location=self.at(node), hint=INSTRUCTION_HINT)
        move = Move.L if "L" in keys else Move.R
        target_node = keys[move.value]
        target = None if Y.is_null(target_node) else Y.scalar(target_node, "the next state", self.file)
        if target is not None and target not in states:
            guess = Y.suggest(target, states)
            raise UndeclaredStateError(f"undeclared state {shorten(target)} in the instruction for {where}",
                                       location=self.at(target_node),
                                       hint=(guess + " " if guess else "") +
                                       "list every state in the table (an empty entry for a halting state)")
        write = None
        if "write" in keys:
            write_node = keys["write"]
            write = "null" if Y.is_null(write_node) else Y.scalar(write_node, "write", self.file)
            if len(write) != 1:
                raise UnknownSymbolError(f"write requires a string of length 1, got {shorten(write)} in the instruction "
                                         f"for {where}", location=self.at(write_node),
                                         hint="write one character, quoted if needed: write: ' '")
        return _Instruction(write, move, target)
