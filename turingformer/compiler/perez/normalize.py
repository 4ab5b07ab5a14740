"""Stage 3a: normalise a user machine M into the machine M' the construction accepts (spec §2b).

The paper's construction (§2 of the spec) needs a machine that starts in ``q_init`` on the cell
left of the input, sweeps the input in ``q_read``, always moves, and has no rules in halting
states. User machines start *on* the input, may stay in place and have blanks inside inputs.
:func:`normalize` builds M' from M:

1. **Prelude** (§2b.1): fresh states ``⟨init⟩``, ``⟨read⟩``, ``⟨back⟩`` and one fresh *marked
   blank* symbol. The encoder receives ``w'`` = the input with every blank replaced by the marked
   blank. ⟨init⟩ steps onto cell 1, ⟨read⟩ sweeps right keeping every symbol (marks included:
   un-marking here would stop ⟨back⟩ early), turns round on the plain blank at cell n+1,
   ⟨back⟩ walks left un-marking, and on the plain blank at cell 0 steps right into M's start
   state. The prelude takes exactly 2n+3 steps; M' cell c is M cell c-1.
2. **Stay moves** (§2b.2): δ(q, s) = (p, v, S) becomes δ'(q, s) = (⟨stay:p⟩, v, R) and
   δ'(⟨stay:p⟩, x) = (p, x, L) for every x, one fresh state per distinct target p.
3. **Two-way tape** is native: nothing to do (layer 3 is exact on fresh cells on either side).
4. **Halting** states keep their roles and have no rules; a missing rule halts as before.
5. **Alphabet**: Σ' = the user's tape alphabet (blank first) plus the marked blank.

Only *labels* leave this module for decoding (:class:`Labels`): which states are the prelude and
which are stay states, the roles, the blank and its mark. The decoder never sees the rules.
"""

from __future__ import annotations

from turingformer.errors import UnknownSymbolError

from dataclasses import dataclass

from turingformer.compiler.perez.layout import Labels
from turingformer.tm.machine import Move, Rule, TuringMachine

MARK_CANDIDATES = ("◌", "⌴", "¤", "§", "¶")


@dataclass(frozen=True)
class NormalizedMachine:
    """M' (a :class:`TuringMachine` started on cell 0 left of the input) and its labels."""

    machine: TuringMachine
    labels: Labels
    stay_targets: int

    def tape_input(self, word: str) -> str:
        """The initial tape of M' from cell 0 on: a blank, then w'."""
        return self.labels.blank + "".join(self.labels.encoder_input(word))


def _fresh(name: str, taken: set[str]) -> str:
    while name in taken:
        name += "'"
    taken.add(name)
    return name


def normalize(machine: TuringMachine) -> NormalizedMachine:
    """Build M' and its labels from ``machine`` (see the module docstring)."""
    taken = set(machine.states)
    q_init, q_read, q_back = (_fresh(n, taken) for n in ("⟨init⟩", "⟨read⟩", "⟨back⟩"))
    blank = machine.blank
    mark = next((c for c in MARK_CANDIDATES if c not in machine.tape_alphabet), None)
    if mark is None:
        raise UnknownSymbolError(f"the machine's tape alphabet uses every character the construction could mark the "
                                 f"blank with ({''.join(MARK_CANDIDATES)})",
                                 hint="free one of them: rename a symbol of the machine")
    symbols = (*machine.tape_alphabet, mark)
    others = [a for a in symbols if a != blank]

    rules = [Rule(q_init, blank, blank, Move.R, q_read)]
    rules += [Rule(q_read, a, a, Move.R, q_read) for a in others]
    rules += [Rule(q_read, blank, blank, Move.L, q_back)]
    rules += [Rule(q_back, a, a, Move.L, q_back) for a in others if a != mark]
    rules += [Rule(q_back, mark, blank, Move.L, q_back), Rule(q_back, blank, blank, Move.R, machine.start)]

    stay: dict[str, str] = {}
    for rule in machine.rules:
        if rule.move is Move.S:
            if rule.next_state not in stay.values():
                stay[_fresh(f"⟨stay:{rule.next_state}⟩", taken)] = rule.next_state
            sigma = next(s for s, p in stay.items() if p == rule.next_state)
            rules.append(Rule(rule.state, rule.read, rule.write, Move.R, sigma))
        else:
            rules.append(Rule(rule.state, rule.read, rule.write, rule.move, rule.next_state))
    for sigma, target in stay.items():
        rules += [Rule(sigma, x, x, Move.L, target) for x in symbols]

    states = (q_init, q_read, q_back, *machine.states, *stay)
    normalized = TuringMachine(
        states=states, start=q_init, blank=blank, rules=rules,
        input_alphabet=[*machine.input_alphabet, mark], tape_alphabet=symbols,
        accept=machine.accept_states, reject=machine.reject_states, halt=machine.halt_states,
        name=f"{machine.name} (normalised)", allow_unreachable=True,
    )
    labels = Labels(
        states=states, symbols=symbols, blank=blank, marked_blank=mark, start=machine.start,
        prelude=(q_init, q_read, q_back), stay=stay, accept=machine.accept_states,
        reject=machine.reject_states, halt=machine.halt_states,
        input_alphabet=machine.input_alphabet, machine_name=machine.name,
    )
    return NormalizedMachine(normalized, labels, len(stay))
