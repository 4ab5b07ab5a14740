"""Every FLEQ-M function through the feed-forward nets of one loop at N = 8 (linear-algebra spec §5):
every 8-bit word x against the extremes, ties and a sample of y, (F, L) ∈ {(2,2), (4,2), (6,2), (4,4)},
the written column ends with f(x, y), pc jumps exactly when the flag (the result's (0, 0) in 70 %
of the cases, another cell's in the rest) is ≤ 0, and every transient is 0 again; a column that
is not written keeps its word. k = 2, 3 on random words. The heads are replaced by the values they
copy (x = mem[a], y = mem[b], z = mem[f](0,0)); the end-to-end tests run the heads themselves.
The model of each function is compiled for that function alone (only compiled functions get
units), so a function's weights cannot hide behind another's."""

from __future__ import annotations

import random

import numpy as np
import pytest

from turingformer.compiler.fixedpoint.construction import weights
from turingformer.compiler.fixedpoint.layout import KIND, ONE, PC, POS, Shape, mem
from turingformer.programs import FLEQM_FUNCTIONS
from turingformer.programs.program import FLEQM_UNARY, function_family
from turingformer.programs.interpreter import fleqm_function
from turingformer.runtime.looped import IntegerLoop

FUNCTIONS = [f for f in FLEQM_FUNCTIONS if f != "shl"] + ["shl1", "shl3"]
CELL_C, CELL_A, CELL_B = 0, 1, 2          # the instruction: op a=1 b=2 c=0 f∈{0, 2} p=0 (next = 1)


def run_chain(op: str, bits: int, frac: int, L: int, k: int, xs: np.ndarray, ys: np.ndarray, f_is_c: np.ndarray,
              old: np.ndarray) -> tuple[np.ndarray, np.ndarray, Shape, object]:
    """Columns: the written cell c (one per case) and, per case, the unwritten cell b. xs, ys,
    old: (cases, k, k) raw words. Returns the cards before and after the loop."""
    shape = Shape(3, 2, bits, frac, k, L, (op,))
    t = weights(shape)
    fast = IntegerLoop(t, bounds=shape.bounds())
    space, cases = t.space, len(xs)
    row = space.index
    X = np.zeros((len(space), 2 * cases), dtype=np.int64)
    A, B = slice(0, cases), slice(cases, 2 * cases)
    X[row(ONE)] = 1
    X[row(KIND)] = 1
    X[row(POS), A], X[row(POS), B] = CELL_C, CELL_B
    for i in range(k):
        for j in range(k):
            X[row(mem(i, j, k)), A] = old[:, i, j]
            X[row(mem(i, j, k)), B] = ys[:, i, j]
    start = X.copy()
    f_cell = np.where(f_is_c, CELL_C, CELL_B)
    both = np.concatenate([f_cell, f_cell])
    for field, value in (("op", 0), ("a", CELL_A), ("b", CELL_B), ("c", CELL_C), ("p", 0), ("next", 1)):
        X[row(f"cur:{field}")] = value                        # the fetch head's copy
    X[row("cur:f")] = both
    for l in range(len(t.blocks)):
        if l == 1:                                            # the two read heads
            for i in range(k):
                for j in range(k):
                    X[row(f"x:{i}{j}")] = np.concatenate([xs[:, i, j]] * 2)
                    X[row(f"y:{i}{j}")] = np.concatenate([ys[:, i, j]] * 2)
        if l == len(t.blocks) - 1:                            # the flag head: mem[f](0,0) as it is now
            flag = np.where(f_is_c, X[row(mem(0, 0, k)), A], ys[:, 0, 0])
            X[row("tmp:z")] = np.concatenate([flag, flag])
        X = fast.ffn(l, X)
    return start, X, shape, space


