"""turingformer: compile computation into the exact weights of a transformer and check, by running
it, that the network is the computation (Pérez, Barceló and Marinkovic, *Attention is Turing
Complete*, JMLR 22, 2021).

The pipeline, one package per layer (docs/architecture.md)::

    tm.formats (file) -> tm.machine.TuringMachine (networkx graph) -> tm.simulator.run -> tm.trace.Trace
    TuringMachine -> compiler.perez (normalize -> construction) -> CompiledModel (runtime weights)
        -> compiler.perez.decoding.run_model (runtime.fast / runtime.transformer) -> RunResult (.trace)
        -> analysis.verify.verify

Names are imported lazily, so that decoding a saved model loads only the runtime it needs.
"""

from __future__ import annotations

import importlib

__version__ = "0.1.0"

_EXPORTS = {
    "TuringMachine": "tm.machine", "Rule": "tm.machine", "Move": "tm.machine", "Example": "tm.machine",
    "run": "tm.simulator", "Trace": "tm.trace", "Configuration": "tm.trace", "Tape": "tm.trace",
    "HaltReason": "tm.trace", "Verdict": "tm.trace",
    "load_machine": "tm.formats", "loads_machine": "tm.formats", "dump_machine": "tm.formats",
    "compile_machine": "compiler.perez.construction", "CompiledModel": "compiler.perez.layout",
    "run_model": "compiler.perez.decoding", "RunResult": "compiler.perez.decoding", "ModelRun": "compiler.perez.decoding",
    "save_model": "modelfile", "load_model": "modelfile",
    "Transformer": "runtime.transformer", "decode": "runtime.transformer", "decode_fast": "runtime.fast",
    "verify": "analysis.verify", "run_with_cache": "analysis.inspect",
    # looped transformers (docs/looped.md)
    "compile_program": "compiler.looped.construction", "LoopedModel": "compiler.looped.layout",
    "run_looped": "compiler.looped.decoding", "verify_looped": "analysis.looped",
    "LoopedTransformer": "runtime.looped", "IntegerLoop": "runtime.looped",
}

__all__ = sorted(_EXPORTS)


def __getattr__(name: str):
    if name in _EXPORTS:
        return getattr(importlib.import_module(f".{_EXPORTS[name]}", __name__), name)
    raise AttributeError(f"module 'turingformer' has no attribute {name!r}")


def __dir__():
    return __all__
