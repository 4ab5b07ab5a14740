"""Verification of a looped model against the reference interpreter, after every loop (spec §8).

For a program P and a construction, :func:`verify_looped` compiles P, runs the network on its
punch card and, after every loop t, compares X_t with E(ref_t) entry for entry, where ref_t is
the state of the independent reference interpreter (:mod:`turingformer.programs.interpreter`)
after t loops. X_t = E(ref_t) implies the decoded pc and memory agree, the transients are 0, the
static rows are unchanged and SUBLEQ-U's window caches are consistent. Every attention head must
have one winner in every column (the runtime raises otherwise, and that is reported too).

On the first mismatch at loop t the loop is re-run on the Fraction runtime from X_{t−1} with
hooks, and the report names the loop, the **block** that last writes the wrong dimension (read
from the weights: the last block whose value map or FFN can change it), the column and the
dimension, with the expected and actual values and that block's attention winners in that column.
"""

from __future__ import annotations

from dataclasses import dataclass
from itertools import islice
from typing import Callable

import numpy as np

from turingformer.compiler.looped.construction import compile_program, expected_card
from turingformer.compiler.looped.decoding import read_array
from turingformer.compiler.looped.model import LoopedModel, loop_cards
from turingformer.compiler.protocol import Divergence, Verification
from turingformer.errors import AttentionTieError, TuringformerError
from turingformer.programs import DEFAULT_MAX_LOOPS, Program, ProgramTrace, aligned, run
from turingformer.programs.interpreter import trace_of
from turingformer.runtime.looped import IntegerLoop, LoopedTransformer
from turingformer.runtime.transformer import head_names

#: Rows of the loop table ``verify`` prints when no limit is given.
TABLE_ROWS = 10_000


def loop_divergence(loop: int, block: int | None = None, column: int | None = None, dimension: str = "",
                    expected: object = None, got: object = None, detail: str = "") -> Divergence:
    """A divergence after loop ``loop``: in ``block`` (the last block that writes the dimension),
    at ``column`` and ``dimension`` of the card."""
    return Divergence(loop, "loop", "" if block is None else f"loop.{block}", dimension, expected, got, column, detail)


@dataclass(frozen=True, repr=False)
class LoopedVerification(Verification):
    """The model, the interpreter's trace, the trace decoded from the cards (up to the first
    divergence), the divergence and the number of loops checked."""

    model: LoopedModel
    reference: ProgramTrace
    decoded: ProgramTrace
    divergence: Divergence | None
    checked: int

    @property
    def loops_checked(self) -> int:
        return self.checked

    def table(self, *, limit: int | None = None) -> str:
        """One row per loop: pc and memory decoded from the card, which equals E(reference state)."""
        rows = [[str(s.step), str(s.pc), " ".join(map(str, s.memory)), "agrees"] for s in self.decoded]
        shown = rows[:TABLE_ROWS if limit is None else limit]
        lines = list(aligned(["loop", "pc", "memory (decoded from the card)", "E(reference)"], shown))
        if len(rows) > len(shown):
            lines.append(f"  ... {len(rows) - len(shown):,} more loops")
        return "\n".join(lines)

    def agreement(self) -> str:
        halted = "halted" if self.reference.halted else "not halted (loop limit)"
        return (f"the looped transformer ({self.model.labels.construction}) agrees with the interpreter after every "
                f"loop: {self.checked:,} loops, {halted}; every punch card equal to E(state) entry for entry, one "
                "winner per head and column")


def writers(transformer: LoopedTransformer) -> dict[str, int]:
    """For each residual dimension, the last block of a loop whose heads or FFN can change it."""
    names = transformer.space.names
    last: dict[str, int] = {}
    for l, block in enumerate(transformer.blocks):
        outs = set()
        for head in block.heads:
            outs.update(head.value.used_outputs())
        if block.ffn is not None:
            outs.update(block.ffn.layers[-1].used_outputs())
        for o in outs:
            last[names[o]] = l
    return last


