"""The product pipeline of mm, had and smul (linear-algebra spec §2.3): digit layers, the product
layer, the floor layer and the saturating write.

Notation: X′ = X + B, Y′ = Y + B ∈ [0, W − 1] (W = 2^N), digits base 2^L, V = 2^L − 1,
n_d = N/L, f_L = F/L; c = 2^(N−1−F). A function has a pair list per output (i, j): mm
{((i,l),(l,j)) : l < k} (n_t = k pairs), had {((i,j),(i,j))}, smul {((0,0),(i,j))} (n_t = 1).

1. **Digits** (:func:`digit_layer`, blocks 2 … n_d, ungated, every column): block ℓ extracts digit
   d = n_d + 1 − ℓ of every entry of X′ and Y′ from the remainder r_d = X′ − Σ_{d′>d} 2^(Ld′)·x_d′
   (a linear form of ``x`` and the digits already extracted): x_d = Σ_{t=1..V} step(r_d − t·2^(Ld) + 1).
   Invariant r_d ∈ [0, 2^(L(d+1))) ⇒ x_d = ⌊r_d / 2^(Ld)⌋ ∈ [0, V]. Digit 0 is the form r₀.
2. **Products** (:func:`product_layer`, block n_d + 1, every unit gated by its function's one-hot):
   X′_p·Y′_q = 2^F·[Σ_{Ld≥F} 2^(Ld−F)·x_d·Y′_q + Σ_{Ld<F} x_d·hi_d] + Σ_{Ld<F} 2^(Ld)·x_d·lo_d with
   Y′_q = 2^(F−Ld)·hi_d + lo_d. The bracket goes to ``h``, the last sum to ``t``. Each x_d·P
   (P ∈ [0, P_max]) is Σ_{v=1..V} relu(P + K(x_d − v)) − K·Σ_v relu(x_d − v), K = P(P_max) (G6 with
   e = x_d − v): the relu(x_d − v) units are shared by every output that uses entry p. The
   offsets h += −c·Σ(x_p + y_q) − n_t·c·B make the sum Σ X_p·Y_q (exact: F ≤ N − 1). Also
   clears x, y and every digit.
3. **Floor** (:func:`floor_layer`, block n_d + 2, ungated): h += Σ_{m=1..M_T} step(t + 2^(F−1) − m·2^F + 1)
   = ⌊(t + 2^(F−1)) / 2^F⌋, so h = rnd_F(Σ x_p·y_q), unsaturated; clears t.
4. **Write** (:func:`write_late`, the last block): mem_ij += gate·late·sat(h_ij) (2k² + 1 units).

Every gadget precondition holds for every word in every column (every column holds the same x
and y, so the digits are right everywhere); the digit ranges are passed as proved ranges
(``vrange``), since the interval bound of a remainder form is loose (spec §7.7). The V units of
one digit product share one penalty constant, so they differ only in their constant.
"""

from __future__ import annotations

from .gadgets import D, Form, Layer, P, clear, constant, passing, relu, saturate, step
from .layout import GATE, Shape, dim, mem, op_dim


def digit(shape: Shape, block: str, d: int, i: int, j: int) -> Form:
    """Digit d of X′ (block "x") or Y′ ("y") at entry (i, j): a dimension for d ≥ 1, the remainder form for d = 0."""
    if d >= 1:
        return D(dim(f"{block}d{d}", i, j, shape.k))
    return remainder(shape, block, 0, i, j)


def remainder(shape: Shape, block: str, d: int, i: int, j: int) -> Form:
    """r_d = X′ − Σ_{d′>d} 2^(Ld′)·x_d′ ∈ [0, 2^(L(d+1)))."""
    L, k = shape.digit_bits, shape.k
    r = D(dim(block, i, j, k)) + shape.fmt.B
    for e in range(d + 1, shape.digits):
        r = r - (1 << (L * e)) * D(dim(f"{block}d{e}", i, j, k))
    return r


def digit_layer(layer: Layer, shape: Shape, d: int) -> None:
    """Extract digit d ≥ 1 of every entry of X′ and Y′ (2k²·V step units)."""
    L, V, k = shape.digit_bits, (1 << shape.digit_bits) - 1, shape.k
    for block in ("x", "y"):
        for i, j in shape.entries:
            r = remainder(shape, block, d, i, j)
            target = {dim(f"{block}d{d}", i, j, k): 1}
            for t in range(1, V + 1):
                step(layer, f"{block}d{d}.{i}{j}.{t}", r - (t << (L * d)) + 1, target)


