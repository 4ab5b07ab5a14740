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
from typing import Callable

import numpy as np

from turingformer.compiler.looped.construction import compile_program, expected_card
from turingformer.compiler.looped.decoding import read_array
from turingformer.compiler.looped.layout import LoopedModel
from turingformer.errors import AttentionTieError
from turingformer.programs import DEFAULT_MAX_LOOPS, Program, ProgramTrace, run
from turingformer.programs.interpreter import trace_of
from turingformer.runtime.looped import IntegerLoop, LoopedTransformer
from turingformer.runtime.transformer import head_names


@dataclass(frozen=True)
class LoopDivergence:
    """The first place where the looped network and the reference disagree."""

    loop: int
    block: int | None
    column: int | None
    dimension: str | None
    expected: object = None
    got: object = None
    detail: str = ""

    def __str__(self) -> str:
        where = f"loop {self.loop}"
        if self.block is not None:
            where += f", block {self.block} (loop.{self.block})"
        if self.column is not None:
            where += f", column {self.column}, dimension {self.dimension}: expected {self.expected}, got {self.got}"
        return f"first divergence at {where}" + (f"; {self.detail}" if self.detail else "")


@dataclass(frozen=True)
class LoopedVerification:
    model: LoopedModel
    reference: ProgramTrace
    decoded: ProgramTrace
    divergence: LoopDivergence | None
    loops_checked: int

    @property
    def ok(self) -> bool:
        return self.divergence is None


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
                  progress: Callable[[int], None] | None = None) -> LoopedVerification:
    """Run ``program``'s looped model (exact integer path) beside the interpreter; see the module docstring."""
    model = model or compile_program(program, construction)
    reference = run(program, max_steps=max_loops)
    fast = IntegerLoop(model.transformer)
    X = fast.to_array(model.card)
    decoded = [reference[0]]
    divergence = _compare(model, X, expected_card(model, program, program.pc, program.memory), 0, None)
    t = 0
    for state in reference.states[1:]:
        if divergence is not None:
            break
        t = state.step
        previous = X
        try:
            X, _ = fast.step(X)
        except AttentionTieError as error:
            divergence = LoopDivergence(t, None, None, None, detail=str(error))
            break
        divergence = _compare(model, X, expected_card(model, program, state.pc, state.memory), t, previous)
        got = read_array(model.labels, model.space, X) if divergence is None else None
        if got is not None:
            decoded.append(type(state)(t, got.pc, got.mem))
        if progress is not None and not t & 0xFFFF:
            progress(t)
    return LoopedVerification(model, reference, trace_of(program, decoded), divergence, t)


def _compare(model: LoopedModel, X: np.ndarray, expected, t: int, previous) -> LoopDivergence | None:
    want = np.array([[int(v) for v in col] for col in expected], dtype=object).T
    if X.shape == want.shape and (X == want).all():
        return None
    names = model.space.names
    if X.shape != want.shape:
        return LoopDivergence(t, None, None, None, detail=f"punch card shape {X.shape}, expected {want.shape}")
    dim_index, column = (int(v[0]) for v in np.nonzero(X != want))
    dimension = names[dim_index]
    block = writers(model.transformer).get(dimension)
    detail = ""
    if previous is not None and block is not None:
        detail = _winners_detail(model, previous, block, column)
    return LoopDivergence(t, block, column, dimension, int(want[dim_index, column]), int(X[dim_index, column]),
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
    """Run ``t − 1`` loops on the integer path, then loop ``t`` on the Fraction runtime with hooks."""
    fast = IntegerLoop(model.transformer)
    X = fast.to_array(model.card)
    for _ in range(t - 1):
        X, _ = fast.step(X)
    card_in = IntegerLoop.to_columns(X)
    _, acts = model.transformer.step(card_in, capture=None)
    blocks = model.transformer.blocks
    cards = tuple(acts[f"loop.{l}.out"] for l in range(len(blocks)))
    winners = tuple(tuple(tuple(w[0] for w in acts[f"{name}.winners"])
                          for name in head_names(f"loop.{l}", len(b.heads)))
                    for l, b in enumerate(blocks))
    return TracedLoop(model, t, card_in, cards, winners)
