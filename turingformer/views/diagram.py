"""State diagrams of a machine as Graphviz DOT text, and the edge labels the drawings share
(:func:`turingformer.views.figures.draw_diagram` draws PNG/SVG through matplotlib).

Both read the machine's networkx graph (:attr:`TuringMachine.graph`). Parallel rules between the
same two states share one arrow whose label lists them, one ``read→write,move`` per line, as
turingmachine.io draws them; the blank ``' '`` is shown as ``␣``. The start state gets an arrow
from nowhere; accept states are double circles, reject states double octagons, halt states
double circles drawn dashed.
"""

from __future__ import annotations

from turingformer.tm.machine import TuringMachine

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

