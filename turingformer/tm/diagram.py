"""The state diagram of a machine: DOT text, a layered layout, and SVG.

Everything reads the machine's networkx graph (:attr:`TuringMachine.graph`). Parallel rules
between the same two states share one arrow whose label lists them, one ``read→write,move`` per
line, as turingmachine.io draws them; the space and a blank ``_`` are shown as ``␣``. The start state gets an
arrow from nowhere; accept states are double circles, reject states drawn red, halt states
dashed.

:func:`layout` places the states in layers from left to right. With Graphviz's ``dot`` on the
PATH it is dot's layered layout (nodes, splines and label positions read from ``dot -Tplain``);
without it, a layered fallback: the layers are breadth-first distances from the start state,
ordered by the barycentre of their predecessors, and a layer's states are spaced so that a
self-loop and its label (drawn above its state) fit between them. One :class:`DiagramLayout`
is drawn both as SVG here (:func:`to_svg`: the notebooks' rich display, the HTML player) and
with matplotlib (:func:`turingformer.views.figures.state_diagram`), so every drawing agrees.

This module sits in ``tm/`` because a machine's rich display (:meth:`TuringMachine._repr_svg_`)
needs it and a layer never imports a higher one; it reads machines through their public
attributes and does not import :mod:`.machine` (annotations name ``TuringMachine`` as text), so
the two never form an import cycle.
"""

from __future__ import annotations

from turingformer.errors import OptionError

import html
import math
import shlex
import shutil
import subprocess
from dataclasses import dataclass
from typing import Sequence

Point = tuple[float, float]


#: How diagrams write the blank: an underscore on an arrow's label merges with the arrow's line.
BLANK_SHOWN = "␣"


def visible(symbol: str, blank: str | None = None) -> str:
    """A symbol as diagrams and tables show it: the space as ``␣``, and on diagrams (``blank``
    given) the blank ``_`` as ``␣`` too, since an underscore on an arrow's label merges with the
    line (the diagram's caption says so; a blank that is a digit or a letter stays itself)."""
    return BLANK_SHOWN if symbol == " " or (blank == "_" and symbol == "_") else symbol


def edge_labels(machine: TuringMachine) -> dict[tuple[str, str], list[str]]:
    """``(state, next state) -> ['read→write,move', ...]`` in rule order."""
    return {edge: [text for _, text in rules] for edge, rules in edge_rules(machine).items()}


def edge_rules(machine: TuringMachine) -> dict[tuple[str, str], list[tuple[str, str]]]:
    """``(state, next state) -> [(read symbol, 'read→write,move'), ...]`` in rule order."""
    out: dict[tuple[str, str], list[tuple[str, str]]] = {}
    for u, v, data in machine.graph.edges(data=True):
        out.setdefault((u, v), []).append(
            (data["read"], f"{visible(data['read'], machine.blank)}→{visible(data['write'], machine.blank)},"
                           f"{data['move']}"))
    return out


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


# ---------------------------------------------------------------------------------- geometry
@dataclass(frozen=True)
class EdgeGeometry:
    """One arrow: a cubic Bézier chain ``points`` (p0, c, c, p1, c, c, p2, …; the last point is
    the arrow's tip on the target's circle), its rules and where their label is centred."""

    source: str
    target: str
    reads: tuple[str, ...]        # the read symbol of each rule on this arrow, in label order
    labels: tuple[str, ...]       # 'read→write,move', one per rule
    points: tuple[Point, ...]
    label_at: Point


@dataclass(frozen=True)
class DiagramLayout:
    """Where everything goes, in points, y growing downwards (SVG's convention).

    Invariant: every state has a position and a radius; every (state, next state) pair with a
    rule has exactly one :class:`EdgeGeometry`; ``engine`` says which layout made it.
    """

    nodes: dict[str, Point]
    radius: dict[str, float]
    edges: tuple[EdgeGeometry, ...]
    start: str
    width: float
    height: float
    engine: str                  # "dot" or "layered"

    def edge(self, source: str, target: str) -> EdgeGeometry:
        return next(e for e in self.edges if (e.source, e.target) == (source, target))


