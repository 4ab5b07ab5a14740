"""Machines shared by the tests: hypothesis strategies for random deterministic machines and
inputs, and bbchallenge machines built by hand (independent of the importers).

Machines have 2-6 working states plus one halting state, 2-4 tape symbols (the blank ``_``
first), stay moves, moves left of the start cell, missing rules (halting by "no rule"), and
inputs that may be empty or contain blanks.
"""

from __future__ import annotations

from hypothesis import strategies as st

from turingformer.tm.machine import Rule, TuringMachine


@st.composite
def machines(draw, max_states: int = 6, max_symbols: int = 4) -> TuringMachine:
    n_states = draw(st.integers(2, max_states))
    n_symbols = draw(st.integers(2, max_symbols))
    states = [f"q{k}" for k in range(n_states)]
    symbols = ["_"] + [chr(ord("a") + k) for k in range(n_symbols - 1)]
    rules = []
    for q in states:
        for s in symbols:
            if draw(st.integers(0, 9)) < 9:          # about one pair in ten has no rule
                rules.append(Rule(q, s, draw(st.sampled_from(symbols)), draw(st.sampled_from("LRS")),
                                  draw(st.sampled_from(states + ["halt"]))))
    return TuringMachine(states=states + ["halt"], start="q0", blank="_", rules=rules, halt=["halt"],
                         input_alphabet=symbols[1:], allow_unreachable=True, name="random")


@st.composite
def machines_with_inputs(draw, max_input: int = 5):
    machine = draw(machines())
    word = draw(st.text(alphabet=machine.tape_alphabet, max_size=max_input))
    return machine, word

def bbchallenge(code: str) -> TuringMachine:
    """A bbchallenge machine built by hand (independent of the importers)."""
    rows = code.split("_")
    states = [chr(ord("A") + k) for k in range(len(rows))]
    rules = [Rule(states[k], str(s), row[3 * s], row[3 * s + 1], row[3 * s + 2])
             for k, row in enumerate(rows) for s in range(len(row) // 3) if row[3 * s:3 * s + 3] != "---"]
    return TuringMachine(states=states + ["Z"], start="A", blank="0", rules=rules, halt=["Z"],
                         input_alphabet=["1"], name=code, allow_unreachable=True)


BB4 = bbchallenge("1RB1LB_1LA0LC_1RZ1LD_1RD0RA")


#: A machine as a student types it (turingformer YAML): walks right over the x's and back, writing
#: y's, so every input cell is read and layer 1 attends to each one. The browser tests use it.
THERE_AND_BACK = """\
name: there and back
blank: '_'
input alphabet: ['x']
states: [right, left, done]
start: right
halt: [done]
rules:
  right:
    'x': ['x', R, right]
    '_': ['_', L, left]
  left:
    'x': ['y', L, left]
    '_': ['_', R, done]
"""
