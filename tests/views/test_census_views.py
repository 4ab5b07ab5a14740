"""The census figure (turingformer.views.census): a histogram of the first float divergences."""

from __future__ import annotations

import pyarrow as pa
import pytest

from turingformer.analysis.census import schema
from turingformer.views.census import divergence_histogram

pytest.importorskip("matplotlib")


def table(values32, values64):
    rows = [{name: None for name in schema(["float32", "float64"]).names} | {
        "index": k, "first_divergence_float32": a, "first_divergence_float64": b}
        for k, (a, b) in enumerate(zip(values32, values64))]
    rows.append({**rows[0], "index": len(rows), "error": "bad line", "first_divergence_float32": None})
    return pa.Table.from_pylist(rows, schema=schema(["float32", "float64"]))


@pytest.mark.parametrize("as_frame", [False, True])
def test_histogram_counts_every_divergence_and_names_modes_without_one(as_frame):
    data = table([80, 80, 93, None, 104], [None] * 5)
    fig = divergence_histogram(data.to_pandas() if as_frame else data)
    ax = fig.axes[0]
    heights = [p.get_height() for p in ax.patches]
    assert sum(heights) == 4 and max(heights) == 2
    labels = [t.get_text() for t in ax.get_legend().get_texts()]
    assert labels == ["float32 (inexact): 4 of 5 machines diverge",
                      "float64 (inexact): 0 of 5 machines diverge (none within the steps compared)"]
