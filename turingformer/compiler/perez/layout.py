"""The layout of the compiled model: the names of the residual dimensions (spec §3) and the labels
that read outputs back (states, symbols, roles); :class:`~.model.PerezModel` holds them beside the
transformer.

This is all decoding needs besides the weights: nothing here knows a transition table.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Mapping

from turingformer.errors import WeightsError, check_word
from turingformer.runtime.space import Space
from turingformer.runtime.transformer import PositionalEncoding


def label(symbol: str) -> str:
    """A printable label for a symbol in a dimension name (the space becomes ``' '``)."""
    return symbol if symbol.isprintable() and not symbol.isspace() else repr(symbol)


def state_dim(block: str, state: str) -> str:
    """The name of a state dimension, e.g. ``state_dim("q2", "q0") == "q2:state=q0"``."""
    return f"{block}:state={state}"


def symbol_dim(block: str, symbol: str) -> str:
    """The name of a symbol dimension, e.g. ``symbol_dim("s1", "1") == "s1:symbol=1"``."""
    return f"{block}:symbol={label(symbol)}"


#: The eleven scalar dimensions x1..x11 of spec §3, by number (``SCALARS[9]`` holds i+1).
SCALARS = {
    1: "x1:m(i-1)", 2: "x2:m(i)", 3: "x3:m(i-1)", 4: "x4:c(i+1)/(i+1)", 5: "x5:c(i)/(i+1)",
    6: "x6:beta(i+1)", 7: "x7:l(i+1)", 8: "x8:1", 9: "x9:i+1", 10: "x10:1/(i+1)",
    11: "x11:1/(i+1)^2",
}


#: pos(k) of JMLR Theorem 6 — 1, k, 1/k and 1/k² — as the exponent of k in each of x8..x11, under
#: the role names the model file gives those four dimensions (docs/model-format.md, "positional").
POSITIONAL_ROLES = (("one", 0), ("k", 1), ("inverse", -1), ("inverse_square", -2))


def positional_encoding(one: str = SCALARS[8], k: str = SCALARS[9], inverse: str = SCALARS[10],
                        inverse_square: str = SCALARS[11]) -> PositionalEncoding:
    """The Pérez positional encoding pos(k) = (1, k, 1/k, 1/k²) in the four named dimensions."""
    names = {"one": one, "k": k, "inverse": inverse, "inverse_square": inverse_square}
    return PositionalEncoding(tuple((names[role], e) for role, e in POSITIONAL_ROLES))


def positional_roles(positional: PositionalEncoding) -> dict[str, str]:
    """``{role: dimension name}`` of a Pérez positional encoding (what the model file stores)."""
    by_power = {e: name for name, e in positional.powers}
    if sorted(by_power) != sorted(e for _, e in POSITIONAL_ROLES) or len(positional.powers) != len(POSITIONAL_ROLES):
        raise WeightsError(f"not the Pérez positional encoding 1, k, 1/k, 1/k²: {positional.powers}",
                           hint="a Pérez model file stores only that encoding; keep a model with another "
                                "one in memory (or pickle it)")
    return {role: by_power[e] for role, e in POSITIONAL_ROLES}


def residual_space(states: tuple[str, ...], symbols: tuple[str, ...]) -> Space:
    """The 17-block layout of spec §3, d = 2|Q| + 4|Σ| + 11."""
    def qs(b):
        return [state_dim(b, q) for q in states]

    def ss(b):
        return [symbol_dim(b, a) for a in symbols]

    return Space(tuple(
        qs("q1") + ss("s1") + [SCALARS[1]] + qs("q2") + ss("s2") + [SCALARS[2], SCALARS[3], SCALARS[4], SCALARS[5]]
        + ss("s3") + [SCALARS[6]] + ss("s4") + [SCALARS[7], SCALARS[8], SCALARS[9], SCALARS[10], SCALARS[11]]
    ))


@dataclass(frozen=True)
class Labels:
    """Everything needed to read the decoder's outputs back into a trace of M (no rules).

    ``states`` and ``symbols`` enumerate Q' and Σ' in block order (π₂ and π₁ of the paper).
    """

    states: tuple[str, ...]
    symbols: tuple[str, ...]
    blank: str
    marked_blank: str
    start: str
    prelude: tuple[str, str, str]
    stay: Mapping[str, str]
    accept: frozenset[str]
    reject: frozenset[str]
    halt: frozenset[str]
    input_alphabet: tuple[str, ...]
    machine_name: str = ""

    def encoder_input(self, word: str) -> list[str]:
        """w': the input with every blank replaced by the marked blank; refuses foreign symbols."""
        check_word(word, self.input_alphabet, self.blank, owner="this model was compiled for",
                   hint="the weights fix the alphabet: use only its symbols (and the blank), "
                        "or recompile with a larger input alphabet")
        return [self.marked_blank if s == self.blank else s for s in word]

    def prelude_steps(self, n: int) -> int:
        """The number of M' steps before M's start configuration: 2n + 3 (§2b.1)."""
        return 2 * n + 3

    def role(self, state: str) -> str | None:
        for role in ("accept", "reject", "halt"):
            if state in getattr(self, role):
                return role
        return None
