"""Figures of a run, for notebooks and for ``turingformer trace`` (matplotlib, imported lazily).

=========================  ===============================================================
function                   what it draws
=========================  ===============================================================
:func:`spacetime`          the tape over time: one row per step, the head's cell outlined in
                           the colour of the state, cells coloured by symbol
:func:`attention`          one attention as a step × position heat map (rows = decoder
                           position i, columns = the attended position j)
:func:`attention_patterns` the three attentions that do the work side by side: the encoder
                           read (layer 1 cross-attention, Lemma 7), the uniform average
                           (layer 2, Lemma 9) and the last write to the cell (layer 3, Lemma 10)
:func:`residual`           the residual stream at one position as a labelled heat map: one
                           row per stage (input, after layers 1, 2, 3, output), one column per
                           named dimension, the exact values written in the cells
:func:`state_diagram`      the machine's transition graph (from its networkx graph)
:func:`verification_table` machine vs transformer, per decoder position, with the §9 quantities
                           (HTML in a notebook, text with ``print``, a figure with ``.figure()``)
=========================  ===============================================================

Every function returns a :class:`matplotlib.figure.Figure` built without pyplot (no global
state, nothing to close); a notebook shows it inline, :func:`save` writes PNG, SVG or PDF.
Pass ``ax=`` to draw into an existing axes instead.
"""

from __future__ import annotations

import html
import importlib.util
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path
from typing import Sequence

from turingformer.views.diagram import edge_labels, visible
from turingformer.errors import FormatError, TuringformerError
from turingformer.files import atomic_path
from turingformer.analysis.inspect import ActivationCache, _text_table
from turingformer.tm.machine import TuringMachine
from turingformer.tm.trace import Trace

__all__ = [
    "attention", "attention_patterns", "residual", "save", "spacetime", "state_diagram",
    "verification_table", "VerificationTable", "FIGURE_SUFFIXES",
]

FIGURE_SUFFIXES = (".png", ".svg", ".pdf")


def _mpl():
    try:
        import matplotlib
        from matplotlib.figure import Figure
    except ImportError:  # pragma: no cover - matplotlib is a declared extra
        raise TuringformerError("the figures need matplotlib, which is not installed",
                                hint="pip install 'turingformer[plot]'") from None
    return matplotlib, Figure


def _axes(ax, size: tuple[float, float]):
    """(figure, axes): a new pyplot-free figure unless ``ax`` is given."""
    if ax is not None:
        return ax.figure, ax
    _, Figure = _mpl()
    fig = Figure(figsize=size, layout="constrained")
    return fig, fig.add_subplot()


def save(fig, path: str | Path, *, dpi: int = 150) -> Path:
    """Write ``fig`` to ``path`` (``.png``, ``.svg`` or ``.pdf``, chosen by the extension)."""
    path = Path(path)
    if path.suffix.lower() not in FIGURE_SUFFIXES:
        raise TuringformerError(f"cannot write a figure to {path.name!r}: unknown extension {path.suffix!r}",
                                hint=f"use one of {', '.join(FIGURE_SUFFIXES)}")
    with atomic_path(path) as temporary:   # never a half-written figure over an old one
        fig.savefig(temporary, dpi=dpi, format=path.suffix.lower()[1:])
    return path


# ---------------------------------------------------------------------------------- colours
_PRELUDE_GREYS = ("#bdbdbd", "#8c8c8c", "#636363")


def _state_colours(states: Sequence[str], prelude: Sequence[str] = ()) -> dict[str, object]:
    """A distinct colour per state; the normalisation's prelude states in greys."""
    matplotlib, _ = _mpl()
    palette = list(matplotlib.colormaps["tab10"].colors) + list(matplotlib.colormaps["Dark2"].colors)
    out, k = {}, 0
    for s in states:
        if s in prelude:
            out[s] = _PRELUDE_GREYS[list(prelude).index(s) % 3]
        else:
            out[s] = palette[k % len(palette)]
            k += 1
    return out


def _symbol_colours(symbols: Sequence[str], blank: str) -> dict[str, object]:
    matplotlib, _ = _mpl()
    palette = list(matplotlib.colormaps["Pastel1"].colors) + list(matplotlib.colormaps["Pastel2"].colors)
    out, k = {}, 0
    for s in symbols:
        if s == blank:
            out[s] = (1.0, 1.0, 1.0, 1.0)
        else:
            out[s] = palette[k % len(palette)]
            k += 1
    return out