FONT = 10.0          # label font size in points
LINE = 12.0          # label line height
MARGIN = 24.0


def _radius(state: str) -> float:
    return max(18.0, 3.4 * len(state) + 8.0)


def layout(machine: TuringMachine, *, engine: str = "auto") -> DiagramLayout:
    """The layered layout: ``engine`` is ``"dot"`` (Graphviz, must be installed), ``"layered"``
    (the built-in fallback) or ``"auto"`` (dot when it is on the PATH)."""
    if engine not in ("auto", "dot", "layered"):
        raise OptionError(f"unknown layout engine {engine!r}", hint="use auto, dot or layered")
    if engine == "dot" or (engine == "auto" and shutil.which("dot")):
        return _dot_layout(machine)
    return _layered_layout(machine)


def _dot_layout(machine: TuringMachine) -> DiagramLayout:
    states = list(machine.graph.nodes)
    ids = {s: f"n{k}" for k, s in enumerate(states)}
    rules = edge_rules(machine)
    lines = ["digraph G {", "  rankdir=LR; nodesep=0.35; ranksep=0.55;",
             f'  node [shape=circle, fixedsize=true, fontname="Helvetica", fontsize={FONT:g}];',
             f'  edge [fontname="Helvetica", fontsize={FONT:g}];']
    for s in states:
        lines.append(f"  {ids[s]} [label={_dot_id(s)}, width={2 * _radius(s) / 72:.3f}];")
    for (u, v), rs in rules.items():
        lines.append(f"  {ids[u]} -> {ids[v]} [label={_dot_id(chr(10).join(t for _, t in rs))}];")
    lines.append("}")
    dot = shutil.which("dot") or "dot"
    plain = subprocess.run([dot, "-Tplain"], input="\n".join(lines), capture_output=True, text=True,
                           check=True, timeout=60).stdout
    back = {v: k for k, v in ids.items()}
    nodes: dict[str, Point] = {}
    radius: dict[str, float] = {}
    raw_edges = []
    height = width = 0.0
    for line in plain.splitlines():
        parts = shlex.split(line)
        if not parts:
            continue
        if parts[0] == "graph":
            width, height = float(parts[2]) * 72, float(parts[3]) * 72
        elif parts[0] == "node":
            nodes[back[parts[1]]] = (float(parts[2]) * 72, float(parts[3]) * 72)
            radius[back[parts[1]]] = float(parts[4]) * 36
        elif parts[0] == "edge":
            n = int(parts[3])
            pts = [(float(parts[4 + 2 * k]) * 72, float(parts[5 + 2 * k]) * 72) for k in range(n)]
            rest = parts[4 + 2 * n:]
            label_at = (float(rest[1]) * 72, float(rest[2]) * 72)
            raw_edges.append((back[parts[1]], back[parts[2]], pts, label_at))
    # dot's y grows upwards; flip it, and leave a margin for the start arrow.
    def flip(p: Point) -> Point:
        return (p[0] + MARGIN * 2, height - p[1] + MARGIN)

    nodes = {s: flip(p) for s, p in nodes.items()}
    edges = []
    for u, v, pts, label_at in raw_edges:
        pts = [flip(p) for p in pts]
        pts[-1] = _on_circle(nodes[v], radius[v], pts[-1])
        reads = tuple(r for r, _ in rules[(u, v)])
        edges.append(EdgeGeometry(u, v, reads, tuple(t for _, t in rules[(u, v)]), tuple(pts), flip(label_at)))
    return DiagramLayout(nodes, radius, tuple(edges), machine.start, width + 3 * MARGIN, height + 2 * MARGIN, "dot")


