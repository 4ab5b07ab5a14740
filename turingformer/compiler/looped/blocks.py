"""Units shared by the Harvard constructions (SUBLEQ-H/3L, SUBLEQ-H/2L, FLEQ-H; spec §5.3–5.5, §7.2).

Each function adds the units of one spec step to an :class:`~.gadgets.FFN`; the invariant each
establishes is stated with it.
"""

from __future__ import annotations

from .gadgets import FFN, D, equal, passing, select, wrap
from .layout import KIND, POS


def write_gate(ffn: FFN, cell: str) -> None:
    """``tmp:gate`` += [pos:index = cell ∧ kind:mem] (G7, 3 units): 1 in the written memory column only."""
    equal(ffn, "gate", D(POS) - D(cell), {"tmp:gate": 1}, gates=(KIND,))


def subtract_in_place(ffn: FFN, value: str, bits: int) -> None:
    """``mem:value`` ← wrap(mem:value − value) where ``tmp:gate`` = 1, unchanged elsewhere (§5.4).

    −gate·value (G4, 2 units) plus the wrap correction of d = mem:value − value (G8 gated by the
    gate, 2 units: T⁺ = {B}, T⁻ = {−B−1} for d ∈ [−W+1, W−1]).
    """
    passing(ffn, "minus_" + value.split(":")[1], D(value), {"mem:value": -1}, gates=("tmp:gate",))
    wrap(ffn, "wrap", D("mem:value") - D(value), bits, {"mem:value": 1}, gates=("tmp:gate",))


def fall_through(ffn: FFN, pc: str = "reg:pc", nxt: str = "cur:next") -> None:
    """Δpc = next − pc (G3, 1 unit): pc becomes ``cur:next`` before any branch correction."""
    passing(ffn, "next", D(nxt) - D(pc), {pc: 1})


def branch_if_nonpositive(ffn: FFN, target: str, value: str, nxt: str = "cur:next") -> None:
    """Δpc = next − pc + [value ≤ 0]·(target − next) (G3 + G6, 4 units; §5.5, §7.2 step 4)."""
    fall_through(ffn, nxt=nxt)
    select(ffn, "branch", D(target) - D(nxt), -D(value), {"reg:pc": 1})
