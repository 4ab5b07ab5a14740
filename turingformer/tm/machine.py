"""Stage 1: the Turing machine as an immutable, validated networkx transition graph.

A :class:`TuringMachine` is a deterministic single-tape machine over a two-way unbounded tape:

* states are the nodes of a :class:`networkx.MultiDiGraph`; each node carries the boolean
  attributes ``start``, ``accept``, ``reject`` and ``halt`` (a halting state that neither
  accepts nor rejects);
* every rule ``δ(q, a) = (p, b, m)`` is one edge ``q -> p`` with key ``a`` and the attributes
  ``read=a``, ``write=b``, ``move=m`` (``"L"``, ``"R"`` or ``"S"``); keying the edge by the read
  symbol makes "one rule per (state, symbol)" a property of the graph itself;
* the graph attributes ``blank``, ``input_alphabet`` and ``tape_alphabet`` (tuples of
  one-character strings), ``name`` and ``allow_unreachable`` (true exactly when some state
  cannot be reached, so that such a graph builds again) complete the definition.

The machine is validated once, in the constructor, and raises a precise
:class:`~turingformer.errors.MachineError` subclass naming the offending rule (with its source
line when the loader knew it). Afterwards it cannot change: :attr:`TuringMachine.graph` is a
frozen graph, and :meth:`TuringMachine.to_graph` hands back an editable copy from which
:meth:`TuringMachine.from_graph` builds a new machine (graph -> machine -> graph is lossless).

Halting convention: a machine halts when it enters a halting state (accept, reject or halt,
none of which may have rules) or when no rule matches the current (state, symbol).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import Enum
from typing import Iterable, Mapping

import networkx as nx

from turingformer.errors import (
    BlankSymbolError,
    DuplicateRuleError,
    Location,
    MachineError,
    StartStateError,
    UndeclaredStateError,
    UnknownSymbolError,
    UnreachableStateError,
    check_word,
)


class Move(str, Enum):
    """Head move of one rule: left, right or stay."""

    L = "L"
    R = "R"
    S = "S"

    @property
    def delta(self) -> int:
        """The change of the head position: -1, +1 or 0."""
        return {"L": -1, "R": 1, "S": 0}[self.value]

    def __str__(self) -> str:
        return self.value


@dataclass(frozen=True, order=True)
class Rule:
    """One transition δ(state, read) = (next_state, write, move).

    ``location`` records where the rule was written; it is not part of equality.
    """

    state: str
    read: str
    write: str
    move: Move
    next_state: str
    location: Location | None = field(default=None, compare=False, repr=False)

    def __post_init__(self) -> None:
        if not isinstance(self.move, Move):
            object.__setattr__(self, "move", Move(self.move))

    def __str__(self) -> str:
        return f"δ({self.state}, {self.read!r}) = ({self.next_state}, {self.write!r}, {self.move})"


@dataclass(frozen=True)
class Example:
    """An input with the outcome its author expects; every field but ``input`` is optional.

    ``verdict`` is ``accept``, ``reject``, ``halted`` or ``running``; ``tape`` is the tape after the
    run as :meth:`turingformer.tm.simulator.Tape.span` prints it (blanks shown as the blank symbol).
    """

    input: str
    verdict: str | None = None
    tape: str | None = None
    steps: int | None = None
    final_state: str | None = None
    location: Location | None = field(default=None, compare=False, repr=False)


HALTING_ROLES = ("accept", "reject", "halt")


class TuringMachine:
    """A validated, immutable deterministic Turing machine (see the module docstring).

    Equality compares the definition (states, roles, alphabets, blank, rules); ``name``,
    ``description``, ``examples`` and ``source_format`` are metadata and do not take part.
    """

    #: What the construction registry calls this kind of source.
    source_kind = "turing-machine"

    __slots__ = (
        "_states", "_start", "_blank", "_input_alphabet", "_tape_alphabet", "_rules",
        "_roles", "_delta", "_graph", "name", "description", "examples", "source_format",
        "allow_unreachable",
    )

    def __init__(
        self,
        *,
        states: Iterable[str],
        start: str,
        blank: str,
        rules: Iterable[Rule],
        input_alphabet: Iterable[str] | None = None,
        tape_alphabet: Iterable[str] | None = None,
        accept: Iterable[str] = (),
        reject: Iterable[str] = (),
        halt: Iterable[str] = (),
        name: str = "",
        description: str = "",
        examples: Iterable[Example] = (),
        source_format: str = "turingformer",
        allow_unreachable: bool = False,
        location: Location | None = None,
    ):
        set_ = object.__setattr__
        rules = tuple(rules)
        states = tuple(dict.fromkeys(states))
        _check_blank(blank, location)
        rule_symbols = [s for r in rules for s in (r.read, r.write)]
        if input_alphabet is None:
            input_alphabet = [s for s in rule_symbols if s != blank]
        input_alphabet = tuple(dict.fromkeys(input_alphabet))
        if blank in input_alphabet:
            raise BlankSymbolError(
                f"the blank {blank!r} is also in the input alphabet",
                location=location, hint="remove the blank from the input alphabet",
            )
        if tape_alphabet is None:
            tape_alphabet = [blank, *input_alphabet, *rule_symbols]
        tape_alphabet = tuple(dict.fromkeys([blank, *input_alphabet, *tape_alphabet]))
        for symbol in tape_alphabet:
            _check_symbol(symbol, location)
        roles = {role: frozenset(names) for role, names in
                 zip(HALTING_ROLES, (accept, reject, halt))}

        set_(self, "_states", states)
        set_(self, "_start", start)
        set_(self, "_blank", blank)
        set_(self, "_input_alphabet", input_alphabet)
        set_(self, "_tape_alphabet", tape_alphabet)
        set_(self, "_roles", roles)
        set_(self, "name", name)
        set_(self, "description", description)
        set_(self, "examples", tuple(examples))
        set_(self, "source_format", source_format)
        set_(self, "allow_unreachable", allow_unreachable)
        set_(self, "_rules", rules)
        set_(self, "_delta", self._validate(location))
        set_(self, "_graph", nx.freeze(self._build_graph()))

    # ------------------------------------------------------------------ validation
    def _validate(self, location: Location | None) -> dict[tuple[str, str], Rule]:
        declared = set(self._states)
        where = location
        if self._start not in declared:
            raise StartStateError(
                f"the start state {self._start!r} is not a declared state",
                location=where, hint=f"declare it, or start in one of {sorted(declared)}",
            )
        for role, names in self._roles.items():
            for state in sorted(names - declared):
                raise UndeclaredStateError(
                    f"{role} state {state!r} is not declared", location=where,
                    hint="add it to the states or remove it from the role")
        halting = self.halting_states
        if self._start in halting:
            raise StartStateError(f"the start state {self._start!r} is a halting state",
                                  location=where, hint="start in a state that has rules")
        overlap = [s for s in halting if sum(s in n for n in self._roles.values()) > 1]
        if overlap:
            raise MachineError(f"state {sorted(overlap)[0]!r} has more than one halting role",
                               location=where, hint="a state either accepts, rejects or halts")
        alphabet = set(self._tape_alphabet)
        delta: dict[tuple[str, str], Rule] = {}
        for rule in self._rules:
            at = rule.location or where
            for state in (rule.state, rule.next_state):
                if state not in declared:
                    raise UndeclaredStateError(
                        f"rule {rule} uses the undeclared state {state!r}", location=at,
                        hint=f"declare {state!r} or correct the name (declared: {', '.join(self._states)})")
            for symbol in (rule.read, rule.write):
                if symbol not in alphabet:
                    raise UnknownSymbolError(
                        f"rule {rule} uses the symbol {symbol!r}, which is not in the tape "
                        f"alphabet {list(self._tape_alphabet)}", location=at,
                        hint=f"add {symbol!r} to the tape alphabet or correct the rule")
            if rule.state in halting:
                raise MachineError(
                    f"rule {rule} leaves the halting state {rule.state!r}", location=at,
                    hint="halting (accept/reject/halt) states have no rules: remove the rule or the role")
            key = (rule.state, rule.read)
            if key in delta:
                first = delta[key]
                raise DuplicateRuleError(
                    f"two rules for state {rule.state!r} reading {rule.read!r}: {first}"
                    f"{' (at ' + str(first.location) + ')' if first.location else ''} and {rule}",
                    location=at, hint="keep exactly one rule per (state, symbol); the machine must be deterministic")
            delta[key] = rule
        if not self.allow_unreachable:
            unreachable = self._unreachable(delta)
            if unreachable:
                raise UnreachableStateError(
                    f"state(s) {', '.join(map(repr, unreachable))} cannot be reached from the start state "
                    f"{self._start!r}", location=where,
                    hint="remove them, add a rule that enters them, or set 'allow unreachable: true'")
        return delta

    def _unreachable(self, delta: Mapping[tuple[str, str], Rule]) -> list[str]:
        graph = nx.DiGraph()
        graph.add_nodes_from(self._states)
        graph.add_edges_from((r.state, r.next_state) for r in delta.values())
        reached = nx.descendants(graph, self._start) | {self._start}
        return [s for s in self._states if s not in reached]

    def unreachable_states(self) -> tuple[str, ...]:
        """Declared states that no run from the start state can enter."""
        return tuple(self._unreachable(self._delta))

    # ------------------------------------------------------------------ graph view
    def _build_graph(self) -> nx.MultiDiGraph:
        graph = nx.MultiDiGraph(
            name=self.name, blank=self._blank, input_alphabet=self._input_alphabet,
            tape_alphabet=self._tape_alphabet, allow_unreachable=bool(self.unreachable_states()),
        )
        for state in self._states:
            graph.add_node(state, start=state == self._start,
                           **{role: state in self._roles[role] for role in HALTING_ROLES})
        for rule in self._rules:
            graph.add_edge(rule.state, rule.next_state, key=rule.read,
                           read=rule.read, write=rule.write, move=rule.move.value)
        return graph

    @property
    def graph(self) -> nx.MultiDiGraph:
        """The frozen transition graph (see the module docstring for its attributes)."""
        return self._graph

    def to_graph(self) -> nx.MultiDiGraph:
        """An editable copy of :attr:`graph`."""
        return nx.MultiDiGraph(self._graph)

    @classmethod
    def from_graph(cls, graph: nx.MultiDiGraph, **metadata) -> "TuringMachine":
        """Build a machine from a graph laid out as :attr:`graph` is (validated as usual)."""
        try:
            starts = [n for n, d in graph.nodes(data=True) if d.get("start")]
            if len(starts) != 1:
                raise StartStateError(f"the graph marks {len(starts)} start states; exactly one is needed",
                                      hint="set the node attribute start=True on one state")
            rules = [Rule(u, d["read"], d["write"], Move(d["move"]), v)
                     for u, v, d in graph.edges(data=True)]
            attrs = graph.graph
            return cls(
                states=list(graph.nodes), start=starts[0], blank=attrs["blank"], rules=rules,
                input_alphabet=attrs.get("input_alphabet"), tape_alphabet=attrs.get("tape_alphabet"),
                name=metadata.pop("name", attrs.get("name", "")),
                allow_unreachable=metadata.pop("allow_unreachable", attrs.get("allow_unreachable", False)),
                **{role: [n for n, d in graph.nodes(data=True) if d.get(role)] for role in HALTING_ROLES},
                **metadata,
            )
        except KeyError as missing:
            raise MachineError(f"the graph lacks the attribute {missing}",
                               hint="edges need read/write/move, the graph needs blank") from None
        except ValueError as bad:
            raise MachineError(f"the graph has an invalid value: {bad}", hint="moves are 'L', 'R' or 'S'") from None

    # ------------------------------------------------------------------ accessors
    @property
    def states(self) -> tuple[str, ...]:
        return self._states

    @property
    def start(self) -> str:
        return self._start

    @property
    def blank(self) -> str:
        return self._blank

    @property
    def input_alphabet(self) -> tuple[str, ...]:
        return self._input_alphabet

    @property
    def tape_alphabet(self) -> tuple[str, ...]:
        """All tape symbols, the blank first."""
        return self._tape_alphabet

    @property
    def rules(self) -> tuple[Rule, ...]:
        return self._rules

    @property
    def accept_states(self) -> frozenset[str]:
        return self._roles["accept"]

    @property
    def reject_states(self) -> frozenset[str]:
        return self._roles["reject"]

    @property
    def halt_states(self) -> frozenset[str]:
        """Halting states that neither accept nor reject."""
        return self._roles["halt"]

    @property
    def halting_states(self) -> frozenset[str]:
        """Every state with a halting role (accept, reject or halt)."""
        return self._roles["accept"] | self._roles["reject"] | self._roles["halt"]

    def role(self, state: str) -> str | None:
        """``accept``, ``reject``, ``halt`` or None for an ordinary state."""
        return next((r for r in HALTING_ROLES if state in self._roles[r]), None)

    def rule(self, state: str, symbol: str) -> Rule | None:
        """The rule for (state, symbol), or None: the machine halts there."""
        return self._delta.get((state, symbol))

    def has_stay_moves(self) -> bool:
        return any(r.move is Move.S for r in self._rules)

    # ------------------------------------------------------------------ value semantics
    def _key(self) -> tuple:
        return (
            frozenset(self._states), self._start, self._blank, frozenset(self._input_alphabet),
            frozenset(self._tape_alphabet), tuple(self._roles[r] for r in HALTING_ROLES),
            frozenset(self._rules),
        )

    def __eq__(self, other: object) -> bool:
        return isinstance(other, TuringMachine) and self._key() == other._key()

    def __hash__(self) -> int:
        return hash(self._key())

    def __setattr__(self, name: str, value: object) -> None:
        raise AttributeError("TuringMachine is immutable; edit to_graph() and build a new one")

    def __repr__(self) -> str:
        return (f"TuringMachine(name={self.name!r}, states={len(self._states)}, "
                f"symbols={len(self._tape_alphabet)}, rules={len(self._rules)})")

    def _repr_svg_(self) -> str:
        """The state diagram (:func:`turingformer.tm.diagram.to_svg`) for notebooks."""
        from turingformer.tm.diagram import to_svg

        return to_svg(self)

    def _repr_html_(self) -> str:
        """The state diagram and the rule table, for notebooks."""
        from turingformer.tm.display import machine_html

        return machine_html(self)

    def replace(self, **changes) -> "TuringMachine":
        """A new machine with some constructor arguments changed (validated again)."""
        args = dict(
            states=self._states, start=self._start, blank=self._blank, rules=self._rules,
            input_alphabet=self._input_alphabet, tape_alphabet=self._tape_alphabet,
            accept=self.accept_states, reject=self.reject_states, halt=self.halt_states,
            name=self.name, description=self.description, examples=self.examples,
            source_format=self.source_format, allow_unreachable=self.allow_unreachable,
        )
        args.update(changes)
        return TuringMachine(**args)

    def check_input(self, word: str, *, source: str = "input") -> None:
        """Raise :class:`~turingformer.errors.InputError` unless ``word`` is over the input alphabet.

        The blank is allowed inside an input (turingmachine.io and Morphett inputs may contain it).
        """
        check_word(word, self._input_alphabet, self._blank, owner=f"of machine {self.name or '(unnamed)'}",
                   hint="use only input symbols (and the blank), or add the symbol to the input alphabet",
                   what=source)


def _check_blank(blank: object, location: Location | None) -> None:
    if not isinstance(blank, str) or len(blank) != 1:
        raise BlankSymbolError(f"the blank must be one character, got {blank!r}", location=location,
                               hint="declare e.g. blank: ' ' or blank: '_'")


def _check_symbol(symbol: object, location: Location | None) -> None:
    if not isinstance(symbol, str) or len(symbol) != 1:
        raise UnknownSymbolError(f"tape symbols are single characters, got {symbol!r}", location=location,
                                 hint="use one character per symbol")
