"""Issue 6: the float runtimes (inexact), where they break, bit growth, soft attention, scores.

Every expectation about *where* a float run breaks is derived from the exact run (its layer-3
margins), not hard-coded.
"""

from __future__ import annotations

import json
import math
from fractions import Fraction
from functools import partial

import numpy as np
import pytest

from turingformer.compiler.perez.construction import compile_machine
from turingformer.compiler.perez.decoding import DecodingError, run_model
from turingformer.runtime.floating import decode_float
from turingformer.tm.machine import Rule, TuringMachine
from turingformer.analysis.precision import (
    LAYER3, beta_threshold, bit_growth, compare, fit_log, layer3_margins, predicted_window,
    soft_reproduces, verify_scores,
)
from turingformer.tm.simulator import run
from turingformer.runtime.transformer import decode


def walker() -> TuringMachine:
    """Zig-zag drifting right (R, R, L, ...) and flipping every cell it visits: each cell is
    rewritten on every visit, so reading an older write changes the trace at once."""
    flip = {"_": "1", "0": "1", "1": "0"}
    rules = [Rule(q, x, flip[x], move, nxt)
             for q, move, nxt in (("A", "R", "B"), ("B", "R", "C"), ("C", "L", "A")) for x in "_01"]
    return TuringMachine(states=["A", "B", "C"], start="A", blank="_", rules=rules, halt=[],
                         input_alphabet=["0", "1"], name="zig-zag walker")


def incrementer() -> TuringMachine:
    """Binary increment with stay moves and a carry that can grow the number leftwards."""
    return TuringMachine(
        states=["right", "carry", "done"], start="right", blank="_", halt=["done"], input_alphabet=["0", "1"],
        rules=[Rule("right", "0", "0", "R", "right"), Rule("right", "1", "1", "R", "right"),
               Rule("right", "_", "_", "L", "carry"), Rule("carry", "1", "0", "L", "carry"),
               Rule("carry", "0", "1", "S", "done"), Rule("carry", "_", "1", "S", "done")],
        name="increment")


@pytest.fixture(scope="module")
def walker_model():
    return compile_machine(walker())


def _same(a, b) -> bool:
    return (a.states, a.heads, a.writes, a.reason, a.verdict) == (b.states, b.heads, b.writes, b.reason, b.verdict)


# ------------------------------------------------------------------------------ the float runtime
def test_float64_agrees_with_exact_on_a_short_run(walker_model):
    for averaging in ("sum", "weighted"):
        result = compare(walker_model, "0110", dtype="float64", averaging=averaging, max_steps=150)
        assert result.steps_compared == 150
        assert result.first_layer3 is None and result.first_divergence is None and result.first_broken is None
        for stats in result.hooks.values():
            assert stats.first_broken is None and stats.max_ratio < 1e-9
        trace = run_model(walker_model, "0110", max_steps=140,
                          decoder=partial(decode_float, dtype="float64", averaging=averaging), tolerance=1e-9).trace
        assert _same(trace, run(walker(), "0110", max_steps=140))


def test_float_runtime_has_the_decode_contract(walker_model):
    tokens = walker_model.labels.encoder_input("01")
    hooks = ("decoder.3.attn.winners", "decoder.2.attn.pattern", "output.y", "decoder.1.cross.winners")
    exact = list(decode(walker_model.transformer, tokens, max_steps=12, capture=hooks))
    floats = list(decode_float(walker_model.transformer, tokens, max_steps=12, capture=hooks, dtype="float32"))
    assert [s.i for s in floats] == [s.i for s in exact]
    for e, f in zip(exact, floats):
        assert set(f.activations) == set(hooks)
        assert f.y_out.dtype == np.float32 and f.activations["output.y"].dtype == np.float32
        assert np.array_equal(f.y_out, np.array([float(v) for v in e.y_out], dtype=np.float32))
        assert list(f.activations["decoder.3.attn.winners"]) == list(e.activations["decoder.3.attn.winners"])
        assert np.allclose(f.activations["decoder.2.attn.pattern"], [float(v) for v in e.activations["decoder.2.attn.pattern"]])
    # stop is honoured, bad options are refused
    assert len(list(decode_float(walker_model.transformer, tokens, max_steps=50, stop=lambda y: True))) == 1
    with pytest.raises(ValueError):
        next(decode_float(walker_model.transformer, tokens, max_steps=1, attention="soft"))
    with pytest.raises(ValueError):
        next(decode_float(walker_model.transformer, tokens, max_steps=1, dtype="float8"))
    with pytest.raises(ValueError):
        next(decode_float(walker_model.transformer, tokens, max_steps=1, averaging="mean"))