def _on_circle(centre: Point, r: float, towards: Point) -> Point:
    dx, dy = towards[0] - centre[0], towards[1] - centre[1]
    norm = math.hypot(dx, dy) or 1.0
    return (centre[0] + r * dx / norm, centre[1] + r * dy / norm)


def _layers(machine: TuringMachine) -> list[list[str]]:
    """Breadth-first layers from the start state, each ordered by its predecessors' barycentre."""
    graph = machine.graph
    depth = {machine.start: 0}
    frontier = [machine.start]
    while frontier:
        nxt = []
        for u in frontier:
            for v in graph.successors(u):
                if v not in depth:
                    depth[v] = depth[u] + 1
                    nxt.append(v)
        frontier = nxt
    last = max(depth.values()) + 1
    for s in graph.nodes:
        depth.setdefault(s, last)
    layers: list[list[str]] = [[] for _ in range(max(depth.values()) + 1)]
    for s in graph.nodes:
        layers[depth[s]].append(s)
    for k in range(1, len(layers)):
        index = {s: i for i, s in enumerate(layers[k - 1])}

        def barycentre(s: str) -> float:
            preds = [index[p] for p in graph.predecessors(s) if p in index]
            return sum(preds) / len(preds) if preds else len(index)

        layers[k].sort(key=barycentre)
    return [layer for layer in layers if layer]


def _layered_layout(machine: TuringMachine) -> DiagramLayout:
    rules = edge_rules(machine)
    layers = _layers(machine)
    radius = {s: _radius(s) for s in machine.graph.nodes}
    loop_lines = {u: len(rs) for (u, v), rs in rules.items() if u == v}
    label_width = max((len(t) for rs in rules.values() for _, t in rs), default=4) * FONT * 0.6
    r_max = max(radius.values())
    gap_x = 2 * r_max + label_width + 40.0
    # Room above each state for its self-loop (30 pt) and the loop's label lines.
    room = {s: 30.0 + LINE * loop_lines.get(s, 0) + (6.0 if s in loop_lines else 0.0) for s in radius}
    columns = []
    for layer in layers:
        ys, y = [], 0.0
        for s in layer:
            y += room[s] + radius[s]
            ys.append(y)
            y += radius[s] + 28.0 + LINE * max((len(rs) for (u, v), rs in rules.items() if s in (u, v) and u != v),
                                                default=0) / 2
        columns.append((ys, y))
    tallest = max(h for _, h in columns)
    nodes: dict[str, Point] = {}
    for k, (layer, (ys, h)) in enumerate(zip(layers, columns)):
        shift = (tallest - h) / 2
        for s, y in zip(layer, ys):
            nodes[s] = (MARGIN * 2 + r_max + k * gap_x, MARGIN + shift + y)
    curves: dict[tuple[str, str], tuple[Point, ...]] = {}
    for (u, v) in rules:
        curves[(u, v)] = _loop_curve(nodes[u], radius[u]) if u == v else \
            _route(u, v, nodes, radius, two_way=(v, u) in rules, gap_x=gap_x)
    labels = _place_labels(rules, curves, nodes, radius)
    edges = tuple(EdgeGeometry(u, v, tuple(r for r, _ in rs), tuple(t for _, t in rs), curves[(u, v)], labels[(u, v)])
                  for (u, v), rs in rules.items())
    return _fit(DiagramLayout(nodes, radius, edges, machine.start, 0.0, 0.0, "layered"), rules)


#: The layered layout optimises label places and arrow bends up to this many states (beyond, the
#: first candidate is taken: the search is quadratic in the number of arrows).
PLACE_LIMIT = 80


def _loop_curve(centre: Point, r: float) -> tuple[Point, ...]:
    x0, y0 = centre
    a, b = (x0 - r * 0.6, y0 - r * 0.8), (x0 + r * 0.6, y0 - r * 0.8)
    return (a, (x0 - r * 1.1, y0 - r - 30.0), (x0 + r * 1.1, y0 - r - 30.0), b)


