"""The punch card: the named dimensions and columns of every looped construction (spec §5.1–5.2, §6, §7.1).

A looped model (:class:`~.model.LoopedModel`) is a :class:`~turingformer.runtime.looped.LoopedTransformer`
(weights that depend only on the sizes M, N, s and the compiled function set) plus its input
X₀ = E(program, state), the *punch card*: the program lives in X, not in the weights.
:class:`CardLabels` is all that decoding needs besides the weights and X — sizes and the
construction's name, never the program.

Column layouts (n columns, one vector each):

* SUBLEQ-H and FLEQ-H: columns 0 … M−1 are memory cells, M … M+s−1 the instructions,
  H = M+s the halt column (a no-op instruction that keeps pc = s).
* SUBLEQ-U: column 0 is the halt column, column 1+i is cell i (n = M+1); every cell column
  caches its window (cells i, i+1, i+2).

Deliberate deviation from the paper's layout (spec §12.1): there is no scratchpad column; the
registers (``reg:pc``) and the per-loop transients (``cur:*``, ``tmp:*``) are replicated in
every column and every column computes the same values from the same attention winners, so the
copies stay equal (decoding checks that they do).
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from fractions import Fraction

from ...runtime.space import Space, Vector

ONE, POS, KIND = "const:one", "pos:index", "kind:mem"

#: SUBLEQ-H (3L and 2L): d = 16, independent of M, N, s (spec §5.2).
SUBLEQ_H_DIMS = (
    ONE, POS, KIND, "mem:value",
    "prog:a", "prog:b", "prog:c", "prog:next",
    "reg:pc",
    "cur:a", "cur:b", "cur:c", "cur:next",
    "tmp:gate", "tmp:va", "tmp:vb",
)

#: SUBLEQ-U/3L: d = 23 (spec §6).
SUBLEQ_U_DIMS = (
    ONE, POS, KIND,
    "win:w0", "win:w1", "win:w2", "win:v0", "win:v1", "win:ce", "win:nx",
    "reg:pc",
    "cur:a", "cur:b", "cur:ce", "cur:nx", "cur:v0", "cur:v1",
    "tmp:valid", "tmp:g0", "tmp:g1", "tmp:g2", "tmp:va", "tmp:vb",
)

FLEQ_FIELDS = ("op", "a", "b", "c", "f", "p", "next")



def fleq_dims(functions: tuple[str, ...]) -> tuple[str, ...]:
    """FLEQ-H: d = 23 + F, +1 with ``mul`` (spec §7.1)."""
    return (ONE, POS, KIND, "mem:value",
            *(f"prog:{f}" for f in FLEQ_FIELDS), "reg:pc", *(f"cur:{f}" for f in FLEQ_FIELDS),
            "tmp:gate", *(f"tmp:op={name}" for name in functions), "tmp:x", "tmp:y", "tmp:z",
            *(("tmp:prod",) if "mul" in functions else ()))


@dataclass(frozen=True)
class CardLabels:
    """What decoding needs to read a punch card: the construction and its sizes.

    ``machine`` is ``subleq-h``, ``subleq-u`` or ``fleq-h``; ``cells`` = M, ``instructions`` = s
    (0 for SUBLEQ-U), ``bits`` = N; ``functions`` the FLEQ function list (its order is the
    ``prog:op`` numbering). ``name`` is the program's name, for reports only. ``entry_bound``
    bounds every residual entry in every column at every point of a loop (from the
    construction's ranges); the compile summary derives the activations' bit width from it.
    ``cell_labels`` are the program's data labels (label, cell), so that a run from the model
    file reports the same final values as the interpreter.
    """

    construction: str
    machine: str
    bits: int
    cells: int
    instructions: int
    functions: tuple[str, ...] = ()
    name: str = ""
    entry_bound: int = 0
    cell_labels: tuple[tuple[str, int], ...] = ()

    @property
    def halt_pc(self) -> int:
        """The pc value that means halted: s for the Harvard machines, −1 for SUBLEQ-U."""
        return -1 if self.machine == "subleq-u" else self.instructions


@lru_cache(maxsize=4096)
def _exact(value: int) -> Fraction:
    return Fraction(value)


def column(space: Space, entries: dict[str, int]) -> Vector:
    """One punch-card column with the given named integer entries (exact Fractions; zeros elsewhere)."""
    values = [_ZERO] * len(space)
    for name, value in entries.items():
        values[space.index(name)] = _exact(value)
    return tuple(values)


_ZERO = Fraction(0)
