"""The project's own YAML format (``docs/format.md``): load with source positions, dump, round trip.

``loads(dumps(m)) == m`` for every machine ``m``; names, descriptions and examples survive too.
"""

from __future__ import annotations

from pathlib import Path

import yaml

from turingformer.errors import (
    BlankSymbolError,
    DefinitionSyntaxError,
    InputError,
    Location,
    MachineError,
    MissingKeyError,
    StartStateError,
    TuringformerError,
    UndeclaredStateError,
    UnknownSymbolError,
    UnreachableStateError,
    shorten,
)
from turingformer.tm.machine import HALTING_ROLES, Example, Move, Rule, TuringMachine
from . import _yaml as Y
from ._text import whole_number

NAME = "turingformer"
KEYS = ("name", "description", "blank", "input alphabet", "tape alphabet", "states", "start",
        "accept", "reject", "halt", "allow unreachable", "rules", "examples")
EXAMPLE_KEYS = ("input", "verdict", "tape", "steps", "final state")
VERDICTS = ("accept", "reject", "halted", "running")
RULE_HINT = "a rule is  symbol: [write, move, next state], e.g. '0': ['1', R, carry]"
_TRUE = ("true", "True", "TRUE")
_FALSE = ("false", "False", "FALSE")


def loads(text: str, filename: str | None = None) -> TuringMachine:
    """Read a machine in the turingformer YAML format (see ``docs/format.md``)."""
    return _Reader(filename).read(text)