def _samples(points: Sequence[Point], count: int = 16) -> list[Point]:
    """Points along a one-segment Bézier curve (its ends excluded)."""
    return [_bezier(*points[:4], k / (count + 1)) for k in range(1, count + 1)]  # type: ignore[arg-type]


def _route(u: str, v: str, nodes: dict[str, Point], radius: dict[str, float], *, two_way: bool,
           gap_x: float) -> tuple[Point, ...]:
    """The arrow u -> v: straight when it passes clear of every other state, else bent (a two-way
    pair always bends, each arrow to its own left, so the two never overlap)."""
    (x0, y0), (x1, y1) = nodes[u], nodes[v]
    dx, dy = x1 - x0, y1 - y0
    dist = math.hypot(dx, dy) or 1.0
    nx_, ny_ = -dy / dist, dx / dist                  # the left normal of u -> v
    small, large = 0.18 * dist + 12.0, 0.32 * dist + 24.0
    bends = [small, large, 0.5 * dist + 30.0] if two_way else [0.0, small, -small, large, -large]
    if not two_way and (abs(dx) < 1e-6 or abs(dx) > 1.5 * gap_x):
        bends = [small, -small, large, -large, 0.0]   # same-layer and long arrows curve by default
    best, best_hits = None, None
    for bend in bends if len(nodes) <= PLACE_LIMIT else bends[:1]:
        c1 = (x0 + dx / 3 + nx_ * bend, y0 + dy / 3 + ny_ * bend)
        c2 = (x0 + 2 * dx / 3 + nx_ * bend, y0 + 2 * dy / 3 + ny_ * bend)
        curve = (_on_circle((x0, y0), radius[u], c1), c1, c2, _on_circle((x1, y1), radius[v], c2))
        hits = sum(math.hypot(px - ox, py - oy) < radius[w] + 6.0 for w, (ox, oy) in nodes.items() if w not in (u, v)
                   for px, py in _samples(curve))
        if best_hits is None or hits < best_hits:
            best, best_hits = curve, hits
        if not hits:
            break
    return best  # type: ignore[return-value]


Box = tuple[float, float, float, float]


def _label_box(at: Point, labels: Sequence[str]) -> Box:
    """The box a label of these lines takes when centred on ``at``."""
    w = max(len(t) for t in labels) * FONT * 0.62 + 4.0
    h = LINE * len(labels) + 2.0
    return (at[0] - w / 2, at[1] - h / 2, at[0] + w / 2, at[1] + h / 2)


def _overlap(a: Box, b: Box) -> float:
    return max(0.0, min(a[2], b[2]) - max(a[0], b[0])) * max(0.0, min(a[3], b[3]) - max(a[1], b[1]))


