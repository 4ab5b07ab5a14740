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


def Q(block: str, state: str) -> str:
    """The name of a state dimension, e.g. ``Q("q2", "q0") == "q2:state=q0"``."""
    return f"{block}:state={state}"


def S(block: str, symbol: str) -> str:
    """The name of a symbol dimension, e.g. ``S("s1", "1") == "s1:symbol=1"``."""
    return f"{block}:symbol={label(symbol)}"


X = {
    1: "x1:m(i-1)", 2: "x2:m(i)", 3: "x3:m(i-1)", 4: "x4:c(i+1)/(i+1)", 5: "x5:c(i)/(i+1)",
    6: "x6:beta(i+1)", 7: "x7:l(i+1)", 8: "x8:1", 9: "x9:i+1", 10: "x10:1/(i+1)",
    11: "x11:1/(i+1)^2",
}


#: pos(k) of JMLR Theorem 6 — 1, k, 1/k and 1/k² — as the exponent of k in each of x8..x11, under
#: the role names the model file gives those four dimensions (docs/model-format.md, "positional").
POSITIONAL_ROLES = (("one", 0), ("k", 1), ("inverse", -1), ("inverse_square", -2))


def positional_encoding(one: str = X[8], k: str = X[9], inverse: str = X[10],
                        inverse_square: str = X[11]) -> PositionalEncoding:
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
        return [Q(b, q) for q in states]

    def ss(b):
        return [S(b, a) for a in symbols]

    return Space(tuple(
        qs("q1") + ss("s1") + [X[1]] + qs("q2") + ss("s2") + [X[2], X[3], X[4], X[5]]
        + ss("s3") + [X[6]] + ss("s4") + [X[7], X[8], X[9], X[10], X[11]]
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