class _Reader(Y.NodeReader):
    # ------------------------------------------------------------------ pieces
    def symbol(self, node: yaml.Node, what: str) -> str:
        text = Y.scalar(node, what, self.file, hint="write one character, quoted if needed: '0', ' '")
        if len(text) != 1:
            raise UnknownSymbolError(f"{what} must be one character, got {shorten(text)}", location=self.at(node),
                                     hint="tape symbols are single characters; quote them: '0', '_', ' '")
        return text

    def symbols(self, node: yaml.Node, what: str) -> list[tuple[str, yaml.Node]]:
        items = Y.sequence(node, what, self.file, hint="write a list such as ['0', '1']")
        return [(self.symbol(item, f"a symbol of {what}"), item) for item in items]

    def state_list(self, node: yaml.Node, what: str) -> list[tuple[str, yaml.Node]]:
        items = Y.sequence(node, what, self.file, hint="write a list such as [q0, q1, done]")
        return [(Y.scalar(item, f"a state in {what}", self.file), item) for item in items]

    # ------------------------------------------------------------------ the document
    def read(self, text: str) -> TuringMachine:
        root = Y.compose(text, self.file)
        if root is None:
            raise MissingKeyError("the file is empty", location=Location(self.file),
                                  hint="a machine needs blank, input alphabet, states, start and rules")
        fields = Y.keyed(Y.mapping(root, "the machine", self.file, null_ok=False), KEYS,
                         "the machine", self.file)
        value = {k: v for k, (_, v) in fields.items()}
        key = {k: kn for k, (kn, _) in fields.items()}

        name = Y.scalar(value["name"], "name", self.file) if "name" in value else ""
        if not name and self.file:
            name = Path(self.file).stem
        description = Y.scalar(value["description"], "description", self.file) if "description" in value else ""

        # blank and alphabets
        if "blank" not in value:
            raise BlankSymbolError("the machine has no blank symbol (key 'blank')", location=Location(self.file),
                                   hint="add e.g.  blank: '_'")
        blank_node = value["blank"]
        blank = Y.scalar(blank_node, "blank", self.file, hint="add e.g.  blank: '_'")
        if len(blank) != 1:
            raise BlankSymbolError(f"the blank must be exactly one character, got {shorten(blank)}",
                                   location=self.at(blank_node), hint="declare e.g.  blank: '_'  or  blank: ' '")
        if "input alphabet" not in value:
            raise MissingKeyError("the machine has no 'input alphabet'", location=Location(self.file),
                                  hint="add e.g.  input alphabet: ['0', '1']")
        input_alphabet = self.symbols(value["input alphabet"], "the input alphabet")
        for symbol, node in input_alphabet:
            if symbol == blank:
                raise BlankSymbolError(f"the blank {shorten(blank)} is also in the input alphabet", location=self.at(node),
                                       hint="remove the blank from the input alphabet (inputs may still contain it)")
        tape_alphabet = (self.symbols(value["tape alphabet"], "the tape alphabet")
                         if "tape alphabet" in value else None)

        # states and roles
        if "states" not in value:
            raise MissingKeyError("the machine has no 'states' list", location=Location(self.file),
                                  hint="list every state, halting ones included:  states: [q0, q1, done]")
        states = self.state_list(value["states"], "states")
        if not states:
            raise MissingKeyError("the 'states' list is empty", location=self.at(value["states"]),
                                  hint="list every state, halting ones included:  states: [q0, q1, done]")
        declared: dict[str, yaml.Node] = {}
        for state, node in states:
            if state in declared:
                raise MachineError(f"the state {shorten(state)} is listed twice (first at line {self.at(declared[state]).line})",
                                   location=self.at(node), hint="list each state once")
            declared[state] = node
        roles: dict[str, list[str]] = {}
        role_of: dict[str, str] = {}
        for role in HALTING_ROLES:
            roles[role] = []
            if role not in value:
                continue
            for state, node in self.state_list(value[role], role):
                self.check_declared(state, node, declared, f"the {role} state")
                if state in role_of:
                    raise MachineError(f"state {shorten(state)} is both {role_of[state]} and {role}", location=self.at(node),
                                       hint="a halting state either accepts, rejects or halts")
                role_of[state] = role
                roles[role].append(state)
        if "start" not in value:
            raise StartStateError("the machine has no start state (key 'start')", location=Location(self.file),
                                  hint=f"add e.g.  start: {states[0][0]}")
        start_node = value["start"]
        start = Y.scalar(start_node, "start", self.file)
        if start not in declared:
            guess = Y.suggest(start, declared)
            raise StartStateError(f"the start state {shorten(start)} is not a declared state", location=self.at(start_node),
                                  hint=(guess + " " if guess else "") + f"declared: {', '.join(declared)}")
        if start in role_of:
            raise StartStateError(f"the start state {shorten(start)} is a halting ({role_of[start]}) state",
                                  location=self.at(start_node), hint="start in a state that has rules")
        allow_unreachable = False
        if "allow unreachable" in value:
            flag = Y.scalar(value["allow unreachable"], "allow unreachable", self.file)
            if flag not in _TRUE + _FALSE:
                raise DefinitionSyntaxError(f"'allow unreachable' must be true or false, got {shorten(flag)}",
                                            location=self.at(value["allow unreachable"]), hint="write  allow unreachable: true")
            allow_unreachable = flag in _TRUE

        # rules
        if "rules" not in value:
            raise MissingKeyError("the machine has no 'rules'", location=Location(self.file),
                                  hint="add  rules:  mapping each state to  symbol: [write, move, next state]")
        rules = self.rules(value["rules"], declared)

        examples = self.examples(value["examples"]) if "examples" in value else []

        try:
            machine = TuringMachine(
                states=list(declared), start=start, blank=blank, rules=rules,
                input_alphabet=[s for s, _ in input_alphabet],
                tape_alphabet=[s for s, _ in tape_alphabet] if tape_alphabet is not None else None,
                **roles, name=name, description=description, examples=[e for e, _ in examples],
                source_format=NAME, allow_unreachable=allow_unreachable, location=Location(self.file),
            )
        except UnreachableStateError as error:
            lost = TuringMachine(
                states=list(declared), start=start, blank=blank, rules=rules,
                input_alphabet=[s for s, _ in input_alphabet],
                tape_alphabet=[s for s, _ in tape_alphabet] if tape_alphabet is not None else None,
                **roles, allow_unreachable=True,
            ).unreachable_states()
            raise error.with_location(self.at(declared[lost[0]])) from None
        except TuringformerError as error:
            fallback = {StartStateError: start_node, BlankSymbolError: blank_node,
                        UnknownSymbolError: value.get("tape alphabet", value["input alphabet"])}
            node = next((n for t, n in fallback.items() if isinstance(error, t)), key.get("states"))
            raise error.with_location(self.at(node)) from None
        for example, node in examples:
            try:
                machine.check_input(example.input, source="example input")
            except InputError as error:
                raise error.with_location(self.at(node)) from None
        return machine

    def check_declared(self, state: str, node: yaml.Node, declared, what: str) -> None:
        if state not in declared:
            guess = Y.suggest(state, declared)
            raise UndeclaredStateError(f"{what} {shorten(state)} is not declared in 'states'", location=self.at(node),
                                       hint=(guess + " " if guess else "") + f"declared: {', '.join(declared)}")

    def rules(self, node: yaml.Node, declared) -> list[Rule]:
        rules: list[Rule] = []
        for state_node, table in Y.mapping(node, "rules", self.file, hint="map each state to its rules"):
            state = Y.scalar(state_node, "a state in 'rules'", self.file)
            self.check_declared(state, state_node, declared, "the state")
            for read_node, spec in Y.mapping(table, f"the rules of state {shorten(state)}", self.file, hint=RULE_HINT):
                read = self.symbol(read_node, f"the symbol read by a rule of state {shorten(state)}")
                where = self.at(read_node)
                parts = Y.sequence(spec, f"the rule for state {shorten(state)} reading {shorten(read)}", self.file, hint=RULE_HINT)
                if len(parts) != 3:
                    raise DefinitionSyntaxError(
                        f"the rule for state {shorten(state)} reading {shorten(read)} has {len(parts)} entries, not 3",
                        location=self.at(spec), hint=RULE_HINT)
                write = self.symbol(parts[0], f"the symbol written by the rule for ({state}, {shorten(read)})")
                move = Y.scalar(parts[1], "a move", self.file)
                if move not in ("L", "R", "S"):
                    raise DefinitionSyntaxError(
                        f"the rule for state {shorten(state)} reading {shorten(read)} has the move {shorten(move)}",
                        location=self.at(parts[1]), hint="a move is L (left), R (right) or S (stay)")
                next_state = Y.scalar(parts[2], "the next state", self.file)
                if next_state not in declared:
                    guess = Y.suggest(next_state, declared)
                    raise UndeclaredStateError(
                        f"the rule for state {shorten(state)} reading {shorten(read)} goes to the undeclared state {shorten(next_state)}",
                        location=self.at(parts[2]),
                        hint=(guess + " " if guess else "") + f"declared: {', '.join(declared)}")
                rules.append(Rule(state, read, write, Move(move), next_state, location=where))
        return rules

    def examples(self, node: yaml.Node) -> list[tuple[Example, yaml.Node]]:
        out = []
        for item in Y.sequence(node, "examples", self.file, hint="write e.g.  - {input: '1011', verdict: halted}"):
            fields = Y.keyed(Y.mapping(item, "an example", self.file, null_ok=False), EXAMPLE_KEYS,
                             "an example", self.file)
            if "input" not in fields:
                raise MissingKeyError("an example has no 'input'", location=self.at(item),
                                      hint="write e.g.  - {input: '1011', verdict: halted}")
            text = {k: Y.scalar(v, f"the example's {k!r}", self.file) for k, (_, v) in fields.items()}
            verdict = text.get("verdict")
            if verdict is not None and verdict not in VERDICTS:
                raise DefinitionSyntaxError(f"unknown verdict {shorten(verdict)}", location=self.at(fields["verdict"][1]),
                                            hint=f"a verdict is one of {', '.join(VERDICTS)}")
            steps = None
            if "steps" in text:
                try:
                    steps = whole_number(text["steps"])
                except ValueError as error:
                    raise DefinitionSyntaxError(f"the example's steps must be a whole number: {error}",
                                                location=self.at(fields["steps"][1]), hint="write e.g.  steps: 8") from None
            example = Example(input=text["input"], verdict=verdict, tape=text.get("tape"), steps=steps,
                              final_state=text.get("final state"), location=self.at(item))
            out.append((example, item))
        return out


