"""The activation cache (turingformer.analysis.inspect): hooks, named tables, LaTeX, weight matrices.

Expected values come from outside the code under test: the reference simulator run on the
normalised machine (head positions c, writes, ℓ), the closed forms of spec §9, and
:func:`turingformer.compiler.perez.verify.verify`'s per-position quantities.
"""

from __future__ import annotations

from fractions import Fraction as F

import numpy as np
import pytest
import sympy

from turingformer.compiler.perez.construction import compile_machine
from turingformer.compiler.perez.decoding import run_model
from turingformer.analysis.inspect import (
    ActivationCache, DimensionError, ExactArray, Latex, LoopedActivationCache, Text, dimension_latex, hook_order,
    linear, run_with_cache, weights_latex, weights_matrix, weights_table,
)
from turingformer.compiler.looped.construction import compile_program
from turingformer.errors import TuringformerError
from turingformer.programs import run as interpret
from turingformer.programs.formats import load_program
from turingformer.runtime.hooks import HookError, LayerNameError, PositionError
from paths import MACHINES
from turingformer.tm.machine import Rule, TuringMachine
from turingformer.compiler.perez.normalize import normalize
from turingformer.tm.simulator import run
from turingformer.compiler.perez.verify import verify


def flip() -> TuringMachine:
    """Flips a/b walking right, walks back, halts after the front: rereads cells it wrote."""
    rules = [Rule("go", "a", "b", "R", "go"), Rule("go", "b", "a", "R", "go"), Rule("go", "_", "_", "L", "back"),
             Rule("back", "a", "a", "L", "back"), Rule("back", "b", "b", "L", "back"),
             Rule("back", "_", "_", "R", "done")]
    return TuringMachine(states=["go", "back", "done"], start="go", blank="_", rules=rules, halt=["done"],
                         input_alphabet=["a", "b"], name="flip")


def increment() -> TuringMachine:
    """Binary increment with stay moves (so the normalisation adds a stay state)."""
    rules = [Rule("right", "0", "0", "R", "right"), Rule("right", "1", "1", "R", "right"),
             Rule("right", "_", "_", "L", "carry"), Rule("carry", "1", "0", "L", "carry"),
             Rule("carry", "0", "1", "S", "done"), Rule("carry", "_", "1", "S", "done")]
    return TuringMachine(states=["right", "carry", "done"], start="right", blank="_", rules=rules, halt=["done"],
                         input_alphabet=["0", "1"], name="binary increment")


@pytest.fixture(scope="module")
def flip_cache() -> ActivationCache:
    return run_with_cache(flip(), "ab")


@pytest.fixture(scope="module")
def reference():
    """M' simulated directly: heads c(t), states and writes for t = 0, 1, …"""
    nm = normalize(flip())
    return run(nm.machine, nm.tape_input("ab"))


def test_names_cover_every_layer_in_order(flip_cache):
    names = flip_cache.names()
    for hook in ("encoder.0.out", "decoder.1.cross.pattern", "decoder.1.ffn.hidden", "decoder.1.resid_post",
                 "decoder.2.attn.pattern", "decoder.3.attn.scores", "decoder.3.resid_post", "output.hidden.0",
                 "output.hidden.1", "output.y"):
        assert hook in names and hook in flip_cache
    assert names == sorted(names, key=hook_order)
    assert names.index("encoder.0.out") < names.index("decoder.1.resid_pre") < names.index("decoder.2.resid_pre")
    assert names.index("decoder.3.resid_post") < names.index("output.y")
    assert "decoder.1.attn.scores" not in flip_cache      # trivial attention: never scored


def test_indexing_both_ways(flip_cache):
    assert len(flip_cache) == 14
    stacked = flip_cache["decoder.3.resid_post"]
    assert isinstance(stacked, ExactArray) and stacked.shape == (14, len(flip_cache.space)) and stacked.dtype == object
    for i in (0, 7, 13):
        assert flip_cache["decoder.3.resid_post", i] == tuple(stacked[i]) == flip_cache.steps[i].activations[
            "decoder.3.resid_post"]
    assert all(type(v) is F for v in stacked.ravel())
    floats = stacked.float()
    assert floats.dtype == np.float64 and floats[7].tolist() == [float(v) for v in stacked[7]]
    assert flip_cache["encoder.0.out"].shape == (2, len(flip_cache.space))   # one vector per input position
    with pytest.raises(HookError, match="never computed"):
        flip_cache["decoder.1.attn.scores", 3]


