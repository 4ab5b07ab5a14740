"""Figures of a looped model: the punch card per block as a labelled heat map, and which column
every column attended to (looped spec §13, the official repository's GIFs show the same idea)."""

from __future__ import annotations

import numpy as np

from turingformer.compiler.looped.verify import TracedLoop
from turingformer.runtime.transformer import head_names
from turingformer.views.figures import _mpl


def punch_card(traced: TracedLoop):
    """One heat map per block: rows = named dimensions, columns = punch-card columns, colour = the
    signed value (symmetric log scale), every non-zero entry printed."""
    matplotlib, Figure = _mpl()
    names = traced.model.space.names
    cards = [traced.card_in, *traced.cards]
    titles = [f"loop {traced.t} input"] + [f"after block {l}" for l in range(len(traced.cards))]
    n = len(traced.card_in)
    fig = Figure(figsize=(max(6, 0.38 * n + 2.5) * len(cards) / 2, 0.28 * len(names) + 1.6), layout="constrained")
    axes = fig.subplots(1, len(cards), sharey=True, squeeze=False)[0]
    vmax = max(1, max(abs(int(v)) for card in cards for col in card for v in col))
    norm = matplotlib.colors.SymLogNorm(linthresh=1, vmin=-vmax, vmax=vmax)
    for ax, card, title in zip(axes, cards, titles):
        M = np.array([[int(v) for v in col] for col in card]).T
        ax.imshow(M, cmap="RdBu_r", norm=norm, aspect="auto")
        for (i, j), v in np.ndenumerate(M):
            if v:
                ax.text(j, i, str(v), ha="center", va="center", fontsize=5)
        ax.set_title(title, fontsize=9)
        ax.set_xticks(range(n), [str(j) for j in range(n)], fontsize=6)
        ax.set_xlabel("column")
    axes[0].set_yticks(range(len(names)), names, fontsize=7)
    return fig


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
    """Memory cells (rows) over the loops (columns), colour = the signed word; pc above."""
    _, Figure = _mpl()
    M = np.array([s.memory for s in trace]).T
    fig = Figure(figsize=(min(14, 2 + 0.12 * M.shape[1]), 0.35 * M.shape[0] + 1.8), layout="constrained")
    ax = fig.add_subplot()
    im = ax.imshow(M, cmap="RdBu_r", aspect="auto", interpolation="nearest",
                   vmin=-abs(M).max() or -1, vmax=abs(M).max() or 1)
    names = [str(c) for c in range(M.shape[0])]
    for name, cell in reversed(list(trace.labels.items())):
        names[cell] = name
    ax.set_yticks(range(len(names)), names, fontsize=7)
    ax.set_xlabel("loop")
    ax.set_title(f"{trace.name or 'program'}: memory after every loop", fontsize=10)
    fig.colorbar(im, ax=ax, shrink=0.8)
    return fig
