"""The looped runtime (looped spec §3): the Fraction driver, its hooks, the single-winner check, and
the exact integer fast path equal to it entry for entry (block outputs, winners, every loop)."""

from __future__ import annotations

import random
from fractions import Fraction

import numpy as np
import pytest

import looped_random
from paths import ROOT
from turingformer.compiler.looped.construction import compile_program
from turingformer.errors import AttentionTieError, LoopedRuntimeError
from turingformer.programs import SubleqH, SubleqInstruction
from turingformer.programs.formats import load_program
from turingformer.runtime.looped import HOOKS, INT64_LIMIT, FloatLoop, IntegerLoop, LoopBlock, LoopedTransformer
from turingformer.runtime.space import Linear, Space
from turingformer.runtime.transformer import MLP, Attention, head_names

GENERATORS = {"subleq-h3": looped_random.subleq_h, "subleq-h2": looped_random.subleq_h,
              "subleq-u3": looped_random.subleq_u, "fleq-h": looped_random.fleq_h}
EXAMPLES = sorted(p for p in (ROOT / "machines" / "programs").iterdir()
                  if p.suffix in (".subleq", ".usubleq", ".fleq") and p.stem not in ("fact6",))


def assert_paths_agree(model, loops: int) -> int:
    """Run both paths ``loops`` loops; every block output and every winner must be equal."""
    t = model.transformer
    fast = IntegerLoop(t)
    X, A = model.card, fast.to_array(model.card)
    hooks = [f"{name}.winners" for l, b in enumerate(t.blocks) for name in head_names(f"loop.{l}", len(b.heads))]
    for loop in range(loops):
        X_next, acts = t.step(X, capture=hooks)
        A_next, winners = fast.step(A)
        for l, block in enumerate(t.blocks):
            for name, got in zip(head_names(f"loop.{l}", len(block.heads)), winners[l]):
                assert [w[0] for w in acts[f"{name}.winners"]] == got.tolist(), (loop, name)
        assert IntegerLoop.to_columns(A_next) == X_next, loop
        assert all(isinstance(v, Fraction) for col in X_next for v in col)
        X, A = X_next, A_next
    return loops


@pytest.mark.parametrize("construction", list(GENERATORS))
def test_integer_path_equals_the_fraction_runtime_on_random_programs(construction):
    r = random.Random(100 + len(construction))
    for _ in range(20):
        assert_paths_agree(compile_program(GENERATORS[construction](r), construction), 4)


@pytest.mark.parametrize("path", EXAMPLES, ids=lambda p: p.name)
def test_integer_path_equals_the_fraction_runtime_on_the_examples(path):
    model = compile_program(load_program(path))
    assert_paths_agree(model, 12 if model.n <= 40 else 2)      # n² exact dot products per head and loop


def test_python_ints_take_over_when_int64_is_not_proven_safe():
    # N = 60 bits: words near 2^59, so the bound of the scaled products exceeds 2^62
    program = SubleqH(bits=60, memory=(2 ** 59 - 1, -(2 ** 59), 5), code=(SubleqInstruction(1, 0, 1),
                                                                           SubleqInstruction(2, 1, 0)))
    model = compile_program(program)
    fast = IntegerLoop(model.transformer)
    assert fast.largest_integer(model.labels.entry_bound) >= INT64_LIMIT
    A = fast.to_array(model.card)
    X = model.card
    for _ in range(4):
        A, _ = fast.step(A)
        X, _ = model.transformer.step(X)
        assert A.dtype == object and IntegerLoop.to_columns(A) == X
    small = compile_program(looped_random.subleq_h(random.Random(1)))
    A, _ = IntegerLoop(small.transformer).step(IntegerLoop(small.transformer).to_array(small.card))
    assert A.dtype == np.int64


def test_float64_path_stays_on_the_exact_card_for_the_random_suite():
    r = random.Random(3)
    for _ in range(30):
        model = compile_program(looped_random.subleq_h(r))
        exact, flt = IntegerLoop(model.transformer), FloatLoop(model.transformer, "float64")
        A, F = exact.to_array(model.card), flt.to_array(model.card)
        for _ in range(30):
            (A, _), (F, _) = exact.step(A), flt.step(F)
            assert (F == A.astype(np.float64)).all()


# ---------------------------------------------------------------------------- the generic driver
SPACE = Space(("one", "pos", "t", "a", "b"))


def head(target: str, out: str) -> Attention:
    """An address head: column j reads column x_j[target]'s pos into ``out``."""
    return Attention(Linear.build(SPACE, SPACE, {(target, "one"): 1, ("one", "pos"): 1}),
                     Linear.build(SPACE, SPACE, {("one", "one"): 1, ("pos", "pos"): -1}),
                     Linear.build(SPACE, SPACE, {("pos", out): 1}))


def card(targets):
    return tuple(SPACE.vector({"one": 1, "pos": j, "t": t}) for j, t in enumerate(targets))


def test_two_heads_read_the_same_input_and_their_outputs_add():
    model = LoopedTransformer(SPACE, (LoopBlock((head("t", "a"), head("t", "b"))),))
    X, acts = model.step(card([2, 0, 1]), capture=None)
    assert [(x[3], x[4]) for x in X] == [(2, 2), (0, 0), (1, 1)]
    assert acts["loop.0.attn.0.winners"] == ((2,), (0,), (1,)) == acts["loop.0.attn.1.winners"]
    assert acts["loop.0.attn.1.scores"][0] == (-2, -1, 0)
    for hook in ("loop.0.resid_pre", "loop.0.resid_mid", "loop.0.out", "loop.0.attn.0.pattern"):
        assert hook in acts
    assert set(HOOKS) >= {"loop.{l}.resid_pre", "loop.{l}.attn.winners", "loop.{l}.out"}


