"""Figures of a looped model: the punch card per block as a labelled heat map, and which column
every column attended to (looped spec §13, the official repository's GIFs show the same idea)."""

from __future__ import annotations

import numpy as np

from turingformer.compiler.looped.verify import TracedLoop
from turingformer.runtime.transformer import head_names
from turingformer.views.figures import _mpl


def card_columns(labels) -> list[str]:
    """The punch card's column names (compiler/looped/layout.py's column layouts): ``m3 x`` for
    memory cell 3 with the data label x, ``i2`` for instruction 2, ``halt``."""
    names = dict((cell, label) for label, cell in reversed(labels.cell_labels))
    cells = [f"m{i}" + (f" {names[i]}" if i in names else "") for i in range(labels.cells)]
    if labels.machine == "subleq-u":
        return ["halt", *cells]
    return [*cells, *(f"i{k}" for k in range(labels.instructions)), "halt"]


#: The widest a punch-card figure gets (inches; 2,100 pixels at the default 150 dpi).
CARD_MAX_WIDTH = 14.0
#: The value font of a punch card; a value is written in its cell only when it fits there.
CARD_FONT = 6.5


def punch_card(traced: TracedLoop, *, max_width: float = CARD_MAX_WIDTH):
    """The card of loop ``t`` before and after each block, one heat map per stage (rows = named
    dimensions, columns = the card's columns), under a title that names the program and the loop.

    Readable at any size: the panels wrap onto rows so the figure stays at most ``max_width``
    inches wide (default :data:`CARD_MAX_WIDTH`); a value is written in its cell only when the cell is wide
    and tall enough for it at :data:`CARD_FONT` points; colours are a symmetric log scale up to the
    98th percentile of the non-zero magnitudes, so one large entry (``tmp:prod``) saturates instead
    of washing every other colour out (the colour bar says where it saturates)."""
    matplotlib, Figure = _mpl()
    names = traced.model.space.names
    cards = [traced.card_in, *traced.cards]
    titles = [f"loop {traced.t} input"] + [f"after block {l}" for l in range(len(traced.cards))]
    n, d = len(traced.card_in), len(names)
    grids = [np.array([[int(v) for v in col] for col in card], dtype=object).T for card in cards]
    panel_w = min(max(0.3 * n + 0.6, 2.2), max_width - 2.0)
    panel_h = max(2.5, 0.2 * d + 0.9)
    per_row = max(1, min(len(cards), int((max_width - 1.8) // panel_w)))
    rows = -(-len(cards) // per_row)
    fig = Figure(figsize=(min(max_width, per_row * panel_w + 2.4), rows * panel_h + 1.0), layout="constrained")
    axes = fig.subplots(rows, per_row, sharey=True, squeeze=False).ravel()
    magnitudes = sorted(abs(int(v)) for grid in grids for v in grid.ravel() if v)
    vmax = max(1, magnitudes[int(0.98 * (len(magnitudes) - 1))] if magnitudes else 1)
    norm = matplotlib.colors.SymLogNorm(linthresh=1, vmin=-vmax, vmax=vmax, clip=False)
    cell_w = panel_w * 72 * 0.8 / n          # points per column and per row, roughly
    cell_h = panel_h * 72 * 0.8 / d
    image = None
    for ax, grid, title in zip(axes, grids, titles):
        image = ax.imshow(grid.astype(float), cmap="RdBu_r", norm=norm, aspect="auto", interpolation="nearest")
        if cell_h >= CARD_FONT * 1.1:
            for (i, j), v in np.ndenumerate(grid):
                text = str(v)
                if v and len(text) * CARD_FONT * 0.62 <= cell_w:
                    ax.text(j, i, text, ha="center", va="center", fontsize=CARD_FONT,
                            color="white" if abs(norm(float(v)) - 0.5) > 0.35 else "black")
        ax.set_title(title, fontsize=9)
        step = max(1, round(n / max(1, panel_w * 72 / 14)))    # at most one column label per 14 points
        ax.set_xticks(range(0, n, step), [str(j) for j in range(0, n, step)], fontsize=7)
        ax.set_xlabel("card column")
    for ax in axes[len(cards):]:
        ax.set_axis_off()
    for ax in axes[::per_row]:
        ax.set_yticks(range(d), names, fontsize=7)
    columns = card_columns(traced.model.labels)
    bar = fig.colorbar(image, ax=list(axes[:len(cards)]), shrink=0.6, extend="both",
                       label=f"value (symmetric log scale; beyond ±{vmax:,} saturated)")
    ticks = sorted({0, 1, -1, vmax, -vmax})
    bar.set_ticks(ticks, labels=[f"{t:,}" for t in ticks])
    fig.suptitle(f"{traced.model.labels.name or 'program'} ({traced.model.labels.construction}): the punch card of "
                 f"loop {traced.t}, before and after each block\ncolumns: {_few(columns)}", fontsize=10)
    return fig


def _few(names: list[str], limit: int = 12) -> str:
    shown = [f"{j} = {name}" for j, name in enumerate(names)]
    return ", ".join(shown if len(shown) <= limit else [*shown[:limit - 2], "…", shown[-1]])


def attention_map(traced: TracedLoop):
    """Per block and head: a dot at (query column j, key column i) where column j attended to i."""
    _, Figure = _mpl()
    heads = [(l, name, w) for l, b in enumerate(traced.model.transformer.blocks)
             for name, w in zip(head_names(f"loop.{l}", len(b.heads)), traced.winners[l])]
    n = len(traced.card_in)
    fig = Figure(figsize=(2.6 * len(heads) + 0.5, 3.0), layout="constrained")
    axes = fig.subplots(1, max(1, len(heads)), squeeze=False)[0]
    for ax, (l, name, winners) in zip(axes, heads):
        M = np.zeros((n, n))
        for j, i in enumerate(winners):
            M[j, i] = 1
        ax.imshow(M, cmap="Greys", vmin=0, vmax=1)
        ax.set_title(name, fontsize=9)
        ax.set_xlabel("key column (winner)")
        ax.set_ylabel("query column")
    fig.suptitle(f"loop {traced.t}: the column each column attended to", fontsize=10)
    return fig


def memory_over_loops(trace):
    """Memory cells (rows) over the loops (columns), colour = the signed word; pc above. A cell
    that is a k×k matrix (FLEQ-M) is k² rows, ``name(i,j)``."""
    _, Figure = _mpl()
    A = np.array([s.memory for s in trace])                  # loops × cells (× k × k)
    M = A.reshape(A.shape[0], -1).T
    k = A.shape[2] if A.ndim == 4 else 1
    fig = Figure(figsize=(min(14, 2 + 0.12 * M.shape[1]), 0.35 * M.shape[0] + 1.8), layout="constrained")
    ax = fig.add_subplot()
    im = ax.imshow(M, cmap="RdBu_r", aspect="auto", interpolation="nearest",
                   vmin=-abs(M).max() or -1, vmax=abs(M).max() or 1)
    cells = [str(c) for c in range(A.shape[1])]
    for name, cell in reversed(list(trace.labels.items())):
        cells[cell] = name
    names = cells if k == 1 else [f"{c}({i},{j})" for c in cells for i in range(k) for j in range(k)]
    ax.set_yticks(range(len(names)), names, fontsize=7)
    ax.set_xlabel("loop")
    ax.set_title(f"{trace.name or 'program'}: memory after every loop", fontsize=10)
    fig.colorbar(im, ax=ax, shrink=0.8)
    return fig
