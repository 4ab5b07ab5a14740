"""The exact key index of the fast decoder (issue 15) against a brute-force exact argmin.

:class:`turingformer.runtime.fast._IndexCache` answers, for a query q, every key of least
|⟨q, k⟩| while visiting few keys; here random keys and queries (drawn from small sets of
rationals so that directions repeat, dot products tie and magnitudes span 2⁻⁴⁵⁰..2⁴⁵⁰, far outside
the float filter's safe range) are compared with the definition, and hand-made key sets check
the cases a pruning bound could get wrong: a far direction with a tiny scale that must win, a
large rest term that keeps far groups alive, vertical and zero projections, exact ties.
"""

from __future__ import annotations

from collections import Counter

from flint import fmpq
from hypothesis import given, settings
from hypothesis import strategies as st

from turingformer.runtime.fast import _IndexCache
from turingformer.runtime.layer import ALL

VALUES = [fmpq(0), fmpq(1), fmpq(-1), fmpq(2), fmpq(1, 3), fmpq(-2, 7), fmpq(5, 2), fmpq(1, 2 ** 450),
          fmpq(-(2 ** 450)), fmpq(3, 1_000_003)]


def brute(keys, q):
    mags = [abs(sum((a * b for a, b in zip(q, k)), fmpq(0))) for k in keys]
    best = min(mags)
    return sorted(j for j, m in enumerate(mags) if m == best), best


def build(keys):
    cache = _IndexCache(len(keys[0]))
    for k in keys:
        cache.append(k, {})
    return cache


def decide(cache, q, stats=None):
    winners, best = cache.decide(q, stats)
    return sorted(winners), best


@settings(max_examples=150, deadline=None)
@given(st.integers(1, 4).flatmap(lambda m: st.tuples(
    st.lists(st.tuples(*[st.sampled_from(VALUES)] * m), min_size=1, max_size=40),
    st.lists(st.tuples(*[st.sampled_from(VALUES)] * m), min_size=1, max_size=5))))
def test_random_keys_and_queries_give_the_exact_winners(case):
    keys, queries = case
    cache = build(keys)
    for q in queries:
        if not any(q):
            continue        # a zero query is the uniform case, decided before the index
        assert decide(cache, q) == brute(keys, q)


@settings(max_examples=100, deadline=None)
@given(st.lists(st.integers(-6, 6), min_size=2, max_size=60), st.integers(-7, 7))
def test_construction_like_keys_pick_the_last_write_or_the_newest_position(cells, target):
    """Keys (ε_j, −c_j ε_j, ε_j²), query (c ε_i, ε_i, ε_i²/3): the shape of Pérez layer 3,
    on arbitrary (not interval-shaped) cell sequences, checked against the definition."""
    keys = [(fmpq(1, j + 1), fmpq(-c, j + 1), fmpq(1, (j + 1) ** 2)) for j, c in enumerate(cells)]
    i = len(cells) - 1
    q = (fmpq(target, i + 1), fmpq(1, i + 1), fmpq(1, 3 * (i + 1) ** 2))
    stats = Counter()
    assert decide(build(keys), q, stats) == brute(keys, q)


def test_a_far_direction_with_a_tiny_scale_is_not_pruned():
    # q = (1, 1): directions (1, t) score λ(1 + t); t* = −1.
    near = (fmpq(1000), fmpq(-999))              # t = −0.999, |⟨q, k⟩| = 1
    far = (fmpq(1, 10 ** 6), fmpq(5, 10 ** 6))   # t = 5, |⟨q, k⟩| = 6·10⁻⁶: the winner
    other = (fmpq(1), fmpq(-3))                  # t = −3, |⟨q, k⟩| = 2
    keys = [near, other, far, near]
    assert decide(build(keys), (fmpq(1), fmpq(1))) == ([2], fmpq(6, 10 ** 6))


def test_a_large_rest_term_keeps_far_directions_alive():
    # m = 3: the third coordinate can cancel the projection's part of a far direction.
    keys = [(fmpq(1), fmpq(0), fmpq(0)),          # t = 0: |⟨q, k⟩| = |q0| = 1
            (fmpq(1), fmpq(4), fmpq(-5)),         # t = 4: 1 + 4·1 − 5·1 = 0: the winner
            (fmpq(1), fmpq(-1), fmpq(1, 2))]      # t = −1: 1 − 1 + 1/2
    q = (fmpq(1), fmpq(1), fmpq(1))
    assert decide(build(keys), q) == ([1], fmpq(0))