def test_stacked_attention_is_one_array_per_layer(flip_cache, reference):
    n = len(flip_cache)
    pattern = flip_cache.pattern("decoder.2")
    assert pattern.shape == (n, n)
    assert all(pattern[i, j] == (F(1, i + 1) if j <= i else 0) for i in range(n) for j in range(n))
    winners = flip_cache["decoder.3.attn.winners"]
    assert winners.dtype == bool and winners.shape == (n, n)
    assert [tuple(np.flatnonzero(row)) for row in winners] == [flip_cache["decoder.3.attn.winners", i] for i in range(n)]
    assert (flip_cache.pattern("decoder.3") == np.where(winners, F(1), F(0))).all()
    scores = flip_cache["decoder.3.attn.scores"]
    assert scores[3, 3] == flip_cache["decoder.3.attn.scores", 3][3] and scores[3, 4] is None   # masked
    assert scores.float()[3, 4] == -np.inf and scores.float()[3, 0] == float(scores[3, 0])
    cross = flip_cache.pattern("decoder.1.cross")
    assert cross.shape == (n, 2) and cross.float().sum(axis=1).tolist() == [1.0] * n


def test_mistakes_get_one_clear_error(flip_cache):
    with pytest.raises(HookError, match="no hook named 'decoder.3.resid_psot'") as caught:
        flip_cache["decoder.3.resid_psot"]
    assert isinstance(caught.value, TuringformerError) and not isinstance(caught.value, KeyError)
    assert "did you mean 'decoder.3.resid_post'" in caught.value.hint
    with pytest.raises(PositionError, match="decoder position 14 is out of range: this run has 14 decoder "
                                            r"positions \(0..13\)"):
        flip_cache["decoder.3.resid_post", 14]
    assert flip_cache["decoder.3.resid_post", -1] == flip_cache["decoder.3.resid_post", 13]
    with pytest.raises(PositionError, match="input position 2"):
        flip_cache["encoder.0.out", 2]
    with pytest.raises(PositionError, match="machine step 99"):
        flip_cache.position(99)
    with pytest.raises(DimensionError, match="no dimension or block 'x44'") as caught:
        flip_cache.slot("decoder.2.resid_post", 3, "x44")
    assert "did you mean 'x4'" in caught.value.hint
    with pytest.raises(HookError, match="no hook named 'decoder.9.attn.winners'"):
        run_with_cache(flip(), "ab", names=["decoder.9.attn.winners"])
    with pytest.raises(LayerNameError, match="no component 'decoder.4'"):
        flip_cache.model.transformer.layer("decoder.4")


def test_layer_names_follow_the_hook_names(flip_cache):
    t = flip_cache.model.transformer
    assert t.layer("decoder.3") is t.decoder[2] and t.layer("decoder.1.cross") is t.decoder[0].cross
    assert t.layer("encoder.0") is t.encoder[0] and t.layer("output") is t.output
    assert t.layer("decoder.3.attn") is t.decoder[2].attn


def test_layer2_is_the_head_position_from_the_simulator(flip_cache, reference):
    heads = reference.heads
    for i in range(len(flip_cache)):
        assert flip_cache["decoder.2.attn.pattern", i] == tuple([F(1, i + 1)] * (i + 1))
        c_next = heads[i + 1] if i + 1 < len(heads) else heads[i]
        assert flip_cache.slot("decoder.2.resid_post", i, "x4") == F(c_next, i + 1)
        assert flip_cache.slot("decoder.2.resid_post", i, "x4:c(i+1)/(i+1)") == F(c_next, i + 1)
        assert flip_cache.slot("decoder.2.resid_post", i, "x5") == F(heads[i], i + 1)


