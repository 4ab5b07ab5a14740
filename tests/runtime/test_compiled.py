"""The compiled exact inner step (turingformer/runtime/_kernel.c via runtime/compiled.py).

* It is built (``make test`` installs it; a missing build is a failure, not a skip, unless
  ``TURINGFORMER_KERNEL=0`` asks for the Python path).
* Its key index answers, for random keys and queries, exactly the keys of least |⟨q, k⟩| (the
  definition, in fmpq), and refuses (rather than guesses) what it cannot hold in int64.
* Where a number outgrows int64 the decoding is handed to the exact Python path at that
  position, and the steps still equal the plain decoder's; weights beyond int64 never reach it.
* The chunk stream (:func:`decode_chunks`) and the bulk run (:meth:`ModelRun.chunks`) give the
  outputs and the trace of the per-position path, step limits and interruptions included.
* The rows the caches use are exact: int64 under the bound, decided per row, big rows kept whole.

The equality of every hook with the plain decoder on the construction's machines is in
tests/runtime/test_fast.py (both paths); the BB(5) run to its halt is benchmarks/bb5.py.
"""

from __future__ import annotations

import math
import os
from collections import Counter
from fractions import Fraction

import numpy as np
import pytest
from flint import fmpq
from hypothesis import given, settings
from hypothesis import strategies as st

from strategies import bbchallenge
from test_fast import assert_same_steps, tiny_transformer
from turingformer.compiler.perez.construction import compile_machine
from turingformer.compiler.perez.decoding import WRITE_HOOK, ModelRun, run_model
from turingformer.runtime import compiled
from turingformer.runtime.fast import decode_chunks, decode_fast
from turingformer.runtime.rows import ROW_LIMIT, Rows
from turingformer.runtime.transformer import decode
from turingformer.tm.simulator import run

BB4 = bbchallenge("1RB1LB_1LA0LC_1RZ1LD_1RD0RA")
BB5 = bbchallenge("1RB1LC_1RC1RB_1RD0LE_1LA1LD_1RZ0LA")
KERNEL = pytest.mark.skipif(os.environ.get("TURINGFORMER_KERNEL") == "0", reason="TURINGFORMER_KERNEL=0")


@KERNEL
def test_the_kernel_is_built():
    assert compiled.available(), ("the compiled kernel is not built: pip install -e . (or python setup.py "
                                  "build_ext --inplace) builds it; TURINGFORMER_KERNEL=0 runs without it")


# ------------------------------------------------------------------ the index against the definition
VALUES = [0, 1, -1, 2, Fraction(1, 3), Fraction(-2, 7), Fraction(5, 2), Fraction(3, 1_000_003),
          Fraction(1, 2 ** 40), 2 ** 40 + 1]


def brute(keys, q, clip=False):
    mags = [abs(sum((Fraction(a) * Fraction(b) for a, b in zip(q, k)), Fraction(0))) for k in keys]
    if clip:
        mags = [min(m, Fraction(1)) for m in mags]
    best = min(mags)
    winners = tuple(j for j, m in enumerate(mags) if m == best)
    return "all" if len(winners) == len(keys) else winners


@KERNEL
@settings(max_examples=150, deadline=None)
@given(st.integers(1, 4).flatmap(lambda m: st.tuples(
    st.lists(st.tuples(*[st.sampled_from(VALUES)] * m), min_size=1, max_size=40),
    st.lists(st.tuples(*[st.sampled_from(VALUES)] * m), min_size=1, max_size=5))), st.booleans())
def test_the_compiled_index_gives_the_exact_winners(case, clip):
    """Random keys (directions that repeat, vertical and zero projections, exact ties, values
    from 2⁻⁴⁰ to 2⁴⁰) and queries: the kernel's index against the definition. A row whose
    integers N/D (D the lcm of its denominators) reach 2⁶² is refused, never rounded."""
    keys, queries = case
    index = compiled.CompiledIndex(len(keys[0]))
    kept = []
    for k in keys:
        assert index.add(k) == fits(k)
        if fits(k):
            kept.append(k)
    for q in queries:
        if any(q) and kept:
            winners, _ = index.decide(q, clip)
            assert winners == (brute(kept, q, clip) if fits(q) else None)


