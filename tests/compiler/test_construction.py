"""The construction, decoding and verification (issue 3).

Expected values come from outside the code under test: the spec's worked example B (numbers
computed by hand in perez-construction.md §8), the reference simulator, and the closed forms of
spec §9 recomputed in :mod:`turingformer.analysis.verify` from an independent simulation.
"""

from __future__ import annotations

from fractions import Fraction as F

import pytest
from hypothesis import HealthCheck, given, settings

from strategies import BB4, machines_with_inputs
from turingformer.compiler.perez.construction import build_transformer, compile_machine
from turingformer.compiler.perez.decoding import run_model
from turingformer.errors import InputError
from turingformer.compiler.perez.layout import SCALARS, Labels, state_dim, symbol_dim
from turingformer.tm.machine import Rule, TuringMachine
from turingformer.compiler.perez.normalize import NormalizedMachine, normalize
from turingformer.tm.simulator import run
from turingformer.runtime.transformer import decode, decode_naive
from turingformer.compiler.perez.verify import verify
from turingformer.tm.simulator import run as simulate




# ------------------------------------------------------------------ spec §8, worked example B
def worked_example_b():
    """Q = (q_init, q_read, q_back, q_acc), Σ = (#, a, b), w = "a", d = 31, compiled as given."""
    rules = [Rule("q_init", "#", "#", "R", "q_read"), Rule("q_read", "a", "a", "R", "q_read"),
             Rule("q_read", "#", "b", "L", "q_back"), Rule("q_back", "a", "a", "R", "q_acc"),
             Rule("q_back", "b", "b", "R", "q_acc")]
    states = ("q_init", "q_read", "q_back", "q_acc")
    machine = TuringMachine(states=states, start="q_init", blank="#", rules=rules, accept=["q_acc"],
                            input_alphabet=["a", "b"], allow_unreachable=True)
    labels = Labels(states=states, symbols=("#", "a", "b"), blank="#", marked_blank="◌", start="q_back",
                    prelude=("q_init", "q_read", "q_back"), stay={}, accept=frozenset({"q_acc"}),
                    reject=frozenset(), halt=frozenset(), input_alphabet=("a", "b"))
    return build_transformer(NormalizedMachine(machine, labels, 0), cross_attention="per-layer", score="abs")


def test_worked_example_b_matches_the_spec_numbers():
    model = worked_example_b()
    t = model.transformer
    assert t.d == 31 == 2 * 4 + 4 * 3 + 11
    steps = list(decode(t, ["a"], max_steps=4, capture=None))
    space = t.space
    # The table of spec §8 worked example B, row by row.
    x4 = [F(1), F(1), F(1, 3), F(1, 2)]
    x5 = [F(0), F(1, 2), F(2, 3), F(1, 4)]
    chi = [[F(4, 3)], [F(13, 12), F(13, 48)], [F(10, 27), F(1, 108), F(-26, 243)],
           [F(25, 48), F(25, 192), F(1, 432), F(49, 768)]]
    last = [0, 1, 1, 2]
    b1 = [0, 1, 1, 1]
    b2 = [1, 1, 0, 0]
    outputs = [("q_read", "a", 1), ("q_read", "#", 1), ("q_back", "a", -1), ("q_acc", "b", 1)]
    for i, step in enumerate(steps):
        acts = step.activations
        z2, z3 = acts["decoder.2.resid_post"], acts["decoder.3.resid_post"]
        assert space.get(z2, SCALARS[4]) == x4[i] and space.get(z2, SCALARS[5]) == x5[i]
        assert acts["decoder.3.attn.scores"] == tuple(-abs(c) for c in chi[i])
        assert acts["decoder.3.attn.winners"] == (last[i],)
        assert space.get(z3, SCALARS[7]) == last[i]
        hidden = acts["output.hidden.0"]
        f_space = t.output.layers[0].target
        assert (f_space.get(hidden, "b1"), f_space.get(hidden, "b2")) == (b1[i], b2[i])
        state, symbol, move = outputs[i]
        expected = space.vector({state_dim("q1", state): 1, symbol_dim("s1", symbol): 1, SCALARS[1]: move})
        assert step.y_out == expected
    # The encoder has one position: k^e_1 = (x8 = 1, x9 = -1), v^e_1 = (s3 = ⟦a⟧, x6 = 1).
    cross = t.decoder[0].cross
    key = cross.key(t.embed(["a"])[0])
    assert (space.get(key, SCALARS[8]), space.get(key, SCALARS[9])) == (1, -1)
    value = cross.value(t.embed(["a"])[0])
    assert space.get(value, symbol_dim("s3", "a")) == 1 and space.get(value, SCALARS[6]) == 1