def test_layer3_scores_are_the_closed_form_and_pick_the_last_visit(flip_cache, reference):
    verification = verify(flip(), "ab", model=flip_cache.model)
    assert verification.ok
    heads = reference.heads
    for i in range(len(flip_cache) - 1):
        chi = flip_cache.dot_products("decoder.3.attn", i)
        eps = [F(1, k + 1) for k in range(i + 1)]
        expected = [eps[i] * eps[j] * (heads[i + 1] - heads[j]) + eps[i] ** 2 * eps[j] ** 2 / 3 for j in range(i + 1)]
        assert list(chi) == expected
        assert flip_cache["decoder.3.attn.scores", i] == tuple(-abs(c) for c in chi)
        last = verification.positions[i].last_visit
        assert flip_cache["decoder.3.attn.winners", i] == (last,)
        assert flip_cache.slot("decoder.3.resid_post", i, "x7") == last
        assert flip_cache.read("decoder.3.resid_post", i, "s4") == reference.writes[last]
        hidden = flip_cache.vector("output.hidden.0", i, nonzero=False)
        assert (hidden["b1"], hidden["b2"]) == (int(verification.positions[i].past_input),
                                                int(verification.positions[i].first_visit))


def test_cross_attention_dot_products(flip_cache):
    for i in range(len(flip_cache)):
        assert flip_cache.dot_products("decoder.1.cross", i) == tuple(F(j - (i + 1)) for j in (1, 2))
        assert flip_cache["decoder.1.cross.winners", i] == (min(i + 1, 2) - 1,)
        assert flip_cache.slot("decoder.1.resid_cross", i, "x6") == min(i + 1, 2)


def test_worked_step_of_notebook_02(flip_cache):
    """Position 10: `back` reads `a`, moves onto the cell the machine overwrote with `b` at step 0."""
    i = 10
    assert flip_cache.machine_step(i) == 3 and flip_cache.position(3) == i
    assert flip_cache.decoded(i).state == "back" and flip_cache.decoded(i).read == "a"
    chi = flip_cache.dot_products("decoder.3.attn", i)
    assert (chi[1], chi[5], chi[7]) == (F(1, 1452), F(1, 13068), F(1, 23232))
    assert flip_cache.read("output.y", i, "s1") == "b"
    assert flip_cache.slot("decoder.3.resid_post", i, "s4") == {"symbol=_": 0, "symbol=a": 0, "symbol=b": 1,
                                                                 f"symbol={flip_cache.model.labels.marked_blank}": 0}


def test_tables_name_dimensions_and_values(flip_cache):
    table = flip_cache.table("decoder.2.resid_post", 10)
    assert isinstance(table, Text)
    assert "x4:c(i+1)/(i+1) | 1/11" in table and "x5:c(i)/(i+1)   | 2/11" in table
    assert "q2:state=back" in table and "q1:" not in table          # zeros are left out
    assert "q1:state=go" in flip_cache.table("decoder.2.resid_post", 10, nonzero=False)
    hidden = [" ".join(line.split()) for line in flip_cache.table("decoder.1.ffn.hidden", 10).splitlines()]
    assert "pair:(back,a) | 1" in hidden and "copy:s1:symbol=a | 1" in hidden
    assert "j=7" in flip_cache.table("decoder.3.attn.pattern", 10)
    assert "positions [7]" in flip_cache.table("decoder.3.attn.winners", 10)
    assert "j=2" in flip_cache.table("decoder.1.cross.pattern", 10)     # encoder positions from 1


def test_latex_has_the_exact_fractions(flip_cache):
    tex = flip_cache.latex("decoder.2.resid_post", 10)
    assert isinstance(tex, Latex) and tex._repr_latex_().startswith("$")
    assert r"x_{4} & \frac{1}{11}" in tex and r"x_{5} & \frac{2}{11}" in tex and r"\frac{1}{121}" in tex
    assert r"q_{2}[\text{back}]" in tex
    assert flip_cache.sympy("decoder.2.resid_post", 10)[flip_cache.space.index("x4:c(i+1)/(i+1)")] == \
        sympy.Rational(1, 11)
    assert dimension_latex("x11:1/(i+1)^2") == "x_{11}"
    assert dimension_latex("pair:(q_0,#)") == r"\text{pair:(q\_0,\#)}"


def test_traces(flip_cache, reference):
    direct = run(flip(), "ab")
    assert flip_cache.trace.states == direct.states and flip_cache.trace.heads == direct.heads
    normalised = flip_cache.normalised_trace()
    assert normalised.states == reference.states and normalised.heads == reference.heads
    assert normalised.writes == reference.writes
    text = flip_cache.trace_table()
    assert text.splitlines()[2].split("|")[-1].strip() == "[a]b"
    assert len(text.splitlines()) == 2 + len(direct)
    assert "⟨read⟩" in flip_cache.trace_table(normalised=True)
    assert r"\text{[a]b}" in flip_cache.trace_latex()
    steps = flip_cache.steps_table()
    assert "⟨init⟩" in steps and len(steps.splitlines()) == 2 + len(flip_cache)


