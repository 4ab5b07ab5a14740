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
:func:`state_diagram`      the machine's transition graph in layers (Graphviz dot or the
                           built-in layered layout), optionally with the current state and
                           the rule that fired lit
:func:`verification_figure` a verification table (:func:`verification_table`, from
                           :mod:`turingformer.compiler.perez.verify`: HTML in a notebook, text with
                           ``print``) drawn as a figure
=========================  ===============================================================

Options shared by the figures: ``slide=True`` gives a 16:9 figure; the space-time diagram takes a
step window (``start``, ``stop``) and draws the head's path as a line on long runs.

Every function returns a :class:`matplotlib.figure.Figure` built without pyplot (no global
state, nothing to close); a notebook shows it inline, :func:`save` writes PNG, SVG or PDF.
Pass ``ax=`` to draw into an existing axes instead.
"""

from __future__ import annotations

import importlib.util
from fractions import Fraction
from pathlib import Path
from typing import Sequence

from turingformer.analysis.inspect import ActivationCache
from turingformer.compiler.perez.verify import VerificationTable, verification_table
from turingformer.errors import FormatError, TuringformerError
from turingformer.files import atomic_path
from turingformer.tm.diagram import FONT, LINE, DiagramLayout, layout, visible
from turingformer.tm.machine import TuringMachine
from turingformer.tm.trace import Trace

__all__ = [
    "attention", "attention_patterns", "residual", "save", "spacetime", "state_diagram",
    "verification_figure", "verification_table", "VerificationTable", "FIGURE_SUFFIXES", "SLIDE",
]

FIGURE_SUFFIXES = (".png", ".svg", ".pdf")
#: The size of a 16:9 slide figure, in inches (``slide=True`` on every figure).
SLIDE = (13.333, 7.5)


def _mpl():
    try:
        import matplotlib
        from matplotlib.figure import Figure
    except ImportError:  # pragma: no cover - matplotlib is a declared extra
        raise TuringformerError("the figures need matplotlib, which is not installed",
                                hint="pip install 'turingformer[plot]'") from None
    return matplotlib, Figure


def _axes(ax, size: tuple[float, float], slide: bool = False):
    """(figure, axes): a new pyplot-free figure (16:9 with ``slide``) unless ``ax`` is given."""
    if ax is not None:
        return ax.figure, ax
    _, Figure = _mpl()
    fig = Figure(figsize=SLIDE if slide else size, layout="constrained")
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
def _window(count: int, start: int | None, stop: int | None) -> range:
    """Steps ``start..stop`` (inclusive, clamped to 0..count-1): the ``--from`` / ``--to`` window."""
    first = 0 if start is None else max(0, min(start, count - 1))
    last = count - 1 if stop is None else max(first, min(stop, count - 1))
    return range(first, last + 1)


def spacetime(source: Trace | ActivationCache, *, normalised: bool = False, ax=None,
              annotate: bool | None = None, title: str | None = None, start: int | None = None,
              stop: int | None = None, head_line: bool | None = None, slide: bool = False):
    """The space-time diagram of a run: row t is the tape after t steps, the head's cell is
    outlined (or dotted, for long runs) in the colour of the state, cells are coloured by symbol.

    ``source`` is a :class:`~turingformer.tm.trace.Trace` (of the simulator or of the transformer)
    or an :class:`~turingformer.analysis.inspect.ActivationCache`; with a cache, ``normalised=True``
    draws the normalised machine M' that the transformer actually runs, prelude included.
    ``start`` / ``stop`` draw only steps ``start..stop``; ``head_line`` (default: on for runs too
    long to annotate) joins the head positions with a line, so the head's path reads at a glance.
    ``slide=True`` makes a 16:9 figure.
    """
    import numpy as np
    from matplotlib.colors import ListedColormap
    from matplotlib.lines import Line2D
    from matplotlib.patches import Patch, Rectangle
    from matplotlib.ticker import MaxNLocator

    prelude: Sequence[str] = ()
    if isinstance(source, ActivationCache):
        prelude = source.model.labels.prelude
        trace = source.normalised_trace() if normalised else source.trace
    else:
        trace = source
    window = _window(len(trace), start, stop)
    confs = [c for c in trace if c.step in window]
    low = min(min(c.tape.offset, c.head) for c in confs)
    high = max(max(c.tape.offset + len(c.tape.cells) - 1, c.head) for c in confs)
    symbols = list(dict.fromkeys([trace.blank, *(s for c in confs for s in c.tape.cells)]))
    states = list(dict.fromkeys(c.state for c in confs))
    sym_colour = _symbol_colours(symbols, trace.blank)
    st_colour = _state_colours(states, prelude)
    steps, width = len(confs), high - low + 1
    t0, t1 = window.start, window.stop - 1
    grid = np.array([[symbols.index(c.tape[x]) for x in range(low, high + 1)] for c in confs])
    if annotate is None:
        annotate = steps * width <= 2500 and steps <= 80
    if head_line is None:
        head_line = not annotate
    fig, ax = _axes(ax, (min(max(4.5, 0.32 * width + 3.2), 16), min(max(3.0, 0.24 * steps + 1.5), 14)), slide)
    ax.imshow(grid, cmap=ListedColormap([sym_colour[s] for s in symbols]), vmin=-0.5,
              vmax=len(symbols) - 0.5, aspect="auto", interpolation="nearest",
              extent=(low - 0.5, high + 0.5, t1 + 0.5, t0 - 0.5))
    heads = [c.head for c in confs]
    times = [c.step for c in confs]
    handles = []
    if head_line:
        ax.plot(heads, times, color="#222222", lw=0.9 if steps > 200 else 1.3, alpha=0.8, zorder=2)
        handles.append(Line2D([], [], color="#222222", lw=1.3, label="head's path"))
    if annotate:
        for c in confs:
            for x in range(low, high + 1):
                ax.text(x, c.step, visible(c.tape[x]), ha="center", va="center", fontsize=7, color="#333333")
            ax.add_patch(Rectangle((c.head - 0.5, c.step - 0.5), 1, 1, fill=False, lw=2.0,
                                   edgecolor=st_colour[c.state], zorder=3))
    else:
        ax.scatter(heads, times, c=[st_colour[c.state] for c in confs],
                   s=max(2.0, min(30.0, 1500.0 / steps)), marker="o", edgecolors="none", zorder=3)
    ax.set_xlabel("tape cell")
    ax.set_ylabel("step t (time runs down)")
    ax.yaxis.set_major_locator(MaxNLocator(integer=True))
    if width <= 40:
        ax.set_xticks(range(low, high + 1))
    name = trace.machine_name or "machine"
    shown = "" if (t0, t1) == (0, len(trace) - 1) else f", steps {t0}..{t1} shown"
    ax.set_title(title or f"Space-time diagram\n{name} on input {trace.input!r} "
                          f"({trace.steps} steps, {trace.verdict.value}{shown})", fontsize=10)
    handles += [Line2D([], [], marker="s", linestyle="none", markerfacecolor="none" if annotate else st_colour[s],
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
              title: str | None = None, legend: bool = True):
    """One attention over the whole run: row i (decoder position) holds the weights it gives to
    position j. ``which`` is ``decoder.l.attn`` (j = 0..i, causal) or ``decoder.l.cross``
    (the encoder positions j = 1..n). Weights are drawn on a log scale (layer 2's 1/(i+1) would
    fade out otherwise); a single winner is also marked with a dot so it shows on long runs.
    The legend goes below the axes, inside the figure (``legend=False``: none, for a caller that
    draws one legend for several panels from the labelled artists).
    """
    import numpy as np
    from matplotlib.colors import LogNorm

    matplotlib, _ = _mpl()
    cross = ".cross" in which
    patterns = cache.stack(f"{which}.pattern")
    winners = cache.stack(f"{which}.winners")
    steps = len(patterns)
    width = len(cache.tokens) if cross else steps
    fig, ax = _axes(ax, (7.0, 5.5))
    if width == 0:
        ax.text(0.5, 0.5, "empty input:\nno encoder positions to attend to\n(attention over no keys is 0)",
                ha="center", va="center", transform=ax.transAxes, fontsize=8)
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
        if single and len(single) == steps:
            ax.scatter([j + first for _, j in single], [i for i, _ in single], s=max(1.5, min(16.0, 900.0 / steps)),
                       color="crimson", marker="s", edgecolors="none", zorder=3, label="the single winner (weight 1)")
        if not cross:
            ax.plot([-0.5, steps - 0.5], [-0.5, steps - 0.5], color="#999999", lw=0.6, label="causal mask: j ≤ i")
        if cache.tokens and cache.n < steps:
            ax.axhline(cache.n - 0.5, color="darkorange", lw=0.9, ls="--", label="i+1 > n: past the input")
        if cache.prelude < steps:
            ax.axhline(cache.prelude - 0.5, color="black", lw=0.9, ls=":", label="i = 2n+3: the machine starts")
        if legend:
            _legend_below(fig, [ax])
    from matplotlib.ticker import MaxNLocator

    if width:
        ax.xaxis.set_major_locator(MaxNLocator(integer=True))
        ax.yaxis.set_major_locator(MaxNLocator(integer=True))
    ax.set_xlabel("encoder position j (input symbol w_j)" if cross else "attended position j")
    ax.set_ylabel("decoder position i (step)")
    ax.set_title(title or _ATTENTION_TITLES.get(which, which), fontsize=9)
    return fig


def attention_patterns(cache: ActivationCache, *, which: Sequence[str] = ("decoder.1.cross", "decoder.2.attn",
                                                                         "decoder.3.attn"), slide: bool = False):
    """The attentions of the construction side by side (see :func:`attention`); 16:9 with ``slide``."""
    _, Figure = _mpl()
    fig = Figure(figsize=SLIDE if slide else (5.2 * len(which), 5.8), layout="constrained")
    axes = fig.subplots(1, len(which), squeeze=False)[0]
    for ax, name in zip(axes, which):
        attention(cache, name, ax=ax, legend=False)
    _legend_below(fig, axes)
    fig.suptitle(f"Attention patterns of {cache.model.labels.machine_name or 'the machine'} on "
                 f"{cache.word!r}: {len(cache)} decoder steps", fontsize=11)
    return fig


def _legend_below(fig, axes) -> None:
    """One legend of the labelled artists of ``axes`` (each label once), below the panels and
    inside the figure: constrained layout makes room for it, so nothing is clipped."""
    seen: dict[str, object] = {}
    for ax in axes:
        for handle, label in zip(*ax.get_legend_handles_labels()):
            seen.setdefault(label, handle)
    if seen:
        fig.legend(list(seen.values()), list(seen), loc="outside lower center", ncol=min(4, len(seen)), fontsize=8,
                   frameon=False)


# ---------------------------------------------------------------------------------- residual
RESIDUAL_STAGES = (
    ("decoder.1.resid_pre", "input y_i + pos(i+1)"),
    ("decoder.1.resid_post", "after layer 1 (z¹)"),
    ("decoder.2.resid_post", "after layer 2 (z²)"),
    ("decoder.3.resid_post", "after layer 3 (z³)"),
    ("output.y", "output y_{i+1} = F(z³)"),
)


def residual(cache: ActivationCache, i: int, *, ax=None, stages: Sequence[tuple[str, str]] = RESIDUAL_STAGES,
             annotate: bool = True, title: str | None = None, slide: bool = False):
    """The residual stream at decoder position ``i``, stage by stage (rows) and named dimension by
    named dimension (columns); the cells show the exact values. The colour scale is symmetric
    logarithmic up to the largest |value|, so no value is clipped: 12 and 1 get different colours."""
    import numpy as np
    from matplotlib.colors import SymLogNorm

    matplotlib, _ = _mpl()
    space = cache.space
    names = space.names
    values = [cache.get(hook, i) for hook, _ in stages]
    grid = np.array([[float(v) for v in row] for row in values])
    fig, ax = _axes(ax, (max(8.0, 0.27 * len(names) + 2.5), 2.2 + 0.5 * len(stages) + 1.6), slide)
    top_value = max(1.0, float(np.abs(grid).max()))
    smallest = float(np.abs(grid[grid != 0]).min()) if np.any(grid) else 1.0
    norm = SymLogNorm(linthresh=min(smallest, 0.1), linscale=0.5, vmin=-top_value, vmax=top_value, base=10)
    image = ax.imshow(grid, cmap="RdBu_r", norm=norm, aspect="auto", interpolation="nearest")
    if annotate:
        for r, row in enumerate(values):
            for c, v in enumerate(row):
                if v:
                    text = str(v) if isinstance(v, Fraction) else f"{v:.3g}"
                    ax.text(c, r, text, ha="center", va="center", rotation=90 if len(text) > 2 else 0,
                            fontsize=6 if len(text) <= 5 else 5,
                            color="white" if abs(norm(float(v)) - 0.5) > 0.3 else "black")
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
    ticks = sorted({0.0, *(sgn * t for t in (norm.linthresh, 1.0, top_value) for sgn in (1, -1))})
    bar.set_ticks(ticks, labels=[f"{t:.3g}" for t in ticks])
    bar.set_label("value (symmetric log scale, nothing clipped)", fontsize=8)
    d = cache.decoded(i)
    k = cache.machine_step(i)
    where = f"machine step {k}" if k is not None else ("prelude" if i < cache.prelude else "stay move")
    ax.set_title(title or f"Residual stream at decoder position i = {i} ({where}: state {d.state} reads "
                          f"{d.read!r}); d = {len(names)}", fontsize=10)
    return fig


# ---------------------------------------------------------------------------------- state diagram
def state_diagram(machine: TuringMachine, *, normalised: bool = False, ax=None, engine: str = "auto",
                  current: str | None = None, fired: tuple[str, str] | None = None, title: str | None = None,
                  slide: bool = False, geometry: DiagramLayout | None = None, step: int | None = None):
    """The state diagram in layers from left to right (Graphviz ``dot`` when installed, the
    built-in layered layout otherwise: :func:`turingformer.tm.diagram.layout`), one arrow per
    (state, next state) labelled ``read→write,move``, self-loops above their state with their
    label above the loop. ``current`` outlines a state in red (``trace --view diagram --step t``),
    ``fired`` = (state, read symbol) draws that rule's arrow and label in red; ``step`` (the
    machine step they belong to) goes into the title.
    ``normalised=True`` draws the machine M' the transformer runs (prelude and stay states)."""
    from matplotlib.patches import Circle, FancyArrowPatch, Patch
    from matplotlib.path import Path as MPath

    prelude: Sequence[str] = ()
    stay: Sequence[str] = ()
    if normalised:
        from turingformer.compiler.perez.normalize import normalize

        nm = normalize(machine)
        prelude, stay = nm.labels.prelude, tuple(nm.labels.stay)
        machine = nm.machine
    g = geometry or layout(machine, engine=engine)
    scale = 1 / 72                                      # points -> inches at 1:1
    fig, ax = _axes(ax, (max(5.5, g.width * scale * 1.3 + 2.4), max(3.2, g.height * scale * 1.3 + 0.9)), slide)
    roles = {"accept": "#b7e4c7", "reject": "#f4b6b6", "halt": "#d9d9d9"}
    red = "#d62728"

    def colour(s):
        if s in prelude:
            return "#e0e0ff"
        if s in stay:
            return "#fff3bf"
        return roles.get(machine.role(s), "#ffffff")

    for e in g.edges:
        lit = fired is not None and fired[0] == e.source and fired[1] in e.reads
        pts = list(e.points)
        codes = [MPath.MOVETO] + [MPath.CURVE4] * (len(pts) - 1)
        ax.add_patch(FancyArrowPatch(path=MPath(pts, codes), arrowstyle="-|>", mutation_scale=12,
                                     lw=2.4 if lit else 1.0, color=red if lit else "#555555", zorder=1))
        x, y = e.label_at
        for k, (read, text) in enumerate(zip(e.reads, e.labels)):
            hot = lit and read == fired[1]
            _text_in_data(ax, x, y + LINE * (k - (len(e.labels) - 1) / 2), text, FONT,
                          red if hot else "#222222", bold=hot, halo=True)
    # State names are real text (searchable in SVG and PDF) at the SVG's 11 points, scaled as the
    # diagram is (roughly: the axes' size over the layout's, before the layout engine runs).
    box = ax.get_position()
    name_size = 11.0 * max(0.5, min(box.width * fig.get_figwidth() / (g.width / 72),
                                    box.height * fig.get_figheight() / (g.height / 72)))
    for s, (x, y) in g.nodes.items():
        r = g.radius[s]
        edge = red if s == current else "#333333"
        width = 3.2 if s == current else (2.4 if s == machine.start else 1.0)
        ax.add_patch(Circle((x, y), r, facecolor=colour(s), edgecolor=edge, lw=width, zorder=2))
        if machine.role(s):
            ax.add_patch(Circle((x, y), r - 4, facecolor="none", edgecolor="#333333", lw=0.8, zorder=2,
                                ls="--" if machine.role(s) == "halt" else "-"))
        ax.text(x, y, s, ha="center", va="center", fontsize=name_size, zorder=3)   # real text: searchable
    sx, sy = g.nodes[g.start]
    ax.annotate("", xy=(sx - g.radius[g.start], sy), xytext=(sx - g.radius[g.start] - 26, sy),
                arrowprops=dict(arrowstyle="-|>", color="#333333", lw=1.0))
    ax.set_xlim(0, g.width)
    ax.set_ylim(g.height, 0)
    ax.set_aspect("equal")
    handles = [Patch(facecolor="white", edgecolor="#333333", linewidth=2.4, label=f"start ({machine.start})")]
    handles += [Patch(facecolor=c, edgecolor="#333333", label=r) for r, c in roles.items()
                if any(machine.role(s) == r for s in g.nodes)]
    if prelude:
        handles.append(Patch(facecolor="#e0e0ff", edgecolor="#333333", label="prelude (normalisation)"))
    if stay:
        handles.append(Patch(facecolor="#fff3bf", edgecolor="#333333", label="stay move, 2nd half"))
    if current is not None:
        handles.append(Patch(facecolor="white", edgecolor=red, linewidth=3.0, label=f"current state ({current})"))
    if fired is not None:
        handles.append(Patch(facecolor=red, edgecolor=red, label="the rule that just fired"))
    if machine.blank == "_" and any("␣" in label for e in g.edges for label in e.labels):
        handles.append(Patch(facecolor="none", edgecolor="none", label="␣ on an arrow: the blank '_'"))
    if ax is fig.axes[0] and len(fig.axes) == 1:      # our own figure: the legend beside, inside the frame
        fig.legend(handles=handles, loc="outside right upper", fontsize=8, title="states", title_fontsize=8,
                   frameon=False)
    else:
        ax.legend(handles=handles, loc="upper right", fontsize=7, title="states", title_fontsize=7, framealpha=0.8)
    if title is None:
        title = (f"State diagram: {machine.name or 'machine'} ({len(g.nodes)} states, {len(machine.rules)} rules; "
                 f"edges read→write,move; layout: {g.engine})")
        if step is not None:
            rule = f"; the rule that fired: {fired[0]} reading {visible(fired[1])!r}" if fired else " (the start)"
            title += f"\nstep {step}: state {current}{rule}"
    ax.set_title(title, fontsize=10)
    ax.set_axis_off()
    return fig