def test_vertical_and_zero_projections_and_exact_ties():
    keys = [(fmpq(0), fmpq(2), fmpq(1)),          # vertical: λ = 2
            (fmpq(0), fmpq(0), fmpq(-1, 2)),      # zero projection
            (fmpq(0), fmpq(0), fmpq(1, 2)),       # ties with the previous one
            (fmpq(3), fmpq(1), fmpq(0))]
    q = (fmpq(0), fmpq(1), fmpq(2))               # vertical: 2 + 2 = 4; zero: ±1; last: 1
    assert decide(build(keys), q) == ([1, 2, 3], fmpq(1))
    assert decide(build(keys), (fmpq(1), fmpq(0), fmpq(0))) == ([0, 1, 2], fmpq(0))


def test_a_long_construction_run_scores_few_keys():
    """A zig-zag over 30 cells for 3,000 positions: each query scores O(1) keys, not O(n)."""
    cells, c, step = [], 0, 1
    for _ in range(3000):
        cells.append(c)
        if not 0 <= c + step < 30:
            step = -step
        c += step
    keys = [(fmpq(1, j + 1), fmpq(-c, j + 1), fmpq(1, (j + 1) ** 2)) for j, c in enumerate(cells)]
    cache = build(keys)
    i = len(cells) - 1
    stats = Counter()
    for target in (cells[-1] + 1, cells[-1] - 1, 31, -1):
        q = (fmpq(target, i + 1), fmpq(1, i + 1), fmpq(1, 3 * (i + 1) ** 2))
        assert decide(cache, q, stats) == brute(keys, q)
    assert stats["index: keys scored exactly"] <= 4 * 4


# ------------------------------------------------------------------ the scan filters (cross-attention)
def _identity_attention(score: str):
    from turingformer.runtime.space import Linear, Space
    from turingformer.runtime.transformer import Attention
    from turingformer.runtime.fast import _Attention

    space = Space(("a", "b", "c"))
    identity = Linear.build(space, space, {(x, x): 1 for x in space.names})
    return _Attention(Attention(identity, identity, identity), score)


def brute_scores(keys, q, clip: bool):
    mags = [abs(sum((a * b for a, b in zip(q, k)), fmpq(0))) for k in keys]
    if clip:
        mags = [min(m, fmpq(1)) for m in mags]
    best = min(mags)
    winners = tuple(j for j, m in enumerate(mags) if m == best)
    return ALL if len(winners) == len(keys) else winners


SCAN_VALUES = [fmpq(0), fmpq(1), fmpq(-1), fmpq(1, 3), fmpq(2, 3), fmpq(1, 2 ** 60), fmpq(-1, 2 ** 60),
               fmpq(2 ** 40 + 1, 2 ** 40), fmpq(7, 5)]


@settings(max_examples=100, deadline=None)
@given(st.sampled_from(["abs", "clipped"]),
       st.lists(st.tuples(*[st.sampled_from(SCAN_VALUES)] * 3), min_size=9, max_size=30),
       st.lists(st.tuples(*[st.sampled_from(SCAN_VALUES)] * 3), min_size=1, max_size=4),
       st.booleans())
def test_both_scan_filters_give_the_exact_winners(score, keys, queries, huge):
    """Random keys (near-ties at 2⁻⁶⁰ next to 1, exact ties) through the scaled-integer filter, or,
    with one key outside int64 (``huge``), through the float filter: always the exact winners."""
    from turingformer.runtime.fast import _ScanCache

    if huge:
        keys = keys + [(fmpq(1, 3 ** 50), fmpq(2 ** 70 + 1, 2 ** 70), fmpq(5))]
    attention = _identity_attention(score)
    attention.stats = Counter()
    cache = _ScanCache(3)
    for k in keys:
        cache.append(list(k), {})
    if huge:
        assert not cache.integral
    for q in queries:
        if any(q):
            assert attention.decide(cache, list(q)) == brute_scores(keys, q, score == "clipped")
    if huge:
        assert not any(k.startswith("integer filter") for k in attention.stats)


def test_the_integer_filter_separates_what_float64_cannot():
    """⟨q, k⟩ = 1 + j·2⁻⁶⁰ − 1: float64 rounds every score to the same value; in integers the
    smallest j wins alone, with no exact fallback."""
    from turingformer.runtime.fast import _ScanCache

    attention = _identity_attention("abs")
    attention.stats = Counter()
    cache = _ScanCache(3)
    for j in range(20, 0, -1):
        cache.append([fmpq(1), fmpq(j, 2 ** 60), fmpq(-1)], {})
    assert cache.integral
    assert attention.decide(cache, [fmpq(1), fmpq(1), fmpq(1)]) == (19,)
    assert attention.stats == Counter({"integer filter: one candidate": 1})
