"""What the export tests share: every model compiled once per session, and the exact JSON Lines
a model's run prints (``turingformer run --json``)."""

from __future__ import annotations

import functools

import turingformer

from paths import MACHINES, PROGRAMS

#: FLEQ-M programs whose float runs take minutes (hundreds of loops of 20,000 σ units, or learners):
#: their exports agree too (docs/export.md, "Where float breaks"), checked outside the suite.
LONG_FLEQM = ("power4", "linreg_gd", "linreg_newton", "nn", "nn_sigmoid")
PROGRAM_FILES = sorted(p for p in PROGRAMS.iterdir() if p.suffix in (".subleq", ".usubleq", ".fleq")
                       or p.suffix == ".fleqm" and p.stem not in LONG_FLEQM)
MACHINE_FILES = sorted(MACHINES.glob("*.yaml"))
#: Bridge runs take hundreds of loops per machine step: these machines' examples stay short.
BRIDGE_FILES = ("busy_beaver_2.yaml", "stay_eraser.yaml", "unary_addition.yaml")


@functools.lru_cache(maxsize=None)
def source(path) -> object:
    return turingformer.load(path)


@functools.lru_cache(maxsize=None)
def compiled(path, construction: str | None = None):
    return turingformer.compile(source(path), construction)


def json_lines(run) -> list[str]:
    """What ``turingformer run --json`` prints of a run (the trace's JSON Lines)."""
    return list(run.json_lines())


def examples(path) -> list[str]:
    return [example.input for example in source(path).examples]