# ---------------------------------------------------------------------------------- space-time
def spacetime(source: Trace | ActivationCache, *, normalised: bool = False, ax=None,
              annotate: bool | None = None, title: str | None = None):
    """The space-time diagram of a run: row t is the tape after t steps, the head's cell is
    outlined (or dotted, for long runs) in the colour of the state, cells are coloured by symbol.

    ``source`` is a :class:`~turingformer.tm.trace.Trace` (of the simulator or of the transformer)
    or an :class:`~turingformer.analysis.inspect.ActivationCache`; with a cache, ``normalised=True``
    draws the normalised machine M' that the transformer actually runs, prelude included.
    """
    import numpy as np
    from matplotlib.colors import ListedColormap
    from matplotlib.lines import Line2D
    from matplotlib.patches import Patch, Rectangle

    prelude: Sequence[str] = ()
    if isinstance(source, ActivationCache):
        prelude = source.model.labels.prelude
        trace = source.normalised_trace() if normalised else source.trace
    else:
        trace = source
    confs = list(trace)
    low = min(min(c.tape.offset, c.head) for c in confs)
    high = max(max(c.tape.offset + len(c.tape.cells) - 1, c.head) for c in confs)
    symbols = list(dict.fromkeys([trace.blank, *(s for c in confs for s in c.tape.cells)]))
    states = list(dict.fromkeys(c.state for c in confs))
    sym_colour = _symbol_colours(symbols, trace.blank)
    st_colour = _state_colours(states, prelude)
    steps, width = len(confs), high - low + 1
    grid = np.array([[symbols.index(c.tape[x]) for x in range(low, high + 1)] for c in confs])
    if annotate is None:
        annotate = steps * width <= 2500 and steps <= 80
    fig, ax = _axes(ax, (min(max(4.5, 0.32 * width + 3.2), 16), min(max(3.0, 0.24 * steps + 1.5), 14)))
    ax.imshow(grid, cmap=ListedColormap([sym_colour[s] for s in symbols]), vmin=-0.5,
              vmax=len(symbols) - 0.5, aspect="auto", interpolation="nearest",
              extent=(low - 0.5, high + 0.5, steps - 0.5, -0.5))
    if annotate:
        for t, c in enumerate(confs):
            for x in range(low, high + 1):
                ax.text(x, t, visible(c.tape[x]), ha="center", va="center", fontsize=7, color="#333333")
            ax.add_patch(Rectangle((c.head - 0.5, t - 0.5), 1, 1, fill=False, lw=2.0,
                                   edgecolor=st_colour[c.state], zorder=3))
    else:
        ax.scatter([c.head for c in confs], range(steps), c=[st_colour[c.state] for c in confs],
                   s=max(2.0, min(30.0, 1500.0 / steps)), marker="o", edgecolors="none", zorder=3)
    ax.set_xlabel("tape cell")
    ax.set_ylabel("step t (time runs down)")
    from matplotlib.ticker import MaxNLocator

    ax.yaxis.set_major_locator(MaxNLocator(integer=True))
    if width <= 40:
        ax.set_xticks(range(low, high + 1))
    name = trace.machine_name or "machine"
    ax.set_title(title or f"Space-time diagram\n{name} on input {trace.input!r} "
                          f"({trace.steps} steps, {trace.verdict.value})", fontsize=10)
    handles = [Line2D([], [], marker="s", linestyle="none", markerfacecolor="none" if annotate else st_colour[s],
                      markeredgecolor=st_colour[s], markeredgewidth=2, markersize=9, label=s) for s in states]
    legend = ax.legend(handles=handles, title="head (state)", loc="upper left", bbox_to_anchor=(1.01, 1.0),
                       fontsize=8, title_fontsize=8, frameon=False)
    ax.add_artist(legend)
    ax.legend(handles=[Patch(facecolor=sym_colour[s], edgecolor="#999999", label=repr(s)) for s in symbols],
              title="cell (symbol)", loc="lower left", bbox_to_anchor=(1.01, 0.0), fontsize=8,
              title_fontsize=8, frameon=False)
    return fig


# ---------------------------------------------------------------------------------- attention
_ATTENTION_TITLES = {
    "decoder.1.cross": "Layer 1 cross-attention (Lemma 7 / B.1)\nreads input symbol min(i+1, n)",
    "decoder.1.attn": "Layer 1 self-attention\n(value map 0: contributes nothing)",
    "decoder.2.attn": "Layer 2 self-attention (Lemma 9 / B.3)\nuniform average over j = 0..i: the head position",
    "decoder.3.attn": "Layer 3 self-attention (Lemma 10 / B.4)\nthe last write to the cell the head moves to",
}


