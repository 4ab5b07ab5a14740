"""Verification of any model against its independent reference: one call for every construction.

:func:`verify` takes a source (a machine or a program: it is compiled by its construction), a
model that knows its source (compiled by :func:`turingformer.compile`, or loaded from a model file
that records it), or a source *and* a model (``model=``: the model is checked against that
source). The construction named by the model (or chosen for the source) runs the network beside
its reference — the simulator for a Turing machine, the interpreter for a program — and returns
a :class:`~turingformer.compiler.protocol.Verification`: ``.ok``, the typed first ``.divergence``,
``.table()``.
"""

from __future__ import annotations

from typing import Any

from turingformer.compiler import construction as registered, construction_for, source_kind
from turingformer.compiler.protocol import Model, Progress, Verification
from turingformer.errors import SourceKindError

#: How many table rows :func:`verify` keeps by default.
KEEP_ROWS = 10_000


def source_of(model: Model) -> Any:
    """The source a model was compiled from (its recorded source loaded again when it came from a file)."""
    source = model.source
    if source is None:
        raise SourceKindError(f"this {type(model).__name__} does not know the source it was compiled from",
                              hint="verify it against its source: turingformer.verify(source, input, model=model)")
    return source.load() if hasattr(source, "load") else source


def verify(subject: Any, input: str | None = None, *, model: Model | None = None, construction: str | None = None,
           max_steps: int | None = None, progress: Progress | None = None, rows: int | None = KEEP_ROWS,
           **options: Any) -> Verification:
    """Verify a model against its reference at every step (module docstring).

    ``subject`` is a source or a model; ``input`` the input word (None for a program, or the
    model's default); ``construction`` and ``options`` choose and configure the construction when a
    source is compiled here; ``rows`` bounds the table rows kept (None: all).
    """
    if isinstance(subject, Model):
        if model is not None:
            raise SourceKindError("verify takes one model", hint="verify(source, input, model=model)")
        model, source = subject, source_of(subject)
    else:
        source = subject
    chosen = registered(model.construction) if model is not None else construction_for(source, construction)
    kind = source_kind(source)
    if kind not in chosen.sources:
        raise SourceKindError(f"a {model.kind} model (construction {chosen.name}) runs {' or '.join(chosen.sources)} "
                              f"sources; it cannot be verified against a {kind}",
                              hint="verify it against the source it was compiled from (verify MODEL with no --machine)")
    if model is None:
        chosen.check(source, **{k: v for k, v in options.items() if k in {o.name for o in chosen.options}})
    return chosen.verify(source, input, model=model, max_steps=max_steps, progress=progress, rows=rows, **options)
