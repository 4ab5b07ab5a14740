"""FLEQ-M on the looped computer, exactly (linear-algebra spec ``../shared/looped-linear-algebra.md``;
``docs/linear-algebra.md``): a fixed-point matrix machine — a calculator and a linear-algebra
library — as the weights of one looped transformer of N/L + 3 ≤ 13 blocks, reproducing the
reference interpreter bit for bit after every loop.

    gadgets.py       clip-form σ units ρ·clip(t, 0, s), merged by (t, s); the gadgets of §2.1
    early.py         the early functions, one σ layer in block 2 (§2.2)
    products.py      mm / had / smul: digit layers, product layer, floor layer, write (§2.3)
    amax.py          amax: |x|, pairwise maxima (§2.4)
    control.py       decode, gate, flag source, branch (§2.5)
    blocks.py        the block sequence of one loop, only the compiled functions (§3)
    layout.py        named dimensions, value ranges, labels, E(mem, pc) (§3)
    model.py         FixedPointModel (weights, card, labels) and the compile summary
    construction.py  compile_fleqm, the size guard
    decoding.py      (pc, memory) from the card and labels alone; run_fleqm
    invariants.py    what the card holds after every block (from the state, not the weights)
    verify.py        verify_fleqm: loop by loop against the interpreter, the first divergent block
"""

from .construction import compile_fleqm
from .decoding import read_state, run_fleqm
from .layout import FixedPointLabels, Shape
from .model import FixedPointModel, FixedPointSummary, summary
from .verify import FixedPointDivergence, FixedPointVerification, verify_fleqm

__all__ = ["compile_fleqm", "summary", "read_state", "run_fleqm", "FixedPointLabels", "FixedPointModel",
           "FixedPointSummary", "Shape",
           "FixedPointDivergence", "FixedPointVerification", "verify_fleqm"]
