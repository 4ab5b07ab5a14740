"""The block sequence of one loop (linear-algebra spec §3).

=============================  =========================================  =====================================
block (1-based)                heads (target → copies)                    FFN
=============================  =========================================  =====================================
1 fetch + decode               T = pc + M: prog:* → cur:*                 gate, one-hot op, fc
2 read                         T = cur:a: mem → x; T = cur:b: mem → y     clear cur:a,b,c,op; −gate·mem; early
                                                                          functions; useh; digit n_d−1; amax abs
3 … n_d                        — (FFN-only)                               digit n_d+1−ℓ; amax levels
blocks − 2: product            —                                          gated products into h, t; offsets;
                                                                          clear x, y, digits (amax levels)
blocks − 1: floor              —                                          h += ⌊(t + 2^(F−1))/2^F⌋; clear t
last: flag, write, branch      T = cur:f: mem:v00 → z                     sat write of h; branch; clear the rest
=============================  =========================================  =====================================

blocks = 3 + max(n_d with a product function, ⌈log₂ k²⌉ (≥ 1) with amax): N/L + 3 (7 at N = 16,
9 at N = 24 with L = 4, any k), 3 without late functions; always ≤ 13 (:data:`MAX_BLOCKS`,
checked). Only the compiled functions get units; without products there are no digit, product
or floor layers (x and y are cleared in block 2), without late functions no h, useh or write.
"""

from __future__ import annotations

from ...runtime.looped import LoopBlock, LoopedTransformer
from ...runtime.space import Space
from ..looped.gadgets import D as RationalD, address_head
from . import amax, control, early, products
from .gadgets import Layer, clear
from .layout import FC, FIELDS, GATE, MAX_BLOCKS, PC, USEH, Z, Shape, dim, mem, op_dim



def layers(shape: Shape) -> list[Layer]:
    """The FFN of every block, as clip-form layers (the heads are :func:`build`'s)."""
    count, k, ranges = shape.blocks, shape.k, shape.ranges()
    if count > MAX_BLOCKS:
        raise ValueError(f"{count} blocks per loop: more than {MAX_BLOCKS}")
    out = [Layer(f"ffn{b}", ranges) for b in range(1, count + 1)]
    first, second, last = out[0], out[1], out[-1]
    has_products, has_amax = bool(shape.products), "amax" in shape.functions

    control.decode(first, shape)

    for field in ("a", "b", "c", "op"):
        clear(second, f"cur:{field}")
    early.write_early(second, shape)
    control.flag_source(second, shape)
    if has_amax:
        amax.absolute_values(second, shape)
    if has_products:
        for d in range(shape.digits - 1, 0, -1):              # digit n_d − 1 in block 2, … digit 1 in block n_d
            products.digit_layer(out[shape.digits - d], shape, d)
        products.product_layer(out[count - 3], shape)
        products.floor_layer(out[count - 2], shape)
    else:
        for block in ("x", "y"):
            for i, j in shape.entries:
                clear(second, dim(block, i, j, k))
    if has_amax:
        for number in range(len(amax.levels(shape))):
            amax.level(out[2 + number], shape, number)

    if shape.late:
        products.write_late(last, shape)
    control.branch(last, shape)
    for name in (*(op_dim(f) for f in shape.functions), GATE, FC, *((USEH,) if shape.late else ()),
                 "cur:f", "cur:p", "cur:next", Z):
        clear(last, name)
    if shape.late:
        for i, j in shape.entries:
            clear(last, dim("h", i, j, k))
    return out


def build(shape: Shape) -> LoopedTransformer:
    """The looped weights of FLEQ-M for ``shape`` (module docstring)."""
    space = Space(shape.dimensions())
    ffns = layers(shape)
    k = shape.k
    fetch = address_head(space, RationalD(PC) + shape.cells, {f"prog:{f}": f"cur:{f}" for f in FIELDS})
    read_x = address_head(space, RationalD("cur:a"), {mem(i, j, k): dim("x", i, j, k) for i, j in shape.entries})
    read_y = address_head(space, RationalD("cur:b"), {mem(i, j, k): dim("y", i, j, k) for i, j in shape.entries})
    read_z = address_head(space, RationalD("cur:f"), {mem(0, 0, k): Z})
    heads = {0: (fetch,), 1: (read_x, read_y), len(ffns) - 1: (read_z,)}
    blocks = [LoopBlock(heads.get(b, ()), ffn.build(space) if len(ffn) or ffn.bias else None)
              for b, ffn in enumerate(ffns)]
    return LoopedTransformer(space, tuple(blocks))
