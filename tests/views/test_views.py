"""Figures (turingformer.views.figures) and the ``trace`` command: titles, labels, legends, files written."""

from __future__ import annotations

from pathlib import Path

import matplotlib

matplotlib.use("Agg")

import pytest  # noqa: E402

from turingformer.cli import build_parser  # noqa: E402
from turingformer.views import figures as views  # noqa: E402
from turingformer.errors import TuringformerError  # noqa: E402
from turingformer.analysis.inspect import run_with_cache  # noqa: E402
from turingformer.tm.machine import Rule, TuringMachine  # noqa: E402
from turingformer.compiler.perez.verify import verify  # noqa: E402

from paths import ROOT  # noqa: E402
BB2 = ROOT / "machines" / "busy_beaver_2.yaml"


def flip() -> TuringMachine:
    rules = [Rule("go", "a", "b", "R", "go"), Rule("go", "b", "a", "R", "go"), Rule("go", "_", "_", "L", "back"),
             Rule("back", "a", "a", "L", "back"), Rule("back", "b", "b", "L", "back"),
             Rule("back", "_", "_", "S", "done")]
    return TuringMachine(states=["go", "back", "done"], start="go", blank="_", rules=rules, halt=["done"],
                         input_alphabet=["a", "b"], name="flip")


@pytest.fixture(scope="module")
def cache():
    return run_with_cache(flip(), "abb")


def labelled(ax) -> bool:
    return bool(ax.get_title()) and bool(ax.get_xlabel()) and bool(ax.get_ylabel())


def has_legend(ax) -> bool:
    """A legend on the axes, or one figure legend inside the figure (constrained layout's "outside" places)."""
    return ax.get_legend() is not None or bool(ax.figure.legends)


def has_colorbar(fig) -> bool:
    return any(ax.get_label() == "<colorbar>" for ax in fig.axes)


def written(fig, path: Path) -> Path:
    views.save(fig, path)
    assert path.stat().st_size > 1000
    if path.suffix == ".png":
        assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    else:
        assert b"<svg" in path.read_bytes()[:2000]
    return path


def test_spacetime(cache, tmp_path):
    for source, kwargs in ((cache, {}), (cache, {"normalised": True}), (cache.trace, {})):
        fig = views.spacetime(source, **kwargs)
        ax = fig.axes[0]
        assert labelled(ax) and has_legend(ax)
        assert "Space-time" in ax.get_title()
    legend_texts = [t.get_text() for t in views.spacetime(cache, normalised=True).axes[0].get_legend().get_texts()]
    assert "'_'" in legend_texts and "'a'" in legend_texts
    written(views.spacetime(cache), tmp_path / "spacetime.png")
    written(views.spacetime(cache, annotate=False), tmp_path / "spacetime.svg")


def test_attention(cache, tmp_path):
    for which in ("decoder.1.cross", "decoder.2.attn", "decoder.3.attn"):
        fig = views.attention(cache, which)
        ax = fig.axes[0]
        assert labelled(ax) and has_colorbar(fig) and has_legend(ax)
    assert "Lemma 10" in views.attention(cache, "decoder.3.attn").axes[0].get_title()
    fig = views.attention_patterns(cache)
    panels = [ax for ax in fig.axes if ax.get_label() != "<colorbar>"]
    assert len(panels) == 3 and all(labelled(ax) for ax in panels) and fig.get_suptitle()
    written(fig, tmp_path / "attention.png")
    empty = views.attention(run_with_cache(flip(), ""), "decoder.1.cross")
    assert labelled(empty.axes[0])


def test_attention_image_is_the_pattern(cache):
    """Layer 3's image has exactly one finite cell per row, at the winner (weight 1)."""
    image = views.attention(cache, "decoder.3.attn").axes[0].get_images()[0].get_array()
    for i in range(len(cache)):
        row = image[i]
        cells = [j for j in range(row.shape[0]) if not row.mask[j]]
        assert cells == list(cache["decoder.3.attn.winners", i])
        assert row[cells[0]] == 1.0


def test_residual(cache, tmp_path):
    i = cache.position(3)
    fig = views.residual(cache, i)
    ax = fig.axes[0]
    assert labelled(ax) and has_colorbar(fig)
    assert [t.get_text() for t in ax.get_yticklabels()][:4] == ["input y_i + pos(i+1)", "after layer 1 (z¹)",
                                                                 "after layer 2 (z²)", "after layer 3 (z³)"]
    assert [t.get_text() for t in ax.get_xticklabels()] == list(cache.space.names)
    cell_texts = {t.get_text() for t in ax.texts}
    assert f"1/{(i + 1) ** 2}" in cell_texts          # x11 = 1/(i+1)^2, exactly
    assert "machine step 3" in ax.get_title()
    written(fig, tmp_path / "residual.svg")


