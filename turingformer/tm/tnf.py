"""Brady's tree normal form (TNF): every n-state, m-symbol machine that matters, once, as
bbchallenge standard text (``1RB1LB_1LA1RZ``, :mod:`turingformer.tm.formats.bbchallenge`).

The definition implemented (the TNF-1RB enumeration of the bbchallenge project and the Busy
Beaver wiki's "Tree Normal Form" page; docs/census.md states it with the counts it gives):

1. The root is the partial machine whose only defined transition is ``A0 → 1RB``; every other
   transition is undefined. States are the letters ``A, B, ...``, symbols the digits ``0 .. m-1``
   (``0`` is the blank).
2. A node is run on the blank tape, for at most ``max_steps`` steps in all (a child goes on from
   the configuration where its parent stopped: the steps before it do not read the new transition).
3. If it runs ``max_steps`` steps without reading an undefined transition, it is a **leaf**: the
   machine is emitted with its undefined transitions written ``---``.
4. If after t < ``max_steps`` steps it reads an undefined transition δ(q, r), the node is
   **expanded** into children that define δ(q, r):

   * the halting child ``1RZ`` (write 1, move right, halt: the one halting transition that can
     matter), a leaf: it halts at step t + 1;
   * when at least one other transition is still undefined, every ``w d s`` with w any symbol,
     d ∈ {L, R} and s a state already *used* (``A`` or a target of a defined transition) or the
     first unused one (states in order of first use, which removes renamings).

   The last undefined transition can only become ``1RZ``: a machine without a halting transition
   never halts. Children are generated in the order halting child, then (state, symbol, move) with
   states ``A, B, ...``, symbols ``0, 1, ...`` and ``L`` before ``R``; the enumeration is depth first,
   so its order is fixed (chunks of it are the same in every run: the census resumes by position).

Once ``max_steps`` exceeds every t at which a node reads an undefined transition, the leaves no
longer change. A node that reads one after t steps has a halting child that runs t + 1 steps, so
t < S(n) and the list is final from ``max_steps`` = S(n) on: 41 machines for (2, 2) from 6 steps,
4,057 for (3, 2) from 21, 620,261 for (4, 2) from 107 (the published counts, :data:`TNF_COUNTS`;
tests/tm/test_tnf.py checks the first two and that the lists stop changing exactly there).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Iterator

from turingformer.errors import InputError

__all__ = ["tnf_machines", "tnf_count", "standard_text", "HALT", "TNF_COUNTS"]

#: (states, symbols) -> (number of TNF-1RB machines, the step limit from which the list is final,
#: which is S(n)): the Busy Beaver wiki's "Tree Normal Form" table and the known values of S.
TNF_COUNTS: dict[tuple[int, int], tuple[int, int]] = {
    (2, 2): (41, 6), (3, 2): (4_057, 21), (4, 2): (620_261, 107), (5, 2): (126_891_605, 47_176_870),
}

#: The halting transition every expansion offers (the target ``Z`` has no row: a halt state).
HALT = (1, 1, -1)          # write 1, move right (+1), next state -1 = Z
_LEFT, _RIGHT = -1, 1


@dataclass(frozen=True)
class _Node:
    """A partial machine and the configuration its run reached (never mutated once built)."""

    table: tuple[tuple[int, int, int] | None, ...]   # δ[q * m + r] = (write, move, next) or None
    tape: dict[int, int]                              # non-blank cells
    head: int
    state: int
    steps: int


def standard_text(table, states: int, symbols: int) -> str:
    """The bbchallenge standard text of a transition table (``None`` = ``---``, next state -1 = Z)."""
    rows = []
    for q in range(states):
        cells = []
        for r in range(symbols):
            entry = table[q * symbols + r]
            if entry is None:
                cells.append("---")
            else:
                write, move, target = entry
                cells.append(f"{write}{'R' if move == _RIGHT else 'L'}{'Z' if target < 0 else chr(65 + target)}")
        rows.append("".join(cells))
    return "_".join(rows)


def tnf_machines(states: int, symbols: int = 2, *, max_steps: int = 100) -> Iterator[str]:
    """The TNF-1RB machines with ``states`` states and ``symbols`` symbols, as standard text.

    Deterministic, depth-first order (module docstring). ``max_steps`` bounds each run; the list is
    final (no leaf changes with a larger limit) from ``max_steps`` = S(n) on, e.g. 21 for three
    states. Bad arguments raise :class:`~turingformer.errors.InputError` at once, not when iterated.
    """
    if not 2 <= states <= 26:
        raise InputError(f"{states} states: the enumeration needs 2 to 26 states (letters A to Z)",
                         hint="use --states 2, 3, 4 or 5")
    if not 2 <= symbols <= 10:
        raise InputError(f"{symbols} symbols: the standard text writes symbols as digits, 2 to 10",
                         hint="use --symbols 2")
    if max_steps < 1:
        raise InputError(f"--max-steps {max_steps}: the enumeration runs each machine at least one step",
                         hint="use --max-steps 100 or more (the published counts need at least 21 for 3 states)")
    return _leaves(states, symbols, max_steps)


def tnf_count(states: int, symbols: int, max_steps: int) -> int | None:
    """The published number of machines :func:`tnf_machines` yields, when known for this limit."""
    known = TNF_COUNTS.get((states, symbols))
    return known[0] if known is not None and max_steps >= known[1] else None


def _leaves(states: int, m: int, max_steps: int) -> Iterator[str]:
    """The leaves of the TNF tree, depth first (module docstring)."""
    table: list = [None] * (states * m)
    table[0] = (1, _RIGHT, 1)                                  # A0 -> 1RB
    root = _Node(tuple(table), {0: 1}, 1, 1, 1)
    stack = [root]
    while stack:
        node = stack.pop()
        reached = _run(node, m, max_steps)
        if reached is None:
            yield standard_text(node.table, states, m)
            continue
        children = list(_children(reached, states, m))
        stack.extend(reversed(children))                      # depth first, in generation order


def _run(node: _Node, m: int, max_steps: int) -> _Node | None:
    """Run on from ``node``; the node at an undefined transition, or None at the step limit."""
    table, tape, head, state, steps = node.table, dict(node.tape), node.head, node.state, node.steps
    while steps < max_steps:
        read = tape.get(head, 0)
        entry = table[state * m + read]
        if entry is None:
            return _Node(table, tape, head, state, steps)
        write, move, target = entry
        if target < 0:
            return None                                        # entered Z: a halting leaf
        if write:
            tape[head] = write
        else:
            tape.pop(head, None)
        head += move
        state = target
        steps += 1
    return None


def _children(node: _Node, states: int, m: int) -> Iterator[_Node]:
    """The expansions of the undefined transition ``node`` reads (module docstring, rule 4)."""
    slot = node.state * m + node.tape.get(node.head, 0)
    table = list(node.table)
    table[slot] = HALT
    yield _Node(tuple(table), node.tape, node.head, node.state, node.steps)
    if sum(entry is None for entry in node.table) < 2:
        return
    used = {0} | {entry[2] for entry in node.table if entry is not None and entry[2] >= 0}
    targets = sorted(used)
    if len(used) < states:
        targets.append(min(set(range(states)) - used))
    for target in targets:
        for write in range(m):
            for move in (_LEFT, _RIGHT):
                table[slot] = (write, move, target)
                yield _Node(tuple(table), node.tape, node.head, node.state, node.steps)
