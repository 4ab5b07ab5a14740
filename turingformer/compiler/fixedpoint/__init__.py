"""FLEQ-M on the looped computer, exactly (linear-algebra spec ``../shared/looped-linear-algebra.md``;
``docs/linear-algebra.md``): a fixed-point matrix machine — a calculator and a linear-algebra
library — as the weights of one looped transformer of N/L + 3 ≤ 13 blocks, reproducing the
reference interpreter bit for bit after every loop.

    gadgets.py       clip-form σ units ρ·clip(t, 0, s), merged by (t, s); the gadgets of §2.1
    early.py         the early functions, one σ layer in block 2 (§2.2)
    products.py      mm / had / smul: digit layers, product layer, floor layer, write (§2.3)
    amax.py          amax: |x|, pairwise maxima (§2.4)
    control.py       decode, gate, flag source, branch (§2.5)
    blocks.py        the block sequence of one loop, only the compiled functions (§3)
    layout.py        named dimensions, value ranges, labels, E(mem, pc) (§3)
    construction.py  compile_fleqm, the size guard
    decoding.py      (pc, memory) from the card and labels alone; run_fleqm
    model.py         FixedPointModel: its run, compile summary and model file (kind ``fleq-m``)
    invariants.py    what the card holds after every block (from the state, not the weights)
    verify.py        verify_fleqm: loop by loop against the interpreter, the first divergent block

This module is the registry entry (one construction, ``fleq-m``, one model kind); it is light, so
that loading a model file imports only :mod:`.model` and what it needs.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, ClassVar

from turingformer.compiler.protocol import Construction, Option


def _digit_bits(text: str) -> int:
    from turingformer.errors import ConstructionError
    if not text.isascii() or not text.isdigit() or not 1 <= int(text) <= 8:
        raise ConstructionError(f"--digit-bits {text[:20]!r}: the digit size is a whole number from 1 to 8",
                                hint="leave it out (L = 4 when it divides N and F) or give e.g. --digit-bits 2")
    return int(text)


@dataclass(frozen=True, repr=False)
class FixedPoint(Construction):
    """FLEQ-M (fixed-point k×k matrix cells) on the looped computer: N/L + 3 blocks with a product
    function, 3 without late functions; the weights depend only on the program's sizes, format
    and functions, the program goes into the punch card."""

    name: ClassVar[str] = "fleq-m"
    description: ClassVar[str] = ("FLEQ-M, fixed-point matrix cells, exact: N/L + 3 blocks with products "
                                  "(9 for Q24.16), 3 without late functions (docs/linear-algebra.md)")
    sources: ClassVar[tuple[str, ...]] = ("fleq-m",)
    model_kind: ClassVar[str] = "fleq-m"
    takes_input: ClassVar[bool] = False
    options: ClassVar[tuple[Option, ...]] = (
        Option("digit_bits", "FLEQ-M: the digit size L of the exact products (default: 4 when it divides N and F, "
               "else 2 or 1); the loop has N/L + 3 blocks", parse=_digit_bits, metavar="L"),)
    run_options: ClassVar[tuple[Option, ...]] = (
        Option("data", "a learner program's training data: a CSV file (one row per point, the features, then y; "
               "a header is optional), .npy (the same columns) or .npz (X and y), loaded into the card's data "
               "cells without recompiling (docs/in-context-learning.md)", metavar="FILE"),)

    def check(self, source: Any, **options: Any) -> None:
        from .construction import check
        check(source, options.get("digit_bits"))

    def compile(self, source: Any, **options: Any):
        from .construction import compile_fleqm
        return compile_fleqm(source, options.get("digit_bits"))

    def verify(self, source: Any, input: str | None = None, *, model=None, max_steps: int | None = None,
               progress=None, rows: int | None = None, data=None, **options: Any):
        from turingformer.errors import InputError
        from turingformer.programs import DEFAULT_MAX_LOOPS

        from .verify import verify_fleqm
        if input is not None:
            raise InputError("a program takes no input word: its input is its initial memory",
                             hint="edit the program's .data values instead")
        loaded = source.with_data(data) if data is not None else source     # bad data: refused before compiling
        model = model if model is not None else self.compile(source, **options)
        if data is not None:            # the same training data into the interpreter's memory and the card
            source, model = loaded, model.with_data(data)
        return verify_fleqm(source, model=model, progress=progress,
                            max_loops=DEFAULT_MAX_LOOPS if max_steps is None else max_steps)


CONSTRUCTIONS = (FixedPoint(),)
MODEL_KIND = "fleq-m"
MODEL_CLASS = "turingformer.compiler.fixedpoint.model:FixedPointModel"


#: What the package exports, imported on first use (the registry entry above stays light).
_LAZY = {"compile_fleqm": ".construction", "run_fleqm": ".decoding", "read_state": ".decoding",
         "verify_fleqm": ".verify", "FixedPointModel": ".model", "FixedPointSummary": ".model",
         "FixedPointLabels": ".layout", "Shape": ".layout"}


def __getattr__(name: str):
    if name not in _LAZY:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    import importlib
    return getattr(importlib.import_module(_LAZY[name], __name__), name)


__all__ = ["FixedPoint", "CONSTRUCTIONS", "MODEL_KIND", "MODEL_CLASS", *_LAZY]
