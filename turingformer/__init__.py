"""turingformer: compile computation into the exact weights of a transformer and check, by running
it, that the network is the computation.

The same calls for every kind of computation (docs/architecture.md)::

    source = turingformer.load("machines/palindrome.yaml")     # a machine, or a program (.subleq, .fleq, …)
    model = turingformer.compile(source)                        # the registry's construction for its kind
    run = model.run("abba")                                     # the trace, from the weights and the input alone
    result = turingformer.verify(model, "abba")                 # every step against the independent reference
    turingformer.save_model(model, "m.json"); turingformer.load_model("m.json")

Constructions: Pérez, Barceló and Marinkovic (*Attention is Turing Complete*, JMLR 22, 2021) for
Turing machines; Giannou et al. (*Looped Transformers as Programmable Computers*, ICML 2023) for
SUBLEQ and FLEQ programs and for Turing machines compiled to SUBLEQ (``turingformer.constructions()``).

Names are imported lazily, so that decoding a saved model loads only the runtime it needs.
"""

from __future__ import annotations

import importlib

__version__ = "0.1.0"

_EXPORTS = {
    # the pipeline, for every kind
    "load": "sources", "compile": "compiler", "verify": "analysis.verify",
    "save_model": "modelfile", "load_model": "modelfile", "read_model": "modelfile",
    "construction": "compiler", "constructions": "compiler", "register": "compiler",
    "Model": "compiler.protocol", "Construction": "compiler.protocol", "Run": "compiler.protocol",
    "Verification": "compiler.protocol", "Divergence": "compiler.protocol", "Option": "compiler.protocol",
    "TuringformerError": "errors",
    # machines and their reference simulator
    "TuringMachine": "tm.machine", "Rule": "tm.machine", "Move": "tm.machine", "Example": "tm.machine",
    "simulate": "tm.simulator", "Trace": "tm.trace", "Configuration": "tm.trace", "Tape": "tm.trace",
    "HaltReason": "tm.trace", "Verdict": "tm.trace",
    "load_machine": "tm.formats", "loads_machine": "tm.formats", "dump_machine": "tm.formats",
    # programs and their reference interpreter
    "Program": "programs", "ProgramTrace": "programs", "interpret": "programs", "load_program": "programs.formats",
    # the models of the built-in constructions, and the runtimes
    "PerezModel": "compiler.perez.model", "LoopedModel": "compiler.looped.model",
    "LoopedMachineModel": "compiler.bridge.model",
    "Transformer": "runtime.transformer", "LoopedTransformer": "runtime.looped",
    "run_with_cache": "analysis.inspect",
}
#: Public names that are another module's name for the same object.
_RENAMED = {"simulate": "run", "interpret": "run"}

__all__ = sorted(_EXPORTS)


def __getattr__(name: str):
    if name in _EXPORTS:
        return getattr(importlib.import_module(f".{_EXPORTS[name]}", __name__), _RENAMED.get(name, name))
    raise AttributeError(f"module 'turingformer' has no attribute {name!r}")


def __dir__():
    return __all__