def fits(row) -> bool:
    D = math.lcm(1, *(Fraction(v).denominator for v in row))
    return D < ROW_LIMIT and all(abs(Fraction(v) * D) < ROW_LIMIT for v in row)


@KERNEL
@settings(max_examples=60, deadline=None)
@given(st.lists(st.integers(-6, 6), min_size=2, max_size=300), st.integers(-7, 7))
def test_construction_like_keys_score_few_keys(cells, target):
    """Keys (ε_j, −c_j ε_j, ε_j²) of the Pérez layer 3 on arbitrary cell sequences, query
    (c ε_i, ε_i, ε_i²/3): the exact winners, with O(1) keys scored beyond the members of least |R k|."""
    keys = [(Fraction(1, j + 1), Fraction(-c, j + 1), Fraction(1, (j + 1) ** 2)) for j, c in enumerate(cells)]
    index = compiled.CompiledIndex(3)
    for k in keys:
        index.add(k)
    i = len(cells) - 1
    q = (Fraction(target, i + 1), Fraction(1, i + 1), Fraction(1, 3 * (i + 1) ** 2))
    winners, scored = index.decide(q)
    assert winners == brute(keys, q)
    assert scored <= 2 * 14


@KERNEL
def test_the_index_refuses_what_int64_cannot_hold():
    index = compiled.CompiledIndex(2)
    assert not index.add((Fraction(2 ** 70), 1))           # a key beyond the bound: not stored
    assert index.add((1, Fraction(1, 3))) and index.n == 1
    assert index.decide((2 ** 70, 1)) == (None, 0)        # a query beyond it: no answer, no guess
    assert index.decide((1, 0))[0] == "all"


# ------------------------------------------------------------------ hand-over to the exact Python path
@KERNEL
@pytest.mark.parametrize("capture", [(), None])
def test_numbers_beyond_int64_are_handed_to_the_exact_path(capture):
    """The tiny transformer's keys 1 + 2⁻⁶⁰/(j+1)² need a denominator 2⁶⁰(j+1)² > 2⁶² from
    position 1 on: the kernel decodes position 0, refuses position 1 (nothing committed) and the
    Python path continues from its state, exactly."""
    model = tiny_transformer("abs")
    word = list("zazdzbzazczdzz")
    stats = Counter()
    quick = list(decode_fast(model, word, max_steps=12, capture=capture, stats=stats))
    assert_same_steps(decode(model, word, max_steps=12, capture=capture), quick)
    assert stats["handed to the exact Python path"] == 1 and stats["compiled positions"] == 1


@KERNEL
def test_weights_beyond_int64_never_reach_the_kernel():
    model = tiny_transformer("abs", unsafe=Fraction(2 ** 450))
    stats = Counter()
    quick = list(decode_fast(model, list("zab"), max_steps=8, stats=stats))
    assert_same_steps(decode(model, list("zab"), max_steps=8), quick)
    assert not stats["compiled positions"] and not stats["handed to the exact Python path"]


# ------------------------------------------------------------------ chunks and bulk runs
@pytest.mark.parametrize("use_kernel", [True, False])
def test_chunks_hold_the_outputs_of_the_steps(use_kernel):
    model = compile_machine(BB4)
    t = model.transformer
    steps = list(decode_fast(t, [], max_steps=500, capture=(WRITE_HOOK,), compiled=use_kernel))
    rows, hooks = [], []
    q1 = [t.space.index(n) for n in t.space.block("q1")]
    for chunk in decode_chunks(t, [], max_steps=500, stop_zero=q1, capture=(WRITE_HOOK,), compiled=use_kernel):
        rows += [tuple(Fraction(int(a), int(b)) for a, b in zip(n, d)) for n, d in zip(chunk.num, chunk.den)]
        num, den = chunk.hooks[WRITE_HOOK]
        hooks += [tuple(Fraction(int(a), int(b)) for a, b in zip(n, d)) for n, d in zip(num, den)]
    # the chunk stream stops after the first all-zero state block (BB(4) halts at position 110)
    assert len(rows) == 111 and rows == [s.y_out for s in steps[:111]]
    assert hooks == [s.activations[WRITE_HOOK] for s in steps[:111]]