def attention(cache: ActivationCache, which: str = "decoder.3.attn", *, ax=None, colorbar: bool = True,
              title: str | None = None):
    """One attention over the whole run: row i (decoder position) holds the weights it gives to
    position j. ``which`` is ``decoder.l.attn`` (j = 0..i, causal) or ``decoder.l.cross``
    (the encoder positions j = 1..n). Weights are drawn on a log scale (layer 2's 1/(i+1) would
    fade out otherwise); a single winner is also marked with a dot so it shows on long runs.
    """
    import numpy as np
    from matplotlib.colors import LogNorm
    from matplotlib.lines import Line2D

    matplotlib, _ = _mpl()
    cross = ".cross" in which
    patterns = cache.stack(f"{which}.pattern")
    winners = cache.stack(f"{which}.winners")
    steps = len(patterns)
    width = len(cache.tokens) if cross else steps
    fig, ax = _axes(ax, (7.0, 5.5))
    if width == 0:
        ax.text(0.5, 0.5, "empty input: no encoder positions to attend to\n(attention over no keys is 0)",
                ha="center", va="center", transform=ax.transAxes)
        ax.set_xticks([])
        ax.set_yticks([])
    else:
        grid = np.full((steps, width), np.nan)
        for i, row in enumerate(patterns):
            grid[i, :len(row)] = [float(v) if v else np.nan for v in row]
        cmap = matplotlib.colormaps["viridis"].with_extremes(bad="white")
        first = 1 if cross else 0
        image = ax.imshow(grid, cmap=cmap, norm=LogNorm(vmin=min(1.0 / max(steps, 2), 0.5), vmax=1.0),
                          aspect="auto", interpolation="nearest",
                          extent=(first - 0.5, first + width - 0.5, steps - 0.5, -0.5))
        if colorbar:
            bar = fig.colorbar(image, ax=ax, shrink=0.85)
            bar.set_label("attention weight (log scale; white = 0)")
        single = [(i, w[0]) for i, w in enumerate(winners) if len(w) == 1]
        handles = []
        if single and len(single) == steps:
            ax.scatter([j + first for _, j in single], [i for i, _ in single], s=max(1.5, min(16.0, 900.0 / steps)),
                       color="crimson", marker="s", edgecolors="none", zorder=3)
            handles.append(Line2D([], [], color="crimson", marker="s", linestyle="none",
                                  label="the single winner (weight 1)"))
        if not cross:
            ax.plot([-0.5, steps - 0.5], [-0.5, steps - 0.5], color="#999999", lw=0.6)
            handles.append(Line2D([], [], color="#999999", lw=0.6, label="causal mask: j ≤ i"))
        if cache.tokens and cache.n < steps:
            ax.axhline(cache.n - 0.5, color="darkorange", lw=0.9, ls="--")
            handles.append(Line2D([], [], color="darkorange", ls="--", label="i+1 > n: past the input"))
        if cache.prelude < steps:
            ax.axhline(cache.prelude - 0.5, color="black", lw=0.9, ls=":")
            handles.append(Line2D([], [], color="black", ls=":", label="i = 2n+3: the machine starts"))
        ax.legend(handles=handles, loc="upper right", fontsize=7, framealpha=0.85)
    from matplotlib.ticker import MaxNLocator

    if width:
        ax.xaxis.set_major_locator(MaxNLocator(integer=True))
        ax.yaxis.set_major_locator(MaxNLocator(integer=True))
    ax.set_xlabel("encoder position j (input symbol w_j)" if cross else "attended position j")
    ax.set_ylabel("decoder position i (step)")
    ax.set_title(title or _ATTENTION_TITLES.get(which, which), fontsize=9)
    return fig


def attention_patterns(cache: ActivationCache, *, which: Sequence[str] = ("decoder.1.cross", "decoder.2.attn",
                                                                         "decoder.3.attn")):
    """The attentions of the construction side by side (see :func:`attention`)."""
    _, Figure = _mpl()
    fig = Figure(figsize=(5.2 * len(which), 5.2), layout="constrained")
    axes = fig.subplots(1, len(which), squeeze=False)[0]
    for ax, name in zip(axes, which):
        attention(cache, name, ax=ax)
    fig.suptitle(f"Attention patterns of {cache.model.labels.machine_name or 'the machine'} on "
                 f"{cache.word!r}: {len(cache)} decoder steps", fontsize=11)
    return fig