def test_state_diagram(tmp_path):
    fig = views.state_diagram(flip())
    ax = fig.axes[0]
    assert ax.get_title() and has_legend(ax)
    normalised = views.state_diagram(flip(), normalised=True)
    labels = [t.get_text() for t in normalised.legends[0].get_texts()]
    assert "prelude (normalisation)" in labels and "stay move, 2nd half" in labels
    assert "␣ on an arrow: the blank '_'" in labels                  # the blank '_' is drawn ␣ on the arrows
    written(fig, tmp_path / "diagram.png")
    stepped = views.state_diagram(flip(), current="back", fired=("go", "_"), step=4)
    assert stepped.axes[0].get_title().endswith("step 4: state back; the rule that fired: go reading '_'")


def test_verification_table(tmp_path):
    verification = verify(flip(), "abb")
    table = views.verification_table(verification)
    assert table.ok and len(table.rows) == len(verification.positions)
    html = table._repr_html_()
    assert "machine (simulator)" in html and "transformer (decoded)" in html and html.count("<tr") == 2 + len(table.rows)
    text = str(table)
    assert "the transformer IS the machine" in text and "ℓ(i+1)" in text
    start = 2 * 3 + 3
    assert table.rows[start][1:3] == ("0", "go") and table.rows[start][5] == "go"
    assert table.rows[0][2] == "M' ⟨init⟩"
    short = views.verification_table(verification, limit=5)
    assert len(short.rows) == 5 and "more positions" in str(short)
    fig = views.verification_figure(table)
    assert fig.axes[0].get_title()
    written(fig, tmp_path / "verification.png")


def test_save_refuses_unknown_extensions(cache, tmp_path):
    with pytest.raises(TuringformerError, match="unknown extension"):
        views.save(views.spacetime(cache), tmp_path / "x.jpg")


# ------------------------------------------------------------------ the trace command
def trace(argv) -> int:
    args = build_parser().parse_args(["trace", *argv])
    return args.handler(args)


@pytest.mark.parametrize("view, suffix", [("spacetime", ".png"), ("attention", ".svg"), ("residual", ".png"),
                                          ("diagram", ".png"), ("verification", ".png")])
def test_trace_writes_each_view(tmp_path, capsys, view, suffix):
    out = tmp_path / f"{view}{suffix}"
    assert trace([str(BB2), "--view", view, "-o", str(out)]) == 0
    assert out.stat().st_size > 1000
    assert f"wrote {out}" in capsys.readouterr().out


def test_trace_prints_text_without_output(capsys):
    assert trace([str(BB2), "--view", "residual", "--step", "1"]) == 0
    out = capsys.readouterr().out
    assert "== after layer 2 (z²)" in out and "x4:c(i+1)/(i+1)" in out
    assert trace([str(BB2), "--view", "attention", "--input", "1"]) == 0
    assert "decoder.3.attn attends to [0]" in capsys.readouterr().out


def test_trace_rejects_a_step_outside_the_run():
    with pytest.raises(TuringformerError, match="not a machine step"):
        trace([str(BB2), "--view", "residual", "--step", "999", "-o", "x.png"])
    with pytest.raises(TuringformerError, match="not a decoder position"):
        trace([str(BB2), "--view", "residual", "--position", "999", "-o", "x.png"])
    with pytest.raises(TuringformerError, match="both choose"):
        trace([str(BB2), "--view", "residual", "--step", "1", "--position", "1"])
    with pytest.raises(TuringformerError, match="residual view"):
        trace([str(BB2), "--view", "spacetime", "--position", "1"])


def test_trace_step_is_a_machine_step_in_every_view(capsys):
    """--step T means machine step T (as simulate counts) for residual as for diagram; --position I
    is the raw decoder position: BB2 on the empty input has a prelude of 2·0 + 3 positions, so step
    2 is read at position 3 + 2 (no stay moves in BB2)."""
    assert trace([str(BB2), "--view", "residual", "--step", "2"]) == 0
    by_step = capsys.readouterr().out
    assert trace([str(BB2), "--view", "residual", "--position", "5"]) == 0
    assert capsys.readouterr().out == by_step
    assert trace([str(BB2), "--view", "residual", "--position", "4"]) == 0
    assert capsys.readouterr().out != by_step


