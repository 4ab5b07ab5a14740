"""The fast exact decoder (issue 4) equals the plain exact decoder, bit for bit.

* :func:`turingformer.runtime.fast.decode_fast` yields the same steps as :func:`transformer.decode`
  (``y_in``, ``y_out`` and every captured activation, all Fractions) on the teaching machines,
  BB(4), a zig-zag binary counter, stay moves, left moves, random machines, under both
  cross-attention options and both scores — on both of its paths, the compiled kernel
  (``compiled=True``, the default; tests/runtime/test_compiled.py checks that it is built and
  that it ran) and the Python path (``compiled=False``); and the same outputs as the naive oracle.
* A hand-made transformer whose keys differ (or tie) below float resolution, where the float
  filter cannot decide and exact arithmetic must, plus keys outside the filter's safe range;
  its self-attention keys go through the exact key index (tests/runtime/test_key_index.py).
* Through :func:`turingformer.compiler.perez.decoding.run_model` it reproduces the reference simulator on the
  halting corpus cases up to ~25,000 machine steps (the longest are marked ``slow``).
"""

from __future__ import annotations

import functools
import os
from collections import Counter
from fractions import Fraction

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import turingformer.runtime.fast as fast
from strategies import machines_with_inputs
from strategies import bbchallenge
from paths import SHARED_CORPUS as SHARED, corpus_cases as _cases
from turingformer.compiler.perez.construction import compile_machine
from turingformer.compiler.perez.decoding import WRITE_HOOK, run_model
from turingformer.tm.formats import load_machine, prepare_input
from turingformer.tm.machine import Rule, TuringMachine
from turingformer.tm.simulator import run
from turingformer.runtime.space import Linear, Space
from turingformer.runtime.transformer import (
    MLP, Attention, DecoderLayer, EncoderLayer, PositionalEncoding, Transformer, decode, decode_naive,
)
from turingformer.compiler.perez.verify import compare_traces

decode_fast = fast.decode_fast
from paths import MACHINES
OPTIONS = [(c, s) for c in ("per-layer", "shared") for s in ("abs", "clipped")]


def binary_counter() -> TuringMachine:
    """Counts up in binary forever: the head zig-zags over a growing tape (never halts)."""
    rules = [Rule("inc", "1", "0", "L", "inc"), Rule("inc", "0", "1", "R", "right"),
             Rule("inc", "_", "1", "R", "right"), Rule("right", "0", "0", "R", "right"),
             Rule("right", "1", "1", "R", "right"), Rule("right", "_", "_", "L", "inc")]
    return TuringMachine(states=["inc", "right"], start="inc", blank="_", rules=rules,
                         input_alphabet=["0", "1"], name="binary counter")


BB4 = bbchallenge("1RB1LB_1LA0LC_1RZ1LD_1RD0RA")
BB5 = bbchallenge("1RB1LC_1RC1RB_1RD0LE_1LA1LD_1RZ0LA")
# (machine, input): BB(4), a zig-zag counter, stay moves, left moves past the start, blanks in input
CASES = {
    "bb4": (lambda: BB4, ""),
    "counter": (binary_counter, "1"),
    "stay_eraser": (lambda: load_machine(MACHINES / "stay_eraser.yaml"), "3121"),
    "binary_increment": (lambda: load_machine(MACHINES / "binary_increment.yaml"), "1011"),
    "binary_addition": (lambda: load_machine(MACHINES / "binary_addition.yaml"), None),
    "palindrome": (lambda: load_machine(MACHINES / "palindrome.yaml"), None),
}


def _case(name: str):
    make, word = CASES[name]
    machine = make()
    if word is None:
        word = machine.examples[0].input
    return machine, word


def assert_both_paths(plain, model, tokens, **options) -> None:
    """The compiled kernel and the Python path both yield exactly the plain decoder's steps."""
    plain = list(plain)
    for compiled in (True, False):
        assert_same_steps(plain, decode_fast(model, tokens, compiled=compiled, **options))


def assert_same_steps(plain, quick) -> None:
    plain, quick = list(plain), list(quick)
    assert len(plain) == len(quick)
    for a, b in zip(plain, quick):
        assert a.i == b.i
        assert a.y_in == b.y_in and a.y_out == b.y_out, f"step {a.i}"
        assert all(type(v) is Fraction for v in b.y_out)
        assert a.activations.keys() == b.activations.keys(), f"step {a.i}"
        for name, value in a.activations.items():
            assert value == b.activations[name], f"step {a.i}, hook {name}"
            assert _types(value) == _types(b.activations[name]), f"step {a.i}, hook {name}: types"