# ---------------------------------------------------------------------------------- residual
RESIDUAL_STAGES = (
    ("decoder.1.resid_pre", "input y_i + pos(i+1)"),
    ("decoder.1.resid_post", "after layer 1 (z¹)"),
    ("decoder.2.resid_post", "after layer 2 (z²)"),
    ("decoder.3.resid_post", "after layer 3 (z³)"),
    ("output.y", "output y_{i+1} = F(z³)"),
)


def residual(cache: ActivationCache, i: int, *, ax=None, stages: Sequence[tuple[str, str]] = RESIDUAL_STAGES,
             annotate: bool = True, title: str | None = None):
    """The residual stream at decoder position ``i``, stage by stage (rows) and named dimension by
    named dimension (columns). Colours are clipped to [−1, 1]; the cells show the exact values."""
    import numpy as np

    matplotlib, _ = _mpl()
    space = cache.space
    names = space.names
    values = [cache.get(hook, i) for hook, _ in stages]
    grid = np.array([[float(v) for v in row] for row in values])
    fig, ax = _axes(ax, (max(8.0, 0.27 * len(names) + 2.5), 2.2 + 0.5 * len(stages) + 1.6))
    image = ax.imshow(np.clip(grid, -1, 1), cmap="RdBu_r", vmin=-1, vmax=1, aspect="auto", interpolation="nearest")
    if annotate:
        for r, row in enumerate(values):
            for c, v in enumerate(row):
                if v:
                    text = str(v) if isinstance(v, Fraction) else f"{v:.3g}"
                    ax.text(c, r, text, ha="center", va="center", rotation=90 if len(text) > 2 else 0,
                            fontsize=6 if len(text) <= 5 else 5,
                            color="white" if abs(float(v)) > 0.6 else "black")
    ax.set_yticks(range(len(stages)), [label for _, label in stages], fontsize=8)
    ax.set_xticks(range(len(names)), names, rotation=90, fontsize=6)
    ax.set_xlabel("residual dimension (block:meaning)")
    ax.set_ylabel("stage")
    # Block boundaries and block names on top.
    blocks = [n.split(":", 1)[0] for n in names]
    edges = [k for k in range(1, len(names)) if blocks[k] != blocks[k - 1]]
    for k in edges:
        ax.axvline(k - 0.5, color="#555555", lw=0.6)
    starts = [0, *edges]
    ends = [*edges, len(names)]
    top = ax.secondary_xaxis("top")
    top.set_xticks([(a + b - 1) / 2 for a, b in zip(starts, ends)], [blocks[a] for a in starts], fontsize=7)
    top.set_xlabel("block")
    bar = fig.colorbar(image, ax=ax, shrink=0.9, pad=0.01)
    bar.set_label("value (colour clipped to [−1, 1])", fontsize=8)
    d = cache.decoded(i)
    k = cache.machine_step(i)
    where = f"machine step {k}" if k is not None else ("prelude" if i < cache.prelude else "stay move")
    ax.set_title(title or f"Residual stream at decoder position i = {i} ({where}: state {d.state} reads "
                          f"{d.read!r}); d = {len(names)}", fontsize=10)
    return fig


