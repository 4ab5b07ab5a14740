"""The compiled FLEQ-M model: weights, punch card and labels; its run, its compile summary (spec §3:
blocks, heads, d, widths, units, bits) and its model file (kind ``fleq-m``).

:class:`FixedPointModel` is a :class:`~turingformer.compiler.protocol.Model`: ``run`` runs the card on
the exact integer path and decodes pc and the k×k cells after every loop (:mod:`.decoding`, from
the card and the labels alone); ``to_json`` / ``from_json`` write and validate its model file.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from fractions import Fraction
from typing import ClassVar

import numpy as np

from ...programs import DEFAULT_MAX_LOOPS, FLEQM_FUNCTIONS
from ...programs.fixed import Fixed
from ...programs.learning import ALGORITHMS, LAYOUTS, MODEL_WEIGHTS, MODELS, Dataset, Learner, read_data
from ...programs.program import FLEQM_MAX_BITS, FLEQM_MAX_K, function_family, require_learner
from ...runtime.looped import IntegerLoop, LoopedTransformer
from ...runtime.serialize import JsonReader, WeightReader, WeightWriter, sparse_vector
from ..looped.model import LoopedModel, read_blocks, write_blocks
from ..protocol import ENVELOPE_KEYS, Progress, Run, Summary
from .layout import MAX_BLOCKS, FixedPointLabels, Shape, mem


@dataclass(frozen=True, repr=False)
class FixedPointModel(LoopedModel):
    """A compiled FLEQ-M program: the looped weights, the punch card X₀ and the labels (a looped
    model whose cells are k×k fixed-point matrices; its own run, summary and model file).

    Its model file (kind ``fleq-m``) stores the blocks, the card (one sparse column per token: the
    program is in the input) and the labels::

        "spaces": {"residual": [names...], "loop.0.ffn.hidden": [names...], ...},
        "blocks": [{"heads": [ATTN, ...], "ffn": [LINEAR, ...] | null}],
        "card": [{name: "p/q"}, ...],
        "labels": {"cells", "instructions", "bits", "frac", "k", "digit_bits", "functions", "name", "cell_labels",
                   "learner" (only for a learner program: docs/in-context-learning.md)}

    Reading checks the labels (a valid format, known functions), that the residual space is the
    one these labels lay out, that the card has M + s + 1 columns, and that every labelled cell exists.
    """

    kind: ClassVar[str] = "fleq-m"

    labels: FixedPointLabels

    @property
    def shape(self) -> Shape:
        return self.labels.shape

    def _repr_sizes(self) -> str:
        s = self.shape
        return (f"Q{s.bits}.{s.frac}, k={s.k}, M={s.cells}, s={s.instructions}, blocks={len(self.transformer.blocks)}, "
                f"d={len(self.space)}, n={self.n}, functions={len(s.functions)}")

    def run(self, input: str | None = None, *, max_steps: int | None = None, progress: Progress | None = None,
            runner: IntegerLoop | None = None, data=None) -> Run:
        """Run the punch card (exact integer path, or ``runner``) and decode pc and the cells after
        every loop. ``data`` (a learner program's model only): other training data for its declared
        cells — a CSV / ``.npy`` / ``.npz`` file name, ``(X, y)`` arrays or a
        :class:`~turingformer.programs.learning.TrainingData` — run with the same weights
        (:meth:`with_data`)."""
        from .decoding import run_fleqm
        self.check_input(input)
        model = self if data is None else self.with_data(data)
        trace = run_fleqm(model, DEFAULT_MAX_LOOPS if max_steps is None else max_steps, progress=progress,
                          runner=runner)
        notes = () if data is None else (f"training data from {model.labels.learner.data}: "
                                         f"{model.labels.learner.X.points(self.shape.k)} points in the card's data "
                                         f"cells; the weights are the model's own (weights digest "
                                         f"{model.weights_digest()[:23]}…, as compile and inspect print)",)
        return Run(trace, None, trace.steps, "loop", notes)

    def with_data(self, data) -> "FixedPointModel":
        """This model with other training data on its punch card: the declared data entries of the
        memory columns are replaced (converted by the spec's rounding, §1.1); the weights — the
        very same :class:`~turingformer.runtime.looped.LoopedTransformer` object — and everything
        else on the card are unchanged. The labels record where the data came from."""
        labels = self.labels
        learner = require_learner(labels.learner, labels.name)
        shape, space = self.shape, self.space
        rows = {(i, j): space.index(mem(i, j, shape.k)) for i, j in shape.entries}
        memory = [tuple(tuple(int(self.card[c][rows[i, j]]) for j in range(shape.k)) for i in range(shape.k))
                  for c in range(shape.cells)]
        found = read_data(data, learner, Fixed(shape.bits, shape.frac), shape.k)
        loaded = learner.load(memory, found, shape.k)
        card = list(self.card)
        for c, (old, new) in enumerate(zip(memory, loaded)):
            if old != new:
                column = list(card[c])
                for (i, j), row in rows.items():
                    column[row] = Fraction(new[i][j])
                card[c] = tuple(column)
        return replace(self, card=tuple(card), labels=replace(labels, learner=replace(learner, data=found.name)))

    def summary(self) -> "FixedPointSummary":
        return summary(self)

    # ------------------------------------------------------------------ the model file
    def to_json(self) -> dict:
        w = WeightWriter(self.space)
        blocks = write_blocks(self.transformer, w)
        return {"spaces": w.spaces(), "blocks": blocks, "card": [sparse_vector(self.space, col) for col in self.card],
                "labels": self.labels.to_json()}

    @classmethod
    def from_json(cls, data: dict, r: JsonReader) -> "FixedPointModel":
        r.obj(data, "the document", (*ENVELOPE_KEYS, *_KEYS))
        labels = _read_labels(r, data["labels"])
        maps = WeightReader(r, data["spaces"])
        if maps.residual.names != labels.shape.dimensions():
            raise r.fail("spaces.residual", "not the named dimensions of a FLEQ-M card with these labels")
        blocks = read_blocks(r, maps, data["blocks"])
        if len(blocks) != labels.shape.blocks:
            raise r.fail("blocks", f"{len(blocks)} blocks, but a loop of these labels has {labels.shape.blocks}")
        card = r.list(data["card"], "card")
        columns = labels.shape.cells + labels.shape.instructions + 1
        if len(card) != columns:
            raise r.fail("card", f"{len(card)} columns, but M = {labels.shape.cells} and s = "
                                 f"{labels.shape.instructions} make {columns}")
        X = tuple(maps.residual.vector(r.sparse(col, f"card[{k}]", maps.residual)) for k, col in enumerate(card))
        return cls(LoopedTransformer(maps.residual, blocks), X, labels)


_KEYS = ("spaces", "blocks", "card", "labels")
_LABEL_KEYS = ("cells", "instructions", "bits", "frac", "k", "digit_bits", "functions", "name", "cell_labels")


def _read_labels(r: JsonReader, value) -> FixedPointLabels:
    lab = r.obj(value, "labels", (*_LABEL_KEYS, "learner") if isinstance(value, dict) and "learner" in value
                else _LABEL_KEYS)
    bits = r.integer(lab["bits"], "labels.bits", 4, FLEQM_MAX_BITS)
    frac = r.integer(lab["frac"], "labels.frac", 1, bits - 2)
    digit_bits = r.integer(lab["digit_bits"], "labels.digit_bits", 1, 8)
    if bits % digit_bits or frac % digit_bits:
        raise r.fail("labels.digit_bits", f"L = {digit_bits} does not divide N = {bits} and F = {frac}")
    functions = r.strings(lab["functions"], "labels.functions", unique=True)
    for f in functions:
        if not function_family(f)[0]:
            raise r.fail("labels.functions", f"{f[:40]!r} is not a FLEQ-M function ({', '.join(FLEQM_FUNCTIONS)})")
    cells = r.integer(lab["cells"], "labels.cells", 1)
    shape = Shape(cells, r.integer(lab["instructions"], "labels.instructions", 1), bits, frac,
                  r.integer(lab["k"], "labels.k", 1, FLEQM_MAX_K), digit_bits, functions)
    if shape.blocks > MAX_BLOCKS:
        raise r.fail("labels", f"{shape.blocks} blocks per loop (at most {MAX_BLOCKS})")
    cell_labels = tuple((r.string(k, "labels.cell_labels key"),
                         r.integer(v, f"labels.cell_labels[{k[:40]!r}]", 0, cells - 1))
                        for k, v in r.obj(lab["cell_labels"], "labels.cell_labels").items())
    learner = _read_learner(r, lab["learner"], shape) if "learner" in lab else None
    return FixedPointLabels(shape, r.string(lab["name"], "labels.name"), cell_labels, learner)


def _read_learner(r: JsonReader, value, shape: Shape) -> Learner:
    """A learner's declaration, every cell a memory cell and the epoch an instruction."""
    where = "labels.learner"
    lab = r.obj(value, where, ("algorithm", "model", "weights", "X", "y", "rate", "epoch", "data"))
    model = r.string(lab["model"], f"{where}.model", MODELS)
    weights = tuple((r.string(item[0], f"{where}.weights"), r.integer(item[1], f"{where}.weights", 0, shape.cells - 1))
                    if isinstance(item, list) and len(item) == 2 else r.fail(f"{where}.weights", "expected [label, cell]")
                    for item in r.list(lab["weights"], f"{where}.weights"))
    if len(weights) != len(MODEL_WEIGHTS[model]):
        raise r.fail(f"{where}.weights", f"a {model} model has {len(MODEL_WEIGHTS[model])} weight cells")

    def dataset(name: str) -> Dataset:
        d = r.obj(lab[name], f"{where}.{name}", ("name", "layout", "width", "cells"))
        return Dataset(r.string(d["name"], f"{where}.{name}.name", (name,)),
                       r.string(d["layout"], f"{where}.{name}.layout", LAYOUTS),
                       r.integer(d["width"], f"{where}.{name}.width", 1, 1 if name == "y" else shape.k),
                       tuple(r.integer(c, f"{where}.{name}.cells", 0, shape.cells - 1)
                             for c in r.list(d["cells"], f"{where}.{name}.cells")))

    def optional(key: str, top: int) -> int | None:
        return None if lab[key] is None else r.integer(lab[key], f"{where}.{key}", 0, top)

    return Learner(r.string(lab["algorithm"], f"{where}.algorithm", ALGORITHMS), model, weights, dataset("X"),
                   dataset("y"), optional("rate", shape.cells - 1), optional("epoch", shape.instructions),
                   r.string(lab["data"], f"{where}.data"))


@dataclass(frozen=True)
class FixedPointSummary(Summary):
    """What ``compile`` prints about a FLEQ-M model (spec §3: blocks, heads, d, widths, units, bits)."""

    name: str
    shape: Shape
    columns: int
    d: int
    heads: tuple[int, ...]
    hidden: tuple[int, ...]
    nonzero_weights: int
    largest_integer: int
    weights_digest: str

    def lines(self) -> list[str]:
        s = self.shape
        return [f"construction fleq-m: FLEQ-M on the looped computer, exact fixed point (docs/linear-algebra.md)",
                f"Q{s.bits}.{s.frac} words, {s.k}×{s.k} cells: M = {s.cells} cells, s = {s.instructions} instructions; "
                f"functions {', '.join(s.functions)}",
                f"punch card: n = {self.columns} columns × d = {self.d} named dimensions",
                f"blocks per loop: {len(self.heads)} (at most {MAX_BLOCKS}); heads per block: "
                f"{', '.join(map(str, self.heads))}; digits of L = {s.digit_bits} bits",
                f"hidden widths: {', '.join(f'{h:,}' for h in self.hidden)} ({sum(self.hidden):,} σ units per loop)",
                f"non-zero weights: {self.nonzero_weights:,}; weights digest {self.weights_digest[:23]}… "
                f"(the network alone, without the card)",
                f"activations: integers below 2^{self.largest_integer.bit_length()} in the integer path "
                f"(int64 is used when < 2^62)"]


def summary(model: FixedPointModel) -> FixedPointSummary:
    t = model.transformer
    bounds = model.shape.bounds()
    envelope = np.array([bounds.get(n, 0) for n in t.space.names], dtype=object)
    runner = IntegerLoop(t)
    largest = max(runner.bound(l, envelope) for l in range(len(t.blocks)))
    return FixedPointSummary(model.labels.name, model.shape, model.n, len(t.space),
                             tuple(len(b.heads) for b in t.blocks),
                             tuple(b.ffn.hidden_sizes[0] if b.ffn else 0 for b in t.blocks),
                             t.nonzero_weights(), largest, model.weights_digest())
