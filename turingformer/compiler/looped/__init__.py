"""Looped transformers as programmable computers (Giannou et al. 2023; looped spec): constructions
that turn SUBLEQ / FLEQ programs into looped weights and a punch card, and read it back.

    gadgets.py       exact σ gadgets G1–G9 and the FFN builder (spec §4), the address head (§5.2)
    layout.py        the punch card: named dimensions, CardLabels, LoopedModel (§5.1–5.2, §6, §7.1)
    blocks.py        units shared by the Harvard constructions (§5.3–5.5)
    subleq_h.py      SUBLEQ-H/3L and /2L (§5)
    subleq_u.py      SUBLEQ-U/3L, self-modifying (§6)
    fleq_h.py        FLEQ-H (§7)
    construction.py  the constructions by name, compile_program, the compile summary
    decoding.py      the state of a punch card, from the labels and X alone (§8)
"""

from .construction import CONSTRUCTIONS, DEFAULT, compile_program, summary
from .decoding import CardState, read_array, read_state
from .layout import CardLabels, LoopedModel

__all__ = ["CONSTRUCTIONS", "DEFAULT", "compile_program", "summary", "CardState", "read_array", "read_state",
           "CardLabels", "LoopedModel"]