def test_stay_states_and_empty_input():
    cache = run_with_cache(increment(), "1011")
    trace = run_model(compile_machine(increment()), "1011").trace
    assert cache.trace.states == trace.states
    stay = [i for i in range(len(cache)) if cache.decoded(i).state.startswith("⟨stay")]
    assert stay and all(cache.machine_step(i) is None for i in stay)
    empty = run_with_cache(increment(), "")
    assert empty.prelude == 3 and empty.stack("encoder.0.out") == () and empty["encoder.0.out"].shape == (0,)
    assert empty["decoder.1.cross.pattern", 0] == () and empty.dot_products("decoder.1.cross", 0) == ()


def test_only_some_hooks():
    cache = run_with_cache(flip(), "ab", names=["decoder.3.attn.winners"])
    assert set(cache.names()) == {"decoder.3.attn.winners", "decoder.1.resid_post"}
    with pytest.raises(HookError, match="'decoder.2.resid_post' was not captured"):
        cache["decoder.2.resid_post", 0]


def test_weight_matrices():
    model = compile_machine(flip())
    query = weights_matrix(model, "decoder.3.attn.query")
    assert query.rows == ("x4:c(i+1)/(i+1)", "x10:1/(i+1)", "x11:1/(i+1)^2")
    assert query.cols == ("x9:i+1", "x10:1/(i+1)", "x11:1/(i+1)^2")
    assert query.matrix == sympy.Matrix([[1, 0, 0], [0, 1, 0], [0, 0, sympy.Rational(1, 3)]])
    assert r"\frac{1}{3}" in weights_latex(model, "decoder.3.attn.query")
    assert r"x_{4}" in weights_latex(model, "decoder.3.attn.query")
    delta = weights_matrix(model, "decoder.1.ffn.1", rows="pair:(back", cols=["q2", "s2", "x2"])
    assert delta.rows == ("pair:(back,_)", "pair:(back,a)", "pair:(back,b)")
    row = dict(zip(delta.cols, delta.matrix.row(1)))
    assert row == {"q2:state=back": 1, "q2:state=done": 0, "s2:symbol=_": 0, "s2:symbol=a": 1, "s2:symbol=b": 0,
                   "x2:m(i)": -1}
    first = weights_matrix(model, "decoder.1.ffn.0", cols="pair:(go,a)")
    assert first.has_bias and list(first.bias) == [-1]
    assert "(bias)" in weights_table(model, "decoder.1.ffn.0", cols="pair:(go,a)")
    assert weights_matrix(linear(model, "decoder.2.attn.value")).rows == ("x2:m(i)", "x3:m(i-1)")
    with pytest.raises(LayerNameError, match="no map named") as caught:
        linear(model, "decoder.4.attn.query")
    assert "did you mean 'decoder.3.attn.query'" in caught.value.hint


def test_the_looped_cache_holds_every_block_of_every_loop():
    """add.subleq on the looped computer: one step per loop, each block's hooks as arrays over the
    card's columns; the cards chain (a loop's input is the previous loop's output) and end at the
    interpreter's final state."""
    program = load_program(MACHINES / "programs" / "add.subleq")
    model = compile_program(program)
    cache = run_with_cache(model)
    reference = interpret(program)
    assert isinstance(cache, LoopedActivationCache) and len(cache) == reference.steps == 4
    n, d = model.n, len(model.space)
    assert cache["loop.0.resid_pre"].shape == (4, n, d) and cache["loop.2.out"].shape == (4, n, d)
    for k in range(1, 4):
        assert cache.card(k) == cache["loop.0.resid_pre", k] == cache.loops[k - 1].X_out
    pattern, winners = cache.pattern("loop.1"), cache["loop.1.attn.winners"]
    assert pattern.shape == winners.shape == (4, n, n)
    assert (pattern.float().sum(axis=2) == 1).all() and (winners.sum(axis=2) == 1).all()   # one winner per column
    assert (pattern == np.where(winners, F(1), F(0))).all()
    with pytest.raises(HookError, match="did you mean 'loop.2.out'"):
        cache["loop.3.out"]
    with pytest.raises(PositionError, match="loop step 4 is out of range: this run has 4 loop steps"):
        cache["loop.0.out", 4]
