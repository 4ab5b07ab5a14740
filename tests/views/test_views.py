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
    return ax.get_legend() is not None


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
    normalised = views.state_diagram(flip(), normalised=True).axes[0]
    labels = [t.get_text() for t in normalised.get_legend().get_texts()]
    assert "prelude (normalisation)" in labels and "stay move, 2nd half" in labels
    written(fig, tmp_path / "diagram.png")


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
    assert trace([str(BB2), "--view", "residual", "--step", "4"]) == 0
    out = capsys.readouterr().out
    assert "== after layer 2 (z²)" in out and "x4:c(i+1)/(i+1)" in out
    assert trace([str(BB2), "--view", "attention", "--input", "1"]) == 0
    assert "decoder.3.attn attends to [0]" in capsys.readouterr().out


def test_trace_rejects_a_step_outside_the_run():
    with pytest.raises(TuringformerError, match="not a decoder position"):
        trace([str(BB2), "--view", "residual", "--step", "999", "-o", "x.png"])


def test_trace_through_the_cli(tmp_path, capsys):
    from turingformer import cli

    out = tmp_path / "bb2.png"
    assert cli.main(["trace", str(BB2), "--view", "attention", "-o", str(out)]) == 0
    assert out.stat().st_size > 1000
    assert cli.main(["trace", str(BB2), "--view", "residual", "--step", "999", "-o", str(out)]) == 2
    assert "not a decoder position" in capsys.readouterr().err