def _types(value):
    """The element types of an activation (bit for bit means the same kinds of numbers too)."""
    if isinstance(value, tuple):
        return tuple(_types(v) for v in value)
    return type(value)


@pytest.mark.parametrize("cross_attention, score", OPTIONS)
@pytest.mark.parametrize("name", sorted(CASES))
def test_every_hook_equals_the_plain_decoder(name, cross_attention, score):
    machine, word = _case(name)
    model = compile_machine(machine, cross_attention=cross_attention, score=score)
    tokens = model.labels.encoder_input(word)
    t = model.transformer
    assert_both_paths(decode(t, tokens, max_steps=70, capture=None), t, tokens, max_steps=70, capture=None)


@pytest.mark.parametrize("cross_attention, score", OPTIONS)
@pytest.mark.parametrize("name", ["bb4", "counter", "binary_addition"])
def test_long_runs_equal_the_plain_decoder(name, cross_attention, score):
    machine, word = _case(name)
    model = compile_machine(machine, cross_attention=cross_attention, score=score)
    tokens = model.labels.encoder_input(word)
    t = model.transformer
    hooks = {WRITE_HOOK, "decoder.1.cross.winners", "decoder.3.attn.winners", "decoder.3.resid_post",
             "output.hidden.0", "output.y"}
    plain = list(decode(t, tokens, max_steps=300, capture=hooks))
    assert_same_steps(plain, decode_fast(t, tokens, max_steps=300, capture=hooks))
    if cross_attention == "per-layer":      # the Python path too (every option is compared above, at 70 steps)
        assert_same_steps(plain, decode_fast(t, tokens, max_steps=300, capture=hooks, compiled=False))


def test_stop_and_max_steps_behave_as_in_the_plain_decoder():
    model = compile_machine(BB4)
    halted = lambda y: not any(y[:len(model.labels.states)])  # noqa: E731
    plain = list(decode(model.transformer, [], max_steps=500, stop=halted))
    quick = list(decode_fast(model.transformer, [], max_steps=500, stop=halted))
    assert len(quick) == len(plain) == 111
    assert_same_steps(plain, quick)
    assert list(decode_fast(model.transformer, [], max_steps=0)) == []


@pytest.mark.parametrize("cross_attention, score", OPTIONS)
@pytest.mark.parametrize("name", ["bb4", "stay_eraser", "binary_increment"])
def test_outputs_equal_the_naive_oracle(name, cross_attention, score):
    machine, word = _case(name)
    model = compile_machine(machine, cross_attention=cross_attention, score=score)
    tokens = model.labels.encoder_input(word)
    steps = 30
    assert [s.y_out for s in decode_fast(model.transformer, tokens, max_steps=steps)] == \
        decode_naive(model.transformer, tokens, steps)