# ---------------------------------------------------------------------------- writing
def dumps(machine: TuringMachine) -> str:
    """The machine in the turingformer YAML format; :func:`loads` reads it back equal."""
    q = Y.dump_scalar
    lines: list[str] = []
    if machine.source_format and machine.source_format != NAME:
        lines.append(f"# converted from the {machine.source_format} format by turingformer")
    if machine.name:
        lines.append(f"name: {q(machine.name)}")
    if machine.description:
        lines.append(f"description: {Y.dump_text(machine.description)}")
    lines.append(f"blank: {q(machine.blank, quote=True)}")
    lines.append(f"input alphabet: {Y.dump_flow_list(machine.input_alphabet, quote=True)}")
    used = [s for r in machine.rules for s in (r.read, r.write)]
    default_tape = tuple(dict.fromkeys([machine.blank, *machine.input_alphabet, *used]))
    if machine.tape_alphabet != default_tape:
        lines.append(f"tape alphabet: {Y.dump_flow_list(machine.tape_alphabet, quote=True)}")
    lines.append(f"states: {Y.dump_flow_list(machine.states)}")
    lines.append(f"start: {q(machine.start)}")
    for role in HALTING_ROLES:
        members = [s for s in machine.states if machine.role(s) == role]
        if members:
            lines.append(f"{role}: {Y.dump_flow_list(members)}")
    if machine.unreachable_states():
        lines.append("allow unreachable: true")
    lines.append("rules:")
    by_state: dict[str, list[Rule]] = {}
    for rule in machine.rules:
        by_state.setdefault(rule.state, []).append(rule)
    if not by_state:
        lines[-1] = "rules: {}"
    for state in machine.states:
        if state not in by_state:
            continue
        lines.append(Y.block_key(q(state), "  "))
        for rule in by_state[state]:
            lines.append(f"    {q(rule.read, quote=True)}: "
                         f"[{q(rule.write, quote=True)}, {rule.move.value}, {q(rule.next_state)}]")
    if machine.examples:
        lines.append("examples:")
        for example in machine.examples:
            parts = [f"input: {q(example.input, quote=True)}"]
            if example.verdict is not None:
                parts.append(f"verdict: {example.verdict}")
            if example.tape is not None:
                parts.append(f"tape: {q(example.tape, quote=True)}")
            if example.steps is not None:
                parts.append(f"steps: {example.steps}")
            if example.final_state is not None:
                parts.append(f"final state: {q(example.final_state)}")
            lines.append("  - {" + ", ".join(parts) + "}")
    return "\n".join(lines) + "\n"