@pytest.mark.parametrize("limit", [0, 1, 17, 40, 107, 108, 1000])
def test_a_bulk_run_has_the_trace_of_the_step_by_step_run(limit):
    """Step limits inside and at the end of a chunk, and the halt: the same trace and positions."""
    model = compile_machine(BB4)
    bulk = run_model(model, "", max_steps=limit, keep_steps=False)
    steps = run_model(model, "", max_steps=limit, keep_steps=True)
    assert bulk.trace == steps.trace == run(BB4, "", max_steps=limit)
    assert bulk.positions == steps.positions


def test_a_bulk_run_streams_the_configurations_and_stops_when_asked():
    model = compile_machine(BB5)
    asked = []

    def progress(done: int) -> bool:
        asked.append(done)
        return done >= 2000

    stream = ModelRun(model, "", max_steps=10 ** 6, progress=progress)
    assert stream.chunked
    states, heads = [], []
    for chunk in stream.chunks():
        states += chunk.states.tolist()
        heads += chunk.heads.tolist()
    reference = run(BB5, "", max_steps=len(states) - 1)
    assert asked == sorted(asked) and asked[-1] >= 2000 > asked[-2]
    assert stream.trace.reason.value == "interrupted" and stream.trace.steps == len(states) - 1
    assert [model.labels.states[k] for k in states] == list(reference.states) and heads == list(reference.heads)


# ------------------------------------------------------------------ compact rows
def test_rows_are_int64_under_the_bound_and_exact_beyond_it():
    rows = Rows(3, capacity=1)
    rows.append([fmpq(1), fmpq(-2), fmpq(0)])                 # integers: no denominator column
    assert rows.den is None
    rows.append([fmpq(1, 3), fmpq(5, 6), fmpq(0)])            # lcm 6: (2, 5, 0) / 6
    huge = [fmpq(ROW_LIMIT), fmpq(1), fmpq(1, 7)]
    rows.append(huge)                                          # beyond int64: kept whole
    assert rows.num[1].tolist() == [2, 5, 0] and rows.den[:3].tolist() == [1, 6, 0]
    assert rows[0] == (1, -2, 0) and rows[1] == (fmpq(1, 3), fmpq(5, 6), 0) and rows[2] == tuple(huge)
    assert rows.nbytes == 3 * 8 * 4
    rows.append_integers(np.array([[7, 8, 9]]), None)
    assert rows[3] == (7, 8, 9) and len(rows) == 4


@KERNEL
@pytest.mark.parametrize("order", ["right", "left", "both", "scattered"])
def test_many_directions_in_any_order(order):
    """A tape growing to the right, to the left, both ways, or keys in a scattered order: 600
    directions, each query's exact winners (the slope order has room at both ends)."""
    cells = {"right": range(600), "left": range(0, -600, -1), "both": [(-1) ** k * (k // 2) for k in range(600)],
             "scattered": [(k * 337) % 600 - 300 for k in range(600)]}[order]
    keys = [(Fraction(1, j + 1), Fraction(-c, j + 1), Fraction(1, (j + 1) ** 2)) for j, c in enumerate(cells)]
    index = compiled.CompiledIndex(3)
    for k in keys:
        index.add(k)
    i = len(keys) - 1
    for target in (0, 5, -5, 299, -300, 1000):
        q = (Fraction(target, i + 1), Fraction(1, i + 1), Fraction(1, 3 * (i + 1) ** 2))
        assert index.decide(q)[0] == brute(keys, q)