def test_a_tie_raises_unless_allowed():
    model = LoopedTransformer(SPACE, (LoopBlock((head("t", "a"),)),))
    tied = tuple(SPACE.vector({"one": 1, "pos": p, "t": 1}) for p in (0, 0, 2))   # target 1: columns 0, 2 tie
    with pytest.raises(AttentionTieError, match="query column 0 has 3 tied winners"):
        model.step(tied)
    X, acts = model.step(tied, capture=["loop.0.attn.winners"], single_winner=False)
    assert acts["loop.0.attn.winners"][0] == (0, 1, 2) and X[0][3] == Fraction(2, 3)   # average-hard


def test_run_stops_on_the_stop_predicate_and_counts_loops_from_one():
    shift = MLP((Linear.build(SPACE, Space(("h",)), {("one", "h"): 1}), Linear.build(Space(("h",)), SPACE, {("h", "a"): 1})))
    model = LoopedTransformer(SPACE, (LoopBlock((), shift),))
    loops = list(model.run(card([0]), max_loops=10, stop=lambda X: X[0][3] == 3))
    assert [l.t for l in loops] == [1, 2, 3] and loops[-1].X_out[0][3] == 3


def test_integer_path_refuses_non_integers_exactly():
    half = MLP((Linear.build(SPACE, Space(("h",)), {("t", "h"): Fraction(1, 4)}),
                Linear.build(Space(("h",)), SPACE, {("h", "a"): 1})))
    model = LoopedTransformer(SPACE, (LoopBlock((), half),))
    fast = IntegerLoop(model)
    with pytest.raises(LoopedRuntimeError, match="FFN output is not an integer"):
        fast.step(fast.to_array(card([1])))
    assert IntegerLoop.to_columns(fast.step(fast.to_array(card([4])))[0])[0][3] == 1     # σ(4/4) = 1
    with pytest.raises(LoopedRuntimeError, match="non-integer entry in t"):
        fast.to_array((SPACE.vector({"t": Fraction(1, 2)}),))


def float_run_leaves_the_card(model, dtype: str, loops: int) -> int | None:
    """The first loop whose float card differs from the exact one (None: stayed exact)."""
    exact, flt = IntegerLoop(model.transformer), FloatLoop(model.transformer, dtype)
    A, F = exact.to_array(model.card), flt.to_array(model.card)
    for t in range(1, loops + 1):
        (A, _), (F, _) = exact.step(A), flt.step(F)
        if not (F == A.astype(dtype)).all():
            return t
    return None


def test_float32_is_exact_for_small_words_and_breaks_for_24_bit_words():
    r = random.Random(4)
    for _ in range(20):          # spec §11.3: float32 stays bit-exact for N ≤ 8, M, s ≤ 16
        assert float_run_leaves_the_card(compile_program(looped_random.subleq_h(r)), "float32", 20) is None
    # expected failure, documented: N = 24, s = 64 needs more than float32's 24-bit mantissa in FFN3
    r = random.Random(24)
    M, s, B = 8, 64, 2 ** 23
    code = tuple(SubleqInstruction(r.randrange(M), r.randrange(M), r.randrange(s)) for _ in range(s))
    wide = SubleqH(bits=24, memory=tuple(r.randint(-B, B - 1) for _ in range(M)), code=code)
    assert float_run_leaves_the_card(compile_program(wide), "float32", 5) == 1
    assert float_run_leaves_the_card(compile_program(wide), "float64", 5) is None


# ---------------------------------------------------------------------------- the fast paths' structure
def test_folding_equals_the_plain_path_on_every_construction():
    """Column folding (units that read only dimensions equal in every column run once) is exact:
    the folded and the plain integer paths give the same cards and winners."""
    for construction, generator in GENERATORS.items():
        r = random.Random(55 + len(construction))
        for _ in range(5):
            model = compile_program(generator(r), construction)
            folded, plain = IntegerLoop(model.transformer), IntegerLoop(model.transformer, fold=False)
            A = P = folded.to_array(model.card)
            for _ in range(15):
                (A, wa), (P, wp) = folded.step(A), plain.step(P)
                assert (A == P).all()
                assert all((a == b).all() for x, y in zip(wa, wp) for a, b in zip(x, y))


def test_attention_needs_memory_linear_in_the_columns():
    """Issue 22: 10,000 instructions used to allocate an n × n array per head and loop (1.6 GB for
    2 loops); the address heads are now a sort and a binary search per query."""
    import tracemalloc
    r = random.Random(22)
    M, s = 8, 10_000
    code = tuple(SubleqInstruction(r.randrange(M), r.randrange(M), r.randrange(s)) for _ in range(s))
    model = compile_program(SubleqH(bits=8, memory=tuple(r.randint(-128, 127) for _ in range(M)), code=code))
    fast = IntegerLoop(model.transformer)
    X = fast.to_array(model.card)
    tracemalloc.start()
    for _ in range(2):
        X, winners = fast.step(X)
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    assert peak < 64 * 2 ** 20, f"{peak / 2 ** 20:.0f} MiB"          # n² int64 would be 760 MiB per head
    assert winners[0][0].shape == (s + M + 1,)


def test_a_loop_is_proven_int64_once_and_falls_back_per_block():
    model = compile_program(looped_random.subleq_h(random.Random(9)))
    fast = IntegerLoop(model.transformer)
    A, _ = fast.step(fast.to_array(model.card))
    assert A.dtype == np.int64 and fast._loop_envelope is not None
    assert fast.largest_integer(model.labels.entry_bound) < INT64_LIMIT
    with pytest.raises(TypeError):
        IntegerLoop(model.transformer, dtype="float64")                 # floats have their own, honest name
    F = FloatLoop(model.transformer, "float32")
    assert F.to_array(model.card).dtype == np.float32