def pairs(op: str, i: int, j: int, k: int) -> list[tuple[tuple[int, int], tuple[int, int]]]:
    """The (X entry, Y entry) pairs whose products sum into output (i, j)."""
    if op == "mm":
        return [((i, l), (l, j)) for l in range(k)]
    if op == "had":
        return [((i, j), (i, j))]
    return [((0, 0), (i, j))]


def y_parts(shape: Shape, q: tuple[int, int], d: int) -> list[tuple[Form, int, str, int]]:
    """The factors P of digit d of X′ in X′·Y′_q, as (P, P_max, target block, coefficient):
    Y′_q itself into h with 2^(Ld−F) when Ld ≥ F, else hi_d into h (1) and lo_d into t (2^(Ld))."""
    L, F, N = shape.digit_bits, shape.frac, shape.bits
    if L * d >= F:
        return [(D(dim("y", *q, shape.k)) + shape.fmt.B, (1 << N) - 1, "h", 1 << (L * d - F))]
    split = (F - L * d) // L                           # Y′ = 2^(F − Ld)·hi + lo: lo = digits below `split`
    lo = sum(((1 << (L * e)) * digit(shape, "y", e, *q) for e in range(split)), Form())
    hi = sum(((1 << (L * (e - split))) * digit(shape, "y", e, *q) for e in range(split, shape.digits)), Form())
    return [(hi, (1 << (N - F + L * d)) - 1, "h", 1), (lo, (1 << (F - L * d)) - 1, "t", 1 << (L * d))]


def product_layer(layer: Layer, shape: Shape) -> None:
    """The gated products of every compiled product function into h and t, the offsets, and the
    clears of x, y and the digits (module docstring, step 2)."""
    k, L, V, B, N, F = shape.k, shape.digit_bits, (1 << shape.digit_bits) - 1, shape.fmt.B, shape.bits, shape.frac
    c = 1 << (N - 1 - F)
    for op in shape.products:
        gate = (op_dim(op),)
        for i, j in shape.entries:
            out = (i, j)
            terms = pairs(op, i, j, k)
            for p, q in terms:
                for d in range(shape.digits):
                    x_d = digit(shape, "x", d, *p)
                    for P_form, P_max, block, coef in y_parts(shape, q, d):
                        K = P(P_max)
                        target = dim(block, *out, k)
                        penalty_K = P(P_max + K * (V - 1))
                        linear = P_form + K * x_d                     # shared by the V units of this product
                        for v in range(1, V + 1):
                            relu(layer, f"{op}.{i}{j}.{p}{q}.d{d}.{block}.{v}", linear.shifted(-K * v),
                                 {target: coef}, gate, vrange=(0, P_max + K * (V - v)), K=penalty_K)
                            relu(layer, f"{op}.x{p}.d{d}.{v}", x_d.shifted(-v), {target: -K * coef}, gate,
                                 vrange=(-v, V - v), K=P(V - 1))
            # offsets: −c·Σ(x_p + y_q) − n_t·c·B (one gated pass per output, one shared constant)
            total = sum((D(dim("x", *p, k)) + D(dim("y", *q, k)) for p, q in terms), Form())
            n_t = len(terms)
            lo, hi = -2 * c * (B - 1) * n_t, 2 * c * B * n_t
            passing(layer, f"{op}.offset.{i}{j}", -c * total, {dim("h", i, j, k): 1}, gate, vrange=(lo, hi))
            constant(layer, f"{op}.offset", -n_t * c * B, {dim("h", i, j, k): 1}, gate)
    for block in ("x", "y"):
        for i, j in shape.entries:
            clear(layer, dim(block, i, j, k))
            for d in range(1, shape.digits):
                clear(layer, dim(f"{block}d{d}", i, j, k))


def floor_layer(layer: Layer, shape: Shape) -> None:
    """h += ⌊(t + 2^(F−1)) / 2^F⌋ (M_T steps per entry), then t := 0 (module docstring, step 3)."""
    k, F = shape.k, shape.frac
    for i, j in shape.entries:
        t, h = D(dim("t", i, j, k)), dim("h", i, j, k)
        for m in range(1, shape.floor_steps + 1):
            step(layer, f"floor.{i}{j}.{m}", t + (1 << (F - 1)) - (m << F) + 1, {h: 1})
        clear(layer, dim("t", i, j, k))


def late(shape: Shape) -> Form:
    """Σ of the late functions' one-hots: 1 when the instruction's function is late."""
    return sum((D(op_dim(f)) for f in shape.late), Form())


def write_late(layer: Layer, shape: Shape) -> None:
    """mem_ij += gate·late·sat(h_ij) (module docstring, step 4)."""
    k = shape.k
    for i, j in shape.entries:
        saturate(layer, f"write.{i}{j}", D(dim("h", i, j, k)), shape.fmt.B, {mem(i, j, k): 1}, (GATE, late(shape)))