def test_the_exact_path_stays_exact(walker_model):
    """Float runs leave the exact weights and the exact runtime untouched: only exact numbers there."""
    list(decode_float(walker_model.transformer, ["0"], max_steps=20, dtype="float16"))
    for _, linear in walker_model.transformer.linears():
        assert all(type(w) is Fraction for _, _, w in linear.weights)
    for step in decode(walker_model.transformer, ["0"], max_steps=8, capture=None):
        for name, value in step.activations.items():
            if name.endswith(".winners"):
                continue
            stack = [value]
            while stack:
                v = stack.pop()
                if isinstance(v, (tuple, list)):
                    stack.extend(v)
                else:
                    assert type(v) in (Fraction, int), (name, type(v))   # exact numbers only


def test_tie_tolerance_and_averaging_styles_differ_where_expected(walker_model):
    """Layer 2 ties exactly in float too (its query is 0); a huge tolerance merges layer-3 keys."""
    tokens = walker_model.labels.encoder_input("")
    steps = list(decode_float(walker_model.transformer, tokens, max_steps=30, dtype="float32",
                              capture=("decoder.2.attn.winners", LAYER3)))
    assert all(len(s.activations["decoder.2.attn.winners"]) == s.i + 1 for s in steps)
    assert all(len(s.activations[LAYER3]) == 1 for s in steps)
    merged = list(decode_float(walker_model.transformer, tokens, max_steps=30, dtype="float32",
                               tolerance=1.0, capture=(LAYER3,)))
    assert any(len(s.activations[LAYER3]) > 1 for s in merged)


# ------------------------------------------------------------------------------ where float breaks
@pytest.mark.parametrize("averaging", ["sum", "weighted"])
def test_float16_breaks_in_layer3_inside_the_predicted_window(walker_model, averaging):
    margins = layer3_margins(walker_model, "", max_steps=200)
    earliest, latest = predicted_window(margins, "float16")
    assert earliest is not None and latest is not None and earliest < latest
    result = compare(walker_model, "", dtype="float16", averaging=averaging, max_steps=200)
    # layer 3 goes first, to an older write of the same cell, and the trace follows
    assert result.broke_first == LAYER3 and result.layer_broke_first == "decoder.3"
    assert result.first_layer3 == result.first_broken
    assert result.diagnosis["same_cell"] and result.diagnosis["chosen"] < result.diagnosis["exact_winner"]
    assert earliest <= result.first_layer3 <= latest
    assert result.first_divergence is not None and result.first_divergence >= result.first_layer3
    # layers 1 and 2 (winners and the slots they write) had not broken yet
    for hook in ("decoder.1.cross.winners", "decoder.1.resid_post", "decoder.2.attn.winners", "decoder.2.resid_post"):
        broken = result.hooks[hook].first_broken
        assert broken is None or broken > result.first_layer3


def test_both_exact_references_give_the_same_comparison(walker_model):
    fast = compare(walker_model, "01", dtype="float16", averaging="sum", max_steps=80, reference="auto")
    plain = compare(walker_model, "01", dtype="float16", averaging="sum", max_steps=80, reference="exact")
    assert "decode_fast" in fast.reference and "transformer.decode" in plain.reference
    assert (fast.first_layer3, fast.first_divergence, fast.broke_first, fast.diagnosis) == \
        (plain.first_layer3, plain.first_divergence, plain.broke_first, plain.diagnosis)
    json.dumps(fast.as_dict())


def test_float32_outlasts_float16_and_a_float16_trace_diverges(walker_model):
    f16 = compare(walker_model, "", dtype="float16", averaging="sum", max_steps=400)
    f32 = compare(walker_model, "", dtype="float32", averaging="sum", max_steps=400)
    assert f16.first_layer3 < f32.first_layer3
    assert f32.broke_first == LAYER3
    margins = layer3_margins(walker_model, "", max_steps=400)
    assert f32.first_layer3 >= predicted_window(margins, "float32")[0]
    # the stale read shows in the trace: the Reader refuses an output, or reads another trace
    try:
        trace = run_model(walker_model, "", max_steps=150, tolerance=0.25,
                          decoder=partial(decode_float, dtype="float16")).trace
        diverged = not _same(trace, run(walker(), "", max_steps=150))
    except DecodingError:
        diverged = True
    assert diverged