# ---------------------------------------------------------------------------------- state diagram
def state_diagram(machine: TuringMachine, *, normalised: bool = False, ax=None, seed: int = 0,
                  title: str | None = None):
    """The state diagram: one node per state (coloured by role, the start state thick), one
    arrow per (state, next state) labelled ``read→write,move``. ``normalised=True`` draws the
    machine M' the transformer runs (with the prelude and the stay states)."""
    import networkx as nx
    from matplotlib.patches import Patch

    prelude: Sequence[str] = ()
    stay: Sequence[str] = ()
    if normalised:
        from turingformer.compiler.perez.normalize import normalize

        nm = normalize(machine)
        prelude, stay = nm.labels.prelude, tuple(nm.labels.stay)
        machine = nm.machine
    graph = nx.DiGraph()
    graph.add_nodes_from(machine.graph.nodes)
    labels = {edge: "\n".join(text) for edge, text in edge_labels(machine).items()}
    graph.add_edges_from(labels)
    n = graph.number_of_nodes()
    pos = nx.circular_layout(graph) if n <= 12 else nx.spring_layout(graph, seed=seed, k=2.0 / n ** 0.5)
    size = max(5.5, min(3.0 + 2.4 * n ** 0.5, 18.0))
    fig, ax = _axes(ax, (size * 1.25, size))
    roles = {"accept": "#b7e4c7", "reject": "#f4b6b6", "halt": "#d9d9d9"}

    def colour(s):
        if s in prelude:
            return "#e0e0ff"
        if s in stay:
            return "#fff3bf"
        return roles.get(machine.role(s), "#ffffff")

    nodes = list(graph.nodes)
    nx.draw_networkx_nodes(graph, pos, ax=ax, node_size=1300, node_color=[colour(s) for s in nodes],
                           edgecolors="#333333", linewidths=[3.2 if s == machine.start else 1.0 for s in nodes])
    nx.draw_networkx_labels(graph, pos, ax=ax, font_size=8)
    curved = [e for e in graph.edges if e[0] != e[1] and graph.has_edge(e[1], e[0])]
    straight = [e for e in graph.edges if e not in curved]
    common = dict(ax=ax, node_size=1300, arrows=True, arrowstyle="-|>", arrowsize=13, edge_color="#555555")
    nx.draw_networkx_edges(graph, pos, edgelist=straight, **common)
    nx.draw_networkx_edges(graph, pos, edgelist=curved, connectionstyle="arc3,rad=0.2", **common)
    box = dict(boxstyle="round,pad=0.15", fc="white", ec="none", alpha=0.85)
    nx.draw_networkx_edge_labels(graph, pos, {e: labels[e] for e in straight}, ax=ax, font_size=6.5,
                                 rotate=False, bbox=box)
    if curved:
        nx.draw_networkx_edge_labels(graph, pos, {e: labels[e] for e in curved}, ax=ax, font_size=6.5,
                                     rotate=False, connectionstyle="arc3,rad=0.2", bbox=box)
    handles = [Patch(facecolor="white", edgecolor="#333333", linewidth=3.0, label=f"start ({machine.start})")]
    handles += [Patch(facecolor=c, edgecolor="#333333", label=r) for r, c in roles.items()
                if any(machine.role(s) == r for s in nodes)]
    if prelude:
        handles.append(Patch(facecolor="#e0e0ff", edgecolor="#333333", label="prelude (normalisation)"))
    if stay:
        handles.append(Patch(facecolor="#fff3bf", edgecolor="#333333", label="stay move, 2nd half"))
    ax.legend(handles=handles, loc="upper left", bbox_to_anchor=(1.0, 1.0), fontsize=8, title="states",
              title_fontsize=8, frameon=False)
    ax.set_title(title or f"State diagram: {machine.name or 'machine'} ({n} states, {len(machine.rules)} rules; "
                          f"edges read→write,move)", fontsize=10)
    ax.set_axis_off()
    return fig


# ---------------------------------------------------------------------------------- verification
_COLUMNS = ("i", "M step", "machine: state", "head", "symbol", "transformer: state", "head ", "symbol ",
            "c(i)", "c(i+1)", "ℓ(i+1)", "b1", "b2", "agrees")