def check(op, bits, frac, L, k, xs, ys, f_is_c, old):
    start, X, shape, space = run_chain(op, bits, frac, L, k, xs, ys, f_is_c, old)
    f = fleqm_function(op, bits, frac, k)
    cases = len(xs)
    want = start.copy()
    row = space.index
    if k == 1:                                    # a unary function's result depends on x alone: once per x
        unary, memo = function_family(op)[0] in FLEQM_UNARY, {}
        for x, y in zip(xs.ravel().tolist(), ys.ravel().tolist()):
            key = x if unary else (x, y)
            if key not in memo:
                memo[key] = f(((x,),), ((y,),))[0][0]
        results = np.array([memo[x if unary else (x, y)] for x, y in zip(xs.ravel().tolist(), ys.ravel().tolist())])
        results = results.reshape(-1, 1, 1)
    else:
        results = np.array([f(tuple(map(tuple, x)), tuple(map(tuple, y))) for x, y in zip(xs.tolist(), ys.tolist())])
    for i in range(k):
        for j in range(k):
            want[row(mem(i, j, k)), :cases] = results[:, i, j]
    flag = np.where(f_is_c, results[:, 0, 0], ys[:, 0, 0])
    want[row(PC)] = np.concatenate([np.where(flag <= 0, 0, 1)] * 2)
    bad = np.flatnonzero((X != want).any(axis=0))
    if len(bad):
        c = int(bad[0]) % cases
        d = int(np.flatnonzero(X[:, bad[0]] != want[:, bad[0]])[0])
        raise AssertionError(f"{op} Q{bits}.{frac} L={L} k={k}: case x={xs[c].tolist()} y={ys[c].tolist()} "
                             f"f=c:{bool(f_is_c[c])}: {space.names[d]} = {X[d, bad[0]]}, expected {want[d, bad[0]]} "
                             f"({len(bad)} wrong columns)")


def pairs(bits: int, ys: list[int]):
    """Every x against each y of ``ys``."""
    B = 1 << (bits - 1)
    x, y = np.meshgrid(np.arange(-B, B), np.array(ys), indexing="ij")
    return x.reshape(-1, 1, 1), y.reshape(-1, 1, 1)


def partners(bits: int, count: int, seed: int) -> list[int]:
    """The y values every x meets: the extremes, 0, ±1, ±ONE-like powers of two and their odd
    multiples (the rounding ties), and random words."""
    B = 1 << (bits - 1)
    special = {-B, -B + 1, B - 1, B - 2, 0, 1, -1, *(s * (1 << e) for e in range(bits - 1) for s in (1, -1)),
               *(s * 3 * (1 << e) for e in range(bits - 3) for s in (1, -1))}
    rest = sorted(set(range(-B, B)) - special)
    return sorted(special | set(random.Random(seed).sample(rest, max(0, count - len(special)))))


#: The full campaign (every pair of 8-bit words for every function and configuration) is
#: ``python benchmarks/linear_algebra.py --campaign``; here every word is an x and meets these y.
PARTNERS = {(2, 2): 28, (4, 2): 36, (6, 2): 28, (4, 4): 36}


@pytest.mark.parametrize("frac, L", list(PARTNERS))
def test_every_function_on_every_8_bit_word(frac, L):
    xs, ys = pairs(8, partners(8, PARTNERS[(frac, L)], frac * 10 + L))
    r = np.random.default_rng(frac * 10 + L)
    f_is_c = r.random(len(xs)) < 0.7
    old = r.integers(-128, 128, size=xs.shape)
    for op in FUNCTIONS:
        check(op, 8, frac, L, 1, xs, ys, f_is_c, old)


@pytest.mark.parametrize("k", [2, 3])
def test_every_function_on_random_matrices(k):
    r = np.random.default_rng(k)
    cases = 400
    xs, ys = r.integers(-128, 128, size=(cases, k, k)), r.integers(-128, 128, size=(cases, k, k))
    xs[:40] = r.choice([-128, -127, 127, 126, 0, 1, -1, 16, -16, 8], size=(40, k, k))     # extremes and ties
    ys[:40] = r.choice([-128, -127, 127, 126, 0, 1, -1, 16, -16, 8], size=(40, k, k))
    f_is_c = r.random(cases) < 0.7
    old = r.integers(-128, 128, size=(cases, k, k))
    for op in FUNCTIONS:
        check(op, 8, 4, 2, k, xs, ys, f_is_c, old)
