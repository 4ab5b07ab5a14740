"""Rich displays for notebooks (``_repr_html_`` / ``_repr_svg_``) and short plain reprs."""

from __future__ import annotations

import re
import shutil

import pytest

from turingformer.compiler.perez.verify import verify
from turingformer.compiler.perez.construction import compile_machine
from turingformer.compiler.perez.decoding import run_model
from turingformer.runtime.fast import decode_fast
from turingformer.tm import diagram
from turingformer.tm.formats import load_machine
from turingformer.tm.simulator import run

from paths import ROOT


@pytest.fixture(scope="module")
def bb4():
    return load_machine(ROOT / "machines" / "busy_beaver_4.yaml")


def test_plain_reprs_are_short(bb4):
    model = compile_machine(bb4)
    result = run_model(model, "", decoder=decode_fast, capture=None)
    trace, steps = result.trace, result.decoder_steps
    assert len(repr(model)) < 200 and "d=39" in repr(model)            # was 51,558 characters
    assert len(repr(model.transformer)) < 200
    assert len(repr(steps)) < 40 * len(steps)                          # a list of steps was 73,228
    assert repr(steps[5]) == f"Step(i=5, d=39, hooks={len(steps[5].activations)})"
    assert len(repr(trace)) < 200 and "steps=107" in repr(trace)
    assert len(repr(verify(bb4, "", model=model, decoder=decode_fast))) < 300


def test_machine_shows_its_diagram_and_rule_table(bb4):
    page = bb4._repr_html_()
    assert page.count('<g class="state') == len(bb4.states) and "<table" in page
    for rule in bb4.rules:
        assert f"{rule.write} {rule.move.value} {rule.next_state}" in page
    svg = bb4._repr_svg_()
    assert svg.startswith("<svg") and svg.count('<g class="edge') == len(diagram.edge_labels(bb4))


def test_trace_shows_a_window_of_its_tape(bb4):
    trace = run(bb4, "")
    page = trace._repr_html_()
    assert page.count("<tr>") == 1 + 50 and "steps 0..49 of 0..107 shown" in page
    window = trace.html(100, 107)
    assert window.count("<tr>") == 1 + 8 and ">Z<" in window
    assert window.count("outline:2px solid") == 8                    # one head cell per row


def test_verification_is_a_colour_coded_table(bb4):
    page = verify(bb4, "")._repr_html_()
    assert "the transformer IS the machine" in page and "#1b5e20" in page
    rows = re.findall(r"<tr[^>]*><td>(\d+)</td><td>(\d*)</td>", page)
    assert rows[0] == ("3", "0")                                       # starts at the machine, not the prelude


def test_compiled_model_shows_its_summary(bb4):
    import html

    page = html.unescape(compile_machine(bb4)._repr_html_())
    assert "d = 2|Q'| + 4|Σ'| + 11 = 39" in page and "non-zero weights" in page


@pytest.mark.parametrize("engine", ["layered", "dot"])
def test_layouts_place_every_state_and_rule(bb4, engine):
    if engine == "dot" and not shutil.which("dot"):
        pytest.skip("Graphviz dot is not installed (the layered fallback is tested)")
    g = diagram.layout(bb4, engine=engine)
    assert set(g.nodes) == set(bb4.states) and g.engine == engine
    assert {(e.source, e.target) for e in g.edges} == set(diagram.edge_labels(bb4))
    for x, y in g.nodes.values():
        assert 0 < x < g.width and 0 < y < g.height


def test_layered_self_loop_labels_clear_the_other_states():
    machine = load_machine(ROOT / "machines" / "palindrome.yaml")
    g = diagram.layout(machine, engine="layered")
    loops = [e for e in g.edges if e.source == e.target]
    assert loops
    for e in loops:
        x, y = e.label_at
        half = diagram.LINE * len(e.labels) / 2
        sx, sy = g.nodes[e.source]
        assert y + half < sy - g.radius[e.source]                      # above its own state
        for s, (ox, oy) in g.nodes.items():
            if s != e.source and abs(ox - x) < g.radius[s] + 30:
                assert not (oy - g.radius[s] <= y + half and y - half <= oy + g.radius[s]), (e, s)


@pytest.mark.parametrize("path", sorted((ROOT / "machines").glob("*.yaml")), ids=lambda p: p.stem)
def test_layered_labels_cover_no_state_and_no_other_label(path):
    """The built-in layout places every arrow's label clear of every state and of every other label."""
    machine = load_machine(path)
    g = diagram.layout(machine, engine="layered")
    boxes = [(e, diagram._label_box(e.label_at, e.labels)) for e in g.edges]
    for e, box in boxes:
        for s, (x, y) in g.nodes.items():
            r = g.radius[s]
            assert diagram._overlap(box, (x - r, y - r, x + r, y + r)) == 0, (e.labels, s)
        for other, box2 in boxes:
            if other is not e:
                assert diagram._overlap(box, box2) == 0, (e.labels, other.labels)
        assert 0 <= box[0] and box[2] <= g.width and 0 <= box[1] and box[3] <= g.height
    assert all("_" not in label for e in g.edges for label in e.labels) or machine.blank != "_"