def verify_looped(program: Program, construction: str | None = None, *, max_loops: int = DEFAULT_MAX_LOOPS,
                  model: LoopedModel | None = None,
                  progress: Callable[[int], bool | None] | None = None) -> LoopedVerification:
    """Run ``program``'s looped model (exact integer path) beside the interpreter; see the module
    docstring. ``progress(t)`` is called after every loop; when it returns True the check stops
    there (what was checked agrees or names the divergence)."""
    model = model or compile_program(program, construction)
    reference = run(program, max_steps=max_loops)
    cards = loop_cards(model)
    decoded = [reference[0]]
    previous = next(cards)
    divergence = _compare(model, previous, expected_card(model, program, program.pc, program.memory), 0, None)
    t = 0
    try:
        for state, X in zip(reference.states[1:], cards):
            if divergence is not None:
                break
            t = state.step
            divergence = _compare(model, X, expected_card(model, program, state.pc, state.memory), t, previous)
            if divergence is None:
                got = read_array(model.labels, model.space, X)
                decoded.append(type(state)(t, got.pc, got.mem))
            previous = X
            if progress is not None and progress(t):
                break
    except AttentionTieError as error:
        divergence = loop_divergence(t + 1, detail=error.message)
    return LoopedVerification(model, reference, trace_of(program, decoded), divergence, len(decoded) - 1)


def _compare(model: LoopedModel, X: np.ndarray, expected, t: int, previous) -> Divergence | None:
    want = np.array([[int(v) for v in col] for col in expected], dtype=object).T
    if X.shape == want.shape and (X == want).all():
        return None
    names = model.space.names
    if X.shape != want.shape:
        return loop_divergence(t, detail=f"punch card shape {X.shape}, expected {want.shape}")
    dim_index, column = (int(v[0]) for v in np.nonzero(X != want))
    dimension = names[dim_index]
    block = writers(model.transformer).get(dimension)
    detail = ""
    if previous is not None and block is not None:
        detail = _winners_detail(model, previous, block, column)
    return loop_divergence(t, block, column, dimension, int(want[dim_index, column]), int(X[dim_index, column]),
                           detail)


def _winners_detail(model: LoopedModel, previous: np.ndarray, block: int, column: int) -> str:
    """That block's attention winners in ``column``, from a Fraction-runtime re-run of the loop."""
    t = model.transformer
    b = t.blocks[block]
    if not b.heads:
        return "the block has no attention (FFN only)"
    X_prev = IntegerLoop.to_columns(previous)
    hooks = [f"{name}.winners" for name in head_names(f"loop.{block}", len(b.heads))]
    hooks += [f"{name}.scores" for name in head_names(f"loop.{block}", len(b.heads))]
    _, acts = t.step(X_prev, capture=hooks, single_winner=False)
    parts = []
    for name in head_names(f"loop.{block}", len(b.heads)):
        winners = acts[f"{name}.winners"][column]
        scores = acts[f"{name}.scores"][column]
        parts.append(f"{name} attended to column(s) {list(winners)} with score {scores[winners[0]]}")
    return "; ".join(parts)


@dataclass(frozen=True)
class TracedLoop:
    """Loop ``t`` re-run on the Fraction runtime with every hook: the card after each block and,
    per block and head, the column every column attended to."""

    model: LoopedModel
    t: int
    card_in: tuple
    cards: tuple[tuple, ...]                    # the card after block 0, 1, …
    winners: tuple[tuple[tuple[int, ...], ...], ...]   # [block][head][column] -> the winner column

    def table(self, block: int | None) -> str:
        """The card after ``block`` (None: the loop's input) as a labelled table."""
        return card_table(self.model.space.names, self.card_in if block is None else self.cards[block])


def card_table(names, card) -> str:
    """A punch card as text: one row per named dimension, one column per card column."""
    width = max(len(n) for n in names)
    head = f"{'dimension':<{width}} | " + " ".join(f"{j:>5}" for j in range(len(card)))
    rows = [f"{n:<{width}} | " + " ".join(f"{str(col[k]):>5}" for col in card) for k, n in enumerate(names)]
    return "\n".join([head, "-" * len(head), *rows])


def trace_loop(model: LoopedModel, t: int) -> TracedLoop:
    """Run ``t − 1`` loops on the integer path, then loop ``t`` on the Fraction runtime with hooks.
    Refuses a loop past the halt: the card of a halted program no longer changes."""
    labels, pc = model.labels, model.space.index("reg:pc")          # replicated in every looped construction
    for done, X in enumerate(islice(loop_cards(model), t)):
        if int(X[pc, 0]) == labels.halt_pc:
            raise TuringformerError(f"loop {t}: the program halts after {done} loops",
                                    hint=f"choose a loop from 1 to {done}" if done else "the program is halted before its first loop")
    card_in = IntegerLoop.to_columns(X)
    _, acts = model.transformer.step(card_in, capture=None)
    blocks = model.transformer.blocks
    cards = tuple(acts[f"loop.{l}.out"] for l in range(len(blocks)))
    winners = tuple(tuple(tuple(w[0] for w in acts[f"{name}.winners"])
                          for name in head_names(f"loop.{l}", len(b.heads)))
                    for l, b in enumerate(blocks))
    return TracedLoop(model, t, card_in, cards, winners)