def test_trace_through_the_cli(tmp_path, capsys):
    from turingformer import cli

    out = tmp_path / "bb2.png"
    assert cli.main(["trace", str(BB2), "--view", "attention", "-o", str(out)]) == 0
    assert out.stat().st_size > 1000
    assert cli.main(["trace", str(BB2), "--view", "residual", "--step", "999", "-o", str(out)]) == 2
    assert "not a machine step" in capsys.readouterr().err


def test_trace_text_spacetime_is_one_grid(capsys):
    """Every row of the text space-time view shows the same cells: the columns line up."""
    assert trace([str(ROOT / "machines" / "binary_increment.yaml"), "--input", "1"]) == 0
    rows = [row.rsplit("  head", 1)[0] for row in capsys.readouterr().out.splitlines()[1:]]
    assert [row[-7:] for row in rows] == [" _[1]_ ", " _ 1[_]", " _[1]_ ", "[_]0 _ ", "[1]0 _ "]
    assert len({len(row) for row in rows}) == 1                       # cells -1, 0, 1 in every row


def test_slide_legends_sit_inside_the_figure(cache, tmp_path):
    fig = views.attention_patterns(cache, slide=True)
    assert len(fig.legends) == 1 and not any(ax.get_legend() for ax in fig.axes)
    fig.canvas.draw()
    box = fig.legends[0].get_window_extent()
    assert box.x0 >= 0 and box.y0 >= 0 and box.x1 <= fig.bbox.width and box.y1 <= fig.bbox.height


def test_trace_refuses_a_loop_past_the_halt_or_the_limit_at_once():
    import time

    program = str(ROOT / "machines" / "programs" / "countdown.subleq")
    began = time.monotonic()
    with pytest.raises(TuringformerError, match="past the loop limit of 500"):
        trace([program, "--view", "card", "--step", "99999999999"])
    with pytest.raises(TuringformerError, match="the program halts after 9 loops"):
        trace([program, "--view", "card", "--step", "10", "--max-steps", "99999999999"])
    assert time.monotonic() - began < 10


def test_card_figures_are_titled_bounded_and_readable():
    """A title naming the program and the loop, the width bound, and a value written in its cell
    only when it fits there (mul16's 3-digit words do not fit a card squeezed into 4.5 inches)."""
    from turingformer.compiler.looped.verify import trace_loop
    from turingformer.compiler.looped.construction import compile_program
    from turingformer.programs.formats import load_program
    from turingformer.views.looped import CARD_FONT, punch_card

    program = load_program(ROOT / "machines" / "programs" / "mul16.subleq")
    fig = punch_card(trace_loop(compile_program(program), 3), max_width=4.5)
    assert fig._suptitle.get_text().startswith(f"{program.name} (subleq-h3): the punch card of loop 3")
    assert fig.get_figwidth() <= 4.5
    panels = [ax for ax in fig.axes if ax.images]
    written = {text.get_text() for ax in panels for text in ax.texts}
    for ax in panels:
        per_column = ax.get_window_extent().width / ax.images[0].get_array().shape[1] * 72 / fig.dpi   # points
        for text in ax.texts:
            assert len(text.get_text()) * CARD_FONT * 0.62 <= per_column * 1.05
    values = {str(int(v)) for ax in panels for v in ax.images[0].get_array().ravel() if v}
    assert written and any(len(v) >= 3 for v in values - written)          # the wide ones are left out


def test_card_colours_saturate_on_large_values():
    """A few large entries (add.subleq's 35 and 42 among 0s and 1s) do not wash the other colours
    out: the scale stops at the 98th percentile of the magnitudes and the colour bar says so."""
    from turingformer.compiler.looped.verify import trace_loop
    from turingformer.compiler.looped.construction import compile_program
    from turingformer.programs.formats import load_program
    from turingformer.views.looped import punch_card

    traced = trace_loop(compile_program(load_program(ROOT / "machines" / "programs" / "add.subleq")), 2)
    fig = punch_card(traced)
    largest = max(abs(int(v)) for card in (traced.card_in, *traced.cards) for col in card for v in col)
    assert fig.axes[0].images[0].norm.vmax < largest == 42
    assert "beyond ±7 saturated" in fig.axes[-1].get_ylabel()
