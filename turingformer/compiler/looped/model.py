"""The looped model: weights, punch card and labels, its run and its model file (kind ``looped``),
and :func:`loop_cards`, the one loop driver of every looped model.

:class:`LoopedModel` is a :class:`~turingformer.compiler.protocol.Model`: ``run`` runs the punch card
on the exact integer path and decodes pc and memory after every loop (:mod:`.decoding`, from the
card and the labels alone), ``summary`` gives the sizes of the compile summary, ``to_json`` /
``from_json`` write and validate the body of its model file.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable, ClassVar, Iterator

import numpy as np

from ...errors import InputError
from ...programs import DEFAULT_MAX_LOOPS, LoopState, ProgramTrace
from ...runtime.looped import IntegerLoop, LoopBlock, LoopedTransformer
from ...runtime.serialize import JsonReader, WeightReader, WeightWriter, canonical_digest, sparse_vector
from ...runtime.space import Space, Vector
from ...runtime.transformer import SCORES
from ..protocol import ENVELOPE_KEYS, Halting, Model, Progress, Run, Summary
from .decoding import PC, read_array
from .layout import CardLabels
from .names import CONSTRUCTIONS


@dataclass(frozen=True, repr=False)
class LoopedModel(Model):
    """A compiled looped program: the weights, the punch card X₀ and the labels that read it.

    Its model file (kind ``looped``) stores the blocks, the card (one sparse column per token:
    the program is in the input) and the labels::

        "score": "abs", "spaces": {"residual": [names...], "loop.0.ffn.hidden": [names...], ...},
        "blocks": [{"heads": [ATTN, ...], "ffn": [LINEAR, ...] | null}],
        "card": [{name: "p/q"}, ...],
        "labels": {"construction", "machine", "bits", "cells", "instructions", "functions", "name",
                   "entry_bound", "cell_labels"}

    Reading checks that the card has the columns the labels' sizes demand and that every
    labelled cell exists.
    """

    kind: ClassVar[str] = "looped"

    transformer: LoopedTransformer
    card: tuple[Vector, ...]
    labels: CardLabels

    @property
    def construction(self) -> str:
        return self.labels.construction

    @property
    def name(self) -> str:
        return self.labels.name

    @property
    def network(self) -> LoopedTransformer:
        return self.transformer

    @property
    def space(self) -> Space:
        return self.transformer.space

    @property
    def n(self) -> int:
        return len(self.card)

    def _repr_sizes(self) -> str:
        lab = self.labels
        return (f"M={lab.cells}, N={lab.bits}, columns={self.n}, d={len(self.space)}, "
                f"blocks={len(self.transformer.blocks)}, nonzero_weights={self.transformer.nonzero_weights():,}")

    def check_input(self, input: str | None) -> None:
        if input is not None:
            raise InputError("a looped model runs its punch card: a program's input is its initial memory",
                             hint="run it without --input (edit the program's .data values and recompile)")

    def run(self, input: str | None = None, *, max_steps: int | None = None, progress: Progress | None = None,
            runner: IntegerLoop | None = None) -> Run:
        """Run the punch card (exact integer path, or ``runner``) and decode pc and memory after every loop."""
        self.check_input(input)
        trace = run_looped(self, DEFAULT_MAX_LOOPS if max_steps is None else max_steps, record=True,
                           progress=progress, runner=runner)
        return Run(trace, None, trace.steps, "loop")

    def halting(self) -> Halting:
        """Halted when the replicated program counter holds the halt pc (:mod:`.decoding`)."""
        return Halting((PC,), self.labels.halt_pc)

    def summary(self) -> "LoopedSummary":
        return summary(self)

    # ------------------------------------------------------------------ the model file
    def weights_digest(self) -> str:
        """The digest of the network alone — its named spaces and blocks, not the punch card or the
        labels: a run of the same weights on other data (``run MODEL --data``) shows the same one."""
        w = WeightWriter(self.space)
        blocks = write_blocks(self.transformer, w)
        return canonical_digest({"spaces": w.spaces(), "blocks": blocks})

    def to_json(self) -> dict:
        t, lab = self.transformer, self.labels
        w = WeightWriter(self.space)
        blocks = write_blocks(t, w)
        return {"score": t.score, "spaces": w.spaces(), "blocks": blocks,
                "card": [sparse_vector(self.space, col) for col in self.card],
                "labels": {"construction": lab.construction, "machine": lab.machine, "bits": lab.bits,
                           "cells": lab.cells, "instructions": lab.instructions, "functions": list(lab.functions),
                           "name": lab.name, "entry_bound": lab.entry_bound, "cell_labels": dict(lab.cell_labels)}}

    @classmethod
    def from_json(cls, data: dict, r: JsonReader, extra_keys: tuple[str, ...] = ()) -> "LoopedModel":
        r.obj(data, "the document", (*ENVELOPE_KEYS, *_KEYS, *extra_keys))
        score = r.string(data["score"], "score", SCORES)
        maps = WeightReader(r, data["spaces"])
        blocks = read_blocks(r, maps, data["blocks"])
        labels = _read_card_labels(r, data["labels"])
        card = r.list(data["card"], "card")
        columns = labels.cells + 1 if labels.machine == "subleq-u" else labels.cells + labels.instructions + 1
        if len(card) != columns:
            raise r.fail("card", f"{len(card)} columns, but the labels' sizes (M = {labels.cells}"
                                 + ("" if labels.machine == "subleq-u" else f", s = {labels.instructions}")
                                 + f") make {columns}")
        X = tuple(maps.residual.vector(r.sparse(col, f"card[{k}]", maps.residual)) for k, col in enumerate(card))
        return cls(LoopedTransformer(maps.residual, blocks, score=score), X, labels)


def write_blocks(transformer: LoopedTransformer, w: WeightWriter) -> list[dict]:
    """The blocks of a looped model file: ``[{"heads": [ATTN, ...], "ffn": [LINEAR, ...] | null}]``."""
    return [{"heads": [w.attention(h, f"loop.{l}.attn.{k}") for k, h in enumerate(b.heads)],
             "ffn": w.mlp(b.ffn, f"loop.{l}.ffn")} for l, b in enumerate(transformer.blocks)]


def read_blocks(r: JsonReader, maps: WeightReader, value) -> tuple[LoopBlock, ...]:
    """The blocks :func:`write_blocks` wrote, validated (each has heads or a feed-forward net)."""
    blocks = []
    for l, item in enumerate(r.list(value, "blocks")):
        where = f"blocks[{l}]"
        b = r.obj(item, where, ("heads", "ffn"))
        heads = tuple(maps.attention(h, f"{where}.heads[{k}]") for k, h in enumerate(r.list(b["heads"], f"{where}.heads")))
        ffn = None if b["ffn"] is None else maps.mlp(b["ffn"], f"{where}.ffn")
        if not heads and ffn is None:
            raise r.fail(where, "a block with neither attention heads nor a feed-forward net")
        blocks.append(LoopBlock(heads, ffn))
    if not blocks:
        raise r.fail("blocks", "a looped model needs at least one block")
    return tuple(blocks)


_KEYS = ("score", "spaces", "blocks", "card", "labels")
_CARD_LABEL_KEYS = ("construction", "machine", "bits", "cells", "instructions", "functions", "name", "entry_bound",
                    "cell_labels")
#: The widest word a looped model file may declare (the constructions refuse wider ones).
MAX_BITS = 64


def _read_card_labels(r: JsonReader, value) -> CardLabels:
    lab = r.obj(value, "labels", _CARD_LABEL_KEYS)
    construction = r.string(lab["construction"], "labels.construction", tuple(CONSTRUCTIONS))
    machine = r.string(lab["machine"], "labels.machine", (CONSTRUCTIONS[construction][0],))
    cells = r.integer(lab["cells"], "labels.cells", 1)
    cell_labels = tuple((r.string(k, "labels.cell_labels key"),
                         r.integer(v, f"labels.cell_labels[{k[:40]!r}]", 0, cells - 1))
                        for k, v in r.obj(lab["cell_labels"], "labels.cell_labels").items())
    return CardLabels(construction=construction, machine=machine,
                      bits=r.integer(lab["bits"], "labels.bits", 2, MAX_BITS), cells=cells,
                      instructions=r.integer(lab["instructions"], "labels.instructions"),
                      functions=r.strings(lab["functions"], "labels.functions", unique=True),
                      name=r.string(lab["name"], "labels.name"),
                      entry_bound=r.integer(lab["entry_bound"], "labels.entry_bound"), cell_labels=cell_labels)


@dataclass(frozen=True)
class LoopedSummary(Summary):
    """What ``turingformer compile`` prints about a looped model."""

    construction: str
    description: str
    machine: str
    cells: int
    bits: int
    instructions: int
    functions: tuple[str, ...]
    columns: int
    d: int
    heads: tuple[int, ...]
    hidden: tuple[int, ...]
    nonzero_weights: int
    largest_integer: int

    def lines(self) -> list[str]:
        sizes = f"M = {self.cells} cells of N = {self.bits} bits"
        if self.machine != "subleq-u":
            sizes += f", s = {self.instructions} instructions"
        out = [f"construction {self.construction}: {self.description}",
               f"{self.machine}: {sizes}" + (f"; functions {', '.join(self.functions)}" if self.functions else ""),
               f"punch card: n = {self.columns} columns × d = {self.d} named dimensions",
               f"blocks per loop: {len(self.heads)}; heads per block: {', '.join(map(str, self.heads))}",
               f"hidden widths: {', '.join(map(str, self.hidden))} ({sum(self.hidden)} σ units per loop)",
               f"non-zero weights: {self.nonzero_weights}",
               f"activations: integers below 2^{self.largest_integer.bit_length()} in the integer path "
               f"({self.largest_integer.bit_length() + 1} bits with sign; int64 is used when < 2^62)"]
        return out


def summary(model: LoopedModel) -> LoopedSummary:
    t, lab = model.transformer, model.labels
    description = CONSTRUCTIONS[lab.construction][1]
    return LoopedSummary(
        construction=lab.construction, description=description, machine=lab.machine, cells=lab.cells,
        bits=lab.bits, instructions=lab.instructions, functions=lab.functions, columns=model.n, d=len(t.space),
        heads=tuple(len(b.heads) for b in t.blocks),
        hidden=tuple(b.ffn.hidden_sizes[0] if b.ffn else 0 for b in t.blocks),
        nonzero_weights=t.nonzero_weights(), largest_integer=IntegerLoop(t).largest_integer(lab.entry_bound))


def loop_cards(model: LoopedModel, runner: IntegerLoop | None = None) -> Iterator[np.ndarray]:
    """The punch card after 0, 1, 2, … loops: THE loop driver of every looped model (running,
    verifying, tracing, precision). ``runner`` (default: the exact integer path) owns the card's
    array form; the caller decides when to stop."""
    runner = runner or IntegerLoop(model.transformer)
    X = runner.to_array(model.card)
    while True:
        yield X
        X, _ = runner.step(X)


def run_looped(model: LoopedModel, max_loops: int = DEFAULT_MAX_LOOPS, *, record: bool = True,
               progress: Callable[[int], bool | None] | None = None,
               runner: IntegerLoop | None = None) -> ProgramTrace:
    """Run the model on its punch card (exact integer path) and decode after every loop.

    Loops until the decoded pc is the halt pc or ``max_loops`` loops ran; the trace has the same
    shape as the reference interpreter's (:func:`turingformer.programs.run`), built from the
    weights, the card and the labels only. ``record=False`` keeps only the final state.
    ``progress(t)`` is called after every loop; when it returns True the run stops there and the
    trace is marked interrupted. ``runner`` runs the weights instead of the exact integer path
    (:func:`loop_cards`).
    """
    labels, space = model.labels, model.space
    states: list[LoopState] = []
    interrupted = False
    for t, X in enumerate(loop_cards(model, runner)):
        state = read_array(labels, space, X)
        loop = LoopState(t, state.pc, state.mem)
        if record or not states:
            states.append(loop)
        else:
            states[0] = loop
        if state.pc == labels.halt_pc or t == max_loops:
            break
        if progress is not None and t and progress(t):
            interrupted = True
            break
    return ProgramTrace(tuple(states), labels.halt_pc, name=labels.name, kind=labels.machine, bits=labels.bits,
                        labels=dict(labels.cell_labels), interrupted=interrupted)
