"""The notebooks are jupytext pairs: every ``notebooks/*.ipynb`` has a percent-format ``.py`` beside
it with the same cells, so an edit made in either one (Jupyter, or a text editor and review) is
never lost. ``make lab`` opens them with jupytext's pairing active; to re-pair by hand:
``jupytext --sync notebooks/*.ipynb``.
"""

from __future__ import annotations

import jupytext
import pytest

from paths import ROOT

NOTEBOOKS = sorted((ROOT / "notebooks").glob("*.ipynb"))


def cells(notebook) -> list[tuple[str, str]]:
    return [(cell.cell_type, cell.source.strip()) for cell in notebook.cells]


def test_the_notebooks_exist():
    names = [p.stem for p in NOTEBOOKS]
    assert "01_quickstart" in names and "07_step_through" in names, names


@pytest.mark.parametrize("ipynb", NOTEBOOKS, ids=lambda p: p.name)
def test_each_notebook_has_a_synced_percent_script(ipynb):
    script = ipynb.with_suffix(".py")
    assert script.exists(), f"{ipynb.name} has no jupytext pair: run jupytext --set-formats ipynb,py:percent {ipynb}"
    text = script.read_text(encoding="utf-8")
    assert "format_name: percent" in text
    paired = jupytext.read(ipynb)
    assert paired.metadata.get("jupytext", {}).get("formats") == "ipynb,py:percent"
    assert cells(jupytext.read(script)) == cells(paired), (
        f"{script.name} and {ipynb.name} differ: run jupytext --sync {ipynb}")


@pytest.mark.parametrize("ipynb", NOTEBOOKS, ids=lambda p: p.name)
def test_each_notebook_is_committed_executed_and_ends_with_asserts(ipynb):
    notebook = jupytext.read(ipynb)
    code = [c for c in notebook.cells if c.cell_type == "code"]
    assert code and all(c.get("execution_count") for c in code), f"{ipynb.name} is not executed"
    assert any("assert " in c.source for c in code[-3:]), f"{ipynb.name} does not end by checking what it showed"
