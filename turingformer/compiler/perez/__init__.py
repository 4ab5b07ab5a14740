"""The Pérez–Barceló–Marinkovic construction (spec ``perez-construction.md``), one module per stage:
:mod:`.normalize` (§2b, the machine M' the network runs) → :mod:`.layout` (§3, the named residual
dimensions and the labels) → :mod:`.construction` (§4–§6, every weight) → :mod:`.model` (the
:class:`~.model.PerezModel` and its model file) → :mod:`.decoding` (§7, outputs back into the
user's trace, from weights, input and labels alone) → :mod:`.verify` (§9, every step and layer
against the simulator).

This module is the registry entry: light, so that loading a model file imports only
:mod:`.model` and :mod:`.decoding`.
"""

from __future__ import annotations

from typing import Any, ClassVar

from turingformer.compiler.protocol import TURING_MACHINE, Construction, Option


class Perez(Construction):
    """A Turing machine into a one-layer encoder and a three-layer hard-attention decoder."""

    name: ClassVar[str] = "perez"
    description: ClassVar[str] = ("Pérez, Barceló, Marinkovic (JMLR 2021): 1 encoder layer, 3 hard-attention decoder "
                                  "layers, d = 2|Q'| + 4|Σ'| + 11")
    sources: ClassVar[tuple[str, ...]] = (TURING_MACHINE,)
    model_kind: ClassVar[str] = "perez"
    options: ClassVar[tuple[Option, ...]] = (
        Option("cross_attention", "decoder layers 2-3: their own zero cross-attention (per-layer, the default) or the "
                                  "strict shared one (spec 8 A); both are exact", "per-layer", ("per-layer", "shared")),
        Option("score", "attention score: -|x| (abs, the default) or -min(|x|, 1) (clipped)", "abs", ("abs", "clipped")),
    )
    run_options: ClassVar[tuple[Option, ...]] = (
        Option("decoder", "exact decoder: fast (flint, certified float filter; the default) or plain (Fractions, "
                          "every score computed); both give identical results", "fast", ("fast", "plain")),
    )

    def compile(self, source: Any, **options: Any):
        from .construction import compile_machine
        return compile_machine(source, **options)

    def verify(self, source: Any, input: str | None = None, *, model=None, max_steps: int | None = None,
               progress=None, rows: int | None = None, decoder="fast", **options: Any):
        from turingformer.tm.simulator import DEFAULT_MAX_STEPS

        from .model import decoder_function
        from .verify import verify
        return verify(source, input or "", max_steps=DEFAULT_MAX_STEPS if max_steps is None else max_steps,
                      model=model, decoder=decoder_function(decoder), keep_rows=rows, progress=progress, **options)


CONSTRUCTIONS = (Perez(),)
MODEL_KIND = "perez"
MODEL_CLASS = "turingformer.compiler.perez.model:PerezModel"