# ------------------------------------------------------------------ dimensions and weights
def test_dimension_follows_the_layout_and_every_weight_is_a_small_rational():
    model = compile_machine(BB4)
    nq, ns = len(model.labels.states), len(model.labels.symbols)
    assert model.transformer.d == 2 * nq + 4 * ns + 11 == 39      # spec §2b.7: BB(4) 29 -> 39
    summary = model.summary()
    assert summary.d_without_normalisation == 29 and summary.stay_states == 0
    allowed = {F(k) for k in (-2, -1, 1, 2)} | {F(1, 2), F(1, 3), F(-1, 3)}
    for name, linear in model.transformer.linears():
        for _, _, w in linear.weights:
            assert w in allowed, (name, w)
    assert len(model.transformer.decoder) == 3 and len(model.transformer.encoder) == 1


def test_dimension_names_print_as_a_labelled_table():
    model = compile_machine(BB4)
    names = model.transformer.space.names
    assert "q2:state=A" in names and "x4:c(i+1)/(i+1)" in names and "s3:symbol=1" in names
    step = next(decode(model.transformer, [], max_steps=1, capture=None))
    table = model.transformer.space.table(step.activations["decoder.1.resid_post"])
    assert "q2:state=⟨read⟩ | 1" in table and "x9:i+1" in table


def test_weights_are_available_as_exact_sympy_matrices():
    import sympy

    W, b = compile_machine(BB4).transformer.decoder[2].attn.query.to_sympy()
    assert W.shape == (39, 39)
    assert sympy.Rational(1, 3) in list(W)
    assert all(isinstance(v, sympy.Rational) for v in W)


# ------------------------------------------------------------------ end to end
@pytest.mark.parametrize("cross_attention", ["per-layer", "shared"])
@pytest.mark.parametrize("score", ["abs", "clipped"])
def test_bb4_decodes_to_107_steps_and_13_ones_with_the_same_tape_at_every_step(cross_attention, score):
    result = verify(BB4, "", cross_attention=cross_attention, score=score)
    assert result.ok, result.divergence
    assert result.decoded.steps == 107 and result.decoded.final.tape.nonblank() == 13
    assert [c.tape for c in result.decoded] == [c.tape for c in simulate(BB4, "")]
    assert result.reference.steps == 107 and result.reference.final.tape.nonblank() == 13   # the run's summary
    assert result.ties == {"decoder.1.cross": 0, "decoder.3.attn": 0}


def test_stay_moves_left_moves_and_blanks_inside_the_input():
    rules = [Rule("a", "x", "y", "S", "b"), Rule("b", "y", "y", "L", "c"), Rule("c", "_", "z", "R", "d"),
             Rule("d", "y", "x", "R", "a"), Rule("a", "_", "_", "S", "h"), Rule("d", "z", "z", "R", "a")]
    machine = TuringMachine(states=["a", "b", "c", "d", "h"], start="a", blank="_", rules=rules,
                            halt=["h"], input_alphabet=["x", "y", "z"])
    assert normalize(machine).stay_targets == 2
    for word in ["x", "xx", "x_x", "", "zz", "x__x"]:
        result = verify(machine, word)
        assert result.ok, (word, result.divergence)


def test_the_step_limit_is_counted_in_machine_steps():
    trace = run_model(compile_machine(BB4), "", max_steps=50).trace
    reference = run(BB4, "", max_steps=50)
    assert trace.steps == 50 and trace.verdict.value == "running" and trace.summary() == reference.summary()


def test_an_input_outside_the_compiled_alphabet_is_refused_clearly():
    with pytest.raises(InputError, match="not in the input alphabet"):
        run_model(compile_machine(BB4), "12")


@pytest.mark.parametrize("cross_attention", ["per-layer", "shared"])
def test_cached_decoder_equals_the_naive_recompute_everything_oracle(cross_attention):
    model = compile_machine(BB4, cross_attention=cross_attention).transformer
    cached = [s.y_out for s in decode(model, ["1", "1"], max_steps=25)]
    assert cached == decode_naive(model, ["1", "1"], 25)