def _place_labels(rules, curves, nodes: dict[str, Point], radius: dict[str, float]) -> dict[tuple[str, str], Point]:
    """Where each arrow's label goes: beside its arrow, on the first candidate place (middle first,
    then along the arrow, on either side) that covers no state, no arrow and no label placed before
    it; when none is free, the one that covers least. Self-loop labels sit above their loop."""
    node_boxes = [(x - r - 3, y - r - 3, x + r + 3, y + r + 3) for (x, y), r in
                  ((nodes[s], radius[s]) for s in nodes)]
    points = [p for curve in curves.values() for p in _samples(curve, 24)]
    placed: list[Box] = []
    out: dict[tuple[str, str], Point] = {}
    order = sorted(rules, key=lambda e: (e[0] != e[1], -len(rules[e])))
    for edge in order:
        texts = [t for _, t in rules[edge]]
        curve = curves[edge]
        candidates = []
        if edge[0] == edge[1]:
            (x0, y0), r = nodes[edge[0]], radius[edge[0]]
            h = LINE * len(texts) / 2
            half_w = (_label_box((0, 0), texts)[2])
            candidates = [(x0, y0 - r - 28.0 - h - 2), (x0 - r * 1.1 - half_w - 2, y0 - r - 18.0),
                          (x0 + r * 1.1 + half_w + 2, y0 - r - 18.0)]
        else:
            (ax, ay), (bx, by) = curve[0], curve[-1]
            dist = math.hypot(bx - ax, by - ay) or 1.0
            nx_, ny_ = -(by - ay) / dist, (bx - ax) / dist
            box = _label_box((0, 0), texts)
            reach = 4.0 + box[2] * abs(nx_) + box[3] * abs(ny_)
            bulge = 1.0 if (curve[1][0] - ax) * nx_ + (curve[1][1] - ay) * ny_ >= 0 else -1.0
            for t in (0.5, 0.4, 0.6, 0.3, 0.7, 0.22, 0.78):
                mx, my = _bezier(*curve[:4], t)  # type: ignore[misc]
                for side in (bulge, -bulge):
                    for extra in (0.0, LINE):
                        candidates.append((mx + nx_ * side * (reach + extra), my + ny_ * side * (reach + extra)))
        if len(nodes) > PLACE_LIMIT:
            candidates = candidates[:1]
        best, best_cost = candidates[0], None
        for rank, at in enumerate(candidates):
            box = _label_box(at, texts)
            cost = (sum(_overlap(box, b) for b in node_boxes) * 10 + sum(_overlap(box, b) for b in placed) * 10
                    + 40 * sum(box[0] <= px <= box[2] and box[1] <= py <= box[3] for px, py in points) + rank * 0.5)
            if best_cost is None or cost < best_cost:
                best, best_cost = at, cost
            if cost < 1.0:
                break
        out[edge] = best
        placed.append(_label_box(best, texts))
    return out


def _fit(g: DiagramLayout, rules) -> DiagramLayout:
    """``g`` moved so that every state, arrow, label and the start arrow lies inside the canvas
    with a margin, and the canvas sized to hold them."""
    xs, ys = [], []
    for s, (x, y) in g.nodes.items():
        r = g.radius[s]
        xs += [x - r, x + r]
        ys += [y - r, y + r]
    sx, sy = g.nodes[g.start]
    xs.append(sx - g.radius[g.start] - 30.0)
    for e in g.edges:
        xs += [p[0] for p in e.points]
        ys += [p[1] for p in e.points]
        box = _label_box(e.label_at, e.labels)
        xs += [box[0], box[2]]
        ys += [box[1], box[3]]
    dx, dy = MARGIN - min(xs), MARGIN - min(ys)
    move = lambda p: (p[0] + dx, p[1] + dy)  # noqa: E731
    nodes = {s: move(p) for s, p in g.nodes.items()}
    edges = tuple(EdgeGeometry(e.source, e.target, e.reads, e.labels, tuple(map(move, e.points)), move(e.label_at))
                  for e in g.edges)
    return DiagramLayout(nodes, g.radius, edges, g.start, max(xs) + dx + MARGIN, max(ys) + dy + MARGIN, g.engine)


def _bezier(p0: Point, c1: Point, c2: Point, p1: Point, t: float) -> Point:
    s = 1 - t
    return tuple(s ** 3 * a + 3 * s * s * t * b + 3 * s * t * t * c + t ** 3 * d
                 for a, b, c, d in zip(p0, c1, c2, p1))  # type: ignore[return-value]


# ---------------------------------------------------------------------------------- SVG
FIRED = ' class="fired"'
ROLE_FILL = {"accept": "#b7e4c7", "reject": "#f4b6b6", "halt": "#d9d9d9"}


def _path(points: Sequence[Point]) -> str:
    first, rest = points[0], points[1:]
    out = f"M{first[0]:.1f},{first[1]:.1f}"
    for k in range(0, len(rest) - 2, 3):
        (a, b), (c, d), (e, f) = rest[k:k + 3]
        out += f" C{a:.1f},{b:.1f} {c:.1f},{d:.1f} {e:.1f},{f:.1f}"
    return out


