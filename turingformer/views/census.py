"""Figures of a census (:mod:`turingformer.analysis.census`): where the float modes first diverge."""

from __future__ import annotations

from pathlib import Path

from turingformer.views.figures import _axes

PREFIX = "first_divergence_"
COLOURS = {"float16": "#d62728", "float32": "#1f77b4", "float64": "#2ca02c"}


def divergence_histogram(census, *, ax=None, bins: int = 30, title: str | None = None):
    """Histogram of the first decoder step at which each float mode diverges, over the machines of
    a census (a Parquet path, a pyarrow Table or a pandas DataFrame with ``first_divergence_<dtype>``
    columns). Modes that never diverge within the steps compared are named in the legend."""
    columns = _columns(census)
    dtypes = [name[len(PREFIX):] for name in columns if name.startswith(PREFIX)]
    machines = sum(1 for error in columns["error"] if error is None) if "error" in columns else None
    fig, ax = _axes(ax, (7.0, 3.6))
    values = {dt: [int(v) for v in columns[PREFIX + dt] if v is not None] for dt in dtypes}
    found = [v for vs in values.values() for v in vs]
    edges = None
    if found:
        low, high = min(found), max(found)
        step = max(1, -(-(high - low + 1) // bins))
        edges = list(range(int(low), int(high) + step + 1, step))
    for dt in dtypes:
        label = f"{dt} (inexact): {len(values[dt]):,} of {machines:,} machines diverge" if machines is not None \
            else f"{dt} (inexact): {len(values[dt]):,} machines diverge"
        if values[dt]:
            ax.hist(values[dt], bins=edges, alpha=0.7, label=label, color=COLOURS.get(dt))
        else:
            ax.plot([], [], " ", label=label.replace("diverge", "diverge (none within the steps compared)"))
    ax.set_xlabel("first decoder step at which the float run diverges from the exact run")
    ax.set_ylabel("machines")
    ax.legend(loc="upper left", fontsize="small", frameon=False)
    if title:
        ax.set_title(title)
    return fig


def _columns(census) -> dict[str, list]:
    """Column name -> values, from a Parquet path, a pyarrow Table or a pandas DataFrame."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    if isinstance(census, (str, Path)):
        census = pq.read_table(census)
    elif not isinstance(census, pa.Table):       # a DataFrame: NaN / NA become nulls
        census = pa.Table.from_pandas(census, preserve_index=False)
    return census.to_pydict()