@settings(max_examples=300, deadline=None, derandomize=True,
          suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
@given(machines_with_inputs())
def test_random_machines_verify_with_zero_divergence_and_no_ties(case):
    """300 random machines (2-6 states, 2-4 symbols, stay and left moves, empty inputs), 60 steps.

    verify() asserts every §9 invariant at every position; layers 1 and 3 must never tie.
    """
    machine, word = case
    result = verify(machine, word, max_steps=60)
    assert result.ok, result.divergence
    assert result.ties == {"decoder.1.cross": 0, "decoder.3.attn": 0}
    assert result.decoded.summary() == run(machine, word, max_steps=60).summary()


# ------------------------------------------------------------------ run_model's result, streaming verification
def test_run_model_returns_one_result_and_streams_when_asked():
    model = compile_machine(BB4)
    seen = []
    kept = run_model(model, "", progress=seen.append)
    streamed = run_model(model, "", keep_steps=False)
    assert kept.trace == streamed.trace and kept.steps == kept.trace.steps == 107
    assert len(kept.decoder_steps) == kept.positions == streamed.positions == 111
    assert streamed.decoder_steps == ()
    assert kept.summary == run(BB4, "").summary()
    assert seen == list(range(1, 108))
    assert repr(kept).startswith("RunResult(") and "steps=107, halting state" in repr(kept)
    assert "positions=111, kept=111)" in repr(kept) and "kept=0)" in repr(streamed)


def counter() -> TuringMachine:
    rules = [Rule("inc", "1", "0", "L", "inc"), Rule("inc", "0", "1", "R", "right"),
             Rule("inc", "_", "1", "R", "right"), Rule("right", "0", "0", "R", "right"),
             Rule("right", "1", "1", "R", "right"), Rule("right", "_", "_", "L", "inc")]
    return TuringMachine(states=["inc", "right"], start="inc", blank="_", rules=rules, input_alphabet=["0", "1"])


def test_verify_streams_and_keeps_a_bounded_table_on_a_machine_that_never_halts():
    seen = []
    result = verify(counter(), "", max_steps=400, keep_rows=50, progress=seen.append)
    assert result.ok, result.divergence
    assert result.decoded.steps == 400 and result.decoded.verdict.value == "running"
    assert len(result.positions) == 50 and result.checked > 400
    assert [p.i for p in result.positions] == list(range(50))
    assert result.table().endswith(f"... {result.checked - 50:,} more positions")
    assert seen[-1] == 400


def _first_difference(reference, decoded):
    """compare_traces' definition, checked configuration by configuration (O(T·tape))."""
    for a, b in zip(reference, decoded):
        for slot, x, y in (("state", a.state, b.state), ("head", a.head, b.head),
                           ("symbol under the head", a.symbol, b.symbol),
                           ("tape", a.tape.span(a.head), b.tape.span(b.head))):
            if x != y:
                return a.step, slot
    return None


@pytest.mark.parametrize("t", [0, 5, 40, 106])
def test_compare_traces_names_the_first_differing_step_and_slot(t):
    from dataclasses import replace

    from turingformer.compiler.perez.verify import compare_traces

    reference = run(BB4, "")
    writes = list(reference.writes)
    writes[t] = "1" if writes[t] != "1" else "_"
    tampered = replace(reference, writes=tuple(writes))
    found = compare_traces(reference, tampered)
    assert (found.step, found.slot) == _first_difference(reference, tampered)
    moved = replace(reference, heads=reference.heads[:t + 1] + tuple(h + 1 for h in reference.heads[t + 1:]))
    found = compare_traces(reference, moved)
    assert (found.step, found.slot) == _first_difference(reference, moved) == (t + 1, "head")


def test_a_machine_using_every_marker_character_gets_a_clear_error():
    from turingformer.compiler.perez.normalize import MARK_CANDIDATES
    from turingformer.errors import UnknownSymbolError
    symbols = list(MARK_CANDIDATES)
    rules = [Rule("a", s, s, "R", "a") for s in symbols]
    machine = TuringMachine(states=["a"], start="a", blank="_", input_alphabet=symbols, rules=rules)
    with pytest.raises(UnknownSymbolError, match="every character the construction could mark the blank with"):
        compile_machine(machine)