def to_svg(machine: TuringMachine, geometry: DiagramLayout | None = None, *, current: str | None = None,
           fired: tuple[str, str] | None = None) -> str:
    """The diagram as a standalone SVG element.

    States are ``<g class="state" data-state=NAME>``, arrows ``<g class="edge" data-from data-to>``
    whose label lines are ``<tspan data-read=SYMBOL>``: the player lights them with CSS classes.
    ``current`` (a state) and ``fired`` (state, read symbol) are lit here already.
    """
    g = geometry or layout(machine)
    esc = html.escape
    out = [f'<svg xmlns="http://www.w3.org/2000/svg" class="tf-diagram" viewBox="0 0 {g.width:.0f} {g.height:.0f}" '
           f'width="{g.width:.0f}" height="{g.height:.0f}" role="img" '
           f'aria-label="state diagram of {esc(machine.name or "the machine")}" font-family="Helvetica, Arial, sans-serif">',
           "<defs><marker id=\"tf-arrow\" viewBox=\"0 0 10 10\" refX=\"10\" refY=\"5\" markerWidth=\"9\" "
           "markerHeight=\"9\" markerUnits=\"userSpaceOnUse\" orient=\"auto-start-reverse\"><path d=\"M0,0 L10,5 L0,10 z\" fill=\"context-stroke\"/>"
           "</marker></defs>",
           "<style>.tf-diagram .edge path{fill:none;stroke:#555;stroke-width:1.2}"
           ".tf-diagram .edge text{font-size:10px;fill:#333}"
           ".tf-diagram .state circle{stroke:#333;stroke-width:1.2}"
           ".tf-diagram .state.current circle.body{stroke:#d62728;stroke-width:4}"
           ".tf-diagram .edge.fired path{stroke:#d62728;stroke-width:3}"
           ".tf-diagram tspan.fired{fill:#d62728;font-weight:bold}</style>"]
    sx, sy = g.nodes[g.start]
    r0 = g.radius[g.start]
    out.append(f'<path class="start" d="M{sx - r0 - 26:.1f},{sy:.1f} L{sx - r0:.1f},{sy:.1f}" stroke="#333" '
               f'stroke-width="1.2" marker-end="url(#tf-arrow)"/>')
    for e in g.edges:
        lit = fired is not None and fired[0] == e.source and fired[1] in e.reads
        out.append(f'<g class="edge{" fired" if lit else ""}" data-from="{esc(e.source)}" data-to="{esc(e.target)}">'
                   f'<path d="{_path(e.points)}" marker-end="url(#tf-arrow)"/>')
        x, y = e.label_at
        y0 = y - LINE * (len(e.labels) - 1) / 2 + FONT * 0.35
        lit_read = fired[1] if lit else None
        spans = "".join(
            f'<tspan x="{x:.1f}" y="{y0 + LINE * k:.1f}" data-read="{esc(r)}"{FIRED if r == lit_read else ""}>'
            f'{esc(t)}</tspan>' for k, (r, t) in enumerate(zip(e.reads, e.labels)))
        out.append(f'<text text-anchor="middle" paint-order="stroke" stroke="white" stroke-width="3">{spans}</text></g>')
    for s, (x, y) in g.nodes.items():
        role = machine.role(s)
        fill = ROLE_FILL.get(role, "#ffffff")
        r = g.radius[s]
        dash = ' stroke-dasharray="4 2"' if role == "halt" else ""
        ring = f'<circle cx="{x:.1f}" cy="{y:.1f}" r="{r - 4:.1f}" fill="none"{dash}/>' if role else ""
        out.append(f'<g class="state{" current" if s == current else ""}" data-state="{esc(s)}">'
                   f'<circle class="body" cx="{x:.1f}" cy="{y:.1f}" r="{r:.1f}" fill="{fill}"{dash}/>{ring}'
                   f'<text x="{x:.1f}" y="{y + 4:.1f}" text-anchor="middle" font-size="11">{esc(s)}</text></g>')
    out.append("</svg>")
    return "".join(out)
