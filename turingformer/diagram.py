"""State diagrams of a machine: Graphviz DOT text, and PNG/SVG drawings through matplotlib.

Both read the machine's networkx graph (:attr:`TuringMachine.graph`). Parallel rules between the
same two states share one arrow whose label lists them, one ``read→write,move`` per line, as
turingmachine.io draws them; the blank ``' '`` is shown as ``␣``. The start state gets an arrow
from nowhere; accept states are double circles, reject states double octagons, halt states
double circles drawn dashed.
"""

from __future__ import annotations

import importlib.util
from pathlib import Path

from .errors import FormatError, TuringformerError
from .machine import TuringMachine

DRAWING_SUFFIXES = (".png", ".svg", ".pdf")


def visible(symbol: str) -> str:
    """A symbol as diagrams and tables show it (the space as ``␣``)."""
    return "␣" if symbol == " " else symbol


def edge_labels(machine: TuringMachine) -> dict[tuple[str, str], list[str]]:
    """``(state, next state) -> ['read→write,move', ...]`` in rule order."""
    labels: dict[tuple[str, str], list[str]] = {}
    for u, v, data in machine.graph.edges(data=True):
        labels.setdefault((u, v), []).append(
            f"{visible(data['read'])}→{visible(data['write'])},{data['move']}")
    return labels


def _dot_id(text: str) -> str:
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n") + '"'


def to_dot(machine: TuringMachine) -> str:
    """The state diagram in the Graphviz DOT language (render with ``dot -Tsvg``)."""
    graph = machine.graph
    lines = [f"digraph {_dot_id(machine.name or 'machine')} {{", "  rankdir=LR;",
             '  node [shape=circle, fontname="Helvetica"];', '  edge [fontname="Helvetica", fontsize=10];',
             '  "__start__" [shape=point, width=0.08, label=""];',
             f"  \"__start__\" -> {_dot_id(machine.start)};"]
    styles = {"accept": "shape=doublecircle, color=darkgreen",
              "reject": "shape=doubleoctagon, color=firebrick",
              "halt": "shape=doublecircle, style=dashed"}
    for state in graph.nodes:
        role = machine.role(state)
        attrs = f" [{styles[role]}]" if role else ""
        lines.append(f"  {_dot_id(state)}{attrs};")
    for (u, v), labels in edge_labels(machine).items():
        lines.append(f"  {_dot_id(u)} -> {_dot_id(v)} [label={_dot_id(chr(10).join(labels))}];")
    lines.append("}")
    return "\n".join(lines) + "\n"


def draw(machine: TuringMachine, path: str | Path, *, seed: int = 0) -> Path:
    """Draw the state diagram to ``path`` (``.png``, ``.svg`` or ``.pdf``) with matplotlib
    (:func:`turingformer.views.state_diagram`, the figure the notebooks show)."""
    path = Path(path)
    if path.suffix.lower() not in DRAWING_SUFFIXES:
        raise FormatError(f"cannot draw to {path.name!r}: unknown extension {path.suffix!r}",
                          hint=f"use one of {', '.join(DRAWING_SUFFIXES)}, or .dot for Graphviz text")
    if importlib.util.find_spec("matplotlib") is None:
        raise TuringformerError(
            f"drawing {path.suffix} files needs matplotlib, which is not installed",
            hint="pip install 'turingformer[plot]'  (or write a .dot file and render it with Graphviz)")
    from .views import save, state_diagram

    return save(state_diagram(machine, seed=seed), path)