def _text_in_data(ax, x: float, y: float, text: str, size: float, colour: str, *, bold: bool = False,
                  halo: bool = False) -> None:
    """``text`` centred on (x, y) as a path in data units (points of the layout, y down), so it
    scales with the diagram exactly as in the SVG and never drifts off its arrow."""
    from matplotlib.font_manager import FontProperties
    from matplotlib.patches import PathPatch
    from matplotlib.patheffects import withStroke
    from matplotlib.textpath import TextPath
    from matplotlib.transforms import Affine2D

    path = TextPath((0, 0), text, size=size, prop=FontProperties(weight="bold" if bold else "normal"))
    box = path.get_extents()
    shape = Affine2D().translate(-(box.x0 + box.x1) / 2, -size * 0.35).scale(1, -1).translate(x, y)
    patch = PathPatch(shape.transform_path(path), facecolor=colour, edgecolor="none", zorder=4)
    if halo:
        patch.set_path_effects([withStroke(linewidth=3, foreground="white")])
    ax.add_patch(patch)


# ---------------------------------------------------------------------------------- verification
def verification_figure(table: VerificationTable, *, max_rows: int = 40, slide: bool = False):
    """A verification table (:func:`turingformer.compiler.perez.verify.verification_table`, possibly a
    window of it) as a matplotlib figure; grey rows are M'-only positions, red rows disagree."""
    rows = table.rows[:max_rows]
    _, Figure = _mpl()
    fig = Figure(figsize=SLIDE if slide else (13.5, 0.9 + 0.22 * (len(rows) + 1)), layout="constrained")
    ax = fig.add_subplot()
    ax.set_axis_off()
    cells = ax.table(cellText=[list(r) for r in rows] or [[""] * len(table.columns)],
                     colLabels=[c.strip() for c in table.columns], loc="upper center", cellLoc="center")
    cells.auto_set_font_size(False)
    cells.set_fontsize(7)
    cells.scale(1.0, 1.15)
    for (r, c), cell in cells.get_celld().items():
        if r == 0:
            cell.set_facecolor("#ddd")
        elif rows and rows[r - 1][-1] != "yes":
            cell.set_facecolor("#fbb")
        elif rows and not rows[r - 1][1]:
            cell.get_text().set_color("#888")
    more = len(table.rows) - len(rows) + table.hidden
    ax.set_title(table.caption() + (f"  ({len(rows)} rows drawn; {more} more)" if more else ""), fontsize=9)
    return fig


def draw_diagram(machine: TuringMachine, path: str | Path) -> Path:
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
    return save(state_diagram(machine), path)
