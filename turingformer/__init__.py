"""turingformer: compile a Turing machine into the exact weights of a hard-attention transformer
(Pérez, Barceló and Marinkovic, *Attention is Turing Complete*, JMLR 22, 2021) and check, step
by step, that the network is the machine.

The pipeline, one module per stage::

    formats (file) -> machine.TuringMachine (networkx graph) -> simulator.run -> trace.Trace
    TuringMachine -> normalize -> construction.compile_machine -> layout.CompiledModel
        -> decoding.run_model (transformer.decode) -> trace.Trace -> verify.verify

Names are imported lazily, so that decoding a saved model loads only the runtime it needs.
``verify`` lives in its module of the same name: ``from turingformer.verify import verify``.
"""

from __future__ import annotations

import importlib

__version__ = "0.1.0"

_EXPORTS = {
    "TuringMachine": "machine", "Rule": "machine", "Move": "machine", "Example": "machine",
    "run": "simulator", "Trace": "trace", "Configuration": "trace", "Tape": "trace",
    "HaltReason": "trace", "Verdict": "trace",
    "load_machine": "formats", "loads_machine": "formats", "dump_machine": "formats",
    "compile_machine": "construction", "CompiledModel": "layout",
    "run_model": "decoding",
    "save_model": "modelfile", "load_model": "modelfile",
    "Transformer": "transformer", "decode": "transformer",
}

__all__ = sorted(_EXPORTS)


def __getattr__(name: str):
    if name in _EXPORTS:
        return getattr(importlib.import_module(f".{_EXPORTS[name]}", __name__), name)
    raise AttributeError(f"module 'turingformer' has no attribute {name!r}")


def __dir__():
    return __all__