# ------------------------------------------------------------------------------ bits
def test_bits_grow_logarithmically_on_a_zigzag_machine(walker_model):
    growth = bit_growth(walker_model, "", max_steps=160)
    t = np.array(growth.t)
    assert growth.fit_denominator.logarithmic and growth.fit_numerator.logarithmic
    assert growth.fit_denominator.linear_rms > growth.fit_denominator.rms
    # the layer-3 scores have denominators 3(i+1)^2(j+1)^2: about 4 bits per doubling of t
    assert 3.0 <= growth.fit_denominator.a <= 5.0
    assert 0.5 <= growth.fit_numerator.a <= 5.0
    assert np.all(np.array(growth.denominator) <= 4 * np.log2(t + 1) + 3)
    per_layer = growth.per_layer_fits
    assert per_layer["decoder.3"]["denominator"].a > per_layer["decoder.1"]["denominator"].a
    assert per_layer["output"]["denominator"].verdict == "constant"


def test_fit_log_recovers_a_known_law():
    t = np.arange(1, 400)
    fit = fit_log(t, 3 * np.log2(t) + 2)
    assert math.isclose(fit.a, 3, rel_tol=1e-9) and math.isclose(fit.b, 2, abs_tol=1e-9) and fit.logarithmic
    assert not fit_log(t, 0.5 * t).logarithmic


# ------------------------------------------------------------------------------ soft attention
def test_soft_attention_needs_a_sharp_softmax(walker_model):
    assert soft_reproduces(walker_model, "", 20, beta=1e30)
    assert not soft_reproduces(walker_model, "", 20, beta=1e-3)
    found = beta_threshold(walker_model, "", 12, rel=0.25)
    assert found.beta is not None and found.beta_fails is not None and found.beta_fails < found.beta
    assert soft_reproduces(walker_model, "", 12, beta=found.beta)
    assert not soft_reproduces(walker_model, "", 12, beta=found.beta_fails)


# ------------------------------------------------------------------------------ score variants
@pytest.mark.parametrize("machine, word", [(walker(), "0110"), (incrementer(), "1011"), (incrementer(), "111")])
def test_both_scores_verify_exactly(machine, word):
    checks = verify_scores(machine, word, max_steps=60, decoder=decode)
    assert [c.score for c in checks] == ["abs", "clipped"]
    n = len(word)
    for c in checks:
        assert c.trace_equal and c.layer1_unique_inside and c.layer3_ties == 0
    abs_check, clipped = checks
    assert abs_check.layer1_ties_outside == 0
    # clipped: every position past the input ties over all n encoder keys (harmless, spec §1)
    assert clipped.layer1_ties_outside == (abs_check.decoder_steps - n if n > 1 else 0)


def test_float_runs_of_the_clipped_score_break_the_same_way():
    model = compile_machine(walker(), score="clipped")
    result = compare(model, "01", dtype="float16", averaging="sum", max_steps=200)
    assert result.broke_first == LAYER3
    assert compare(model, "01", dtype="float64", max_steps=100).first_broken is None


# ------------------------------------------------------------------------------ CLI
def test_cli_precision(tmp_path, capsys):
    from turingformer.cli import main
    from turingformer.tm.formats import dump_machine

    path = tmp_path / "walker.yaml"
    path.write_text(dump_machine(walker()))
    assert main(["precision", str(path), "--input", "", "--dtype", "float16,float64", "--max-steps", "120",
                 "--averaging", "sum", "--json"]) == 0
    rows = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert [(r["dtype"], r["averaging"]) for r in rows] == [("float16", "sum"), ("float64", "sum")]
    assert rows[0]["broke_first"] == LAYER3 and rows[0]["layer_broke_first"] == "decoder.3"
    assert rows[1]["first_divergence"] is None and "inexact" in rows[1]["note"]
    assert main(["precision", str(path), "--dtype", "float16", "--max-steps", "100"]) == 0
    text = capsys.readouterr().out
    assert "INEXACT" in text and "float16 (inexact)" in text and "decoder.3.attn.winners" in text