@settings(max_examples=60, deadline=None, derandomize=True,
          suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
@given(case=machines_with_inputs(), cross_attention=st.sampled_from(["per-layer", "shared"]),
       score=st.sampled_from(["abs", "clipped"]), steps=st.integers(1, 60))
def test_random_machines_equal_the_plain_decoder(case, cross_attention, score, steps):
    machine, word = case
    model = compile_machine(machine, cross_attention=cross_attention, score=score)
    tokens = model.labels.encoder_input(word)
    t = model.transformer
    # the default path (the compiled kernel where it is built); the Python path's random-machine
    # coverage is the hook-by-hook comparison above and tests/runtime/test_key_index.py
    assert_same_steps(decode(t, tokens, max_steps=steps, capture=None),
                      decode_fast(t, tokens, max_steps=steps, capture=None))


@pytest.mark.parametrize("cross_attention, score", OPTIONS)
def test_a_zig_zag_run_of_3000_steps_decodes_to_the_simulator_trace(cross_attention, score):
    machine = binary_counter()
    model = compile_machine(machine, cross_attention=cross_attention, score=score)
    result = run_model(model, "", max_steps=3000, decoder=decode_fast, keep_steps=False)
    assert result.positions > 3000 and result.decoder_steps == ()
    assert compare_traces(run(machine, "", max_steps=3000), result.trace) is None


@pytest.mark.slow
def test_bb5_for_12000_steps_where_float_scores_no_longer_separate_layer_3():
    """Around 10⁴ decoder steps the layer-3 recency margin (~4/(3i⁵), spec §7) falls below the
    certified float error, so a float filter would leave several candidates; the exact index
    decides every layer-3 query itself, scoring a few keys each, and the trace is the simulator's."""
    model = compile_machine(BB5)
    stats = Counter()
    decoder = functools.partial(decode_fast, stats=stats, compiled=False)
    result = run_model(model, "", max_steps=12_000, decoder=decoder, keep_steps=False)
    assert compare_traces(run(BB5, "", max_steps=12_000), result.trace) is None
    assert stats["index: exact"] == result.positions
    assert stats["index: keys scored exactly"] < 3 * result.positions


# ------------------------------------------------------------------ where the float filter fails
POSITIONS = PositionalEncoding((("one", 0), ("k", 1), ("inv", -1), ("inv2", -2)))   # 1, k, 1/k, 1/k²
TINY = 2 ** -60          # far below float resolution next to 1: 1 + TINY rounds to 1.0
TOKENS = {"z": 8 * TINY, "a": 2 * TINY, "b": TINY, "c": -TINY, "d": Fraction(3, 2) * TINY}


def tiny_transformer(score: str, unsafe: Fraction | None = None) -> Transformer:
    """Every attention here has scores that float64 cannot tell apart.

    * cross-attention: key (1 + δ_token, −1), query (1, 1), so ⟨q, k⟩ = δ_token with |δ| ≤ 2⁻⁵⁷
      next to terms of size 1: every float score is 0. The winners are the tokens with the
      smallest |δ|: ``b`` and ``c`` tie (δ = ±2⁻⁶⁰), and ``d`` (1.5·2⁻⁶⁰) must lose to them.
    * layer-1 self-attention: key (1 + 2⁻⁶⁰/(j+1)², 1), query (1, −1), so ⟨q, k_j⟩ = 2⁻⁶⁰/(j+1)²:
      the latest position wins, by a margin no float64 sees.
    * layer-2 self-attention: every key and the query are non-zero and every dot product is
      exactly 2 (clipped: every score is exactly −1): all positions tie, through the filter.
    * layer-3 self-attention (``unsafe``): keys ``unsafe``/(j+1)² outside the filter's safe range.
    """
    names = ["one", "k", "inv", "inv2", "e", "f", "g", "val", "w", "u", "cnt", "h1", "h2"]
    space = Space(tuple(names))
    zero = Linear.zero(space, space)
    query_cross = Linear.build(space, space, {("one", "e"): 1, ("one", "f"): 1})
    key_cross = Linear.build(space, space, {("one", "e"): 1, ("e", "e"): 1, ("one", "f"): -1})
    value_cross = Linear.build(space, space, {("k", "val"): 1, ("e", "u"): 2 ** 58})
    layer1 = DecoderLayer(
        Attention(Linear.build(space, space, {("one", "e"): 1, ("one", "f"): -1}),
                  Linear.build(space, space, {("one", "e"): 1, ("inv2", "e"): TINY, ("one", "f"): 1}),
                  Linear.build(space, space, {("k", "w"): 1})),
        Attention(query_cross, key_cross, value_cross),
        MLP((Linear.build(space, Space(("p", "r")), {("w", "p"): Fraction(1, 7), ("inv", "p"): 1,
                                                      ("val", "r"): 1},
                          {"p": Fraction(-1, 3)}),
             Linear.build(Space(("p", "r")), space, {("p", "h1"): 1, ("r", "h2"): Fraction(1, 2)}))),
    )
    layer2 = DecoderLayer(Attention(Linear.build(space, space, {("one", "g"): 1}),
                                    Linear.build(space, space, {("one", "g"): 2}),
                                    Linear.build(space, space, {("k", "cnt"): 1})))
    layers = [layer1, layer2]
    if unsafe is not None:
        layers.append(DecoderLayer(Attention(Linear.build(space, space, {("one", "g"): 1}),
                                             Linear.build(space, space, {("inv2", "g"): unsafe}),
                                             Linear.build(space, space, {("inv", "h1"): 1}))))
    return Transformer(
        space=space,
        embedding={t: {"e": Fraction(v)} for t, v in TOKENS.items()},
        positional=POSITIONS,
        encoder=(EncoderLayer(Attention(zero, zero, zero)),),
        decoder=tuple(layers),
        output=MLP((Linear.build(space, Space(("o",)), {("h1", "o"): 1}),
                    Linear.build(Space(("o",)), space, {("o", "u"): 1}))),
        seed=tuple(space.zeros()),
        score=score,
    )


def _count_inconclusive(monkeypatch):
    """Count the decisions where the float filter left more than one candidate."""
    seen = []
    original = fast._Attention._exact

    def spy(self, cache, q, candidates, known):
        if not isinstance(candidates, range):
            seen.append((cache.n, len(candidates) + len(known)))
        return original(self, cache, q, candidates, known)

    monkeypatch.setattr(fast._Attention, "_exact", spy)
    return seen


@pytest.mark.parametrize("score", ["abs", "clipped"])
def test_the_integer_filter_sends_only_the_true_tie_to_exact_arithmetic(score, monkeypatch):
    """Cross-attention scores δ_token next to terms of size 1: float64 sees 14 equal scores,
    the scaled-integer filter (docstring 5') sees the exact δ's and keeps only b and c."""
    seen = _count_inconclusive(monkeypatch)
    word = list("zazdzbzazczdzz")
    model = tiny_transformer(score)
    stats = Counter()
    plain = list(decode(model, word, max_steps=10, capture=None))
    quick = list(decode_fast(model, word, max_steps=10, capture=None, stats=stats, compiled=False))
    assert_same_steps(plain, quick)
    assert stats["integer filter: exact among candidates"] == 10 and not stats["float filter: exact among candidates"]
    assert {c for n, c in seen if n == len(word)} == {2}


@pytest.mark.parametrize("score", ["abs", "clipped"])
def test_exact_arithmetic_decides_where_the_float_filter_cannot(score, monkeypatch):
    monkeypatch.setattr(fast._ScanCache, "integer_bounds", lambda self, q, clip: None)   # the float filter alone
    seen = _count_inconclusive(monkeypatch)
    word = list("zazdzbzazczdzz")       # 14 > SMALL encoder positions
    assert len(word) > fast.SMALL
    model = tiny_transformer(score)
    steps = 40
    plain = list(decode(model, word, max_steps=steps, capture=None))
    stats = Counter()
    quick = list(decode_fast(model, word, max_steps=steps, capture=None, stats=stats, compiled=False))
    assert_same_steps(plain, quick)
    # the cross-attention filter saw every encoder key as a candidate; the decoder's own keys,
    # apart below float resolution, were told apart by the exact index (2 layers, every step)
    assert any(n == len(word) and c == len(word) for n, c in seen)
    assert stats["index: exact"] == 2 * steps
    tie = (word.index("b"), word.index("c"))
    for step in quick:
        i = step.i
        assert step.activations["decoder.1.cross.winners"] == tie          # b and c tie, d loses
        assert step.activations["decoder.1.attn.winners"] == (i,)          # the latest key
        assert step.activations["decoder.2.attn.winners"] == tuple(range(i + 1))
        space = model.space
        assert space.get(step.activations["decoder.1.cross.out"], "u") == 0      # (δ_b + δ_c)/2
        assert space.get(step.activations["decoder.2.resid_mid"], "cnt") == Fraction(i + 2, 2)


def rounding_transformer() -> Transformer:
    """Cross-attention whose float64 scores rank two keys the wrong way round.

    Key (1 + x_t, −(1 + y_t)), query (1, 1): ⟨q, k⟩ = x_t − y_t exactly. For ``p``,
    x = 2⁻⁵³ + 2⁻⁸⁰ rounds up to 2⁻⁵² and y = 2⁻⁵³ − 2⁻⁸⁰ rounds down to 0, so the float score is
    −2⁻⁵² while the exact one is −2⁻⁷⁹; for ``r``, x = 2⁻⁶⁰ rounds away: float 0, exact −2⁻⁶⁰.
    Float64 alone picks ``r``; the exact winner is ``p``. ``z`` keys (x = 2⁻²⁰) are far behind.
    """
    space = Space(("one", "k", "inv", "inv2", "e", "f", "val"))
    zero = Linear.zero(space, space)
    x = {"p": Fraction(1, 2 ** 53) + Fraction(1, 2 ** 80), "r": Fraction(1, 2 ** 60), "z": Fraction(1, 2 ** 20)}
    y = {"p": Fraction(1, 2 ** 53) - Fraction(1, 2 ** 80), "r": Fraction(0), "z": Fraction(0)}
    cross = Attention(Linear.build(space, space, {("one", "e"): 1, ("one", "f"): 1}),
                      Linear.build(space, space, {("one", "e"): 1, ("e", "e"): 1, ("one", "f"): -1, ("f", "f"): 1}),
                      Linear.build(space, space, {("k", "val"): 1}))
    return Transformer(
        space=space, embedding={t: {"e": x[t], "f": -y[t]} for t in x},
        positional=POSITIONS,
        encoder=(EncoderLayer(Attention(zero, zero, zero)),),
        decoder=(DecoderLayer(Attention(zero, zero, zero), cross),),
        output=MLP((Linear.build(space, space, {}),)), seed=tuple(space.zeros()),
    )


def test_the_error_bound_keeps_a_winner_that_float64_ranks_second(monkeypatch):
    word = list("zzzzrzzzpzz")
    assert len(word) > fast.SMALL
    model = rounding_transformer()
    hooks = {"decoder.1.cross.winners", "decoder.1.cross.scores"}
    plain = list(decode(model, word, max_steps=3, capture=hooks))
    quick = list(decode_fast(model, word, max_steps=3, capture=hooks, compiled=False))
    assert_same_steps(plain, quick)
    assert quick[0].activations["decoder.1.cross.winners"] == (word.index("p"),)
    # without the error bound the filter would keep only the float favourite and get it wrong
    monkeypatch.setattr(fast._Attention, "__init__", _zero_bound(fast._Attention.__init__))
    wrong = list(decode_fast(model, word, max_steps=1, capture=hooks, compiled=False))
    assert wrong[0].activations["decoder.1.cross.winners"] == (word.index("r"),)


def _zero_bound(init):
    def patched(self, *args, **kwargs):
        init(self, *args, **kwargs)
        self.C = 0.0
    return patched


@pytest.mark.parametrize("unsafe", [Fraction(1, 2 ** 450), Fraction(2 ** 450)])
def test_keys_outside_the_safe_float_range_are_decided_exactly(unsafe):
    model = tiny_transformer("abs", unsafe=unsafe)
    word = list("zab")
    plain = list(decode(model, word, max_steps=20, capture=None))
    assert_both_paths(plain, model, word, max_steps=20, capture=None)
    quick = list(decode_fast(model, word, max_steps=20, capture=None))
    # |⟨q, k_j⟩| = unsafe/(j+1)² is smallest at the latest position
    assert all(s.activations["decoder.3.attn.winners"] == (s.i,) for s in quick)


def test_float_conversion_is_correct_rounding_and_refuses_unsafe_values():
    from flint import fmpq
    assert fast._float(fmpq(1, 3)) == 1 / 3
    assert fast._float(fmpq(0)) == 0.0
    assert fast._float(fmpq(10 ** 30 + 1, 3 * 10 ** 29)) == (10 ** 30 + 1) / (3 * 10 ** 29)
    for bad in (fmpq(1, 2 ** 401), fmpq(2 ** 401), fmpq(3 ** 1000, 1)):
        with pytest.raises(fast._Unsafe):
            fast._float(bad)


# ------------------------------------------------------------------ the corpus, via run_model
LONG = 2_000
CORPUS = [pytest.param(case, id=f"{case['file']}:{case['input']!r}",
                       marks=[pytest.mark.slow] if case["expected"]["steps"] > LONG else [])
          for case in _cases(SHARED, "EXPECTED.json")
          if case["expected"]["halts"] and case["expected"]["steps"] <= 25_000]


@pytest.mark.skipif(not CORPUS, reason="the shared corpus is not present")
@pytest.mark.parametrize("case", CORPUS)
def test_corpus_case_decodes_to_the_simulator_trace(case):
    if case["expected"]["steps"] > LONG and os.environ.get("TURINGFORMER_SKIP_SLOW") == "1":
        pytest.skip("TURINGFORMER_SKIP_SLOW=1")
    machine, word = prepare_input(load_machine(SHARED / case["file"]), case["input"])
    limit = max(2 * case["expected"]["steps"], 1000)
    decoded = run_model(compile_machine(machine), word, max_steps=limit, keep_steps=False).trace
    assert compare_traces(run(machine, word, max_steps=limit), decoded) is None
    final = decoded.final
    assert final.head == case["expected"]["head"]


SHORT = [pytest.param(case, id=f"{case['file']}:{case['input']!r}")
         for case in _cases(SHARED, "EXPECTED.json") if case["expected"]["steps"] <= 200]


@pytest.mark.skipif(not SHORT, reason="the shared corpus is not present")
@pytest.mark.parametrize("case", SHORT)
def test_corpus_case_fast_equals_plain_step_for_step(case):
    """Every corpus case up to 200 machine steps: the same y and the same layer-1 output at every step."""
    machine, word = prepare_input(load_machine(SHARED / case["file"]), case["input"])
    model = compile_machine(machine)
    budget = 2 * len(word) + 3 + 2 * case["expected"]["steps"] + 2
    plain, fast_ = ([(s.y_out, s.activations[WRITE_HOOK]) for s in
                     decoder(model.transformer, model.labels.encoder_input(word), max_steps=budget,
                             capture={WRITE_HOOK})] for decoder in (decode, decode_fast))
    assert fast_ == plain and len(plain) > 2 * len(word) + 3
