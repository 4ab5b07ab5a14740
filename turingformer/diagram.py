"""State diagrams of a machine: Graphviz DOT text, and PNG/SVG drawings through matplotlib.

Both read the machine's networkx graph (:attr:`TuringMachine.graph`). Parallel rules between the
same two states share one arrow whose label lists them, one ``read→write,move`` per line, as
turingmachine.io draws them; the blank ``' '`` is shown as ``␣``. The start state gets an arrow
from nowhere; accept states are double circles, reject states double octagons, halt states
double circles drawn dashed.
"""

from __future__ import annotations

from pathlib import Path

import networkx as nx

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
    """Draw the state diagram to ``path`` (``.png``, ``.svg`` or ``.pdf``) with matplotlib."""
    path = Path(path)
    if path.suffix.lower() not in DRAWING_SUFFIXES:
        raise FormatError(f"cannot draw to {path.name!r}: unknown extension {path.suffix!r}",
                          hint=f"use one of {', '.join(DRAWING_SUFFIXES)}, or .dot for Graphviz text")
    try:
        import matplotlib
        matplotlib.use("Agg", force=False)
        import matplotlib.pyplot as plt
    except ImportError:
        raise TuringformerError(
            f"drawing {path.suffix} files needs matplotlib, which is not installed",
            hint="pip install 'turingformer[plot]'  (or write a .dot file and render it with Graphviz)") from None

    simple = nx.DiGraph()
    simple.add_nodes_from(machine.graph.nodes)
    labels = {edge: "\n".join(text) for edge, text in edge_labels(machine).items()}
    simple.add_edges_from(labels)
    n = simple.number_of_nodes()
    # circular for small machines (readable, deterministic); a seeded spring layout otherwise.
    pos = nx.circular_layout(simple) if n <= 12 else nx.spring_layout(simple, seed=seed, k=2.0 / n ** 0.5)
    size = max(5.0, min(3.0 + 1.2 * n ** 0.5 * 2, 24.0))
    fig, ax = plt.subplots(figsize=(size, size * 0.75))
    colours = {"accept": "#b7e4c7", "reject": "#f4b6b6", "halt": "#d9d9d9", None: "#ffffff"}
    node_colour = [colours[machine.role(s)] for s in simple.nodes]
    edge_colour = ["#2d6a4f" if machine.role(s) == "accept" else "#333333" for s in simple.nodes]
    nx.draw_networkx_nodes(simple, pos, ax=ax, node_size=1100, node_color=node_colour,
                           edgecolors=edge_colour, linewidths=[3.0 if s == machine.start else 1.2
                                                               for s in simple.nodes])
    nx.draw_networkx_labels(simple, pos, ax=ax, font_size=9)
    curved = [e for e in simple.edges if e[0] != e[1] and simple.has_edge(e[1], e[0])]
    straight = [e for e in simple.edges if e not in curved]
    common = dict(ax=ax, node_size=1100, arrows=True, arrowstyle="-|>", arrowsize=14, edge_color="#555555")
    nx.draw_networkx_edges(simple, pos, edgelist=straight, **common)
    nx.draw_networkx_edges(simple, pos, edgelist=curved, connectionstyle="arc3,rad=0.2", **common)
    nx.draw_networkx_edge_labels(simple, pos, {e: labels[e] for e in straight}, ax=ax, font_size=7, rotate=False,
                                 bbox=dict(boxstyle="round,pad=0.15", fc="white", ec="none", alpha=0.8))
    if curved:
        nx.draw_networkx_edge_labels(simple, pos, {e: labels[e] for e in curved}, ax=ax, font_size=7, rotate=False,
                                     connectionstyle="arc3,rad=0.2",
                                     bbox=dict(boxstyle="round,pad=0.15", fc="white", ec="none", alpha=0.8))
    ax.set_title(f"{machine.name or 'machine'}  (start: {machine.start}, thick outline)", fontsize=10)
    ax.set_axis_off()
    fig.tight_layout()
    try:
        fig.savefig(path)
    finally:
        plt.close(fig)
    return path