@dataclass(frozen=True)
class VerificationTable:
    """The side-by-side verification table (see :func:`verification_table`)."""

    verification: object
    rows: tuple[tuple[str, ...], ...]
    limit: int | None
    hidden: int

    @property
    def ok(self) -> bool:
        return self.verification.ok

    def _caption(self) -> str:
        v = self.verification
        verdict = "the transformer IS the machine at every step" if v.ok else str(v.divergence)
        return (f"{v.reference.machine_name or 'machine'} on {v.reference.input!r}: {v.checked} "
                f"decoder positions, {v.reference.steps} machine steps; {verdict}")

    def __str__(self) -> str:
        text = self._caption() + "\n" + _text_table(_COLUMNS, self.rows)
        if self.hidden:
            text += f"\n... {self.hidden} more positions"
        return text

    def _repr_pretty_(self, printer, cycle) -> None:
        printer.text(str(self))

    def _repr_html_(self) -> str:
        divergence = self.verification.divergence
        bad = divergence.step if divergence is not None and divergence.where != "machine" else None
        head = "".join(f"<th>{html.escape(c.strip())}</th>" for c in _COLUMNS)
        group = ('<tr><th colspan="2"></th><th colspan="3" style="background:#eef">machine (simulator)</th>'
                 '<th colspan="3" style="background:#efe">transformer (decoded)</th>'
                 '<th colspan="6" style="background:#ffe">§9 quantities of M\' at position i</th></tr>')
        body = []
        for row in self.rows:
            style = ""
            if bad is not None and row[0] == str(bad):
                style = ' style="background:#fbb"'
            elif not row[1]:
                style = ' style="color:#888"'
            body.append(f"<tr{style}>" + "".join(f"<td>{html.escape(c)}</td>" for c in row) + "</tr>")
        more = f"<p>… {self.hidden} more positions</p>" if self.hidden else ""
        return (f"<div><p><b>{html.escape(self._caption())}</b></p>"
                '<table style="font-family:monospace;font-size:85%;border-collapse:collapse">'
                f"<thead>{group}<tr>{head}</tr></thead><tbody>{''.join(body)}</tbody></table>{more}"
                "<p style='font-size:85%'>Grey rows (M' …): the prelude and the stay halves, which exist only in the "
                "normalised machine M'. c = head position of M', ℓ(i+1) = the last time that cell was visited, "
                "b1 = [i+1 &gt; n], b2 = [first visit].</p></div>")

    def figure(self, *, max_rows: int = 40):
        """The table as a matplotlib figure (for PNG/SVG output)."""
        rows = self.rows[:max_rows]
        _, Figure = _mpl()
        fig = Figure(figsize=(13.5, 0.9 + 0.22 * (len(rows) + 1)), layout="constrained")
        ax = fig.add_subplot()
        ax.set_axis_off()
        table = ax.table(cellText=[list(r) for r in rows] or [[""] * len(_COLUMNS)],
                         colLabels=[c.strip() for c in _COLUMNS], loc="upper center", cellLoc="center")
        table.auto_set_font_size(False)
        table.set_fontsize(7)
        table.scale(1.0, 1.15)
        for (r, c), cell in table.get_celld().items():
            if r == 0:
                cell.set_facecolor("#ddd")
            elif rows and rows[r - 1][-1] != "yes":
                cell.set_facecolor("#fbb")
            elif rows and not rows[r - 1][1]:
                cell.get_text().set_color("#888")
        more = len(self.rows) - len(rows) + self.hidden
        ax.set_title(self._caption() + (f"  (first {len(rows)} rows; {more} more)" if more else ""), fontsize=9)
        return fig


def verification_table(verification, *, limit: int | None = None) -> VerificationTable:
    """Machine vs transformer side by side, one row per decoder position i: M's configuration
    from the simulator and from the decoded trace (at the positions that are M steps), and the
    §9 quantities of the normalised machine (head c(i), c(i+1), ℓ(i+1), the bits b1, b2).
    """
    v = verification
    rows = []
    shown = v.positions if limit is None else v.positions[:limit]
    configurations = (list(v.reference), list(v.decoded))
    for p in shown:
        k = p.machine_step
        cells: list[str] = [str(p.i), "" if k is None else str(k)]
        for confs in configurations:
            if k is not None and k < len(confs):
                conf = confs[k]
                cells += [conf.state, str(conf.head), repr(conf.symbol)]
            elif k is None:
                cells += [f"M' {p.state}", "", ""]
            else:
                cells += ["—", "", ""]
        cells += [str(p.head), "" if p.position_next is None else str(p.position_next),
                  "" if p.last_visit is None else str(p.last_visit), str(int(p.past_input)),
                  "" if p.first_visit is None else str(int(p.first_visit)), "yes" if p.agrees else "NO"]
        rows.append(tuple(cells))
    hidden = v.checked - len(shown)
    return VerificationTable(v, tuple(rows), limit, hidden)


def draw_diagram(machine: TuringMachine, path: str | Path, *, seed: int = 0) -> Path:
    """Draw the state diagram to ``path`` (``.png``, ``.svg`` or ``.pdf``) with matplotlib
    (:func:`state_diagram`, the figure the notebooks show)."""
    path = Path(path)
    if path.suffix.lower() not in FIGURE_SUFFIXES:
        raise FormatError(f"cannot draw to {path.name!r}: unknown extension {path.suffix!r}",
                          hint=f"use one of {', '.join(FIGURE_SUFFIXES)}, or .dot for Graphviz text")
    if importlib.util.find_spec("matplotlib") is None:
        raise TuringformerError(
            f"drawing {path.suffix} files needs matplotlib, which is not installed",
            hint="pip install 'turingformer[plot]'  (or write a .dot file and render it with Graphviz)")
    return save(state_diagram(machine, seed=seed), path)
