"""Constructions: they turn a user's computation into the weights of a transformer and read the
transformer's outputs back into the user's terms — and the **registry** that names them all.

Every construction is one subpackage and one registry entry (:func:`register`); everything else
(compiling, running, verifying, saving, loading, printing, the CLI's choices and flags) goes
through the registry and the protocol of :mod:`.protocol`:

===================  ===============  ==========================================================  ==================
name                 source           construction                                                model kind
===================  ===============  ==========================================================  ==================
``perez``            Turing machine   Pérez, Barceló, Marinkovic 2021: encoder + 3-layer decoder  ``perez``
``looped-machine``   Turing machine   the machine as a SUBLEQ-U program on the looped computer    ``looped-machine``
``subleq-h3``        SUBLEQ-H         Giannou et al. 2023, 3 single-head blocks (default)        ``looped``
``subleq-h2``        SUBLEQ-H         2 blocks (1 and 2 heads)                                    ``looped``
``subleq-u3``        SUBLEQ-U         self-modifying, 3 blocks                                    ``looped``
``fleq-h``           FLEQ-H           FLEQ with the integer function library                      ``looped``
``fleq-m``           FLEQ-M           fixed-point matrix cells, exact (docs/linear-algebra.md)    ``fleq-m``
===================  ===============  ==========================================================  ==================

The first construction registered for a source kind is its default. The registry holds light
objects: a construction's heavy modules, and a model kind's class, are imported only when used,
so a process that runs a model file loads nothing of the machine, the simulator or the compiler.

A construction may import :mod:`turingformer.tm`, :mod:`turingformer.programs` and
:mod:`turingformer.runtime`, never the layers above it.
"""

from __future__ import annotations

import importlib
from typing import Any

from turingformer.errors import ConstructionError, ModelFileError, did_you_mean

from .protocol import (
    Construction, Divergence, Model, Option, Progress, Run, RunTrace, Summary, Verification, source_kind,
)

__all__ = [
    "Construction", "Divergence", "Model", "Option", "Progress", "Run", "RunTrace", "Summary", "Verification",
    "source_kind", "register", "unregister", "register_model", "construction", "constructions", "construction_for",
    "model_class", "model_kinds", "compile",
]

_CONSTRUCTIONS: dict[str, Construction] = {}
#: model kind -> its Model class, or "module:Class" until first used.
_MODELS: dict[str, type[Model] | str] = {}


def register(entry: Construction, *, model: type[Model] | str | None = None) -> Construction:
    """Add a construction (and, when given, the Model class of its ``model_kind``: a class or a
    lazily imported ``"module:Class"``). A name may be registered once."""
    if entry.name in _CONSTRUCTIONS:
        raise ConstructionError(f"a construction named {entry.name!r} is already registered",
                                hint="choose another name")
    _CONSTRUCTIONS[entry.name] = entry
    if model is not None:
        register_model(entry.model_kind, model)
    return entry


def unregister(name: str) -> None:
    """Remove the construction ``name`` (and its model kind, when no other construction produces it)."""
    entry = construction(name)
    del _CONSTRUCTIONS[name]
    if all(c.model_kind != entry.model_kind for c in _CONSTRUCTIONS.values()):
        _MODELS.pop(entry.model_kind, None)


def register_model(kind: str, model: type[Model] | str) -> None:
    """Name the Model class that reads model files of ``kind``."""
    if kind in _MODELS and _MODELS[kind] != model:
        raise ConstructionError(f"the model kind {kind!r} is already registered", hint="choose another kind")
    _MODELS[kind] = model


def construction(name: str) -> Construction:
    """The construction registered as ``name``."""
    if name not in _CONSTRUCTIONS:
        guess = did_you_mean(name, _CONSTRUCTIONS)
        raise ConstructionError(f"unknown construction {name!r}",
                                hint=(f"{guess} " if guess else "") + f"the constructions are: {', '.join(_CONSTRUCTIONS)}")
    return _CONSTRUCTIONS[name]


def constructions(kind: str | None = None) -> tuple[Construction, ...]:
    """Every registered construction, or those that compile sources of ``kind``."""
    return tuple(c for c in _CONSTRUCTIONS.values() if kind is None or kind in c.sources)


def construction_for(source: Any, name: str | None = None) -> Construction:
    """The construction ``name`` (default: the first registered for the source's kind), checked
    to accept ``source``."""
    kind = source_kind(source)
    fits = constructions(kind)
    if name is None:
        if not fits:
            raise ConstructionError(f"no construction compiles a {kind} source", hint="register one")
        return fits[0]
    chosen = construction(name)
    if kind not in chosen.sources:
        raise ConstructionError(f"construction {name!r} compiles {' or '.join(chosen.sources)} sources, not {kind}",
                                hint=f"for a {kind} source use: {', '.join(c.name for c in fits)}")
    return chosen


def model_class(kind: str, where: str = "<model>") -> type[Model]:
    """The Model class of a model-file ``kind`` (imported on first use)."""
    if kind not in _MODELS:
        raise ModelFileError(f"the model file has the unknown kind {kind[:40]!r} (the kinds are: "
                             f"{', '.join(_MODELS)})", hint="recompile it with this turingformer")
    entry = _MODELS[kind]
    if isinstance(entry, str):
        module, _, attribute = entry.partition(":")
        entry = getattr(importlib.import_module(module), attribute)
        _MODELS[kind] = entry
    return entry


def model_kinds() -> tuple[str, ...]:
    return tuple(_MODELS)


def compile(source: Any, construction: str | None = None, **options: Any) -> Model:
    """The model of ``source`` (a machine or a program) by the named construction (default: the
    source kind's), with that construction's ``options``; its size guard runs first."""
    chosen = construction_for(source, construction)
    unknown = sorted(set(options) - {o.name for o in chosen.options})
    if unknown:
        raise ConstructionError(f"construction {chosen.name!r} has no option {unknown[0]!r}",
                                hint=f"its options are: {', '.join(o.name for o in chosen.options) or 'none'}")
    chosen.check(source, **options)
    return chosen.compile(source, **options).with_source(source)


def _register_builtins() -> None:
    from . import bridge, fixedpoint, looped, perez
    for package in (perez, bridge, looped, fixedpoint):
        for entry in package.CONSTRUCTIONS:
            register(entry)
        register_model(package.MODEL_KIND, package.MODEL_CLASS)


_register_builtins()
